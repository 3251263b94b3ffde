"""A knob model's long linear bank: one least-squares FIR per pair, as long as the filter, not the window.

A knob's pairs are made at several cutoffs (its knots), and a low cutoff rings far longer than a
stack's window. So the bank is sliding mode's long linear path (linear_path.py) once per pair:
each pair's exact least-squares FIR, fixed, all of one length, the longest any pair shows
(linear_path.length_of on each, capped as it caps a path), or `--linear-taps N`. Training takes
each pair's FIR output off its target once, and the stack fits what is left.

At a knob value the bank is one FIR, the knots' taps and biases weighed by the knob's features
(`at`), rendered by FFT as a long path is. A sweep moves the weights every sample: the bank then
runs every knot's FIR over the song (one FFT of the signal per hop, one inverse per knot) and
weighs the knots' outputs at each sample by that sample's features (`Swept`): exact, and one FFT
convolution per knot, not one per sample.

In the model file (format 5) the taps are one entry, ENTRY (float32, taps x knots), and the
record's "linear_bank" holds their length, alignment, biases and where the length came from.
"""

import dataclasses
import io

import numpy as np

from neural_filter import linear_path
from neural_filter.linear_path import LinearPath

ENTRY = "linear_bank.npy"  # the taps, float32 (taps, knots), as an entry of the .keras zip (model_file)


@dataclasses.dataclass(frozen=True)
class LinearBank:
    """taps[:, k]: knot k's FIR (tap 0 the oldest, as linear_path.LinearPath's), biases[k] its bias."""

    taps: np.ndarray  # (length, knots) float32
    biases: np.ndarray  # (knots,) float32
    before: int
    source: str = "pair"  # "pair": the length read off the pairs; "given": --linear-taps

    record_key = "linear_bank"  # the run record's field, and the layer name model_file gives it
    entry_name = ENTRY

    @property
    def length(self) -> int:
        return len(self.taps)

    @property
    def knots(self) -> int:
        return self.taps.shape[1]

    def path(self, knot: int) -> LinearPath:
        """Knot `knot`'s FIR alone, as a long linear path (its pair's)."""
        return LinearPath(self.taps[:, knot], float(self.biases[knot]), self.before, self.source)

    def at(self, features: np.ndarray) -> LinearPath:
        """The bank at one knob value (`features`: knob.Knob.features of it, (knots,)): one FIR."""
        return LinearPath(self.taps @ features, float(np.float32(self.biases @ features)), self.before, self.source)

    def swept(self, weights) -> "Swept":
        """The bank with its knob moving every sample: `weights(first, count)` -> (count, knots) features."""
        return Swept(self, weights)

    def record(self) -> dict:
        """What the run record says of it (the taps themselves are the model file's ENTRY)."""
        return {"taps": self.length, "knots": self.knots, "before": self.before,
                "biases": [float(bias) for bias in self.biases], "length_from": self.source}

    def entry(self) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, self.taps.astype(np.float32), allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def from_entry(cls, data: bytes, record: dict) -> "LinearBank":
        taps = np.load(io.BytesIO(data), allow_pickle=False)
        if taps.shape != (record["taps"], record["knots"]):
            raise ValueError(f"{ENTRY} holds {taps.shape} taps, the record says {(record['taps'], record['knots'])}")
        return cls(taps.astype(np.float32), np.asarray(record["biases"], np.float32), int(record["before"]),
                   record["length_from"])


@dataclasses.dataclass(frozen=True)
class Swept:
    """The bank's output with the knob at its own value at every sample: each knot's FIR output, weighed.

    A stream, as linear_path.LinearPath's (render.py runs it beside the stack): all knots' outputs
    come from one overlap-save pass with (taps, knots) kernels, then each sample's weighted sum.
    """

    bank: LinearBank
    weights: object  # (first, count) -> (count, knots) float32: the features of samples first .. first + count - 1

    def stream(self, blocks):
        whole = LinearPath(self.bank.taps, 0.0, self.bank.before)  # every knot at once: (samples, knots) blocks
        first = 0
        for outputs in whole.stream(blocks):
            weights = self.weights(first, len(outputs))
            # float64 sums, as each knot's float64 FFT output is (then float32, as a path's output is)
            summed = np.einsum("nk,nk->n", outputs.astype(np.float64), weights) + weights @ self.bank.biases
            yield summed.astype(np.float32)
            first += len(outputs)


def fit(pairs: list, rate: int, before, taps: int | None = None, curve: bool = True, progress=None) -> LinearBank:
    """Each pair's least-squares FIR (`pairs`: full-scale (x, y) per knot), all `taps` long, or as long as the
    longest any pair shows (linear_path.length_of, `curve`: the stack reads the bank's output).

    `before(length)`: the taps before the output (the alignment). `progress()`: called once per pair read for
    the length, and once per pair solved.
    """
    from neural_filter import fir  # noqa: PLC0415 - SciPy: when training, never when rendering (gen.py)

    source = "given" if taps else "pair"
    if not taps:
        taps = linear_path.SHORTEST
        for x, y in pairs:  # each pair's search starts at the longest so far: only longer lengths need trying
            taps = linear_path.length_of(x, y, rate, before, start=taps, curve=curve).length
            if progress:
                progress()
    found = []
    for x, y in pairs:
        found.append(fir.exact_least_squares_fir(x, y, taps, before(taps)))
        if progress:
            progress()
    return LinearBank(np.stack([fir_taps for fir_taps, _ in found], axis=1).astype(np.float32),
                      np.array([bias for _, bias in found], np.float32), before(taps), source)
