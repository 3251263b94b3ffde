"""knob_segments.KnobSegments: the streamed batches hold what the segments cut all at once held."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from neural_filter import kinds
from neural_filter.knob_segments import KnobSegments
from neural_filter.linear_path import LinearPath, taps_before
from neural_filter.spec import FilterSpec


@pytest.mark.parametrize("align", ["causal", "centre"])
def test_every_segment_is_the_pairs_segment_with_its_fir_output_and_residual(align):
    spec = FilterSpec(mode="sliding", window=8, align=align, levels="signed")
    rng = np.random.default_rng(3)
    before, after = spec.padding
    pairs = []
    for knot in range(2):
        x, y = (rng.uniform(-0.5, 0.5, 100).astype(np.float32) for _ in range(2))
        past = rng.uniform(-0.5, 0.5, 30).astype(np.float32)  # a validation part's training part before it
        # its long FIR (longer than the window), its output over the part computed once, as train_knob does
        path = LinearPath(rng.normal(size=40).astype(np.float32), 0.1 * knot, taps_before(40, align))
        pairs.append((x, y, past, path.filter(x, past=past), np.eye(2, dtype=np.float32)[knot]))
    segments = KnobSegments(pairs, 16, before, after, batch_size=5)  # in order: no seed
    assert segments.count == 2 * 6 and len(segments) == 3  # 6 whole segments of 16 in 100 samples, per pair
    batches = [segments[index] for index in range(len(segments))]
    audio, features, linear = (np.concatenate([inputs[part] for inputs, _ in batches]) for part in range(3))
    residual = np.concatenate([target for _, target in batches])
    for knot, (x, y, past, fir_output, feature) in enumerate(pairs):
        # cut all at once, as train_knob did before: the kind's arrays, and the FIR's output over the part
        expected_audio, expected_y = kinds.KNOB.model_arrays(x, y, spec, 16, past=past)
        rows = slice(6 * knot, 6 * knot + 6)
        assert np.array_equal(audio[rows], expected_audio)
        assert np.array_equal(linear[rows, :, 0], fir_output[:96].reshape(6, 16))
        np.testing.assert_allclose(residual[rows], expected_y - linear[rows], atol=1e-6)
        assert np.array_equal(features[rows], np.repeat(feature[None], 6, axis=0))


def test_a_seed_shuffles_each_epoch_anew_and_keeps_every_segment():
    pairs = [(np.zeros(64, np.float32), np.arange(64, dtype=np.float32), None, np.zeros(64, np.float32),
              np.ones(1, np.float32))]
    segments = KnobSegments(pairs, 4, 3, 0, batch_size=16, seed=1)
    first = segments[0][1][:, 0, 0]  # each segment's first target sample names it
    segments.on_epoch_end()
    second = segments[0][1][:, 0, 0]
    assert sorted(first) == sorted(second) == list(range(0, 64, 4)) and list(first) != list(second)
