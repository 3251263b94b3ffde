"""The convolutional kind (fit.py --mode tcn): a stack of causal dilated convolutions, as
neural-amp-modeler's WaveNet and Steinmetz & Reiss's TCN are, beside a curve branch and the long
linear path.

The audio is spread over `units` channels (a 1x1 convolution, `rechannel`), then each of `layers`
layers is a causal Conv1D of KERNEL taps `dilation` samples apart with the activation after it
(hidden_<n>); a 1x1 convolution mixes its channels back into the layer's input (mix_<n>: a residual
sum, so each layer corrects the one before) and another takes them to the output (skip_<n>). The
output is the sum of every layer's skip and of two branches beside the stack:

- the curve branch (Hammerstein): every input sample through CURVES tanh curves and HINGES relu
  hinges (`curve`, `hinge`: 1x1 convolutions), each curve through an FIR as long as the window
  (`curve_fir`), summed. A curve before a filter, Σ_k h_k f(x[n-k]), is exactly that shape. It
  starts exact: the curves spread over the input's levels, their FIRs the least-squares ones
  (fir.least_squares_bank), so training starts from the best curve-then-filter those curves
  allow, and stays fixed (BRANCH_TRAINS);
- the long linear path (linear_path.py, as sliding mode's): the pair's least-squares FIR, as long
  as the pair shows the response (or --linear-taps), fixed, outside the Keras model; the stack and
  the branch train on what it leaves, the skips starting at zero.

With --no-fir-start the linear path is instead a window-long FIR inside the model, trained from
zero, whose output the last layer also reads (`from_linear`, as the knob model's first layer
does), and the branch's FIRs start at zero; model files of format 3 and before have that path.

Every layer sees its input at every sample, so a curve applied to each sample before a filter, or
after it, or between two, is a few layers' work: the sliding stack's first layer mixes its whole
window into `units` values, which a curve before the filter defeats (issue 20). The branch makes
the commonest of those shapes, a curve then a filter, exactly; the stack learns what it leaves.

The window is the receptive field: 1 + (KERNEL - 1) * the sum of the dilations. The dilations double
(1, 2, 4, ...) while each layer reaches no further than one step past what those before it cover, so
that every past sample of the window is reachable; the last layer takes the rest (see `dilations`).
Window 64 with 6 layers is 1, 2, 4, 8, 16, 32; a window too long for the layers, or shorter than
one step per layer, is refused.

Training cuts the pair into segments with their past, as sliding mode does (this kind is a sliding
model in everything but its stack). Rendering (TcnStack, NumPy) cuts the signal into segments of
`segment_length` outputs, each with the window's past before it: a row of the render's framing is
one segment, the window's last samples of one block carried to the next, and each segment runs
through the stack alone, so a render in blocks gives the bytes of a render in one pass, and the
segments run on every core at once (a stream carrying each layer's state across blocks would run on
one: the segments' shared pasts cost (window - 1) / segment more work instead). The long linear
path runs beside the segments by FFT over the whole signal (render.py), as sliding mode's does.
"""

import dataclasses
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neural_filter import numpy_activations
from neural_filter.errors import ArgumentError
from neural_filter.kinds.base import bias_initializer, hidden_names
from neural_filter.kinds.sliding import SlidingKind
from neural_filter.linear_path import LinearPath
from neural_filter.network import Dense, activations_of
from neural_filter.settings import TrainSettings

