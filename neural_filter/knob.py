"""The knob of a conditioned model: one model for every cutoff, turned or swept.

A knob model is trained on pairs made at several cutoffs, its knots. Every weight the knob moves
(the linear path's taps and bias, and an offset to each hidden layer's biases) has one value per
knot, and at any cutoff between the knots the model takes the natural cubic spline through those
values, in log frequency. In matrix form each such weight is `features(cutoff) @ per_knot_values`,
where feature k is the spline through 1 at knot k and 0 at the others: at a knot the model is
exactly that pair's, and between knots every weight moves as smoothly as a cubic can. The features
are also what the Keras model takes as its knob input (kinds/knob.py). The first hidden
layer also reads the linear path's output at this cutoff (`from_linear`): a drive after the
filter is then a curve of one input (bench/knob_drive.py: within 1.5 to 2.3 dB of the u8 floor
from 450 Hz up, where the stack without it stayed 12 to 22 dB away).

Why a spline and not a small network of the cutoff: bench/quality.py --knob --alternatives
measures both. Through the least-squares FIRs of 32 pairs from 100 Hz to 8 kHz, the spline follows
a 24 dB/octave low-pass to -61.5 dB or better at cutoffs between the pairs (float output); a
network from the cutoff to the taps, fitted to the same 32 FIRs, to -30 to -40 dB.

`KnobStack` is the model in NumPy: `at(cutoff)` folds it into an ordinary DenseStack, so a fixed
cutoff renders at the speed of an unconditioned model; `sweep(...)` renders with a cutoff that
moves every sample, exactly (no blocks, so no steps between them). Its bank is window-long inside
the network in files of format 4 and before; from format 5 it is long (linear_bank.LinearBank:
each pair's FIR as long as its filter), rendered by FFT beside the stack as a sliding model's
long path is.
"""

import dataclasses
import math

import numpy as np

from neural_filter.errors import ArgumentError
from neural_filter.linear_bank import LinearBank
from neural_filter.network import Dense, DenseStack, activations_of


@dataclasses.dataclass(frozen=True)
class Knob:
    """A model's control: its name, unit and knots (the training pairs' values, increasing)."""

    knots: tuple[float, ...]
    name: str = "cutoff"
    unit: str = "Hz"

    @property
    def low(self) -> float:
        return self.knots[0]

    @property
    def high(self) -> float:
        return self.knots[-1]

    @property
    def middle(self) -> float:
        """The middle of the range in log frequency, to 3 digits (as typed to gen.py; more where 3 leave the
        range): where fit.py renders its song."""
        middle = math.sqrt(self.low * self.high)
        return next(value for value in (float(f"{middle:.{digits}g}") for digits in range(3, 18))
                    if self.low <= value <= self.high)

    def check(self, value: float) -> float:
        """Refuse a value outside the trained range, naming the range; the ends as printed (`%g`) are the ends."""
        for end in (self.low, self.high):
            if f"{value:g}" == f"{end:g}":
                return end
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ArgumentError(self.name, f"{value:g} {self.unit}",
                                "outside the range the model was trained on "
                                f"({self.low:g} to {self.high:g} {self.unit})",
                                f"give a {self.name} from {self.low:g} to {self.high:g}")
        return value

    def record(self) -> dict:
        return {"name": self.name, "unit": self.unit, "low": self.low, "high": self.high, "knots": list(self.knots),
                "between_knots": "natural cubic spline in log frequency"}

    @classmethod
    def from_record(cls, record: dict) -> "Knob":
        return cls(tuple(float(knot) for knot in record["knots"]), record["name"], record["unit"])

    def table(self) -> np.ndarray:
        """(4, knots - 1, knots): per interval between knots, each feature's cubic in d = ln(value) - ln(knot).

        Row 0 holds the d^3 coefficients, row 3 the constants (scipy.interpolate.CubicSpline's `c`
        with bc_type="natural", which the tests compare it with: importing SciPy's interpolate
        would cost gen.py half a second at every start).
        """
        logs = np.log(np.asarray(self.knots, np.float64))
        count, widths = len(logs), np.diff(logs)
        values = np.eye(count)  # feature k is the spline through 1 at knot k, 0 at the others
        slopes = np.diff(values, axis=0) / widths[:, None]
        # second derivatives at the knots: zero at both ends, the tridiagonal system between
        second = np.zeros((count, count))
        if count > 2:
            system = np.diag(2 * (widths[:-1] + widths[1:])) + np.diag(widths[1:-1], 1) + np.diag(widths[1:-1], -1)
            second[1:-1] = np.linalg.solve(system, 6 * np.diff(slopes, axis=0))
        cubic = np.diff(second, axis=0) / (6 * widths[:, None])
        linear = slopes - widths[:, None] * (2 * second[:-1] + second[1:]) / 6
        return np.stack([cubic, second[:-1] / 2, linear, values[:-1]])

    def locate(self, values):
        """For each value: its interval between knots, and its distance d from the interval's start, in ln."""
        logs = np.log(np.asarray(self.knots, np.float64))
        values = np.log(np.asarray(values, np.float64))
        interval = np.clip(np.searchsorted(logs, values, side="right") - 1, 0, len(logs) - 2)
        return interval, values - logs[interval]

    def features(self, values, table=None, located=None) -> np.ndarray:
        """(values, knots) float32: the weight each knot's values get at each value (`located`: locate(values))."""
        table = self.table() if table is None else table
        interval, d = located or self.locate(values)
        features = table[0, interval]
        for power in range(1, 4):
            features = features * d[:, None] + table[power, interval]
        return features.astype(np.float32)


