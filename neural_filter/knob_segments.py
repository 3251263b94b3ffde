"""A knob's training data, streamed: each batch of segments cut from the pairs when Keras asks for it.

A knob model trains on segments of every pair shuffled together. Cut all at once, the segments,
their targets, the linear paths' outputs and each segment's knob features were a copy of every
pair several times over (and Keras's own copy of them), so the memory a knob run needed grew with
every pair: 4.0 GB for 32 pairs of 30 s (issue 23). Here each pair is kept once, as read (full
scale, which is the knob's signed levels), with its long FIR's output over it (linear_bank.py:
rendered by FFT once per pair, not per batch), and a batch is made from them on demand: its
segments with their context (silence, or the training part's end, before a validation part), the
FIR's output over them, and the target less that output, which the stack learns. What a run holds
beyond the pairs is their FIRs' outputs and one batch.
"""

import math

import keras
import numpy as np


class KnobSegments(keras.utils.PyDataset):
    """Batches ((audio, features, linear), residual) of `segment`-sample segments of every pair.

    `parts`: per pair, (x, y, past, linear, features): the part's full-scale signals, the signal
    before it (None: silence), its FIR's output over the part (as long as y) and its knob features.
    `before`, `after`: the context a window needs around an output (FilterSpec.padding). Shuffled
    anew each epoch when `seed` is given; in order otherwise (validation).
    """

    def __init__(self, parts: list, segment: int, before: int, after: int, batch_size: int, seed: int | None = None):
        super().__init__()
        self.parts, self.segment, self.before, self.after, self.batch_size = parts, segment, before, after, batch_size
        self.segments = np.array([(index, start) for index, (x, y, *_) in enumerate(parts)
                                  for start in range(0, len(y) // segment * segment, segment)], np.int64).reshape(-1, 2)
        self.random = np.random.default_rng(seed) if seed is not None else None
        self.order = np.arange(len(self.segments))
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.segments) / self.batch_size)

    @property
    def count(self) -> int:
        """Segments in all (what an epoch trains on)."""
        return len(self.segments)

    def on_epoch_end(self) -> None:
        if self.random is not None:
            self.order = self.random.permutation(len(self.segments))

    def __getitem__(self, batch: int):
        chosen = self.segments[self.order[batch * self.batch_size : (batch + 1) * self.batch_size]]
        width = self.segment + self.before + self.after
        audio = np.empty((len(chosen), width), np.float32)
        linear = np.empty((len(chosen), self.segment), np.float32)
        target = np.empty((len(chosen), self.segment), np.float32)
        features = []
        for row, (index, start) in enumerate(chosen):
            x, y, past, fir_output, feature = self.parts[index]
            audio[row] = _with_context(x, past, start - self.before, width)
            linear[row] = fir_output[start : start + self.segment]
            target[row] = y[start : start + self.segment] - linear[row]
            features.append(feature)
        return (audio[:, :, None], np.asarray(features, np.float32), linear[:, :, None]), target[:, :, None]


def _with_context(x: np.ndarray, past, start: int, width: int) -> np.ndarray:
    """x[start : start + width], where a negative start reaches into `past`'s end (silence without one),
    and the end beyond x is silence."""
    out = np.zeros(width, np.float32)
    low, high = max(start, 0), min(start + width, len(x))
    out[low - start : high - start] = x[low:high]
    if start < 0 and past is not None:
        reach = min(-start, len(past))
        out[-start - reach : -start] = past[len(past) - reach :]
    return out