# Taps per dilated convolution: with 2 any window is a receptive field (with 3, only odd ones). Measured
# 2026-12-05 on the README's two 30 s pink u8 pairs (a curve after, and before, a 2 kHz 24 dB/octave
# low-pass), 16 units, batch 8, 15 epochs: 3 taps in 4 layers (window 65) scored 0.7 and 0.8 dB better
# than 2 taps in 6 layers (window 64), in a fifth less time: a case for 3 where a window may be odd.
KERNEL = 2
SEGMENT = 4096  # outputs per rendered segment, at least (see segment_length)
# The curve branch: each input sample through CURVES tanh curves and HINGES relu hinges (saturations, and clips
# or rectifiers), each curve through an FIR of the window, summed: any curve before a filter, fitted by least
# squares. Measured 2026-12-05 (window 64, least squares alone, bench/effects.py's 16-bit tanh-drive and
# hard-clip pairs, worst real recording): 16 tanh curves -78.7 and -40.5 dB, 16 hinges -53.5 and -62.0 dB,
# both -77.2 and -64.0 dB (8 of each: -66.8 and -41.3; 32 tanh: -77.2 and -41.6).
CURVES = 16
HINGES = 16
BRANCH = {"curve": "tanh", "hinge": "relu"}  # the branch's curve layers, in the order their FIR reads them
# Whether the branch trains with the stack. Measured 2026-12-05 (16-bit 30 s pairs of bench/effects.py): trained
# with the rest from Adam's 3e-3 (the kind's cosine), a start at -49 dB ended its first epoch at a training loss
# 900 times the start's; at 1e-4 and 1e-5 the hard clip's start (-44.1 dB on validation) gained nothing in 4
# epochs. Fixed, the stack trains on what it leaves and cannot spoil it.
BRANCH_TRAINS = False


def dilations(window: int, layers: int, kernel: int = KERNEL) -> list[int]:
    """The dilations of `layers` layers whose receptive field is `window`; an Unmakeable saying why when none is.

    Each layer's dilation is the largest power of `kernel` that leaves every sample of the window
    reachable (at most one step past the span of the layers before it) and at least one step for
    each layer after it; the last layer takes what is left, which must keep the window reachable.
    """
    steps, remainder = divmod(window - 1, kernel - 1)
    most = (kernel ** layers - 1) // (kernel - 1)  # the longest span `layers` layers cover without a gap
    if layers < 1 or remainder or not layers <= steps <= most:
        raise Unmakeable(window, layers, kernel)
    chosen = []
    for index in range(layers - 1):
        span = sum(chosen)
        limit = min(1 + (kernel - 1) * span, steps - span - (layers - 1 - index))
        chosen.append(kernel ** int(np.floor(np.log(limit) / np.log(kernel) + 1e-9)))
    last = steps - sum(chosen)
    if last > 1 + (kernel - 1) * sum(chosen):  # (never, while `most` is right: the tests try every window)
        raise Unmakeable(window, layers, kernel)
    return chosen + [last]


class Unmakeable(ValueError):
    """A window that is no receptive field of the layers: as an ArgumentError's option, value, problem and remedy."""

    def __init__(self, window: int, layers: int, kernel: int):
        shortest, longest = 1 + (kernel - 1) * layers, kernel ** layers
        least_layers = max(1, int(np.ceil(np.log(max(window, 2)) / np.log(kernel) - 1e-9)))
        if layers < 1:
            self.parts = ("layers", layers, "is too few for a tcn model: it has at least one dilated layer",
                          "give 1 or more layers")
        elif window > longest:
            self.parts = ("window", window, f"is longer than {layers} dilated layers of {kernel} taps reach "
                          f"({longest} samples; a tcn model's window is its receptive field)",
                          f"give at least {least_layers} layers, or a window from {shortest} to {longest}")
        else:
            self.parts = ("window", window, f"is shorter than {layers} dilated layers of {kernel} taps reach "
                          f"({shortest} samples at least; a tcn model's window is its receptive field)",
                          f"give a window from {shortest} to {longest}, or fewer layers")
        super().__init__(" ".join(str(part) for part in self.parts[1:]))


