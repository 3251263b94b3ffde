"""The recurrent kind (fit.py --mode recurrent): GRU cells carrying a state from sample to sample, for effects
with memory.

A window of samples holds no state: a drive inside a filter's feedback loop (a driven ladder)
rings on with what came before, and a compressor's gain follows the level of the last tenth of a
second. A recurrent cell keeps that in its state. The network is `layers` stacked Keras GRU cells
of `units` state each (hidden_0, hidden_1, ...; the activator is the cells' candidate activation,
their gates are sigmoids), a linear read-out of the last cell's state (output), and, beside it,
the long linear path (linear_path.py): the pair's least-squares FIR, fixed, whose output is taken
from the target, so that the cells learn what a linear filter leaves. The read-out starts at
zero: training starts from the best linear filter there is.

Training cuts the pair into segments of SEGMENT outputs, each with the window's past before it:
the window is the burn-in plus one, as a sliding or tcn window is the samples each output reads.
The cells start every segment at zero state, run over its window - 1 samples of past (whose
outputs the loss skips: the state warms up on them), then over the segment, whose outputs are
scored. So the window should cover the memory the effect needs to settle from silence: a ladder's
ringing, a compressor's release.

Rendering (RecurrentStack) runs the cells sample by sample in compiled code (recurrent_loop.py,
its machine code loaded by activations.CompiledLoop), the state carried from block to block:
gen.py streams a song of any length in bounded memory, and a render in blocks gives the bytes of a
render in one pass. Like training's first segment, it starts at zero state with window - 1
samples of silence before the signal.
"""

import ctypes
import dataclasses
import functools

import numpy as np

from neural_filter import numpy_activations
from neural_filter.errors import ArgumentError
from neural_filter.kinds.base import hidden_names
from neural_filter.kinds.sliding import SlidingKind
from neural_filter.network import Dense
from neural_filter.settings import TrainSettings

# Outputs per training segment, after its burn-in. Measured 2026-12-05 (Keras on JAX, the 2-core machine
# under load, GRU of 16 units, batch 32): segments of 2048 and 4096 train at about the same speed per
# sample (0.45 and 0.38 M samples/s), and a longer one spends less of each batch on its burn-in. (No
# comparison of the quality each reaches was made.)
SEGMENT = 4096
# The NumPy loop's cost per sample and cell, against the compiled engine's fixed start-up
# (render.COMPILED_START_UP_NS): below it, a short render needs no llvmlite. Measured 2026-12-05 on
# the loaded 2-core machine: 35 us a sample for two cells of 8 units; counted high, so that the NumPy
# loop takes only renders of about a thousand samples.
NUMPY_NS_PER_SAMPLE = 40e3
COMPILED_START_UP_NS = 50e6


