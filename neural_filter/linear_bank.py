"""A knob model's long linear bank: one least-squares FIR per pair, as long as the filter, not the window.

A knob's pairs are made at several cutoffs (its knots), and a low cutoff rings far longer than a
stack's window. So the bank is sliding mode's long linear path (linear_path.py) once per pair:
each pair's exact least-squares FIR, fixed, all of one length, the longest any pair shows
(linear_path.length_of on each, capped as it caps a path), or `--linear-taps N`. Training takes
each pair's FIR output off its target once, and the stack fits what is left.

At a knob value the bank is one FIR, the knots' taps and biases weighed by the knob's features
(`at`), rendered by FFT as a long path is. A sweep moves the weights every sample: each sample's
output is then the knots' FIRs' outputs weighed by its own features, exactly (`Swept`), which
costs four FFT convolutions per interval between knots (the spline's cubic), not one per knot,
nor one per sample.

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
    source: str = "pair"  # "pair": the length read off the pairs; "given": --linear-taps; "window": the stack's

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

    def swept(self, table: np.ndarray, located) -> "Swept":
        """The bank with its knob moving every sample (`table`: knob.Knob.table; `located(first, count)`: each
        sample's interval and d, knob.Knob.locate's)."""
        return Swept(self, table, located)

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
    """The bank's output with the knob at its own value at every sample, exactly: its knots' FIRs, weighed.

    A stream, as linear_path.LinearPath's (render.py runs it beside the stack). Inside one interval
    between knots each knot's weight is a cubic in d (knob.Knob.table), so the weighed sum of the
    knots' outputs is a cubic in d whose four coefficients are four FIRs' outputs (the knots' taps
    weighed by the cubic's coefficients): per hop, one FFT of the signal, four inverse FFTs per
    interval the hop meets (one, mostly), and a cubic per sample, whatever the number of knots.
    """

    bank: LinearBank
    table: np.ndarray  # (4, knots - 1, knots): knob.Knob.table, each feature's cubic per interval
    located: object  # (first, count) -> (interval, d) of samples first .. first + count - 1 (knob.Knob.locate)

    def stream(self, blocks):
        bank, size = self.bank, linear_path.fft_size(self.bank.length)
        hop = size - bank.length + 1
        spectra = {}  # interval -> (bins, 4): the FIRs whose outputs multiply d^3, d^2, d, 1 there

        def outputs(spectrum: np.ndarray, first: int, count: int) -> np.ndarray:
            interval, d = self.located(first, count)
            result = np.empty(count)
            for each in np.unique(interval):
                if each not in spectra:
                    powers = bank.taps.astype(np.float64) @ self.table[:, each].T  # (length, 4)
                    spectra[each] = np.fft.rfft(powers[::-1], size, axis=0)
                filtered = np.fft.irfft(spectrum[:, None] * spectra[each], size, axis=0)
                chosen = np.flatnonzero(interval == each)
                cubic = filtered[bank.length - 1 : bank.length - 1 + hop][chosen] + self.table[:, each] @ bank.biases
                at = d[chosen]
                result[chosen] = ((cubic[:, 0] * at + cubic[:, 1]) * at + cubic[:, 2]) * at + cubic[:, 3]
            return result.astype(np.float32)

        return linear_path.overlap_save(blocks, bank.length, bank.before, outputs)


def fit(pairs: list, rate: int, before, taps: int | None = None, curve: bool = True, progress=None,
        shortest: int = linear_path.SHORTEST) -> LinearBank:
    """Each pair's least-squares FIR (`pairs`: full-scale (x, y) per knot), all `taps` long, or as long as the
    longest any pair shows (linear_path.length_of, `curve`: the stack reads the bank's output), and never
    shorter than `shortest` (the stack's window: see KnobKind.fit_bank) or linear_path.SHORTEST.

    `before(length)`: the taps before the output (the alignment). `progress()`: called once per pair read for
    the length, and once per pair solved.
    """
    from neural_filter import fir  # noqa: PLC0415 - SciPy: when training, never when rendering (gen.py)

    source = "given" if taps else "pair"
    if not taps:
        taps = max(shortest, linear_path.SHORTEST)  # a window under the search's own start does not shorten it
        for x, y in pairs:  # each pair's search starts at the longest so far: only longer lengths need trying
            taps = linear_path.length_of(x, y, rate, before, start=taps, curve=curve).length
            if progress:
                progress()
        if taps == shortest > linear_path.SHORTEST:
            source = "window"  # no pair shows a response longer than the stack's window
    found = []
    for x, y in pairs:
        found.append(fir.exact_least_squares_fir(x, y, taps, before(taps)))
        if progress:
            progress()
    return LinearBank(np.stack([fir_taps for fir_taps, _ in found], axis=1).astype(np.float32),
                      np.array([bias for _, bias in found], np.float32), before(taps), source)
