"""The least-squares FIR's window check: does the filter's response fit in the window?"""

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


def causal(window):
    return window - 1


@pytest.mark.parametrize("cutoff, rolloff, format, window, advice", [
    (100, 6, "u8", 64, (256, True)),  # a one-pole at 100 Hz decays over ~50 samples: 64 cuts it off, 256 holds it
    (100, 6, "u8", 512, None),
    (600, 6, "u8", 64, None),  # the seed's filter: 64 holds it as well as u8 can tell (truncation costs -47 dB)
    (600, 6, "s16le", 64, (128, True)),  # ... but 16 bits tell: 64 taps are the limit there
    (2000, 24, "u8", 64, None),
    (2000, 24, "u8", 16, (64, True)),  # a short window cuts even a fast filter (32 still rings on)
    (100, 6, "s16le", 512, (1024, True)),
    (5, 6, "s16le", 16, (8192, False)),  # 5 Hz rings on past the longest window 3 s of data can show: none named
])
def test_window_that_fits(cutoff, rolloff, format, window, advice):
    x, y = pair(cutoff, rolloff, format)
    assert fir.window_that_fits(x, y, window, causal) == advice


@pytest.mark.parametrize("taps, share", [
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0.0),  # a pure delay: nothing in the oldest taps
    ([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0.5),  # half the energy at the oldest end
    ([0] * 16, 0.0),  # silence
])
def test_tail_share(taps, share):
    assert fir.tail_share(np.array(taps, np.float32)) == share
