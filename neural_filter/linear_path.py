"""The linear path: an FIR beside a kind's stack, as long as the filter's response, not the window.

A filter's linear part can ring far longer than the window a stack needs for its curve (an 80 Hz
high-pass for a thousand samples and more, an EQ's peak for hundreds). So the path has a length
of its own, read off the pair (`fit`): the least-squares FIR is doubled in length, from 64 taps,
for as long as doubling lowers its error on held-out audio by more than the pair can show (a
quarter of the target's own rounding noise, or of what no linear filter removes, whichever is
more), up to LONGEST_SECONDS. `--linear-taps N` gives the length instead. It is fitted by exact
least squares over the pair's outputs (fir.exact_least_squares_fir) and stays fixed: its output is
computed once and taken off the target, and training fits the stack to what it leaves, so a path
of 8192 taps costs training nothing. The same held-out reading tells fit.py's window notice what
a stack's window must hold (`stack_window`, or `length_of` where there is no long path).

Rendering runs it by FFT, overlap-save (NumPy's FFT: gen.py loads no SciPy), in hops counted from
the signal's start, so a song read in any blocks renders to the same bytes, and 8192 taps cost
about what 64 do. It works on full-scale samples: a stack at other levels folds its own.

Old model files (format 2 and before) hold a window-long path inside the Keras model instead
(network.DenseStack.linear_path); they load and render as they always did.
"""

import dataclasses
import io

import numpy as np

SHORTEST = 64  # taps the search starts from
LONGEST_SECONDS = 1.5  # the longest path read off a pair (a pair shows no more than a sixteenth of itself)
ENTRY = "linear_path.npy"  # the taps, float32, as an entry of the .keras zip (model_file)


@dataclasses.dataclass(frozen=True)
class LinearPath:
    """taps[k] weighs input sample n - before + k for output n (tap 0 the oldest, as a window row), plus a bias."""

    taps: np.ndarray
    bias: float
    before: int
    source: str = "pair"  # "pair": the length read off the pair; "given": --linear-taps

    record_key = "linear_path"  # the run record's field, and the layer name model_file gives it
    entry_name = ENTRY

    @property
    def length(self) -> int:
        return len(self.taps)

    @property
    def after(self) -> int:
        return self.length - 1 - self.before

    def stream(self, blocks):
        """Full-scale blocks in, the path's float32 outputs out, as many in all (blocks of its own sizes).

        Overlap-save (`overlap_save`): each hop of outputs is one FFT of `size` padded samples (silence
        before the signal and after it, as a window row has), the hops counted from the signal's start.
        """
        size = fft_size(self.length)
        hop = size - self.length + 1
        kernel = np.fft.rfft(self.taps[::-1].astype(np.float64), size)  # correlation with the taps = convolution

        def outputs(spectrum: np.ndarray, first: int, count: int) -> np.ndarray:
            filtered = np.fft.irfft(spectrum * kernel, size)
            return (filtered[self.length - 1 : self.length - 1 + hop] + self.bias).astype(np.float32)[:count]

        return overlap_save(blocks, self.length, self.before, outputs)

    def filter(self, samples: np.ndarray, past: np.ndarray | None = None) -> np.ndarray:
        """One signal's outputs; `past`: the signal just before it, whose last samples it reads instead of silence."""
        before = np.asarray(past, np.float32)[-self.before :] if past is not None and self.before else \
            np.empty(0, np.float32)
        outputs = np.concatenate([np.empty(0, np.float32), *self.stream([before, samples])])
        return outputs[len(before):]

    def record(self) -> dict:
        """What the run record says of it (the taps themselves are the model file's ENTRY)."""
        return {"taps": self.length, "before": self.before, "bias": self.bias, "length_from": self.source}

    def entry(self) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, self.taps.astype(np.float32), allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def from_entry(cls, data: bytes, record: dict) -> "LinearPath":
        taps = np.load(io.BytesIO(data), allow_pickle=False)
        if taps.shape != (record["taps"],):
            raise ValueError(f"{ENTRY} holds {taps.shape} taps, the record says {record['taps']}")
        return cls(taps.astype(np.float32), float(record["bias"]), int(record["before"]), record["length_from"])


