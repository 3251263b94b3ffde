"""Tests of neural_filter.metrics: scores against values worked out by hand, responses against synth's filters."""

import numpy as np
import pytest

from neural_filter import metrics, synth

RATE = 44100
# 0.9 times these is exact in float64 (9, -9, 18), so every figure below is exact too:
# error energy 1 + 1 + 4 = 6, target energy 100 + 100 + 400 = 600, ESR 6 / 600 = 0.01.
TARGET = np.array([10.0, -10.0, 20.0])


@pytest.mark.parametrize("prediction, expected", [
    (TARGET, 0.0),                      # perfect
    (0.9 * TARGET, 0.01),               # a tenth too quiet: 1% of the energy is error
    (np.zeros(3), 1.0),                 # silence: all of the target is error
    (-TARGET, 4.0),                     # inverted: error is twice the target, four times its energy
    (TARGET + [1.0, 0.0, 0.0], 1 / 600),  # one sample off by one
])
def test_esr(prediction, expected):
    assert metrics.esr(prediction, TARGET) == pytest.approx(expected, abs=1e-15)


def test_esr_of_silent_target_is_infinite():
    assert metrics.esr([1.0, 0.0], [0.0, 0.0]) == float("inf")


def test_esr_flattens_chunks():
    # chunk mode scores (chunks, window) arrays: the same samples in any shape score the same
    assert metrics.esr((0.9 * TARGET).reshape(3, 1), TARGET.reshape(1, 3)) == pytest.approx(0.01, abs=1e-15)


@pytest.mark.parametrize("ratio, expected", [
    (1.0, 0.0),             # as bad as silence
    (0.01, -20.0),          # error a hundredth of the target's energy
    (0.001, -30.0),         # a thousandth
    (4.0, 6.0206),          # worse than silence is positive
    (0.0, float("-inf")),   # perfect
])
def test_decibels(ratio, expected):
    assert metrics.decibels(ratio) == pytest.approx(expected, abs=1e-4)


def test_a_nan_ratio_is_never_at_the_floor():
    """decibels(NaN) was -inf, so a model whose outputs were NaN read "at the floor"."""
    assert np.isnan(metrics.decibels(float("nan")))
    summary = metrics.summary(np.full(4, np.nan), np.array([1.0, -1.0, 0.5, -0.5]), np.zeros(4), floor=-80.0)
    assert np.isnan(summary["esr_db"]) and summary["verdict"] == "no score (the outputs hold NaN)" and summary["score"] == 99.9


@pytest.mark.parametrize("esr_db, floor, expected", [
    (-32.3, -32.6, "at the floor"),       # the shipped 600 Hz model on its u8 pair
    (-33.0, -32.6, "at the floor"),       # below the floor (its rounding noise met half way) is at it too
    (-31.6, -32.6, "at the floor"),       # exactly 1 dB above: still at it
    (-31.5, -32.6, "near the floor"),
    (-29.6, -32.6, "near the floor"),     # 3 dB above
    (-3.2, -32.6, "29.4 dB above the floor"),  # the original's chunk example
    (-47.5, -80.0, "32.5 dB above the floor"),  # a u8-trained model against a 16-bit reference
    (-20.0, float("-inf"), "no floor to measure against"),  # a silent or constant target
])
def test_verdict_is_measured_against_the_floor(esr_db, floor, expected):
    assert metrics.verdict(esr_db, floor) == expected


@pytest.mark.parametrize("value, text", [
    (-32.34, "-32.3 dB"),
    (13.06, "+13.1 dB"),   # worse than silence reads with its sign: positive is worse
    (-0.04, "+0.0 dB"),    # never "-0.0"
    (float("-inf"), "-inf dB"),  # perfect
])
def test_signed_db(value, text):
    assert metrics.signed_db(value) == text


def test_summary_against_a_silent_dry_baseline():
    result = metrics.summary(0.9 * TARGET, TARGET, np.zeros(3), floor=-25.0)
    assert result["mse"] == pytest.approx(2.0)  # error energy 6 over 3 samples
    assert result["esr"] == pytest.approx(0.01, abs=1e-15)
    assert result["esr_db"] == pytest.approx(-20.0)
    assert result["floor_db"] == -25.0
    assert result["verdict"] == "5.0 dB above the floor"
    assert result["dry_esr"] == pytest.approx(1.0)
    assert result["dry_esr_db"] == pytest.approx(0.0)
    assert result["improvement_db"] == pytest.approx(20.0)
    assert result["score"] == pytest.approx(-20.0)  # the name's figure: the ESR in dB


def test_summary_reads_the_floor_off_the_target():
    target = np.array([0.0, 0.5, -0.5, 0.25])  # steps of 0.25: rounding noise 0.25^2 / 12
    result = metrics.summary(target, target, np.zeros(4))
    power = np.mean((target - target.mean()) ** 2)
    assert result["floor_db"] == pytest.approx(10 * np.log10(0.25**2 / 12 / power))


