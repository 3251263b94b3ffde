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
