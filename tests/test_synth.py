"""Tests of neural_filter.synth against the formulas in AUDACITY.md, with real numbers."""

import numpy as np
import pytest
from scipy import signal

from neural_filter import synth
from neural_filter.errors import ArgumentError

RATE = 44100
F = 500.0


def response_db(sections, freqs, rate=RATE):
    """Magnitude in dB of the cascaded sections at the given frequencies."""
    h = np.ones(len(freqs), dtype=complex)
    for b, a in sections:
        h *= signal.freqz(b, a, worN=freqs, fs=rate)[1]
    return 20 * np.log10(np.abs(h))


@pytest.mark.parametrize("rolloff, expected, tolerance", [
    (6, -3.0103, 0.02),   # Nyquist lp: one-pole designed for exactly half power at f
    (12, -3.72, 0.1),     # one biquad q=0.7071 with sinh alpha: effective Q ~0.651, not -3.01
    (24, -3.0103, 0.02),  # the q table makes each cascade half power at f
    (36, -3.0103, 0.02),
    (48, -3.0103, 0.02),
])
def test_response_at_cutoff(rolloff, expected, tolerance):
    at_f = response_db(synth.lowpass_coefficients(F, rolloff, RATE), [F])[0]
    assert at_f == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize("rolloff", [
    6,   # one pole: -6 dB/octave well above f
    12,  # one biquad: -12
    24,  # two biquads: -24
    36,  # three biquads: -36
    48,  # four biquads: -48 (sampling makes it ~1.6 dB steeper at 2-4 kHz)
])
def test_slope_between_4f_and_8f(rolloff):
    low, high = response_db(synth.lowpass_coefficients(F, rolloff, RATE), [4 * F, 8 * F])
    assert high - low == pytest.approx(-rolloff, abs=2.0)


def test_one_pole_matches_recurrence_sample_for_sample():
    x = synth.white_noise(2000 / RATE, RATE, np.random.default_rng(1))
    k = 2 - np.cos(2 * np.pi * F / RATE)
    c2 = k - np.sqrt(k * k - 1)
    c1 = 1 - c2
    expected, y = [], 0.0
    for sample in x:
        y = c1 * sample + c2 * y
        expected.append(y)
    np.testing.assert_allclose(synth.audacity_lowpass(x, F, 6, RATE), expected, rtol=1e-12)


def test_lowpass_keeps_length_and_dtype():
    x = synth.white_noise(0.1, RATE, np.random.default_rng(2)).astype(np.float32)
    y = synth.audacity_lowpass(x, 2000, 48, RATE)
    assert y.dtype == np.float64 and y.shape == x.shape


@pytest.mark.parametrize("seconds, rate, length", [
    (1.0, 44100, 44100),    # whole second
    (0.5, 8000, 4000),      # another rate
    (0.00011, 44100, 5),    # 4.851 rounds up, not down
])
def test_white_noise_length_and_range(seconds, rate, length):
    x = synth.white_noise(seconds, rate, np.random.default_rng(3))
    assert x.dtype == np.float64 and x.shape == (length,)
    assert -0.8 <= x.min() and x.max() <= 0.8


def test_white_noise_fills_the_range_and_is_reproducible():
    x = synth.white_noise(1.0, RATE, np.random.default_rng(4))
    assert x.min() < -0.79 and x.max() > 0.79
    np.testing.assert_array_equal(x, synth.white_noise(1.0, RATE, np.random.default_rng(4)))
    assert not np.array_equal(x, synth.white_noise(1.0, RATE, np.random.default_rng(5)))


@pytest.mark.parametrize("cutoff, rolloff, option", [
    (0.05, 6, "--cutoff"),       # below lowpass.ny's 0.1 Hz floor
    (RATE / 2, 6, "--cutoff"),   # at Nyquist
    (30000, 12, "--cutoff"),     # above Nyquist
    (1000, 18, "--rolloff"),     # not one of 6, 12, 24, 36, 48
])
def test_check_lowpass_refuses(cutoff, rolloff, option):
    with pytest.raises(ArgumentError) as caught:
        synth.check_lowpass(cutoff, rolloff, RATE)
    message = str(caught.value)
    assert caught.value.option == option.removeprefix("--")  # the package's name; a command line spells it
    assert message.startswith(option) and "\n" not in message
    with pytest.raises(ArgumentError) as again:
        synth.audacity_lowpass(np.zeros(10), cutoff, rolloff, RATE)
    assert str(again.value) == message