def test_summary_of_a_model_worse_than_doing_nothing():
    result = metrics.summary(np.zeros(3), TARGET, 0.5 * TARGET, floor=-30.0)
    assert result["dry_esr"] == pytest.approx(0.25)
    assert result["improvement_db"] == pytest.approx(10 * np.log10(0.25))  # negative: about -6 dB
    assert result["verdict"] == "30.0 dB above the floor"


def noise(seconds=2.0, seed=0):
    return synth.white_noise(seconds, RATE, np.random.default_rng(seed))


@pytest.mark.parametrize("cutoff, rolloff", [
    (600, 6),    # the default data set: Audacity's one-pole
    (600, 24),   # two biquads
    (2000, 48),  # four biquads, the steepest
])
def test_magnitude_response_of_audacity_lowpass_matches_its_target(cutoff, rolloff):
    dry = noise()
    wet = synth.audacity_lowpass(dry, cutoff, rolloff, RATE)
    rows = metrics.response_table(dry, wet, cutoff, rolloff, RATE)
    assert [row["hz"] for row in rows] == [cutoff / 4, cutoff / 2, cutoff, 2 * cutoff, 4 * cutoff]
    for row in rows:
        assert row["learned_db"] == pytest.approx(row["target_db"], abs=0.5), row


def test_magnitude_response_tells_a_wrong_cutoff_apart():
    # the 0.5 dB tolerance above has teeth: 600 Hz measured against a 900 Hz target misses by ~2 dB at 600 Hz
    dry = noise()
    wet = synth.audacity_lowpass(dry, 600, 6, RATE)
    learned = metrics.magnitude_response(dry, wet, RATE, [600])[0]
    assert abs(learned - metrics.target_response(900, 6, RATE, [600])[0]) > 1.0


def test_magnitude_response_of_a_moving_average():
    # y[n] = (x[n] + x[n-1]) / 2 has gain |cos(pi f / rate)|: 0 dB at DC, -3.01 dB at a quarter of the rate
    dry = noise()
    wet = np.convolve(dry, [0.5, 0.5])[: dry.size]
    frequencies = [100, RATE / 4, 15000]
    expected = 20 * np.log10(np.cos(np.pi * np.asarray(frequencies) / RATE))
    np.testing.assert_allclose(metrics.magnitude_response(dry, wet, RATE, frequencies), expected, atol=0.5)


def test_magnitude_response_ignores_noise_the_network_adds():
    # the cross spectrum keeps only what is correlated with the input; noise 20 dB down does not lift the gain
    dry = noise()
    wet = synth.audacity_lowpass(dry, 600, 6, RATE)
    noisy = wet + 0.1 * np.std(wet) * np.random.default_rng(1).standard_normal(wet.size)
    frequencies = [150, 600, 2400]
    np.testing.assert_allclose(metrics.magnitude_response(dry, noisy, RATE, frequencies),
                               metrics.target_response(600, 6, RATE, frequencies), atol=0.5)


@pytest.mark.parametrize("rolloff, expected", [
    (6, -3.0103),   # one-pole, half power at the cutoff
    (12, -3.72),    # lowpass.ny's biquad is not quite Butterworth
    (24, -3.0103),
])
def test_target_response_at_cutoff(rolloff, expected):
    assert metrics.target_response(500, rolloff, RATE, [500])[0] == pytest.approx(expected, abs=0.1)


def test_response_table_leaves_out_frequencies_at_or_above_half_the_rate():
    dry = noise(0.5)
    rows = metrics.response_table(dry, synth.audacity_lowpass(dry, 8000, 6, RATE), 8000, 6, RATE)
    assert [row["hz"] for row in rows] == [2000, 4000, 8000, 16000]  # 32 kHz is above 22.05 kHz
    assert set(rows[0]) == {"hz", "learned_db", "target_db"}


@pytest.mark.parametrize("output, frequencies, message", [
    (np.zeros(99), [100], "input has 100 samples but output has 99"),  # lengths differ
    (np.zeros(100), [30000], "frequencies must lie from 0 to 22050 Hz"),  # above half the rate
    (np.zeros(100), [-1], "frequencies must lie from 0 to 22050 Hz"),  # negative
])
def test_magnitude_response_refuses(output, frequencies, message):
    with pytest.raises(ValueError, match=message):
        metrics.magnitude_response(np.zeros(100), output, RATE, frequencies)


@pytest.mark.parametrize("ratio, figure, name_part", [
    (1e-4, -40.0, "-40.0"),  # -40 dB
    (10 ** -3.65, -36.5, "-36.5"),
    (10 ** -3.60, -36.0, "-36.0"),  # half a dB worse: another name
    (0.16, -8.0, "-8.0"),  # as the console prints it, not zero-padded
    (1.0, 0.0, "+0.0"),  # as bad as silence
    (5.0, 7.0, "+7.0"),  # worse than silence: positive
    (0.0, -99.9, "-99.9"),  # perfect: the bottom of the range
    (1e-12, -99.9, "-99.9"),
    (float("nan"), 99.9, "+99.9"),
    (float("inf"), 99.9, "+99.9"),
])
def test_score_is_the_esr_in_decibels(ratio, figure, name_part):
    assert metrics.score(ratio) == pytest.approx(figure, abs=0.01)
    assert f"{metrics.score(ratio):+.1f}" == name_part