class TcnKind(SlidingKind):
    name = mode = "tcn"
    stack_reads_path = False  # its last layer reads the window-long path (from_linear), not the long one
    fitted_start = "the least-squares FIR and curve branches"
    sweep_defaults = {"batches": "8:64", "samples": "16:128"}  # segments of 1024 samples per batch; the window

    # --- framing: a row is a segment of `segment_length` outputs with the window's past before it --------

    def padding(self, window: int, align: str) -> tuple[int, int]:
        return window - 1, 0  # causal only (check_request refuses centre)

    def outputs_per_row(self, window: int) -> int:
        return segment_length(window)

    def rows_per_call(self, window: int, block_rows: int) -> int:
        return 1  # a segment is already thousands of outputs: one per call, the calls on every core

    def rows(self, pending: np.ndarray, window: int, group_rows: int) -> tuple[np.ndarray, np.ndarray]:
        length = segment_length(window)
        count = max(len(pending) - window + 1, 0) // length
        count -= count % group_rows
        if count == 0:
            return np.empty((0, length + window - 1), np.float32), pending
        # (count, length + window - 1): a view, one segment every `length` samples
        rows = sliding_window_view(pending[: count * length + window - 1], length + window - 1)[::length]
        return rows, pending[count * length :]

    def final_silence(self, pending: int, window: int, after: int) -> int:
        return (-(pending - window + 1)) % segment_length(window)  # the last segment's

    def row_count(self, samples: int, window: int) -> int:
        return samples  # every output is one position of every layer: TcnStack.layers weigh the work per output

    def keras_inputs(self, rows: np.ndarray) -> np.ndarray:
        return rows[:, :, None]  # (segments, length + window - 1, 1)

    # --- training --------------------------------------------------------------------------------

    def check_request(self, request) -> None:
        """Refuse what a tcn model is not: centred, or a window its layers cannot make."""
        if request.align == "centre":
            raise ArgumentError("align", request.align, "is not for a tcn model: its convolutions are causal",
                                "drop it, or train with --mode sliding")
        try:
            dilations(request.window, request.settings.layers)
        except Unmakeable as error:
            raise ArgumentError(*error.parts) from None
        self.check_linear_taps(request)

    def build(self, spec, settings: TrainSettings):
        """rechannel, then per layer hidden_<n> (dilated), mix_<n> (the residual) and skip_<n>; beside them the
        curve branch (curve, hinge, curve_fir) and the window-long linear path (window_path, read by the last
        layer through from_linear); the sum of the skips and the branches is the output (the long path is added
        outside the Keras model: train.py, render.py)."""
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.model import check_activation  # noqa: PLC0415 - imports Keras, as above

        check_activation(settings.activation)
        chosen = dilations(spec.window, settings.layers)
        inputs = keras.Input(shape=(None, 1))  # (batch, samples + window - 1, 1)
        signal = keras.layers.Conv1D(settings.units, 1, name="rechannel")(inputs)  # (batch, time, units)
        # (batch, samples, 1): the window-long FIR beside the stack (the long one is outside the model)
        linear = keras.layers.Conv1D(1, spec.window, name="window_path")(inputs) if settings.linear_path else None
        skips, reached = [], 0  # reached: samples of the past the layers so far have used up
        for index, dilation in enumerate(chosen):
            reads_linear = linear is not None and index == len(chosen) - 1  # the last layer's samples are the outputs
            hidden = keras.layers.Conv1D(settings.units, KERNEL, dilation_rate=dilation,
                                         activation=None if reads_linear else settings.activation,
                                         bias_initializer=bias_initializer(settings.bias_start),
                                         name=f"hidden_{index}")(signal)  # (batch, time - shift, units)
            if reads_linear:
                from_linear = keras.layers.Conv1D(settings.units, 1, use_bias=False, kernel_initializer="zeros",
                                                  name="from_linear")(linear)
                hidden = keras.layers.Activation(settings.activation, name="activation")(
                    keras.layers.Add()([hidden, from_linear]))
            shift = (KERNEL - 1) * dilation
            reached += shift
            skips.append((keras.layers.Conv1D(1, 1, name=f"skip_{index}")(hidden), reached))
            if index < len(chosen) - 1:
                mixed = keras.layers.Conv1D(settings.units, 1, name=f"mix_{index}")(hidden)
                signal = keras.layers.Add()([keras.layers.Cropping1D((shift, 0))(signal), mixed])
        # every skip cut to the last one's length: (batch, samples, 1)
        outputs = [keras.layers.Cropping1D((reached - at, 0))(skip) if at < reached else skip for skip, at in skips]
        if linear is not None:
            outputs.append(linear)
        # (batch, time, CURVES + HINGES): curves of each sample, each through an FIR of the window (BRANCH_TRAINS)
        curves = keras.layers.Concatenate(name="curves")([
            keras.layers.Conv1D(count, 1, activation=BRANCH[name], name=name, trainable=BRANCH_TRAINS)(inputs)
            for name, count in (("curve", CURVES), ("hinge", HINGES))])
        outputs.append(keras.layers.Conv1D(1, spec.window, name="curve_fir", trainable=BRANCH_TRAINS)(curves))
        if linear is not None:  # the after-branch (Wiener): curves of the window-long path's output, mixed
            after = keras.layers.Concatenate(name="after_curves")([
                keras.layers.Conv1D(count, 1, activation=BRANCH[name], name=f"after_{name}",
                                    trainable=BRANCH_TRAINS)(linear) for name, count in (("curve", CURVES),
                                                                                         ("hinge", HINGES))])
            outputs.append(keras.layers.Conv1D(1, 1, name="after_mix", trainable=BRANCH_TRAINS)(after))
        output = keras.layers.Add(name="sum")(outputs)
        return keras.Model(inputs, output, name="tcn_filter")

    def linear_path(self, prepared, spec, settings: TrainSettings):
        """The long linear path: the least-squares FIR of what the window-long path's start leaves (so that the two
        start as the least-squares FIR of the long path's length: see `start`), or None (Kind.linear_path)."""
        if not self.fits_long_path(settings):
            return None
        from neural_filter import fir  # noqa: PLC0415 - SciPy: when training, never when rendering (gen.py)
        from neural_filter import linear_path  # noqa: PLC0415 - its fitting: when training, as above

        window = LinearPath(*fir.least_squares_fir(prepared.train_x, prepared.train_y, spec.window, spec.window - 1),
                            spec.window - 1)
        return linear_path.fit(prepared.train_x, prepared.train_y - window.filter(prepared.train_x), prepared.rate,
                               lambda length: linear_path.taps_before(length, spec.align), settings.linear_taps)

    def start(self, model, prepared, spec, settings: TrainSettings) -> None:
        """The skips at zero; the window-long path at the least-squares FIR of the pair (`prepared`'s targets: what
        the long path leaves), and the curve branch at its least-squares start on what both leave (`start_curves`):
        training starts from the best linear filter and curve-then-filter there are. With --no-fir-start, the
        window-long path and the branch's FIRs at zero."""
        paths = [model.get_layer("window_path")] if settings.linear_path else []
        if not settings.fir_start:
            for layer in paths + [model.get_layer("curve_fir")]:
                layer.set_weights([np.zeros_like(weight) for weight in layer.get_weights()])
            return
        from neural_filter.fir import least_squares_fir  # noqa: PLC0415 - SciPy: when training, never gen.py

        for layer in model.layers:
            if layer.name.startswith("skip_"):
                layer.set_weights([np.zeros_like(weight) for weight in layer.get_weights()])
        x, left = spec.to_network(prepared.train_x), spec.to_network(prepared.train_y)
        silence, filtered = float(spec.to_network(np.zeros(1))[0]), None
        if paths:
            taps, bias = least_squares_fir(x, left, spec.window, spec.window - 1)
            paths[0].set_weights([taps.reshape(spec.window, 1, 1), np.array([bias], np.float32)])
            window_path = LinearPath(taps, bias, spec.window - 1)
            filtered = (window_path.filter(x), float(taps.sum() * silence + bias))
            left = left - filtered[0]
        start_curves(model, x, left, spec.window, silence, filtered)

    # --- the saved model -------------------------------------------------------------------------

    def network_of(self, layers: dict, record: dict) -> "TcnStack":
        names = hidden_names(layers)
        chosen = dilations(record["spec"]["window"], len(names))
        hidden = [layers[name] for name in names]
        from_linear = layers.get("from_linear")
        if from_linear is not None:  # the last layer's activation is a layer of its own, after the linear path's share
            hidden[-1] = Dense(hidden[-1].kernel, hidden[-1].bias, layers["activation"])
        mixes = [layers[f"mix_{index}"] for index in range(len(names) - 1)]
        skips = [layers[f"skip_{index}"] for index in range(len(names))]
        # format 3 and before: the window-long path was "linear_path"; from 4 that is the long one, beside the network
        path = layers.get("linear_path")
        long_path = path if isinstance(path, LinearPath) else None
        window_path = layers.get("window_path", None if long_path else path)
        return TcnStack(layers["rechannel"], hidden, chosen, mixes, skips, window_path,
                        None if from_linear is None else from_linear.kernel[0],
                        [layers[name] for name in BRANCH if name in layers], layers.get("curve_fir"),
                        [layers[f"after_{name}"] for name in BRANCH if f"after_{name}" in layers],
                        layers.get("after_mix"), long_path=long_path)

    def name_suffix(self, spec, knob=None) -> str:
        return "_tcn"


