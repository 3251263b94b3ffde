"""What the pair can show: the share of its power the target's own rounding carries (its floor).

(Whether a response fits a length is linear_path.length_of's: tests/test_linear_path.py.)
"""

import numpy as np
import pytest

from neural_filter import audio, fir, synth

RATE = 44100


def pair(cutoff, rolloff, format="u8", seconds=3.0):
    x = synth.white_noise(seconds, RATE, np.random.default_rng(1))
    y = synth.audacity_lowpass(x, cutoff, rolloff, RATE)
    return [audio.decode(audio.encode(signal.astype(np.float32), format), format) for signal in (x, y)]


@pytest.mark.parametrize("format, share", [("u8", 5.5e-4), ("s16le", 8.4e-9)])
def test_rounding_share_is_read_off_the_values(format, share):
    _, y = pair(600, 6, format)  # a 600 Hz one-pole keeps 4% of white noise's power
    assert fir.rounding_share(y) == pytest.approx(share, rel=0.05)


# --- several inputs at once: least_squares_bank ----------------------------------------------------


def test_a_bank_of_firs_is_recovered_exactly_from_its_summed_outputs():
    """Three inputs (the signal and two curves of it), each through its own FIR, summed with a constant: the
    least squares finds every tap. Each input centred, with silence around it, makes the normal equations'
    correlations exact (the solver correlates the centred inputs as if silence lay beyond them)."""
    rng = np.random.default_rng(7)
    x = rng.normal(0, 0.3, 3000)
    inputs = np.stack([np.pad(values - values.mean(), 16) for values in (x, x**2, np.tanh(4 * x))])
    taps = rng.normal(0, 1, (3, 8))
    # tap k weighs the input 7 - k samples before the output (causal, a window row's order)
    y = sum(np.convolve(values, fir_taps[::-1])[: inputs.shape[1]] for values, fir_taps in zip(inputs, taps)) + 0.25
    found, bias = fir.least_squares_bank(inputs, y, 8, 7)
    np.testing.assert_allclose(np.stack(found), taps, rtol=0, atol=1e-5)
    assert bias == pytest.approx(0.25, abs=1e-6)


def test_a_bank_of_one_input_is_least_squares_fir():
    x, y = pair(2000, 24)
    taps, bias = fir.least_squares_fir(x, y, 32, 20)
    bank, bank_bias = fir.least_squares_bank(x[None], y, 32, 20)
    np.testing.assert_allclose(bank[0], taps, rtol=0, atol=1e-6)
    assert bank_bias == pytest.approx(bias, abs=1e-7)


def test_a_bank_s_firs_may_differ_in_length_and_alignment():
    """The signal through an FIR of 8 taps, and its square read at the output's own sample (one tap): found."""
    rng = np.random.default_rng(8)
    x = rng.normal(0, 0.3, 3000)
    inputs = np.stack([np.pad(values - values.mean(), 16) for values in (x, x**2)])
    taps = rng.normal(0, 1, 8)
    y = np.convolve(inputs[0], taps[::-1])[: inputs.shape[1]] + 0.7 * inputs[1] - 0.1
    (found, square), bias = fir.least_squares_bank(inputs, y, [8, 1], [7, 0])
    np.testing.assert_allclose(found, taps, rtol=0, atol=1e-5)
    assert square == pytest.approx([0.7], abs=1e-5) and bias == pytest.approx(-0.1, abs=1e-6)
