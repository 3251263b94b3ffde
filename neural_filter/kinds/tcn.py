"""The convolutional kind (fit.py --mode tcn): a stack of causal dilated convolutions, as
neural-amp-modeler's WaveNet and Steinmetz & Reiss's TCN are.

The audio is spread over `units` channels (a 1x1 convolution, `rechannel`), then each of `layers`
layers is a causal Conv1D of KERNEL taps `dilation` samples apart with the activation after it
(hidden_<n>); a 1x1 convolution mixes its channels back into the layer's input (mix_<n>: a residual
sum, so each layer corrects the one before) and another takes them to the output (skip_<n>). The
output is the sum of every layer's skip, plus the linear path beside the stack (an FIR of the
window, starting at the pair's least-squares FIR, the skips at zero: training starts from the best
linear filter of the window, as sliding mode's does). The last layer also reads the linear path's
output at its own sample (`from_linear`, as the knob model's first layer does): a curve after the
filter is then a curve of one input.

Every layer sees its input at every sample, so a curve applied to each sample before a filter, or
after it, or between two, is a few layers' work: the sliding stack's first layer mixes its whole
window into `units` values, which a curve before the filter defeats (issue 20).

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
one: the segments' shared pasts cost (window - 1) / segment more work instead).
"""

import dataclasses
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neural_filter import numpy_activations
from neural_filter.errors import ArgumentError
from neural_filter.kinds.base import bias_initializer, hidden_names
from neural_filter.kinds.sliding import SlidingKind
from neural_filter.network import Dense, activations_of
from neural_filter.settings import TrainSettings

# Taps per dilated convolution: with 2 any window is a receptive field (with 3, only odd ones). Measured
# 2026-12-05 on the README's two 30 s pink u8 pairs (a curve after, and before, a 2 kHz 24 dB/octave
# low-pass), 16 units, batch 8, 15 epochs: 3 taps in 4 layers (window 65) scored 0.7 and 0.8 dB better
# than 2 taps in 6 layers (window 64), in a fifth less time: a case for 3 where a window may be odd.
KERNEL = 2
SEGMENT = 4096  # outputs per rendered segment, at least (see segment_length)


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
        if request.settings.linear_taps is not None:
            raise ArgumentError("linear_taps", request.settings.linear_taps,
                                "is not for a tcn model yet: its linear path is the window's, inside the network",
                                "drop {linear_taps}, or train with --mode sliding")

    def linear_path(self, prepared, spec, settings: TrainSettings):
        """None: a tcn model's linear path is the window-long FIR inside its Keras model, started at the
        least-squares FIR (`start`); the long fixed path beside the stack is sliding's for now."""
        return None

    def build(self, spec, settings: TrainSettings):
        """rechannel, then per layer hidden_<n> (dilated), mix_<n> (the residual) and skip_<n>; the sum of
        the skips and the linear path is the output."""
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.model import check_activation  # noqa: PLC0415 - imports Keras, as above

        check_activation(settings.activation)
        chosen = dilations(spec.window, settings.layers)
        inputs = keras.Input(shape=(None, 1))  # (batch, samples + window - 1, 1)
        signal = keras.layers.Conv1D(settings.units, 1, name="rechannel")(inputs)  # (batch, time, units)
        # (batch, samples, 1): the FIR beside the stack
        linear = keras.layers.Conv1D(1, spec.window, name="linear_path")(inputs) if settings.linear_path else None
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
        output = keras.layers.Add(name="sum")(outputs) if len(outputs) > 1 else outputs[0]
        return keras.Model(inputs, output, name="tcn_filter")

    def start(self, model, prepared, spec, settings: TrainSettings) -> None:
        """The linear path at the pair's least-squares FIR, the skips at zero: the stack adds nothing yet."""
        if settings.linear_path and self.start_linear_path(model, prepared, spec, settings):
            for layer in model.layers:
                if layer.name.startswith("skip_"):
                    layer.set_weights([np.zeros_like(weight) for weight in layer.get_weights()])

    @staticmethod
    def start_linear_path(model, prepared, spec, settings: TrainSettings) -> bool:
        """The layer linear_path at the pair's least-squares FIR (at the network's levels), and True; with
        --no-fir-start at zero, not at Keras's random initial kernel, and False."""
        path = model.get_layer("linear_path")
        if not settings.fir_start:
            path.set_weights([np.zeros_like(weight) for weight in path.get_weights()])
            return False
        from neural_filter.fir import least_squares_fir  # noqa: PLC0415 - SciPy: when training, never gen.py

        taps, bias = least_squares_fir(spec.to_network(prepared.train_x), spec.to_network(prepared.train_y),
                                       spec.window, spec.padding[0])
        path.set_weights([taps.reshape(spec.window, 1, 1), np.array([bias], np.float32)])
        return True

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
        return TcnStack(layers["rechannel"], hidden, chosen, mixes, skips, layers.get("linear_path"),
                        None if from_linear is None else from_linear.kernel[0])

    def name_suffix(self, spec, knob=None) -> str:
        return "_tcn"


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
    linear_path: Dense | None = None  # (window, 1): the FIR beside the stack
    from_linear: np.ndarray | None = None  # (units,): the linear path's output into the last layer
    engine: str = "compiled"  # see network.ENGINES
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
        return [self.rechannel, *self.hidden, *self.mixes, *self.skips]

    def __call__(self, rows: np.ndarray, first_row: int = 0) -> np.ndarray:
        """(segments, length + window - 1) -> (segments, length): each segment through the stack alone."""
        return np.stack([self.segment(row) for row in rows]) if len(rows) else np.empty((0, 0), np.float32)

    def segment(self, samples: np.ndarray) -> np.ndarray:
        """One segment: window - 1 samples of past, then the samples whose outputs are wanted; float32 outputs."""
        folded, activations = self.folded, activations_of(self.engine)
        samples = np.asarray(samples, np.float32)
        length = len(samples) - self.window + 1
        product, other, mixed, stream_space, next_space = self._workspace(len(samples))
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
        output += folded.constant
        if linear is not None:
            output += linear
        return output

    def _workspace(self, samples: int) -> list:
        """This thread's flat arrays, each a layer's widest: product, its second tap, the mix and skip, two streams."""
        cached = self._workspaces
        if getattr(cached, "samples", None) != samples:
            units = len(self.folded.rechannel)
            cached.arrays = [np.empty(size * samples, np.float32) for size in (units, units, units + 1, units, units)]
            cached.samples = samples
        return cached.arrays

    def with_engine(self, engine: str) -> "TcnStack":
        return dataclasses.replace(self, engine=engine)

    @property
    def numpy_ready(self) -> bool:
        """Whether every activation is one we compute (both engines know the same names); else Keras renders."""
        return all(layer.activation in numpy_activations.ACTIVATIONS for layer in self.hidden)


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
        return cls(rechannel, taps, biases, [layer.activation for layer in stack.hidden], outs, np.float32(constant),
                   linear_taps, from_linear)
