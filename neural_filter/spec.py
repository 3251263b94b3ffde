"""What a model is, beyond its weights: the FilterSpec, and the two rules it owns.

A model file carries its spec (mode, window, alignment, levels, rate), so gen.py needs no
arguments to use it. The spec is also the one owner of two rules every part of the package obeys:

- Levels: the network never sees full-scale samples (-1..1, silence at 0) directly, but
  `sample * scale + offset`. "unit" is the original's byte / 255 (0..1, silence at 128/255);
  "signed" keeps -1..1. `to_network` and `from_network` are that map and its inverse.
- Padding: a sliding model computes each output sample from `window` input samples ending at it
  (causal) or centred on it, so a signal needs `padding` samples of context before and after it to
  give exactly as many outputs as inputs (its kind says how many: kinds/). `pad` adds them: the
  signal's real past when there is one, silence otherwise.
"""

import dataclasses

import numpy as np

from neural_filter import kinds

LEVELS = {"unit": (128 / 255, 128 / 255), "signed": (1.0, 0.0)}  # name -> (scale, offset)


@dataclasses.dataclass
class FilterSpec:
    """The self-description stored in every model file."""

    mode: str = kinds.DEFAULT_MODE  # the kind (kinds.MODES): "chunk", window in, window out; "sliding", one sample out
    window: int = 9  # input samples seen at once
    align: str = "causal"  # sliding: output at the window's last sample, or "centre"
    levels: str = "unit"  # network input = full-scale sample * scale + offset (see LEVELS)
    rate: int = 44100  # sample rate of the training data

    @property
    def kind(self) -> kinds.Kind:
        """What the mode means: how a signal becomes rows, how the model is built and read (kinds/)."""
        return kinds.by_mode(self.mode)

    @property
    def scale_offset(self) -> tuple[float, float]:
        return LEVELS[self.levels]

    def to_network(self, samples: np.ndarray) -> np.ndarray:
        """Full-scale float32 samples -> the network's levels (float32, a new array)."""
        scale, offset = (np.float32(value) for value in self.scale_offset)
        return np.asarray(samples, np.float32) * scale + offset

    def from_network(self, values: np.ndarray) -> np.ndarray:
        """The network's levels -> full-scale float32 samples (a new array)."""
        scale, offset = (np.float32(value) for value in self.scale_offset)
        return (np.asarray(values, np.float32) - offset) / scale

    @property
    def padding(self) -> tuple[int, int]:
        """Samples of context a sliding model needs before and after the signal (chunk mode: none)."""
        return self.kind.padding(self.window, self.align)

    def pad(self, samples: np.ndarray, past: np.ndarray | None = None) -> np.ndarray:
        """Full-scale `samples` with the context a sliding model needs: len(samples) + window - 1 samples.

        `past`, when given, is the signal that came just before `samples`: its last samples, not
        silence, are the context before the first outputs (a target was filtered with them).
        """
        before, after = self.padding
        past = np.asarray(past if past is not None else [], np.float32)[-before:] if before else np.empty(0, np.float32)
        silence_before = np.zeros(before - len(past), np.float32)
        return np.concatenate([silence_before, past, np.asarray(samples, np.float32), np.zeros(after, np.float32)])
