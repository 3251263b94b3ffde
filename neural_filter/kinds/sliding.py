"""Sliding mode: `window` input samples in, the one output sample they end at (or are centred on) out.

The network applies the chunk model's stack at every position of the signal: a first Conv1D whose
kernel is the window, then 1x1 Conv1Ds (a Dense applied at each position), then a linear 1x1
Conv1D to one output sample. No window is ever materialised in training: a segment of
n + window - 1 input samples gives n outputs. A linear path (one Conv1D of the window, no
activation) runs beside the stack and is added to its output: the filter we imitate is linear, and
this path is an FIR filter the stack only has to correct. It starts at the pair's least-squares
FIR, and the stack's output at zero, so training starts from the best linear filter of the window.

Rendering cuts the signal into one window per output sample (a strided view, never copied), with
FilterSpec.padding samples of context around it.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neural_filter.kinds.base import Kind, bias_initializer
from neural_filter.settings import TrainSettings


class SlidingKind(Kind):
    name = mode = "sliding"
    has_linear_path = True
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

    def model_arrays(self, x: np.ndarray, y: np.ndarray, spec, segment: int | None, past=None) -> tuple:
        """Segments of the padded signal: (segments, segment + window - 1, 1) inputs for (segments, segment, 1)
        targets; `segment` None: the whole signal as one sequence."""
        padded, y = spec.to_network(spec.pad(x, past)), spec.to_network(y)
        if segment is None:
            return padded[None, :, None], y[None, :, None]
        count = len(y) // segment
        starts = np.arange(count) * segment
        inputs = sliding_window_view(padded, segment + spec.window - 1)[starts]
        return inputs[:, :, None].copy(), y[: count * segment].reshape(count, segment, 1)

    def dry(self, inputs: np.ndarray, spec) -> np.ndarray:
        before, after = spec.padding
        return inputs[:, before : inputs.shape[1] - after]

    def decays(self, settings: TrainSettings) -> bool:
        return settings.cosine

    def build(self, spec, settings: TrainSettings):
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.model import check_activation  # noqa: PLC0415 - imports Keras, as above

        check_activation(settings.activation)
        inputs = keras.Input(shape=(None, 1))  # (batch, samples + window - 1, 1)
        hidden = keras.layers.Conv1D(settings.units, spec.window, activation=settings.activation,
                                     bias_initializer=bias_initializer(settings.bias_start), name="hidden_0")(inputs)
        for index in range(1, settings.layers + 1):  # (batch, samples, units)
            hidden = keras.layers.Conv1D(settings.units, 1, activation=settings.activation,
                                         bias_initializer=bias_initializer(settings.bias_start),
                                         name=f"hidden_{index}")(hidden)
        outputs = keras.layers.Conv1D(1, 1, name="output")(hidden)  # (batch, samples, 1)
        if settings.linear_path:
            fir = keras.layers.Conv1D(1, spec.window, name="linear_path")(inputs)
            outputs = keras.layers.Add(name="sum")([outputs, fir])
        return keras.Model(inputs, outputs, name="sliding_filter")

    def start(self, model, prepared, spec, settings: TrainSettings) -> None:
        """The linear path at the pair's least-squares FIR, the stack's output at zero (see start_linear_path)."""
        if settings.linear_path and self.start_linear_path(model, prepared, spec, settings):
            output = model.get_layer("output")
            output.set_weights([np.zeros_like(weight) for weight in output.get_weights()])

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

    def name_suffix(self, spec, knob=None) -> str:
        return "_sliding" + ("_centre" if spec.align == "centre" else "")