@dataclasses.dataclass
class KnobStack:
    """A knob model in NumPy: a DenseStack's layers whose biases and linear path follow the knob."""

    knob: Knob
    layers: list  # Dense: the hidden layers and the linear output layer
    offsets: list  # per hidden layer, (knots, units): added to its bias, weighed by the features
    bank: Dense | LinearBank  # the linear path at each knot: window-long (kernel (window, knots), bias (knots,)),
    # or long (format 5), beside the stack
    from_linear: np.ndarray  # (units,): the linear path's output into the first hidden layer
    engine: str = "compiled"

    def __post_init__(self):
        self.table = self.knob.table()

    def at(self, value: float) -> DenseStack:
        """The model at one knob value, as an ordinary DenseStack (the same speed as an unconditioned one)."""
        features = self.knob.features([self.knob.check(value)], self.table)[0]
        hidden = [Dense(layer.kernel, layer.bias + features @ offset, layer.activation)
                  for layer, offset in zip(self.layers, self.offsets)]
        if self.long_bank:  # one long FIR beside the stack, which reads its output (as a sliding model's)
            return DenseStack(hidden + self.layers[len(self.offsets):], None, self.engine,
                              long_path=self.bank.at(features), from_linear=self.from_linear)
        taps, bias = self.bank.kernel @ features, np.float32(self.bank.bias @ features)
        # the first layer reads the linear path's output too: taps . x + bias, folded into its weights
        first = hidden[0]
        hidden[0] = Dense(first.kernel + np.outer(taps, self.from_linear), first.bias + bias * self.from_linear,
                          first.activation)
        return DenseStack(hidden + self.layers[len(self.offsets):], Dense(taps[:, None], np.array([bias])), self.engine)

    @property
    def long_bank(self) -> bool:
        """Whether the bank is long, beside the stack (format 5), not window-long inside it."""
        return isinstance(self.bank, LinearBank)

    @property
    def window(self) -> int:
        return self.layers[0].kernel.shape[0]

    def sweep(self, start: float, end: float, rows: int) -> "Sweep":
        """The model with its knob moving from `start` at row 0 to `end` at row `rows` - 1, evenly in log frequency."""
        return Sweep(self, self.knob.check(start), self.knob.check(end), rows)

    def with_engine(self, engine: str) -> "KnobStack":
        return dataclasses.replace(self, engine=engine)

    @property
    def numpy_ready(self) -> bool:
        return self.at(self.knob.low).numpy_ready