@pytest.mark.parametrize("cutoff, rolloff", [
    (0.1, 6),           # the lowest cutoff allowed
    (22049.9, 48),      # just under Nyquist
])
def test_check_lowpass_accepts_edges(cutoff, rolloff):
    synth.check_lowpass(cutoff, rolloff, RATE)


def test_synthetic_song_level_and_spectrum():
    song = synth.synthetic_song(5.0, RATE, np.random.default_rng(6))
    assert song.dtype == np.float64 and song.shape == (5 * RATE,)
    peak = np.max(np.abs(song))
    assert 0.9 < peak <= 0.95
    power = np.abs(np.fft.rfft(song)) ** 2
    freqs = np.fft.rfftfreq(song.size, 1 / RATE)
    assert power[freqs < 150].sum() / power.sum() > 0.1    # bass and kick
    assert power[freqs > 2000].sum() / power.sum() > 0.01  # hats
    np.testing.assert_array_equal(song, synth.synthetic_song(5.0, RATE, np.random.default_rng(6)))


@pytest.mark.parametrize("shape", synth.SHAPES)
def test_saturate_at_0_db_is_the_identity(shape):
    x = np.linspace(-1.2, 1.2, 101)
    np.testing.assert_array_equal(synth.saturate(x, 0, shape), x)


@pytest.mark.parametrize("drive", [1.0, 10.0, 20.0])
def test_saturate_soft_keeps_full_scale_and_gives_quiet_signals_the_drive(drive):
    x = np.array([-1.0, -1e-6, 0.0, 1e-6, 1.0])
    y = synth.saturate(x, drive, "soft")
    assert y[[0, 4]] == pytest.approx([-1, 1], abs=1e-12)  # full scale stays full scale
    assert 20 * np.log10(y[3] / x[3]) == pytest.approx(drive, abs=1e-6)  # quiet signals: drive_db louder
    np.testing.assert_allclose(synth.saturate(-x, drive, "soft"), -y)  # odd: no even harmonics, no DC


def test_saturate_asymmetric_bends_the_positive_half_harder():
    x = np.array([-1.0, -0.5, -1e-6, 1e-6, 0.5, 1.0])
    y = synth.saturate(x, 10, "asymmetric")
    assert y[0] == pytest.approx(-1) and y[5] == pytest.approx(0.5, abs=0.01)  # the top flattens near half scale
    assert 20 * np.log10(y[3] / x[3]) == pytest.approx(10, abs=1e-6)  # both halves leave 0 with the same slope
    assert 20 * np.log10(y[2] / x[2]) == pytest.approx(10, abs=1e-6)
    noise = np.random.default_rng(1).uniform(-0.8, 0.8, 10000)
    assert np.mean(synth.saturate(noise, 10, "asymmetric")) < -0.05  # the DC it creates is kept


@pytest.mark.parametrize("drive, shape, message", [
    (-1, "soft", "--drive -1 dB: not a drive; give 0 (no saturation) or more"),  # a cut is not a drive
    (np.nan, "soft", "--drive nan dB: not a drive"),
    (3, "hard", "--shape 'hard': unknown; use one of soft, asymmetric"),
])
def test_saturate_refuses(drive, shape, message):
    with pytest.raises(ArgumentError) as caught:
        synth.saturate(np.zeros(3), drive, shape)
    assert str(caught.value).startswith(message)


def octave_slope_db(x, rate=RATE, low=100.0, high=6400.0):
    """Power spectral slope in dB per octave between `low` and `high` Hz (Welch, a straight-line fit on log2 f)."""
    freqs, power = signal.welch(x, fs=rate, nperseg=8192)
    band = (freqs >= low) & (freqs <= high)
    return np.polyfit(np.log2(freqs[band]), 10 * np.log10(power[band]), 1)[0]


@pytest.mark.parametrize("kind, slope", [("white", 0.0), ("pink", -3.01), ("brownian", -6.02)])
def test_noise_has_its_spectral_slope(kind, slope):
    x = synth.noise(kind, 10.0, RATE, np.random.default_rng(8))
    assert octave_slope_db(x) == pytest.approx(slope, abs=0.3)


