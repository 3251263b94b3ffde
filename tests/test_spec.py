"""The spec's two rules: the levels map (to the network and back) and the sliding padding."""

import numpy as np
import pytest

from neural_filter import audio
from neural_filter.spec import FilterSpec


def test_unit_levels_are_bytes_over_255():
    stored = np.arange(256, dtype=np.uint8)  # every u8 value
    network = FilterSpec(levels="unit").to_network(audio.decode(stored, "u8"))
    np.testing.assert_allclose(network, stored / 255.0, rtol=0, atol=1e-7)  # the original's byte / 255


@pytest.mark.parametrize("levels, silence", [("unit", 128 / 255), ("signed", 0.0)])
def test_levels_round_trip_and_silence(levels, silence):
    spec = FilterSpec(levels=levels)
    samples = audio.decode(np.arange(256, dtype=np.uint8), "u8")
    np.testing.assert_allclose(spec.from_network(spec.to_network(samples)), samples, rtol=0, atol=2e-7)  # float32
    assert spec.to_network(np.zeros(1))[0] == np.float32(silence)
    assert spec.to_network(samples).dtype == spec.from_network(samples).dtype == np.float32


@pytest.mark.parametrize("spec, past, padded", [
    (FilterSpec(mode="sliding", window=4), None, [0, 0, 0, 1, 2, 3]),  # causal: three of past, silence
    (FilterSpec(mode="sliding", window=4), [9, 8, 7, 6], [8, 7, 6, 1, 2, 3]),  # the real past: its last three
    (FilterSpec(mode="sliding", window=4), [5], [0, 0, 5, 1, 2, 3]),  # a short past: silence before it
    (FilterSpec(mode="sliding", window=4, align="centre"), None, [0, 1, 2, 3, 0, 0]),  # one before, two after
    (FilterSpec(mode="sliding", window=5, align="centre"), [7, 8], [7, 8, 1, 2, 3, 0, 0]),  # two and two
    (FilterSpec(mode="sliding", window=1), [4], [1, 2, 3]),  # a window of one sample needs no context
])
def test_pad_gives_window_minus_one_samples_of_context(spec, past, padded):
    result = spec.pad(np.array([1, 2, 3], np.float32), None if past is None else np.array(past, np.float32))
    np.testing.assert_array_equal(result, padded)
    assert len(result) == 3 + spec.window - 1 and sum(spec.padding) == spec.window - 1


def test_chunk_mode_has_no_padding():
    assert FilterSpec(mode="chunk", window=9).padding == (0, 0)