def start_curves(model, x: np.ndarray, y: np.ndarray, window: int, silence: float = 0.0, filtered=None) -> None:
    """The curve branches' start: their curves spread over their input's levels (`odd_curves`, `hinges`), their
    FIRs (and the after-branch's mix) the least-squares ones, jointly, from those curves to `y`: the best
    curve-then-filter and filter-then-curve the curves allow. Network levels: `silence` the level of silence in
    `x`; `filtered`: the window-long path's output and its level at silence (no after-branch without it)."""
    import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

    from neural_filter.fir import least_squares_bank  # noqa: PLC0415 - SciPy: when training, never gen.py

    inputs = [("", x, silence)] + ([("after_", *filtered)] if filtered is not None else [])
    curves, windows = [], []
    for prefix, signal, quiet in inputs:
        level = float(np.std(signal)) or 1.0
        for name, (slopes, biases) in (("curve", odd_curves(level, CURVES, quiet)),
                                       ("hinge", hinges(signal, level, HINGES))):
            layer = model.get_layer(prefix + name)
            layer.set_weights([slopes.reshape(1, 1, -1).astype(np.float32), biases.astype(np.float32)])
            curves.append(keras.ops.convert_to_numpy(layer(np.asarray(signal, np.float32)[None, :, None]))[0].T)
            windows += [window if not prefix else 1] * len(slopes)
    windows = np.array(windows)
    taps, bias = least_squares_bank(np.concatenate(curves), y, windows, windows - 1)
    before = CURVES + HINGES
    model.get_layer("curve_fir").set_weights([np.stack(taps[:before]).T[:, :, None], np.array([bias], np.float32)])
    if filtered is not None:
        model.get_layer("after_mix").set_weights([np.concatenate(taps[before:]).reshape(1, -1, 1),
                                                  np.zeros(1, np.float32)])