class RecurrentKind(SlidingKind):
    name = mode = "recurrent"
    has_linear_path = True
    stack_reads_path = False  # the cells read the audio alone
    fits_a_response = False  # the window is a burn-in, not a response fit.py could check against the pair
    backend = "jax"  # fit.py's backend where KERAS_BACKEND names none: Keras's GRU trains 7x faster on it (CPU)
    sweep_defaults = {"batches": "8:32", "samples": "64:2048"}  # segments of SEGMENT samples per batch; the burn-in

    def padding(self, window: int, align: str) -> tuple[int, int]:
        return window - 1, 0  # the burn-in; the cells never read the future

    def model_arrays(self, x: np.ndarray, y: np.ndarray, spec, segment: int | None, past=None, linear=None) -> tuple:
        """Segments of SEGMENT outputs (one segment of the whole part where it is shorter), each with its window - 1
        samples of burn-in (sliding's framing); `segment` None: the whole signal as one sequence."""
        return super().model_arrays(x, y, spec, None if segment is None else min(SEGMENT, len(y)), past, linear)

    def check_request(self, request) -> None:
        """Refuse what a recurrent model is not: centred, trained from zero, or a cell's activation we cannot render."""
        settings = request.settings
        refusals = (
            ("align", request.align, request.align == "centre", "is not for a recurrent model: its cells never read "
             "the future", "drop it"),
            ("activation", settings.activation, settings.activation not in CELL_ACTIVATIONS,
             "is not a cell activation gen.py renders", f"give one of {', '.join(CELL_ACTIVATIONS)}"),
            ("no_fir_start", None, not settings.fir_start and settings.linear_path,
             "is not for a recurrent model: its linear path is the long least-squares FIR", "drop it"))
        for option, value, wrong, problem, remedy in refusals:
            if wrong:
                raise ArgumentError(option, value, problem, remedy)
        self.check_linear_taps(request)

    def build(self, spec, settings: TrainSettings):
        """hidden_0.. (GRU cells, each giving its state at every sample), the burn-in cut off, output (Dense)."""
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        inputs = keras.Input(shape=(None, 1))  # (batch, window - 1 + samples, 1)
        hidden = inputs
        for index in range(settings.layers):  # (batch, window - 1 + samples, units)
            hidden = keras.layers.GRU(settings.units, activation=settings.activation, return_sequences=True,
                                      name=f"hidden_{index}")(hidden)
        hidden = keras.layers.Cropping1D((spec.window - 1, 0), name="burn_in")(hidden)  # (batch, samples, units)
        outputs = keras.layers.Dense(1, name="output")(hidden)  # (batch, samples, 1)
        return keras.Model(inputs, outputs, name="recurrent_filter")

    def start(self, model, prepared, spec, settings: TrainSettings) -> None:
        """The first cell's input kernel scaled to the pair's level (each gate's input about unit variance), and the
        read-out at zero beside the linear path (sliding's start): training starts from the best linear filter.

        What the linear path leaves is uncorrelated with any linear function of the input, and a cell
        whose inputs are small is nearly linear: its state then gives the read-out no gradient, and the
        cells get none through it (measured: at Keras's initial kernel the loss sat at its start for 8
        epochs). At unit variance the cells' states bend from the first step.
        """
        first = model.get_layer("hidden_0")
        kernel, *others = first.get_weights()
        level = float(np.std(spec.to_network(prepared.train_x))) or 1.0
        first.set_weights([kernel / (level * np.sqrt(np.mean(kernel**2))), *others])
        super().start(model, prepared, spec, settings)

    def training_callbacks(self, settings: TrainSettings, examples: int, samples: int) -> list:
        """Seconds per epoch and samples per second as training goes, and the run's time estimated from its first
        batches (training_cost.py)."""
        from neural_filter.training_cost import TrainingCost  # noqa: PLC0415 - imports Keras: when training only

        return [TrainingCost(examples, samples, settings.batch_size, settings.epochs)]

    def network_of(self, layers: dict, record: dict) -> "RecurrentStack":
        cells = [layers[name] for name in hidden_names(layers)]
        return RecurrentStack([GruCell.of(cell) for cell in cells], layers["output"], record["spec"]["window"],
                              layers.get("linear_path"))

    def name_suffix(self, spec, knob=None) -> str:
        return "_recurrent"


CELL_ACTIVATIONS = numpy_activations.COMPILED  # the candidate activations both engines compute


@dataclasses.dataclass(frozen=True)
class GruCell:
    """One Keras GRU cell's weights: kernel (inputs, 3 units), recurrent (units, 3 units), biases (2, 3 units):
    the input's and the state's, gates in Keras's order z, r, h."""

    kernel: np.ndarray
    recurrent: np.ndarray
    biases: np.ndarray
    activation: str

    @classmethod
    def of(cls, saved) -> "GruCell":
        """From model_file's reading of a GRU layer (model_file.CellWeights)."""
        kernel, recurrent, biases = saved.arrays
        if saved.config.get("recurrent_activation", "sigmoid") != "sigmoid" or not saved.config.get("reset_after"):
            raise ValueError("a GRU other than Keras's default (sigmoid gates, reset after)")
        return cls(kernel, recurrent, biases.reshape(2, -1), saved.config.get("activation", "tanh"))

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]


