"""A knob's long linear bank (linear_bank.py): its length read off the pairs, its file entry, its swept render."""

import numpy as np
import pytest

from neural_filter import fir, linear_bank, linear_path, synth
from neural_filter.knob import Knob
from neural_filter.linear_bank import LinearBank
from neural_filter.linear_path import taps_before

RATE = 44100


def causal(length: int) -> int:
    return taps_before(length, "causal")


def lowpass_pair(cutoff: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """2 s of white noise and its 24 dB/octave low-pass at `cutoff`, full scale, unrounded."""
    x = synth.white_noise(2, RATE, np.random.default_rng(seed)).astype(np.float32)
    return x, synth.audacity_lowpass(x, cutoff, 24, RATE).astype(np.float32)


def test_the_banks_length_is_the_longest_any_pair_shows_whatever_their_order():
    low, high = lowpass_pair(80.0, 1), lowpass_pair(4000.0, 2)  # 80 Hz rings for thousands of samples, 4 kHz not
    lengths = [linear_path.length_of(*pair, RATE, causal, curve=True).length for pair in (low, high)]
    assert lengths[0] > 4 * lengths[1]  # the pairs disagree: the bank takes the longer
    for pairs in ([low, high], [high, low]):
        bank = linear_bank.fit(pairs, RATE, causal)
        assert bank.length == lengths[0] and bank.knots == 2 and bank.source == "pair"
        assert bank.before == lengths[0] - 1  # causal: every tap before the output


def test_the_bank_is_never_shorter_than_the_window_and_says_so_when_the_window_set_its_length():
    # a 4 kHz low-pass shows a few hundred taps at most; a stack of window 1024 would fit the rest by gradient
    # steps, knot by knot (the knob's u8 regression), so the bank starts its search at the window
    high = lowpass_pair(4000.0, 2)
    assert linear_path.length_of(*high, RATE, causal, curve=True).length < 1024
    bank = linear_bank.fit([high], RATE, causal, shortest=1024)
    assert (bank.length, bank.before, bank.source) == (1024, 1023, "window")
    low = lowpass_pair(80.0, 1)  # longer than the window: read off the pair as before
    longer = linear_bank.fit([high, low], RATE, causal, shortest=1024)
    assert longer.length > 1024 and longer.source == "pair"


def test_a_window_shorter_than_the_searchs_start_does_not_shorten_the_bank():
    x = synth.white_noise(1, RATE, np.random.default_rng(4)).astype(np.float32)
    bank = linear_bank.fit([(x, 0.5 * x)], RATE, causal, shortest=16)  # a gain: one tap would do
    assert (bank.length, bank.source) == (linear_path.SHORTEST, "pair")  # as without a window, not 16 taps


@pytest.mark.parametrize("align, before", [("causal", 299), ("centre", 149)])
def test_given_taps_are_the_banks_length_and_each_knots_fir_is_its_pairs_least_squares_fir(align, before):
    pairs = [lowpass_pair(1000.0, 1), lowpass_pair(3000.0, 3)]
    bank = linear_bank.fit(pairs, RATE, lambda length: taps_before(length, align), taps=300)
    assert (bank.length, bank.before, bank.source) == (300, before, "given")
    for knot, (x, y) in enumerate(pairs):
        taps, bias = fir.exact_least_squares_fir(x, y, 300, before)
        assert np.array_equal(bank.taps[:, knot], taps) and bank.biases[knot] == np.float32(bias)
        path = bank.path(knot)
        assert np.mean((path.filter(x) - y) ** 2) < 0.01 * np.mean(y**2)  # each FIR follows its own pair


def small_bank(seed: int = 0, length: int = 700, knots: int = 3) -> LinearBank:
    rng = np.random.default_rng(seed)
    return LinearBank((rng.standard_normal((length, knots)) / np.sqrt(length)).astype(np.float32),
                      rng.uniform(-0.1, 0.1, knots).astype(np.float32), causal(length))


def test_the_entry_holds_the_bank_and_a_wrong_shape_is_refused():
    bank = small_bank()
    again = LinearBank.from_entry(bank.entry(), bank.record())
    assert np.array_equal(again.taps, bank.taps) and np.array_equal(again.biases, bank.biases)
    assert (again.before, again.source) == (bank.before, bank.source)
    with pytest.raises(ValueError, match=r"linear_bank.npy holds \(700, 3\) taps, the record says \(700, 2\)"):
        LinearBank.from_entry(bank.entry(), {**bank.record(), "knots": 2})


def test_at_one_value_the_bank_is_one_fir_the_knots_weighed():
    bank, weights = small_bank(), np.array([0.25, 0.5, 0.25], np.float32)
    path = bank.at(weights)
    np.testing.assert_allclose(path.taps, bank.taps @ weights, atol=1e-7)
    assert path.bias == pytest.approx(float(bank.biases @ weights)) and path.before == bank.before


@pytest.mark.parametrize("start, end", [(100.0, 1000.0), (1000.0, 150.0), (300.0, 300.0)])
def test_a_swept_bank_is_each_knots_fir_weighed_at_each_sample_in_any_blocks(start, end):
    bank, knob = small_bank(), Knob((100.0, 300.0, 1000.0))
    x = np.random.default_rng(5).uniform(-1, 1, 20_001).astype(np.float32)
    values = np.geomspace(start, end, len(x))
    swept = bank.swept(knob.table(), lambda first, count: knob.locate(values[first : first + count]))
    whole = np.concatenate(list(swept.stream([x])))
    each = np.stack([bank.path(knot).filter(x).astype(np.float64) for knot in range(bank.knots)], axis=1)
    np.testing.assert_allclose(whole, np.sum(each * knob.features(values), axis=1), atol=2e-6)
    cuts = [0, 1, 4000, 4001, 13_000, len(x)]
    pieces = np.concatenate(list(swept.stream([x[start:end] for start, end in zip(cuts, cuts[1:])])))
    assert whole.dtype == np.float32 and np.array_equal(whole, pieces)