def odd_curves(level: float, count: int, silence: float) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and biases of `count` tanh curves odd about silence, of every steepness from nearly straight to
    nearly a step over an input of standard deviation `level`. (Centred on a 16-bit pair's median instead,
    0.001 off silence, the tanh drive's start scored -49 dB where these score -94 on noise: odd matters.)"""
    slopes = np.geomspace(0.1, 12, count) / level
    return slopes, -slopes * silence


def hinges(x: np.ndarray, level: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and biases of `count` relu hinges at the quantiles of the input `x`, turned either way."""
    slopes = np.where(np.arange(count) % 2, 1.0, -1.0) / level
    return slopes, -slopes * np.quantile(x, np.linspace(0.02, 0.98, count))


def segment_length(window: int) -> int:
    """Outputs per rendered segment: SEGMENT, or four windows where that is more (the shared past stays <= 1/4)."""
    return max(SEGMENT, 4 * window)


@dataclasses.dataclass
class TcnStack:
    """The tcn model in NumPy: segments (rows of `segment_length + window - 1` samples) in, their outputs out.

    Inside, channels by time (units, samples): each layer's dilated convolution is KERNEL matrix
    products over shifted views of the residual stream, which shrinks by the layer's reach, so a
    segment's past is used up exactly at the last layer. The weights are rearranged once (`Folded`).
    """

    rechannel: Dense  # (1, units): the audio onto the channels
    hidden: list  # Dense (KERNEL * units, units) each: tap k's kernel in rows k * units .. (k + 1) * units
    dilations: list
    mixes: list  # Dense (units, units): a layer's channels into the next layer's input
    skips: list  # Dense (units, 1): a layer's channels into the output
    linear_path: Dense | None = None  # (window, 1): the window-long FIR beside the stack
    from_linear: np.ndarray | None = None  # (units,): the linear path's output into the last layer
    curves: list = dataclasses.field(default_factory=list)  # Dense (1, count) each: the curve branch (format 4 on)
    curve_fir: Dense | None = None  # (window * curves, 1): their FIRs, tap k's in rows k * curves .. (k + 1) * curves
    after_curves: list = dataclasses.field(default_factory=list)  # Dense (1, count) each: of linear_path's output
    after_mix: Dense | None = None  # (curves, 1): their sum
    engine: str = "compiled"  # see network.ENGINES
    long_path: object = None  # a linear_path.LinearPath, full scale: render.py adds its output to the segments'
    # each thread's reused arrays (see network.DenseStack._workspace: fresh ones cost page faults)
    _workspaces: threading.local = dataclasses.field(default_factory=threading.local, init=False, repr=False,
                                                     compare=False)

    def __post_init__(self):
        self.folded = Folded.of(self)

    @property
    def window(self) -> int:
        """The receptive field: the samples each output reads."""
        return 1 + (KERNEL - 1) * sum(self.dilations)

    @property
    def layers(self) -> list:
        """Every layer that runs at each output, the last one linear (what render.engine_for weighs, and
        model_file checks)."""
        branch = [*self.curves, self.curve_fir] if self.curves else []
        branch += [*self.after_curves, self.after_mix] if self.after_curves else []
        return [self.rechannel, *self.hidden, *branch, *self.mixes, *self.skips]

    def __call__(self, rows: np.ndarray, first_row: int = 0) -> np.ndarray:
        """(segments, length + window - 1) -> (segments, length): each segment through the stack alone."""
        return np.stack([self.segment(row) for row in rows]) if len(rows) else np.empty((0, 0), np.float32)

    def segment(self, samples: np.ndarray) -> np.ndarray:
        """One segment: window - 1 samples of past, then the samples whose outputs are wanted; float32 outputs."""
        folded, activations = self.folded, activations_of(self.engine)
        samples = np.asarray(samples, np.float32)
        length = len(samples) - self.window + 1
        product, other, mixed, stream_space, next_space, curve_space, tap_space = self._workspace(len(samples))
        linear = np.correlate(samples, folded.linear_taps, "valid") if self.linear_path is not None else None
        output = np.zeros(length, np.float32)
        stream = None  # (units, width): the residual stream the layer reads; the first reads the audio
        for index, (dilation, taps, bias, activation) in enumerate(zip(self.dilations, folded.taps, folded.biases,
                                                                          folded.activations)):
            shift = (KERNEL - 1) * dilation
            width = (len(samples) if stream is None else stream.shape[1]) - shift
            result, second = (space[: len(bias) * width].reshape(-1, width) for space in (product, other))
            for tap, kernel in enumerate(taps):
                start = tap * dilation
                if stream is None:  # the stream is the audio times rechannel's weights: each tap's product an outer one
                    np.multiply(kernel[:, None], samples[None, start : start + width], out=second if tap else result)
                else:
                    np.matmul(kernel, stream[:, start : start + width], out=second if tap else result)
                if tap:
                    result += second
            if folded.from_linear is not None and index == len(self.hidden) - 1:
                result += np.multiply(folded.from_linear[:, None], linear[None, :], out=second)
            hidden = activations[activation](result, bias)  # (units, width), in place
            mix = mixed[: len(folded.outs[index]) * width].reshape(-1, width)
            np.matmul(folded.outs[index], hidden, out=mix)  # the next layer's channels, then the skip
            output += mix[-1, width - length :]
            if index < len(self.mixes):
                following = next_space[: (len(mix) - 1) * width].reshape(-1, width)
                if stream is None:
                    np.multiply(folded.rechannel[:, None], samples[None, shift:], out=following)
                    following += mix[:-1]
                else:
                    np.add(stream[:, shift:], mix[:-1], out=following)
                stream, stream_space, next_space = following, next_space, stream_space
        if folded.curve_taps is not None:  # the curve branch: each curve of the samples through its FIR
            self._add_curve_branch(output, samples, curve_space, tap_space, activations)
        if folded.after_mix is not None:  # the after-branch: curves of the linear path's output, mixed
            after = self._curves(folded.after_slopes, folded.after_biases, folded.after_activations, linear,
                                 curve_space[: len(folded.after_slopes) * length].reshape(-1, length), activations)
            output += folded.after_mix @ after
        output += folded.constant
        if linear is not None:
            output += linear
        return output

    def _add_curve_branch(self, output: np.ndarray, samples: np.ndarray, space: np.ndarray, tap_space: np.ndarray,
                          activations: dict) -> None:
        """The curve branch's outputs added to `output`: the curves of every sample (curves, samples), then their
        FIRs as one matrix product, taps by curves (every tap's sum over the curves at every sample), each tap's
        row added shifted."""
        folded, length = self.folded, len(output)
        curves = self._curves(folded.curve_slopes, folded.curve_biases, folded.curve_activations, samples,
                              space[: len(folded.curve_slopes) * len(samples)].reshape(-1, len(samples)), activations)
        by_tap = np.matmul(folded.curve_taps, curves, out=tap_space[: len(folded.curve_taps) * len(samples)].reshape(
            -1, len(samples)))  # (window, samples): row k, tap k's sum over the curves
        for tap, row in enumerate(by_tap):
            output += row[tap : tap + length]

    @staticmethod
    def _curves(slopes, biases, families, signal, out, activations) -> np.ndarray:
        """(curves, samples) into `out`: each family's (activation, count) curves of `signal`, slope by slope."""
        np.multiply(slopes[:, None], signal[None, :], out=out)
        first = 0
        for activation, count in families:  # (an activation may work in place, or not)
            part = slice(first, first + count)
            out[part] = activations[activation](out[part], biases[part])
            first += count
        return out

    def _workspace(self, samples: int) -> list:
        """This thread's flat arrays, each a layer's widest: product, its second tap, the mix and skip, two streams,
        the curves, their FIRs' taps."""
        cached = self._workspaces
        if getattr(cached, "samples", None) != samples:
            units = len(self.folded.rechannel)
            curves = max(len(self.folded.curve_slopes), len(self.folded.after_slopes))
            taps = 0 if self.folded.curve_taps is None else len(self.folded.curve_taps)
            cached.arrays = [np.empty(size * samples, np.float32)
                             for size in (units, units, units + 1, units, units, curves, taps)]
            cached.samples = samples
        return cached.arrays

    def with_engine(self, engine: str) -> "TcnStack":
        return dataclasses.replace(self, engine=engine)

    @property
    def numpy_ready(self) -> bool:
        """Whether every activation is one we compute (both engines know the same names); else Keras renders."""
        return all(layer.activation in numpy_activations.ACTIVATIONS for layer in self.layers)


@dataclasses.dataclass
class Folded:
    """A TcnStack's weights as its render uses them: every bias that is the same at each sample folded into
    the next hidden layer's (the stream's constant through its taps) or into one constant of the output.

    The stream starts as the audio times `rechannel` (its bias folded away); a hidden layer's taps
    read it as (units out, units in) matrices, the first layer's as vectors (the stream is one
    column then); `outs` stacks a layer's mix (units rows, none for the last layer) over its skip.
    """

    rechannel: np.ndarray  # (units,)
    taps: list  # per layer, KERNEL arrays: (units, units), or (units,) for the first layer
    biases: list  # per layer, (units,)
    activations: list
    outs: list  # per layer, (units + 1, units) or (1, units)
    constant: np.float32  # the skips' and the linear path's biases
    linear_taps: np.ndarray | None
    from_linear: np.ndarray | None  # (units,)
    curve_slopes: np.ndarray  # (curves,), none without the branch
    curve_biases: np.ndarray  # (curves,)
    curve_activations: list  # (activation, count) of each curve layer, in order
    curve_taps: np.ndarray | None  # (window, curves): tap k of each curve's FIR in row k, tap 0 the oldest
    after_slopes: np.ndarray  # (curves,): the after-branch's, of the linear path's output without its bias
    after_biases: np.ndarray  # (curves,): the linear path's bias folded in
    after_activations: list
    after_mix: np.ndarray | None  # (curves,)

    @classmethod
    def of(cls, stack: TcnStack) -> "Folded":
        rechannel = stack.rechannel.kernel[0]
        units = len(rechannel)
        stream_constant = stack.rechannel.bias.astype(np.float64)
        taps, biases, outs = [], [], []
        for index, layer in enumerate(stack.hidden):
            kernels = [layer.kernel[tap * units : (tap + 1) * units] for tap in range(KERNEL)]  # (in, out) each
            taps.append([np.ascontiguousarray(rechannel @ kernel if index == 0 else kernel.T, np.float32)
                         for kernel in kernels])
            biases.append((layer.bias + sum(stream_constant @ kernel for kernel in kernels)).astype(np.float32))
            mix = [stack.mixes[index].kernel.T] if index < len(stack.mixes) else []
            outs.append(np.ascontiguousarray(np.concatenate(mix + [stack.skips[index].kernel.T]), np.float32))
            if index < len(stack.mixes):
                stream_constant = stream_constant + stack.mixes[index].bias
        constant = sum(float(skip.bias[0]) for skip in stack.skips)
        linear_taps = from_linear = None
        if stack.linear_path is not None:
            linear_taps = np.ascontiguousarray(stack.linear_path.kernel[:, 0], np.float32)
            if stack.from_linear is not None:  # the last layer reads the linear path's output, its bias included
                from_linear = stack.from_linear.astype(np.float32)
                biases[-1] = (biases[-1] + stack.linear_path.bias[0] * stack.from_linear).astype(np.float32)
            constant += float(stack.linear_path.bias[0])
        slopes = np.concatenate([np.empty(0, np.float32)] + [layer.kernel[0] for layer in stack.curves])
        curve_biases = np.concatenate([np.empty(0, np.float32)] + [layer.bias for layer in stack.curves])
        curve_taps = None
        if stack.curves:
            curve_taps = np.ascontiguousarray(stack.curve_fir.kernel[:, 0].reshape(-1, len(slopes)), np.float32)
            constant += float(stack.curve_fir.bias[0])
        after_slopes = np.concatenate([np.empty(0, np.float32)] + [layer.kernel[0] for layer in stack.after_curves])
        after_biases = np.concatenate([np.empty(0, np.float32)] + [layer.bias for layer in stack.after_curves])
        after_mix = None
        if stack.after_curves:  # the linear path's output is computed without its bias (segment): fold it in
            after_biases = after_biases + after_slopes * stack.linear_path.bias[0]
            after_mix = np.ascontiguousarray(stack.after_mix.kernel[:, 0], np.float32)
            constant += float(stack.after_mix.bias[0])
        return cls(rechannel, taps, biases, [layer.activation for layer in stack.hidden], outs, np.float32(constant),
                   linear_taps, from_linear, slopes.astype(np.float32), curve_biases.astype(np.float32),
                   [(layer.activation, len(layer.bias)) for layer in stack.curves], curve_taps,
                   after_slopes.astype(np.float32), after_biases.astype(np.float32),
                   [(layer.activation, len(layer.bias)) for layer in stack.after_curves], after_mix)