@pytest.mark.parametrize("kind", synth.NOISES)
@pytest.mark.parametrize("amplitude", [0.8, 1.0, 0.25])
def test_noise_stays_within_the_amplitude_and_reaches_it(kind, amplitude):
    x = synth.noise(kind, 2.0, RATE, np.random.default_rng(9), amplitude)
    assert x.dtype == np.float64 and x.shape == (2 * RATE,)
    assert np.max(np.abs(x)) <= amplitude
    assert np.max(np.abs(x)) > 0.99 * amplitude
    assert abs(np.mean(x)) < 0.05 * amplitude  # centred: no DC for the filter to carry


@pytest.mark.parametrize("kind", synth.NOISES)
def test_noise_is_reproducible_per_seed(kind):
    x = synth.noise(kind, 1.0, RATE, np.random.default_rng(4))
    np.testing.assert_array_equal(x, synth.noise(kind, 1.0, RATE, np.random.default_rng(4)))
    assert not np.array_equal(x, synth.noise(kind, 1.0, RATE, np.random.default_rng(5)))


def test_white_noise_of_the_dispatcher_is_white_noise():
    np.testing.assert_array_equal(synth.noise("white", 1.0, RATE, np.random.default_rng(4)),
                                  synth.white_noise(1.0, RATE, np.random.default_rng(4)))


def test_pink_and_brownian_keep_their_level_through_a_low_pass():
    """Why they exist: a 2 kHz low-pass keeps 31% of white noise's RMS level, 86% of pink's, all of brownian's."""
    def kept(kind):
        x = synth.noise(kind, 5.0, RATE, np.random.default_rng(2), 1.0)
        return np.std(synth.audacity_lowpass(x, 2000, 24, RATE)) / np.std(x)

    assert kept("white") < 0.35 and 0.8 < kept("pink") < 0.9 and kept("brownian") > 0.98


@pytest.mark.parametrize("kind, amplitude, message", [
    ("violet", 0.8, "--noise 'violet': unknown; use one of white, pink, brownian"),
    ("pink", 1.01, "--amplitude 1.01: out of range; give a peak above 0 and at most 1 (full scale)"),
    ("white", -0.5, "--amplitude -0.5: out of range"),
    ("white", np.nan, "--amplitude nan: out of range"),
])
def test_noise_refuses(kind, amplitude, message):
    with pytest.raises(ArgumentError) as caught:
        synth.noise(kind, 1.0, RATE, np.random.default_rng(0), amplitude)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


# --- bursts: noise at the levels, and with the changes of level, that music has -------------------------