def taps_before(length: int, align: str) -> int:
    """The taps of a path of `length` before its output: all but one when causal, half when centred (as a window)."""
    return length - 1 if align == "causal" else (length - 1) // 2


def fft_size(length: int) -> int:
    """The FFT length for `length` taps: a power of two at least 4x the taps, so each hop yields 3/4 of it."""
    return max(4096, 1 << (4 * length - 1).bit_length())


def overlap_save(blocks, length: int, before: int, outputs):
    """Full-scale blocks in, float32 outputs of an FIR of `length` taps (`before` of them before the output) out.

    The signal is padded with silence (`before` samples ahead of it, the rest after it) and read in
    segments of fft_size(length) samples, a hop apart; `outputs(spectrum, first, count)` turns one
    segment's spectrum (NumPy's rfft) into the outputs first .. first + count - 1 of the signal, which
    the segment's samples from `length - 1` on are the last inputs of.
    """
    size = fft_size(length)
    hop = size - length + 1
    pending = np.zeros(before)  # padded signal not yet consumed, from the next hop's first sample
    samples = given = 0
    for block in blocks:
        samples += len(block)
        pending = np.concatenate([pending, np.asarray(block, np.float64)])
        while len(pending) >= size:
            yield outputs(np.fft.rfft(pending[:size]), given, hop)
            given += hop
            pending = pending[hop:]
    pending = np.concatenate([pending, np.zeros(length - 1 - before)])
    while given < samples:
        count = min(hop, samples - given)
        yield outputs(np.fft.rfft(np.pad(pending[:size], (0, max(0, size - len(pending))))), given, count)
        given += count
        pending = pending[hop:]


def summed(first, second):
    """Two streams of float32 blocks of equal total length, added sample by sample, in the first's blocks."""
    second = Taker(second)
    for block in first:
        yield block + second.take(len(block))


class Taker:
    """A stream of float32 blocks read in counts of its reader's choosing: `take(count)` gives the next `count`."""

    def __init__(self, blocks):
        self.blocks, self.carried = iter(blocks), np.empty(0, np.float32)

    def take(self, count: int) -> np.ndarray:
        # joined once: a frame of a million rows takes hundreds of hops, and joining hop by hop copied it each time
        pieces, held = [self.carried], len(self.carried)
        while held < count:
            pieces.append(next(self.blocks))
            held += len(pieces[-1])
        joined = np.concatenate(pieces) if len(pieces) > 1 else self.carried
        taken, self.carried = joined[:count], joined[count:]
        return taken


# --- fitting: the length read off the pair, and the taps by least squares --------------------------


def fit(x: np.ndarray, y: np.ndarray, rate: int, before, taps: int | None = None, curve: bool = False) -> LinearPath:
    """The least-squares path for full-scale `x` -> `y`: `taps` long, or as long as the pair shows (`length_of`).

    `before(length)`: the taps before the output for a path of that length (the kind's alignment).
    `curve`: the stack beside the path reads its output, so its length is judged after any curve of it (HeldOut).
    """
    from neural_filter import fir  # noqa: PLC0415 - SciPy: when training, never when rendering (gen.py)

    source = "given" if taps else "pair"
    if not taps:
        taps = length_of(x, y, rate, before, curve=curve).length
    found, bias = fir.exact_least_squares_fir(x, y, taps, before(taps))
    return LinearPath(found, bias, before(taps), source)


@dataclasses.dataclass(frozen=True)
class Reading:
    """What the search saw: the length chosen, and the held-out error (a share of the target's power) at each."""

    length: int
    errors: dict  # taps -> held-out error share
    limit: float  # the smallest gain that counted
    capped: bool  # the error still fell at the longest length tried


