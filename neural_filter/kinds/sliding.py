"""Sliding mode: `window` input samples in, the one output sample they end at (or are centred on) out.

The network applies the chunk model's stack at every position of the signal: a first Conv1D whose
kernel is the window, then 1x1 Conv1Ds (a Dense applied at each position), then a linear 1x1
Conv1D to one output sample. No window is ever materialised in training: a segment of
n + window - 1 input samples gives n outputs. A linear path runs beside the stack and is added to
its output: the filter we imitate is mostly linear, and this path is an FIR filter the stack only
has to correct. It is as long as the filter's response, not the window (linear_path.py): the
pair's least-squares FIR, fixed, so the stack trains on what it leaves and starts at zero, and
training starts from the best linear filter there is. Two more pieces, both starting at zero
(format 4): the stack reads the path's output at its own sample (`from_linear`, as the knob
model's first layer does), so a curve after the filter is a curve of one input it is given,
where from the window alone its first layer had to rebuild the filter; and a window-long FIR
beside the path (`linear_correction`), trained with the stack, moves the linear part off the
least-squares FIR where the curve wants it elsewhere (an asymmetric curve's flat top: the fixed
path alone left the held-out song 2.6 dB worse than the old trained path did; README Quality).
With --no-fir-start the path is the old one instead: a window-long Conv1D inside the Keras
model, starting at zero and trained with it.

Rendering cuts the signal into one window per output sample (a strided view, never copied), with
FilterSpec.padding samples of context around it; the long path runs by FFT beside it.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neural_filter.kinds.base import Kind, bias_initializer
from neural_filter.network import Dense, DenseStack
from neural_filter.settings import TrainSettings


class SlidingKind(Kind):
    name = mode = "sliding"
    has_linear_path = True
    stack_reads_path = True  # from_linear: see the docstring
    fits_a_response = True
    sweep_defaults = {"batches": "8:64", "samples": "16:128"}  # segments of 1024 samples per batch; the window

    def padding(self, window: int, align: str) -> tuple[int, int]:
        before = window - 1 if align == "causal" else (window - 1) // 2
        return before, window - 1 - before

    def outputs_per_row(self, window: int) -> int:
        return 1

    def rows(self, pending: np.ndarray, window: int, group_rows: int) -> tuple[np.ndarray, np.ndarray]:
        count = max(len(pending) - window + 1, 0)
        count -= count % group_rows
        if count == 0:
            return np.empty((0, window), np.float32), pending
        # (count, window): a view; the remainder is a new view too, so these rows stay as they are
        return sliding_window_view(pending[: count + window - 1], window), pending[count:]

    def final_silence(self, pending: int, window: int, after: int) -> int:
        return after  # the future of the last samples

    def row_count(self, samples: int, window: int) -> int:
        return samples

    def keras_inputs(self, rows: np.ndarray) -> np.ndarray:
        return rows[:, :, None]  # (rows, window, 1) for Conv1D

    def smallest_part(self, window: int) -> int:
        return window

    def model_arrays(self, x: np.ndarray, y: np.ndarray, spec, segment: int | None, past=None, linear=None) -> tuple:
        """Segments of the padded signal: (segments, segment + window - 1, 1) inputs for (segments, segment, 1)
        targets; `segment` None: the whole signal as one sequence. `linear`: the long path's full-scale output
        for `x`, for a stack that reads it: the inputs are then [audio, (segments, segment, 1) of it]."""
        padded, y = spec.to_network(spec.pad(x, past)), spec.to_network(y)
        if segment is None:
            inputs, targets = padded[None, :, None], y[None, :, None]
        else:
            count = len(y) // segment
            starts = np.arange(count) * segment
            inputs = sliding_window_view(padded, segment + spec.window - 1)[starts][:, :, None].copy()
            targets = y[: count * segment].reshape(count, segment, 1)
        if linear is None:
            return inputs, targets
        return [inputs, np.asarray(linear, np.float32)[: targets.size].reshape(targets.shape)], targets

    def dry(self, inputs, spec) -> np.ndarray:
        if isinstance(inputs, (list, tuple)):  # [audio, the long path's output], or (audio, states...) (carried)
            inputs = inputs[0]
        before, after = spec.padding
        return inputs[:, before : inputs.shape[1] - after]

    def decays(self, settings: TrainSettings) -> bool:
        return settings.cosine

    def build(self, spec, settings: TrainSettings):
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.model import check_activation  # noqa: PLC0415 - imports Keras, as above

        check_activation(settings.activation)
        inputs = audio = keras.Input(shape=(None, 1))  # (batch, samples + window - 1, 1)
        reads_linear = self.reads_linear(settings)
        first_activation = None if reads_linear else settings.activation  # then after the linear path's share
        hidden = keras.layers.Conv1D(settings.units, spec.window, activation=first_activation,
                                     bias_initializer=bias_initializer(settings.bias_start), name="hidden_0")(inputs)
        if reads_linear:  # the long path's output at each output sample, weighed into every unit of the first layer
            linear = keras.Input(shape=(None, 1), name="linear")  # (batch, samples, 1), full scale
            from_linear = keras.layers.Conv1D(settings.units, 1, use_bias=False, kernel_initializer="zeros",
                                              name="from_linear")(linear)
            hidden = keras.layers.Activation(settings.activation, name="activation_0")(
                keras.layers.Add()([hidden, from_linear]))
            inputs = [inputs, linear]
        for index in range(1, settings.layers + 1):  # (batch, samples, units)
            hidden = keras.layers.Conv1D(settings.units, 1, activation=settings.activation,
                                         bias_initializer=bias_initializer(settings.bias_start),
                                         name=f"hidden_{index}")(hidden)
        outputs = keras.layers.Conv1D(1, 1, name="output")(hidden)  # (batch, samples, 1)
        if settings.linear_path and not settings.fir_start:  # the old window-long path, trained (see the docstring)
            fir = keras.layers.Conv1D(1, spec.window, name="linear_path")(inputs)
            outputs = keras.layers.Add(name="sum")([outputs, fir])
        if reads_linear:  # the long path's correction over the window, trained with the stack (see the docstring)
            correction = keras.layers.Conv1D(1, spec.window, kernel_initializer="zeros",
                                             name="linear_correction")(audio)
            outputs = keras.layers.Add(name="sum")([outputs, correction])
        return keras.Model(inputs, outputs, name="sliding_filter")

    def reads_linear(self, settings: TrainSettings) -> bool:
        """Whether the stack reads the long linear path's output, a correction beside it: wherever there is one (not
        with --no-fir-start)."""
        return settings.linear_path and settings.fir_start

    def start(self, model, prepared, spec, settings: TrainSettings) -> None:
        """The stack's output at zero beside the long linear path; with --no-fir-start, the window-long path at zero."""
        if not settings.linear_path:
            return
        if not settings.fir_start:
            path = model.get_layer("linear_path")
            path.set_weights([np.zeros_like(weight) for weight in path.get_weights()])
            return
        output = model.get_layer("output")
        kernel, bias = output.get_weights()
        # zero at full scale is the levels' offset at the network's (see FilterSpec.to_network)
        output.set_weights([np.zeros_like(kernel), np.full_like(bias, spec.to_network(np.zeros(1))[0])])

    def network_of(self, layers: dict, record: dict):
        """A stack that reads the long path's output (format 4) has the first layer's activation as a layer of its
        own, after that output's share, and the path's correction over the window (the network's linear_path)."""
        network = super().network_of(layers, record)
        if "from_linear" not in layers and "linear_correction" not in layers:
            return network
        hidden = network.layers
        if "from_linear" in layers:
            hidden = [Dense(hidden[0].kernel, hidden[0].bias, layers["activation_0"]), *hidden[1:]]
        return DenseStack(hidden, layers.get("linear_correction"), long_path=network.long_path,
                          from_linear=layers["from_linear"].kernel[0] if "from_linear" in layers else None)

    def name_suffix(self, spec, knob=None) -> str:
        return "_sliding" + ("_centre" if spec.align == "centre" else "")