def frame_levels_db(x, frame=441):
    """RMS level of each 10 ms frame, in dB (silent frames at -inf)."""
    frames = x[: len(x) // frame * frame].reshape(-1, frame)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.mean(frames ** 2, axis=1))


def test_bursts_spread_the_level_over_50_db_with_silences_and_keep_the_peak():
    x = synth.noise("pink", 30.0, RATE, np.random.default_rng(3), 1.0, "bursts")
    steady = synth.noise("pink", 30.0, RATE, np.random.default_rng(3), 1.0)
    assert x.shape == steady.shape and np.max(np.abs(x)) == pytest.approx(1.0)
    levels, steady_levels = frame_levels_db(x), frame_levels_db(steady)
    sounding = levels[np.isfinite(levels)]
    spread = np.percentile(sounding, 95) - np.percentile(sounding, 5)
    assert spread > 40 and np.percentile(steady_levels, 95) - np.percentile(steady_levels, 5) < 6
    assert 0.03 < np.mean(~np.isfinite(levels)) < 0.2  # about one burst in ten silent
    # the noise within a burst is the steady noise scaled: the spectrum is still pink
    assert octave_slope_db(x) == pytest.approx(-3.01, abs=1.0)


def test_bursts_hold_each_level_and_ramp_between_them():
    rate = 8000
    gains = synth.bursts(10 * rate, rate, np.random.default_rng(1))
    assert gains.shape == (10 * rate,) and gains[0] == 0.0 and 0 <= gains.min() and gains.max() <= 1
    steps = np.abs(np.diff(gains))
    held = np.mean(steps == 0)
    assert held > 0.8  # mostly held levels; the rest ramps of at most 30 ms
    longest_ramp = max(len(run) for run in np.split(np.arange(len(steps)), np.flatnonzero(steps == 0)) if len(run))
    assert longest_ramp <= 0.03 * rate + 2


def test_bursts_are_reproducible_and_steady_noise_is_unchanged_by_them():
    first = synth.noise("white", 2.0, RATE, np.random.default_rng(4), 0.8, "bursts")
    np.testing.assert_array_equal(first, synth.noise("white", 2.0, RATE, np.random.default_rng(4), 0.8, "bursts"))
    np.testing.assert_array_equal(synth.noise("white", 2.0, RATE, np.random.default_rng(4), 0.8, "steady"),
                                  synth.white_noise(2.0, RATE, np.random.default_rng(4), 0.8))


def test_an_unknown_envelope_is_refused():
    with pytest.raises(ArgumentError) as caught:
        synth.noise("pink", 1.0, RATE, np.random.default_rng(0), 1.0, "loud")
    assert str(caught.value) == "--envelope 'loud': unknown; use one of steady, bursts, levels"


# --- levels: a compressor's whole range, in training and in the part fit.py validates on ----------------


def test_levels_cross_the_whole_range_in_every_tenth_of_the_pair_with_steps_and_ramps():
    x = synth.noise("pink", 30.0, RATE, np.random.default_rng(0), 1.0, "levels", tones=True)
    assert np.max(np.abs(x)) == pytest.approx(1.0)
    rms = 10 * np.log10(np.mean(x.reshape(-1, RATE // 10) ** 2, axis=1))  # 100 ms RMS, dBFS
    for tenth in rms.reshape(10, -1):  # fit.py validates on the last tenth: it too spans the knee of -20 dB
        assert tenth.min() < -45 and tenth.max() > -20  # 100 ms RMS; the peaks lie 10 dB above it
    gains_db = 20 * np.log10(synth.levels(30 * RATE, RATE, np.random.default_rng(1)))
    assert -50 <= gains_db.min() and gains_db.max() <= 0
    per_millisecond = np.abs(np.diff(gains_db[:: RATE // 1000]))
    assert np.mean(per_millisecond == 0) > 0.3  # held levels
    assert np.sum(per_millisecond > 2) > 100  # steps: several dB within a millisecond, both ways
    assert np.sum((0 < per_millisecond) & (per_millisecond < 0.2)) > 3000  # slow ramps
    np.testing.assert_array_equal(gains_db, 20 * np.log10(synth.levels(30 * RATE, RATE, np.random.default_rng(1))))


def test_tones_take_every_other_second_with_steady_pitches_and_keep_the_peak():
    rate = 8000
    x = synth.noise("pink", 4.0, rate, np.random.default_rng(2), 0.9, "steady", tones=True)
    pink = synth.noise("pink", 4.0, rate, np.random.default_rng(2), 0.9)
    assert x.shape == pink.shape and np.max(np.abs(x)) == pytest.approx(0.9)
    # even seconds: the same noise (scaled to the mix's peak); odd seconds: something else
    ratio = x[:rate] / pink[:rate]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    assert not np.allclose(x[rate : 2 * rate] / pink[rate : 2 * rate], ratio[0])
    # a tone second is a few sines: 16 past samples predict the next almost exactly, as they cannot noise's
    def unpredicted(samples, order=16):
        past = np.lib.stride_tricks.sliding_window_view(samples[:-1], order)
        taps = np.linalg.lstsq(past, samples[order:], rcond=None)[0]
        return np.sum((past @ taps - samples[order:]) ** 2) / np.sum(samples[order:] ** 2)

    assert unpredicted(x[rate : 2 * rate]) < 1e-3 and unpredicted(x[:rate]) > 0.05


def test_tone_bursts_hold_louder_than_noise_of_their_peak():
    from neural_filter import coverage

    tones = synth.tone_bursts(5 * RATE, RATE, np.random.default_rng(1))
    noise = synth.pink_noise(5, RATE, np.random.default_rng(1), 1.0)
    assert np.max(np.abs(tones)) == pytest.approx(1.0)
    assert coverage.loudest_held(tones, RATE) > coverage.loudest_held(noise, RATE) + 3