def length_of(x: np.ndarray, y: np.ndarray, rate: int, before, start: int = SHORTEST,
              longest: int | None = None, curve: bool = False) -> Reading:
    """How long the least-squares FIR from `x` to `y` keeps gaining on held-out audio: the length past which
    doubling gains less than the pair can show.

    The FIR is fitted on the first 80 % of the pair and scored on the rest (HeldOut); the error
    counts as a share of the target's power. Doubling from `start` stops when it gains less than a
    quarter of the larger of the target's rounding noise (fir.rounding_share: what the pair can
    show at all) and the least error a linear filter leaves (the longest's, or a shorter one's
    where it is less: a nonlinear pair's curve, against which a longer linear filter gains only
    noise), and never less than the noise of the gain's own estimate. The length is at most
    LONGEST_SECONDS and a sixteenth of the pair (`longest` instead, when given). With `curve` (a
    stack that reads the path's output), each error is what is left after the best curve of the
    FIR's output too: a curve after a filter then leaves only the filter's truncation, which a
    longer path removes, where against the curve itself it counted as noise.
    """
    from neural_filter import fir  # noqa: PLC0415 - SciPy: when training, never when rendering (gen.py)

    held_out = HeldOut(x, y, before, curve)
    lengths = doublings(start, longest or max(start, min(int(LONGEST_SECONDS * rate), len(x) // 16)))
    held_out.error(start), held_out.error(lengths[-1])

    def limit(longer):
        counted = max(fir.rounding_share(y), min(held_out.errors.values()))
        return max(counted, held_out.noise(longer)) / 4

    for shorter, longer in zip(lengths, lengths[1:]):
        if held_out.error(shorter) - held_out.error(longer) < limit(longer):
            return Reading(shorter, held_out.errors, limit(longer), False)
    return Reading(lengths[-1], held_out.errors, limit(lengths[-1]), len(lengths) > 1)


def doublings(start: int, longest: int) -> list[int]:
    lengths = [start]
    while lengths[-1] * 2 <= longest:
        lengths.append(lengths[-1] * 2)
    return lengths


class HeldOut:
    """The least-squares FIRs of a pair's first 80 %, each scored on the rest: errors as shares of its power.

    `curve`: each FIR followed by the least-squares curve of its output (Curve), fitted on the same 80 %.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, before, curve: bool = False):
        self.cut = len(x) * 4 // 5
        self.x, self.y, self.before, self.curve = x, y, before, curve
        held = y[self.cut :]
        self.power = float(np.mean((held - held.mean()) ** 2)) or 1.0
        self.errors = {}  # taps -> error share

    def error(self, length: int) -> float:
        from neural_filter import fir  # noqa: PLC0415 - SciPy: when training, never when rendering (gen.py)

        if length not in self.errors:
            fitted_x, fitted_y, held_x, held_y = self.x[: self.cut], self.y[: self.cut], self.x[self.cut :], \
                self.y[self.cut :]
            taps, bias = fir.exact_least_squares_fir(fitted_x, fitted_y, length, self.before(length))
            path = LinearPath(taps, bias, self.before(length))
            held_output = path.filter(held_x, past=fitted_x)
            residual = (held_y - held_output).astype(np.float64)
            if self.curve:
                fitted_output = path.filter(fitted_x).astype(np.float64)
                residual -= Curve.fit(fitted_output, fitted_y - fitted_output)(held_output)
            self.errors[length] = float(np.mean(residual.astype(np.float64) ** 2)) / self.power
        return self.errors[length]

    def noise(self, length: int) -> float:
        """About what a fit of `length` taps errs by on held-out data beyond its error: length / samples of it."""
        return length / self.cut * self.error(length)


STACK_GAIN = 0.05  # a longer window must explain this share of what the path leaves (-13 dB) to be named
STACK_LONGEST = 32  # times the window: the longest window the stack's reading tries
CURVE_DEGREE = 12  # the polynomial in the path's output that stands for the curve a stack makes of it


def stack_window(x: np.ndarray, y: np.ndarray, path: LinearPath, rate: int, window: int, before) -> Reading:
    """How far back what the linear path leaves (y - path(x)) still depends on the input: the window a stack needs.

    The stack reads the path's output at its own sample (kinds/sliding.py's from_linear): any curve
    of it, a curve after the filter however long the filter, needs no window. So what a polynomial
    of the path's output (degree CURVE_DEGREE, least squares) explains is taken off the residual
    first. What is left of a curve before a filter is that filter applied to odd and even powers of
    its input (x^3 and x^2 lead them). So the least-squares FIR from each power to what is left is
    scored on held-out audio at the window and its doublings (up to STACK_LONGEST times it, a
    sixteenth of the pair); a longer window is named when the longest explains STACK_GAIN of the
    residual more than the window does (and more than the target's rounding), and the one named is
    the shortest that holds three quarters of that gain. A proxy, and a cautious one: on pink noise
    the powers' FIRs gain a percent or two from any longer window (the input's own long correlations
    stand in for the curve's higher terms): a curve after a short filter gains 1.6 % and stays unnamed.
    """
    from neural_filter import fir  # noqa: PLC0415 - SciPy: when training, never when rendering (gen.py)

    output = path.filter(x).astype(np.float64)
    residual = np.asarray(y, np.float64) - output
    residual_power = float(np.mean((residual - residual.mean()) ** 2))
    if residual_power <= 0:
        return Reading(window, {}, 0.0, False)
    left = residual - Curve.fit(output, residual)(output)
    left_power = float(np.mean((left - left.mean()) ** 2))
    if left_power <= 0:
        return Reading(window, {}, 0.0, False)
    share = left_power / residual_power  # the held-out errors below are shares of what is left: this makes them
    # shares of the residual
    floor = max(fir.rounding_share(y), fir.SMALLEST_SHARE) * float(np.var(y)) / residual_power
    lengths = doublings(window, max(window, min(STACK_LONGEST * window, len(x) // 16)))
    readings = []
    for power in (3, 2):
        feature = np.asarray(x, np.float64) ** power
        held_out = HeldOut(feature - feature.mean(), left, before)
        best = min(held_out.error(length) for length in lengths)
        gain = (held_out.error(window) - best) * share
        counts = max(floor, STACK_GAIN, held_out.noise(lengths[-1]) * share)
        length = window if gain < counts else \
            next(length for length in lengths if (held_out.error(length) - best) * share <= gain / 4)
        readings.append(Reading(length, held_out.errors, counts, length == lengths[-1] and length > window))
    return max(readings, key=lambda reading: reading.length)


@dataclasses.dataclass(frozen=True)
class Curve:
    """A polynomial of the path's output (Chebyshev, degree CURVE_DEGREE over its range at fitting): what a stack
    that reads that output can make of it at its own sample, whatever the window."""

    centre: float
    reach: float
    coefficients: np.ndarray

    CHUNK = 1 << 16  # samples per block of the basis: its normal equations are summed block by block (flat memory)

    @classmethod
    def fit(cls, output: np.ndarray, residual: np.ndarray) -> "Curve":
        """The least-squares curve of `output` nearest `residual`."""
        output = np.asarray(output, np.float64)
        centre = float(output.mean()) if len(output) else 0.0
        reach = float(np.max(np.abs(output - centre))) if len(output) else 0.0
        curve = cls(centre, reach or 1.0, np.zeros(CURVE_DEGREE + 1))
        gram, moments = np.zeros((CURVE_DEGREE + 1,) * 2), np.zeros(CURVE_DEGREE + 1)
        for start in range(0, len(output), cls.CHUNK):
            basis = curve.basis(output[start : start + cls.CHUNK])
            gram += basis.T @ basis
            moments += basis.T @ np.asarray(residual[start : start + cls.CHUNK], np.float64)
        return dataclasses.replace(curve, coefficients=np.linalg.lstsq(gram, moments, rcond=None)[0])

    def basis(self, output: np.ndarray) -> np.ndarray:
        # outputs beyond the fitted range (held-out audio) are clipped to it: a polynomial runs wild outside
        scaled = np.clip((np.asarray(output, np.float64) - self.centre) / self.reach, -1.0, 1.0)
        return np.polynomial.chebyshev.chebvander(scaled, CURVE_DEGREE)

    def __call__(self, output: np.ndarray) -> np.ndarray:
        return np.concatenate([np.empty(0), *(self.basis(output[start : start + self.CHUNK]) @ self.coefficients
                                              for start in range(0, len(output), self.CHUNK))])