@dataclasses.dataclass
class RecurrentStack:
    """The recurrent model in NumPy: full-scale blocks in, its outputs out, its state carried (`stream`).

    `engine` "compiled" runs recurrent_loop's machine code; "numpy" the same loop in NumPy, a
    hundred times slower, for short renders and where llvmlite is missing.
    """

    cells: list  # GruCell each
    output: Dense  # (units, 1): the read-out
    window: int  # the burn-in plus one: silence the render starts with is window - 1 samples
    long_path: object = None  # a linear_path.LinearPath, full scale: render.py adds its output
    engine: str = "compiled"

    @property
    def layers(self) -> list:
        """The layers read at every sample, the read-out last (model_file checks it is linear)."""
        return [self.output]

    @property
    def units(self) -> int:
        return self.cells[0].units

    @property
    def numpy_ready(self) -> bool:
        """Whether both engines compute the cells' activation; else Keras would have to (it never does: fit.py
        refuses other activations)."""
        return all(cell.activation in CELL_ACTIVATIONS for cell in self.cells)

    def with_engine(self, engine: str) -> "RecurrentStack":
        return dataclasses.replace(self, engine=engine)

    def engine_for(self, samples: int) -> str:
        """NumPy where the whole render costs it less than the compiled engine's start-up, else the compiled loop;
        by the model and the length alone (fit.py and gen.py take the same)."""
        cost = samples * len(self.cells) * NUMPY_NS_PER_SAMPLE
        return "numpy" if cost <= COMPILED_START_UP_NS else "compiled"

    def folded(self, spec) -> tuple[list, np.ndarray, np.float32]:
        """The cells, the read-out's kernel (units,) and bias, taking and giving full-scale samples: the network's
        levels (spec.to_network and back) folded into the first cell's input and the read-out."""
        scale, offset = (np.float32(value) for value in spec.scale_offset)
        first = self.cells[0]
        biases = first.biases.copy()
        biases[0] = first.biases[0] + offset * first.kernel[0]  # x * scale + offset through the input kernel
        cells = [dataclasses.replace(first, kernel=first.kernel * scale, biases=biases), *self.cells[1:]]
        readout = (self.output.kernel[:, 0] / scale).astype(np.float32)
        return cells, readout, np.float32((self.output.bias[0] - offset) / scale)

    def packed(self, spec) -> np.ndarray:
        """Every weight in one float32 array, in recurrent_loop._run's order."""
        cells, readout, bias = self.folded(spec)
        parts = [array for cell in cells for array in (cell.kernel, cell.recurrent, cell.biases)]
        return np.ascontiguousarray(np.concatenate([*(part.ravel() for part in parts), readout, [bias]]), np.float32)

    def stream(self, spec, blocks):
        """Full-scale blocks in, float32 full-scale outputs out, block for block: the state starts at zero, runs over
        window - 1 samples of silence (as training's first segment), and is carried from block to block."""
        run = self._compiled(spec) if self.engine == "compiled" else self._numpy(spec)
        state = np.zeros(len(self.cells) * self.units, np.float32)
        run(np.zeros(self.window - 1, np.float32), state)
        for block in blocks:
            yield run(np.ascontiguousarray(block, np.float32), state)

    def _compiled(self, spec):
        function = _compiled_loop().function()
        weights = self.packed(spec)
        scratch = np.empty(6 * self.units, np.float32)
        kind = CELL_ACTIVATIONS.index(self.cells[0].activation)

        def run(samples: np.ndarray, state: np.ndarray) -> np.ndarray:
            outputs = np.empty(len(samples), np.float32)
            returned = ctypes.c_void_p()
            status = function(ctypes.byref(returned), None, samples.ctypes.data, len(samples), outputs.ctypes.data,
                              state.ctypes.data, weights.ctypes.data, self.units, len(self.cells), kind,
                              scratch.ctypes.data)
            if status:
                raise RuntimeError(f"the compiled recurrent loop failed (status {status})")
            return outputs

        return run

    def _numpy(self, spec):
        cells, readout, bias = self.folded(spec)
        units = self.units
        sigmoid = numpy_activations.COMPILED_IN_NUMPY["sigmoid"]

        def run(samples: np.ndarray, state: np.ndarray) -> np.ndarray:
            states = state.reshape(len(cells), units)  # a view: the state is updated in place
            outputs = np.empty(len(samples), np.float32)
            for n, sample in enumerate(samples):
                inputs = np.array([sample], np.float32)
                for cell, previous in zip(cells, states):
                    from_input = inputs @ cell.kernel + cell.biases[0]
                    from_state = previous @ cell.recurrent + cell.biases[1]
                    gates = sigmoid(from_input[: 2 * units] + from_state[: 2 * units])
                    update, reset = gates[:units], gates[units:]
                    candidate = numpy_activations.COMPILED_IN_NUMPY[cell.activation](
                        from_input[2 * units :] + reset * from_state[2 * units :])
                    previous[:] = update * previous + (np.float32(1) - update) * candidate
                    inputs = previous
                outputs[n] = np.dot(inputs, readout) + bias
            return outputs

        return run


FUNCTION_NAME = "neural_filter_recurrent"  # recurrent_loop.FUNCTION_NAME (that module imports Numba)
# Numba's calling convention (see activations.LOOP_PROTOTYPE): status, return and exception pointers, then
# samples, count, outputs, state, weights, units, layers, activation kind, scratch.
PROTOTYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ssize_t,
                             ctypes.c_ssize_t, ctypes.c_ssize_t, ctypes.c_void_p)


@functools.cache
def _compiled_loop():
    """recurrent_loop's function, as activations loads its own: the machine code depends on its source and on
    activation_loop's, whose activations it compiles in."""
    from neural_filter import activations  # noqa: PLC0415 - llvmlite and the loop, 45 ms: when rendering

    return activations.CompiledLoop("recurrent_loop", FUNCTION_NAME, PROTOTYPE, (FUNCTION_NAME,),
                                    lambda: (activations.SOURCE.with_name("recurrent_loop.py"), activations.SOURCE))
