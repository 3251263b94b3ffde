"""The least-squares FIR's window check: does the filter's response fit in the window?"""

import numpy as np
import pytest

from neural_filter import audio, fir, synth

RATE = 44100


def u8_pair(cutoff, rolloff, seconds=3.0):
    x = synth.white_noise(seconds, RATE, np.random.default_rng(1))
    y = synth.audacity_lowpass(x, cutoff, rolloff, RATE)
    return [audio.decode(audio.encode(signal.astype(np.float32), "u8"), "u8") for signal in (x, y)]


def causal(window):
    return window - 1


@pytest.mark.parametrize("cutoff, rolloff, window, advice", [
    (100, 6, 64, (512, True)),  # a one-pole at 100 Hz decays over ~50 samples: 64 cuts it off, 512 holds it
    (100, 6, 512, None),
    (600, 6, 64, None),  # the seed's filter: 64 holds it (truncation costs -47 dB)
    (2000, 24, 64, None),
    (2000, 24, 16, (64, True)),  # a short window cuts even a fast filter (32 still rings on)
    (5, 6, 16, (8192, False)),  # 5 Hz rings on past the longest window 3 s of data can show: none is named
])
def test_window_that_fits(cutoff, rolloff, window, advice):
    x, y = u8_pair(cutoff, rolloff)
    assert fir.window_that_fits(x, y, window, causal) == advice


@pytest.mark.parametrize("taps, share", [
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0.0),  # a pure delay: nothing in the oldest taps
    ([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0.5),  # half the energy at the oldest end
    ([0] * 16, 0.0),  # silence
])
def test_tail_share(taps, share):
    assert fir.tail_share(np.array(taps, np.float32)) == share