@dataclasses.dataclass
class Sweep:
    """Rows -> outputs with the knob at its own value for every row: exact, whatever the blocks.

    The hidden layers' biases take each row's features (knots x units per layer, little beside the
    window's product). The linear path would cost a product with every knot's taps; but inside one
    interval between knots each feature is a cubic in d, so the path is 4 products per row (the
    window times each power's taps) and a cubic in each row's d: a sweep costs about what a fixed
    cutoff costs, not `knots` times the linear path. A long bank (format 5) runs beside the rows
    instead (`long_path`: by FFT, each sample at its own knob value, linear_bank.Swept), and each
    call is given its rows' share of it (`linear`), as a sliding stack that reads its long path is.
    """

    stack: KnobStack
    start: float
    end: float
    rows: int

    @property
    def engine(self) -> str:
        return self.stack.engine

    @property
    def layers(self) -> list:
        return self.stack.layers

    @property
    def numpy_ready(self) -> bool:
        return self.stack.numpy_ready

    @property
    def long_path(self):
        """The long bank swept, each sample's knots weighed by its features (render.py runs it), or None."""
        if not self.stack.long_bank:
            return None
        return self.stack.bank.swept(self.stack.table, lambda first, count: self.stack.knob.locate(
            self.values(first, count)))

    @property
    def reads_linear(self) -> bool:
        return self.stack.long_bank

    def with_engine(self, engine: str) -> "Sweep":
        return dataclasses.replace(self, stack=self.stack.with_engine(engine))

    def on_full_scale(self, spec) -> "Sweep":
        """Itself: a knob model takes and gives full-scale samples (fit.py trains it at signed levels)."""
        if spec.scale_offset != (1.0, 0.0):
            raise ValueError(f"a knob model at {spec.levels} levels: only signed ones are made")
        return self

    def values(self, first_row: int, count: int) -> np.ndarray:
        """The knob at rows first_row .. first_row + count - 1."""
        position = (first_row + np.arange(count)) / max(self.rows - 1, 1)
        return np.exp(np.log(self.start) + (np.log(self.end) - np.log(self.start)) * np.minimum(position, 1.0))

    def __call__(self, rows: np.ndarray, first_row: int = 0, linear: np.ndarray | None = None) -> np.ndarray:
        """`linear` (rows,): the long bank's output at the rows (render.py adds it after); None: the window-long
        bank's, computed here and added."""
        stack, table = self.stack, self.stack.table
        values = self.values(first_row, len(rows))
        located = stack.knob.locate(values)
        features = stack.knob.features(values, table, located)  # (rows, knots)
        given = linear is not None
        if not given:
            linear = self._linear(rows, located, features)
        activations = activations_of(stack.engine)
        result = rows.T
        for index, layer in enumerate(stack.layers):
            product = layer.kernel.T @ result
            if index < len(stack.offsets):
                product += stack.offsets[index].T @ features.T  # this row's bias offset
            if index == 0:
                product += np.outer(stack.from_linear, linear)  # the first layer reads the linear path's output
            result = activations[layer.activation](product, layer.bias)
        return result.T if given else (result + linear).T

    def _linear(self, rows: np.ndarray, located, features: np.ndarray) -> np.ndarray:
        """The linear path's output for each row at its own knob value (float32); `located`: knob.locate's."""
        stack, table = self.stack, self.stack.table
        interval, d = located
        linear = features @ stack.bank.bias
        for each in np.unique(interval):
            # a sweep is monotonic: the rows of one interval are one run of them (a slice, not a copy)
            chosen = slice(*np.flatnonzero(interval == each)[[0, -1]] + [0, 1])
            # (window, 4): the taps that multiply d^3, d^2, d, 1 in this interval
            powers = stack.bank.kernel @ table[:, each].T.astype(np.float32)
            products = rows[chosen] @ powers
            d_chosen = d[chosen]
            linear[chosen] += ((products[:, 0] * d_chosen + products[:, 1]) * d_chosen + products[:, 2]) * d_chosen \
                + products[:, 3]
        return linear.astype(np.float32)
