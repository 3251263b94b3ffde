"""The recurrent kind (fit.py --mode recurrent): cells carrying a state from sample to sample, for effects with
memory.

A window of samples holds no state: a drive inside a filter's feedback loop (a driven ladder)
rings on with what came before, and a compressor's gain follows the level of the last tenth of a
second. A recurrent cell keeps that in its state. The network is `layers` stacked cells of `units`
state each (hidden_0, hidden_1, ...) and a linear read-out of the last cell's state (output; of the
input times a gain, for followers). The cells (fit.py --cell, CELLS):

- state-space (the default; state_space_cell.py, after Parker et al., DAFx 2019): the state moves
  by a linear map of the state and the input plus a dense layer of both, s' = [x; s] L + h M with
  h = activation([x; s] K + b), 2 * units hidden values. JUCE's ladder filter is of this form:
  per sample, with dx = gain * tanh(drive * x),
      a = dx - 4 resonance (gain2 tanh(drive2 s4) - comp dx),  b = b1 s0 + a1 s1 + b0 a, ...,
      e = b1 s3 + a1 s4 + b0 d,  s = [a, b, c, d, e],  output e
  a linear state update and two saturations, one of the input and one of a state. Its linear map
  starts as a bank of one-pole low-passes (cutoffs 20 Hz to 5 kHz at the pair's rate), the rest
  small. Its transition (the state's part of L) is built to shrink every state whatever the
  weights (state_space_transition.py): blocks of two real poles or a complex pair (a resonance),
  coupled. There is no long linear path beside it: the cell's own linear map is one (measured:
  with the least-squares FIR fixed beside it, the cell learned nothing of what the FIR left on the
  resonant ladder; it must then learn the residual of a strongly nonlinear resonance).
- gru: Keras's GRU (the activator is the candidate activation, the gates sigmoids), beside the long
  linear path (linear_path.py): the pair's least-squares FIR, fixed, whose output is taken from the
  target; the read-out starts at zero, so training starts from the best linear filter there is.
- state-space-gain: the state-space cell, its read-out beside a gain read-out (GainReadout): the
  input weighed by exp(a dense layer of the state and the input), as a compressor weighs its input
  by a gain read off its level. Saved in format 8 (model_file.FORMAT).
- gru-gain: Keras's GRU with that gain read-out and no linear path beside it (GainedGruCell says why).
- follower: peak followers of the input, each with its learned attack and release (follower_cell.py),
  read by the gain read-out alone: a compressor's own structure. Saved in format 9.
- ladder: ladder filters side by side, every coefficient learned (ladder_cell.py), read out linearly:
  the driven, resonant ladder's own structure. Saved in format 10.

Training cuts the pair into segments of SEGMENT outputs, each with the window's past before it:
the window is the burn-in plus one, as a sliding or tcn window is the samples each output reads.
The cells start every segment at zero state, run over its window - 1 samples of past (whose
outputs the loss skips: the state warms up on them), then over the segment, whose outputs are
scored. So the window should cover the memory the effect needs to settle from silence: a ladder's
ringing, a compressor's release. With fit.py --carry-state (carried_state.py) each segment's cells start
instead from the state the model reaches there over the whole pair, and the window is the burn-in after it.

Rendering (RecurrentStack) runs the cells sample by sample in compiled code (recurrent_loop.py for
GRUs, state_space_loop.py for state-space cells, follower_loop.py for followers, ladder_loop.py for
ladders, each loaded by activations.CompiledLoop), the state
carried from block to block: gen.py streams a song of any length in bounded memory, and a render in
blocks gives the bytes of a render in one pass. Like training's first segment, it starts at zero
state with window - 1 samples of silence before the signal.
"""

import ctypes
import dataclasses
import functools
import types

import numpy as np

from neural_filter import numpy_activations, state_space_transition
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


# fit.py --cell: the cells a recurrent model may have, the default first (measured: see the README's recurrent section)
CELLS = ("state-space", "gru", "state-space-gain", "gru-gain", "follower", "ladder")
# The state-space cell's linear map starts as one-pole low-passes at cutoffs spread over this range (Hz).
START_CUTOFFS = (20.0, 5000.0)
# A state-space cell's gradients are clipped to this global norm (Keras's MSE at the network's levels). Measured
# 2026-12-05 on the resonant ladder's 16-bit pair (8 units, batch 16, 1e-3, 60 epochs, about 65 CPU s): -16.8 dB
# on held-out noise and -14.3 on the worst recording; unclipped, 100 epochs reached -14.4 and -11.1, and at 3e-3
# the loss exploded (best epoch 28, -3.0). 0.03 is the prototype's clip of 1 on the ESR at this pair's level.
STATE_SPACE_CLIP = 0.03
READOUT_RIDGE = 1e-2  # linear_readout's ridge, against the mean of its Gram matrix's diagonal


class RecurrentKind(SlidingKind):
    name = mode = "recurrent"
    cells = CELLS
    has_linear_path = True  # the GRU's; a state-space cell has its own linear map instead (linear_path_with)
    stack_reads_path = False  # the cells read the audio alone
    fits_a_response = False  # the window is a burn-in, not a response fit.py could check against the pair
    backend = "jax"  # fit.py's backend where KERAS_BACKEND names none: Keras's GRU trains 7x faster on it (CPU)
    sweep_defaults = {"batches": "8:32", "samples": "64:2048"}  # segments of SEGMENT samples per batch; the burn-in

    def padding(self, window: int, align: str) -> tuple[int, int]:
        return window - 1, 0  # the burn-in; the cells never read the future

    def linear_path_with(self, cell: str) -> bool:
        """Whether a new model of this cell has the long linear path unless told not to: the GRU only (see the
        module's docstring)."""
        return CELL_TYPES[cell].linear_path

    def gradient_clip(self, settings: TrainSettings) -> float | None:
        return CELL_TYPES[settings.cell].clip

    def model_arrays(self, x: np.ndarray, y: np.ndarray, spec, segment: int | None, past=None, linear=None) -> tuple:
        """Segments of SEGMENT outputs (one segment of the whole part where it is shorter), each with its window - 1
        samples of burn-in (sliding's framing); `segment` None: the whole signal as one sequence."""
        return super().model_arrays(x, y, spec, None if segment is None else min(SEGMENT, len(y)), past, linear)

    def check_request(self, request) -> None:
        """Refuse what a recurrent model is not: centred, trained from zero, a cell's activation we cannot render,
        or a stack of followers or ladders."""
        settings = request.settings
        gru = CELL_TYPES[settings.cell].linear_path
        refusals = (
            ("align", request.align, request.align == "centre", "is not for a recurrent model: its cells never read "
             "the future", "drop it"),
            ("activation", settings.activation, settings.activation not in CELL_ACTIVATIONS,
             "is not a cell activation gen.py renders", f"give one of {', '.join(CELL_ACTIVATIONS)}"),
            ("no_fir_start", None, not settings.fir_start and (settings.linear_path or not gru),
             "is not for a recurrent model: its linear path is the long least-squares FIR" if gru else
             f"is not for --cell {settings.cell}: it has no linear path beside it", "drop it"),
            ("linear_taps", settings.linear_taps, settings.linear_taps is not None and not gru,
             f"is not for --cell {settings.cell}: it has no linear path beside it", "drop it, or give --cell gru"),
            ("layers", settings.layers, CELL_TYPES[settings.cell].bank is not None and settings.layers != 1,
             f"is not for --cell {settings.cell}: its {CELL_TYPES[settings.cell].bank} read the audio, one bank of "
             f"UNITS of them", "give 1"))
        for option, value, wrong, problem, remedy in refusals:
            if wrong:
                raise ArgumentError(option, value, problem, remedy)
        self.check_linear_taps(request)

    def build(self, spec, settings: TrainSettings):
        """hidden_0.. (cells, each giving its state at every sample), the burn-in cut off, output (Dense)."""
        return _network(spec, settings)

    def carried(self, model, prepared, arrays: tuple, validation, spec, settings: TrainSettings):
        """fit.py --carry-state (carried_state.py): the model to fit and score (`model`'s layers, each cell also
        reading the state it starts from), the training segments with their states, the validation part with its
        state and the callback reading the states again; None without --carry-state."""
        if not settings.carry_state:
            return None
        from neural_filter import carried_state  # noqa: PLC0415 - imports Keras: when training only

        inputs, targets = arrays
        padded = spec.pad(prepared.train_x)
        # the k-th segment's input starts at k * segment of the padded training part; the validation part's (its
        # window - 1 samples of past from the training part's end) at len(train_x)
        starts = np.arange(len(targets)) * targets.shape[1]
        if validation is not None:
            starts = np.append(starts, len(prepared.train_x))

        def states_of():
            return stack_of_model(model, spec).states_at(spec, padded, starts)

        training = carried_state.CarriedSegments(inputs, targets, settings.batch_size, settings.layers, states_of,
                                                 settings.seed)
        validating = validation and carried_state.CarriedValidation(training, validation)
        return _network(spec, settings, model), (training,), validating, [training.refresh()]

    def format_needed(self, settings: TrainSettings) -> int:
        return CELL_TYPES[settings.cell].format

    def resume_checks(self, settings: TrainSettings, saved: dict) -> list:
        return [("cell", settings.cell, saved.get("cell", "gru"))]  # files saved before the state-space cell: GRUs

    def keras_objects(self) -> dict:
        """The state-space, follower and ladder cells' classes and the gain read-out's layer, for Keras to load a model
        holding them (model_file.load_for_resume)."""
        from neural_filter.follower_cell import FollowerCell  # noqa: PLC0415 - imports Keras: resuming only
        from neural_filter.ladder_cell import LadderCell  # noqa: PLC0415 - as above
        from neural_filter.state_space_cell import Gained, StateSpaceCell  # noqa: PLC0415 - as above

        return {"StateSpaceCell": StateSpaceCell, "Gained": Gained, "FollowerCell": FollowerCell,
                "LadderCell": LadderCell}

    def start(self, model, prepared, spec, settings: TrainSettings) -> None:
        """The cells' starts (each cell's `start`), and the read-out: at zero beside the linear path (sliding's
        start: training starts from the best linear filter), or the cell's own (`readout_start`): after state-space
        cells, the least-squares read-out of their linear start; after GRUs with the gain and after followers, the
        input's best scale; after ladders, zero."""
        rng = np.random.default_rng(settings.seed)
        level = float(np.std(spec.to_network(prepared.train_x))) or 1.0
        cell = CELL_TYPES[settings.cell]
        starts = []
        for index in range(settings.layers):
            layer = model.get_layer(f"hidden_{index}")
            starts.append(cell.start(layer.get_weights(), level if index == 0 else None, prepared.rate, rng))
            layer.set_weights(starts[-1])
        if cell.linear_path:
            super().start(model, prepared, spec, settings)
            return
        kernel, bias = cell.readout_start(starts, spec.to_network(prepared.train_x),
                                          spec.to_network(prepared.train_y))
        model.get_layer("output").set_weights([kernel[:, None], np.float32([bias])])

    def training_callbacks(self, settings: TrainSettings, examples: int, samples: int) -> list:
        """Seconds per epoch and samples per second as training goes, and the run's time estimated from its first
        batches (training_cost.py)."""
        from neural_filter.training_cost import TrainingCost  # noqa: PLC0415 - imports Keras: when training only

        return [TrainingCost(examples, samples, settings.batch_size, settings.epochs)]

    def network_of(self, layers: dict, record: dict) -> "RecurrentStack":
        cells = [layers[name] for name in hidden_names(layers)]
        gain = GainReadout(layers["gain_hidden"], layers["gain"]) if "gain" in layers else None
        cells = [cell_of(cell) for cell in cells]
        output = layers["output"]
        if not cells[-1].readout_reads_state:  # followers: their read-outs as the stack reads a state's
            gain, output = cells[-1].read_by(gain, output)
        return RecurrentStack(cells, output, record["spec"]["window"], layers.get("linear_path"), gain=gain)

    def name_suffix(self, spec, knob=None) -> str:
        return "_recurrent"


CELL_ACTIVATIONS = numpy_activations.COMPILED  # the activations both engines compute


# Numba's calling convention (see activations.LOOP_PROTOTYPE): status, return and exception pointers, then
# samples, count, outputs, state, weights, then each loop's sizes, then scratch.
def _prototype(sizes: int):
    return ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                            *[ctypes.c_ssize_t] * sizes, ctypes.c_void_p)


@functools.cache
def _compiled_loop(module: str, function_name: str, sizes: int):
    """A loop module's function, as activations loads its own: the machine code depends on its source, on
    activation_loop's, whose activations and gain read-out it compiles in (GAIN_LIMIT comes as a weight), and on
    numpy_activations', whose constants those read."""
    from neural_filter import activations  # noqa: PLC0415 - llvmlite and the loop, 45 ms: when rendering

    return activations.CompiledLoop(module, function_name, _prototype(sizes), (function_name,),
                                    lambda: (activations.SOURCE.with_name(f"{module}.py"), activations.SOURCE,
                                             activations.CONSTANTS))


@dataclasses.dataclass(frozen=True)
class GruCell:
    """One Keras GRU cell's weights: kernel (inputs, 3 units), recurrent (units, 3 units), biases (2, 3 units):
    the input's and the state's, gates in Keras's order z, r, h."""

    kernel: np.ndarray
    recurrent: np.ndarray
    biases: np.ndarray
    activation: str

    LOOP = ("recurrent_loop", "neural_filter_recurrent")  # recurrent_loop.FUNCTION_NAME (that module imports Numba)
    linear_path = True  # beside the long linear path, unless fit.py --no-linear-path
    clip = None  # no gradient clipping
    gain = False  # its read-out is linear in its state
    readout_reads_state = True
    bank = None  # cells of it stack (fit.py's layers)
    state_per_unit = 1
    format = 5  # the model file's (model_file.FORMAT), as every other kind's

    @classmethod
    def of(cls, saved) -> "GruCell":
        """From model_file's reading of a GRU layer (model_file.CellWeights)."""
        kernel, recurrent, biases = saved.arrays
        if saved.config.get("recurrent_activation", "sigmoid") != "sigmoid" or not saved.config.get("reset_after"):
            raise ValueError("a GRU other than Keras's default (sigmoid gates, reset after)")
        return cls(kernel, recurrent, biases.reshape(2, -1), saved.config.get("activation", "tanh"))

    @staticmethod
    def keras_layer(settings: TrainSettings, name: str, spec):
        """Keras's GRU, giving its state at every sample."""
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        return keras.layers.GRU(settings.units, activation=settings.activation, return_sequences=True, name=name)

    @staticmethod
    def start(weights: list, level: float | None, rate: int, rng) -> list:
        """The first cell's input kernel scaled to the pair's level (each gate's input about unit variance).

        What the linear path leaves is uncorrelated with any linear function of the input, and a cell
        whose inputs are small is nearly linear: its state then gives the read-out no gradient, and the
        cells get none through it (measured: at Keras's initial kernel the loss sat at its start for 8
        epochs). At unit variance the cells' states bend from the first step.
        """
        if level is None:
            return weights
        kernel, *others = weights
        return [kernel / (level * np.sqrt(np.mean(kernel**2))), *others]

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]

    def sizes(self, cells: int, gain: "GainReadout | None" = None) -> tuple:
        """The loop's size arguments after the weights: units, layers, activation, the gain's hidden values."""
        return self.units, cells, CELL_ACTIVATIONS.index(self.activation), gain.width if gain else 0

    def scratch(self, gain: "GainReadout | None" = None) -> int:
        return 6 * self.units + (gain.width if gain else 0)

    def folded(self, scale: np.float32, offset: np.float32) -> "GruCell":
        """This cell reading x * scale + offset where it read x."""
        biases = self.biases.copy()
        biases[0] = self.biases[0] + offset * self.kernel[0]
        return dataclasses.replace(self, kernel=self.kernel * scale, biases=biases)

    def packed(self) -> list:
        """Its weights in recurrent_loop._run's order."""
        return [self.kernel, self.recurrent, self.biases]

    def step(self, inputs: np.ndarray, previous: np.ndarray) -> None:
        """One sample in NumPy: `previous` (units,) becomes the new state."""
        units = self.units
        from_input = inputs @ self.kernel + self.biases[0]
        from_state = previous @ self.recurrent + self.biases[1]
        gates = numpy_activations.COMPILED_IN_NUMPY["sigmoid"](from_input[: 2 * units] + from_state[: 2 * units])
        update, reset = gates[:units], gates[units:]
        candidate = numpy_activations.COMPILED_IN_NUMPY[self.activation](
            from_input[2 * units :] + reset * from_state[2 * units :])
        previous[:] = numpy_activations.flushed(update * previous + (np.float32(1) - update) * candidate)


@dataclasses.dataclass(frozen=True)
class StateSpaceCell:
    """One state-space cell's weights (state_space_cell.py): kernel K (inputs + units, hidden), bias b (hidden),
    linear L (inputs + units, units), mix M (hidden, units), and shift (units): the levels' offset through L
    (zero in the Keras cell)."""

    kernel: np.ndarray
    bias: np.ndarray
    linear: np.ndarray
    mix: np.ndarray
    activation: str
    shift: np.ndarray | None = None

    LOOP = ("state_space_loop", "neural_filter_state_space")  # state_space_loop.FUNCTION_NAME
    linear_path = False  # its own linear map instead (the module's docstring)
    # the model file's (model_file.FORMAT): a reader of format 5 would skip its RNN layers, one of 6 misread its
    # bounded transition's weights
    format = 7
    # near a resonance, a step that moves a pole towards the unit circle makes the next gradients explode
    clip = STATE_SPACE_CLIP
    gain = False  # its read-out is linear in its state (GainedStateSpaceCell's is not)
    readout_reads_state = True
    bank = None  # cells of it stack (fit.py's layers)
    state_per_unit = 1

    @classmethod
    def of(cls, saved) -> "StateSpaceCell":
        """From model_file's reading of an RNN layer holding one (model_file.CellWeights)."""
        cell = saved.config.get("cell", {})
        if cell.get("class_name") != "StateSpaceCell":
            raise ValueError(f"a recurrent layer of a cell this neural_filter does not know ({cell.get('class_name')})")
        config = cell["config"]
        kernel, bias, linear, mix, *bounded = saved.arrays
        if config.get("transition", "free") == "bounded":  # L's state rows built from decay, rotation, coupling
            decay, rotation = bounded
            inputs = len(linear) - len(decay)
            state = state_space_transition.transition(decay, rotation, linear[inputs:], np,
                                                      state_space_transition.constants(len(decay)))
            linear = np.concatenate([linear[:inputs], state]).astype(np.float32)
        return cls(kernel, bias, linear, mix, config.get("activation", "tanh"))

    @staticmethod
    def keras_layer(settings: TrainSettings, name: str, spec):
        """An RNN of state_space_cell's cell, giving its state at every sample."""
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.state_space_cell import HIDDEN_PER_UNIT  # noqa: PLC0415 - imports Keras, as above
        from neural_filter.state_space_cell import StateSpaceCell as KerasCell  # noqa: PLC0415

        cell = KerasCell(settings.units, HIDDEN_PER_UNIT * settings.units, settings.activation, "bounded")
        return keras.layers.RNN(cell, return_sequences=True, name=name)

    @staticmethod
    def start(weights: list, level: float | None, rate: int, rng) -> list:
        """The transition a bank of one-pole low-passes (START_CUTOFFS at the pair's rate: the decays, no rotation
        nor coupling), the input's share of the linear map and the dense layer small and random: the state starts
        near a linear filter, and each unit's share moves it from the first step. (The pair's level is not read:
        measured at the bench's, 0.39 rms.)"""
        kernel, bias, linear, mix, _decay, _rotation = weights
        units, hidden, width = mix.shape[1], mix.shape[0], kernel.shape[0]
        inputs = width - units
        decay, rotation, coupling = state_space_transition.start(
            np.exp(-2 * np.pi * np.geomspace(*START_CUTOFFS, units) / rate))
        linear = np.concatenate([rng.normal(0, 0.1, (inputs, units)), coupling])
        kernel = rng.normal(0, 1 / np.sqrt(width), (width, hidden))
        mix = rng.normal(0, 0.01, (hidden, units))
        return [array.astype(np.float32) for array in (kernel, bias, linear, mix, decay, rotation)]

    @property
    def units(self) -> int:
        return self.mix.shape[1]

    @property
    def hidden(self) -> int:
        return self.mix.shape[0]

    def sizes(self, cells: int, gain: "GainReadout | None" = None) -> tuple:
        """The loop's size arguments after the weights: units, hidden, layers, activation, the gain's hidden values."""
        return self.units, self.hidden, cells, CELL_ACTIVATIONS.index(self.activation), gain.width if gain else 0

    def scratch(self, gain: "GainReadout | None" = None) -> int:
        return self.hidden + self.units + (gain.width if gain else 0)

    def folded(self, scale: np.float32, offset: np.float32) -> "StateSpaceCell":
        """This cell reading x * scale + offset where it read x (its one input)."""
        kernel, linear = self.kernel.copy(), self.linear.copy()
        kernel[0], linear[0] = self.kernel[0] * scale, self.linear[0] * scale
        return dataclasses.replace(self, kernel=kernel, linear=linear, bias=self.bias + offset * self.kernel[0],
                                   shift=self._shift() + offset * self.linear[0])

    @classmethod
    def readout_start(cls, starts: list, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """The read-out's start: the least-squares read-out of the cells' linear start (linear_readout)."""
        return linear_readout(starts, x, y, cls.gain)

    def _shift(self) -> np.ndarray:
        return np.zeros(self.units, np.float32) if self.shift is None else self.shift

    def packed(self) -> list:
        """Its weights in state_space_loop._run's order."""
        return [self.kernel, self.bias, self.linear, self._shift(), self.mix]

    def step(self, inputs: np.ndarray, previous: np.ndarray) -> None:
        """One sample in NumPy: `previous` (units,) becomes the new state."""
        both = np.concatenate([inputs, previous])
        hidden = numpy_activations.COMPILED_IN_NUMPY[self.activation](both @ self.kernel + self.bias)
        previous[:] = numpy_activations.flushed(both @ self.linear + self._shift() + hidden @ self.mix)


def linear_readout(starts: list, x: np.ndarray, y: np.ndarray, gained: bool = False) -> tuple[np.ndarray, float]:
    """The read-out (units,) and bias that bring the state-space cells' linear start closest to `y` (least squares);
    `gained`: (units + 1,), the last weighing the input itself, as the gain read-out gives it at its start (gain 1).

    At the start the dense layers' share is small: each cell is nearly its linear map, a bank of
    one-pole low-passes (diagonal), each unit of which SciPy runs over the whole signal at once.
    Read out by least squares, training starts from the best filter that bank makes of the input,
    not from a random one (measured: a random read-out left a two-epoch run worse than doing
    nothing). The slow low-passes are nearly alike, and an exact fit weighs them against each other
    by large amounts that cancel over the whole signal but not after a short burn-in from zero
    state (measured: +7.5 dB, worse than doing nothing, on a second of white noise): a ridge keeps
    the weights small.
    """
    from scipy import signal  # noqa: PLC0415 - SciPy: when a model is built, never when gen.py imports the kind

    states = np.asarray(x, np.float64)[:, None]  # (samples, inputs)
    for _kernel, _bias, linear, _mix, poles, _rotation in starts:
        inputs = states.shape[1]
        driven = states @ linear[:inputs]  # (samples, units): what each unit's one-pole low-pass is fed
        states = np.stack([signal.lfilter([1.0], [1.0, -pole], column) for pole, column in zip(poles, driven.T)], 1)
    inputs = [np.asarray(x, np.float64)[:, None]] if gained else []
    columns = np.concatenate([states, *inputs, np.ones((len(states), 1))], 1)
    gram = columns.T @ columns
    ridge = READOUT_RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
    solution = np.linalg.solve(gram + ridge, columns.T @ np.asarray(y, np.float64))
    return solution[:-1].astype(np.float32), float(solution[-1])


@dataclasses.dataclass(frozen=True)
class GainReadout:
    """A recurrent model's gain on its input: with s' the last cell's new state and x the input (network levels),
        h = activation([s'; x] hidden + b),  gain = exp(min(h . weights + c, GAIN_LIMIT)),
    and the read-out (output) weighs x * gain beside the state: y = s' . r + d x gain + bias.

    A compressor is its input times a gain that follows the input's level (JUCE's: a peak follower
    of |x| with attack and release, then (level / threshold)^(1/ratio - 1)); a sum of saturations
    of the state cannot make that product, and a gain of exp(...) spans the 50 dB of levels a
    compressor's gain does with weights of one scale. Measured 2026-12-05 (the prototype, the bench's
    compressor on a pair in bursts, 8 units, relu, 400 CPU s): worst recording -19.5 dB with the gain,
    -4.7 with a gain of 1 + h . weights, -12.8 for the GRU; bench/effects.py on a pair at moving levels
    (make_data.py --envelope levels, 1x8, window 4097, 150 epochs at 1e-3): -4.2 dB on the worst recording
    and -17.6 on held-out noise with it, -1.0 and -13.0 without; after the bounded transition, on the white
    pair, -1.5 dB, where the GRU scores -18.4 (the README's compressor command). It starts at gain 1
    (weights and c zero), so a model of a filter starts as one: the least-squares read-out weighs x like any state.
    """

    hidden: Dense  # (units + 1, gain hidden values), the model's activation
    gain: Dense  # (gain hidden values, 1)

    @property
    def width(self) -> int:
        """Its hidden values."""
        return self.hidden.kernel.shape[1]

    def folded(self, scale: np.float32, offset: np.float32) -> "GainReadout":
        """Reading x * scale + offset where it read x (the last row of its hidden kernel)."""
        kernel = self.hidden.kernel.copy()
        kernel[-1] = self.hidden.kernel[-1] * scale
        bias = (self.hidden.bias + offset * self.hidden.kernel[-1]).astype(np.float32)
        return dataclasses.replace(self, hidden=dataclasses.replace(self.hidden, kernel=kernel, bias=bias))

    def packed(self, scale: np.float32, offset: np.float32) -> list:
        """Its weights in activation_loop.gained's order (after the read-out): the input's levels, c, GAIN_LIMIT, the
        hidden kernel, bias and the gain's weights."""
        return [np.float32([scale, offset, self.gain.bias[0], GAIN_LIMIT]), self.hidden.kernel, self.hidden.bias,
                self.gain.kernel[:, 0]]

    def of(self, state: np.ndarray, sample: np.float32, scale: np.float32, offset: np.float32) -> np.float32:
        """x * gain at one sample in NumPy (x at the network's levels; the hidden kernel folded)."""
        hidden = numpy_activations.COMPILED_IN_NUMPY[self.hidden.activation](
            np.concatenate([state, [sample]]).astype(np.float32) @ self.hidden.kernel + self.hidden.bias)
        exponent = min(np.float32(hidden @ self.gain.kernel[:, 0] + self.gain.bias[0]), np.float32(GAIN_LIMIT))
        return (sample * scale + offset) * np.exp(np.float32(exponent))


# exp's argument is held under it (exp(30) = 1e13), so that a wild step gives a large loss, not inf (state_space_cell's
# Gained and state_space_loop read it here)
GAIN_LIMIT = 30.0
GAIN_PER_UNIT = 2  # the gain's hidden values per state value


def _network(spec, settings: TrainSettings, shared=None):
    """The recurrent model (RecurrentKind.build); `shared`: a model whose layers this one calls, each cell also reading
    the state it starts from (inputs state_0, state_1, ...: carried_state.py)."""
    import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

    def layer(name: str, make):
        return shared.get_layer(name) if shared is not None else make()

    inputs = keras.Input(shape=(None, 1))  # (batch, window - 1 + samples, 1)
    state_size = CELL_TYPES[settings.cell].state_per_unit * settings.units
    states = [keras.Input(shape=(state_size,), name=f"state_{index}") for index in range(settings.layers)
              if shared is not None]
    hidden = inputs
    for index in range(settings.layers):  # (batch, window - 1 + samples, units)
        make = CELL_TYPES[settings.cell].keras_layer
        cell = layer(f"hidden_{index}", lambda: make(settings, f"hidden_{index}", spec))
        hidden = cell(hidden, initial_state=[states[index]]) if states else cell(hidden)
    hidden = keras.layers.Cropping1D((spec.window - 1, 0), name="burn_in")(hidden)  # (batch, samples, units)
    if CELL_TYPES[settings.cell].gain:
        hidden = gain_readout_inputs(inputs, hidden, spec, settings, layer)  # (batch, samples, units + 1)
    outputs = layer("output", lambda: keras.layers.Dense(1, name="output"))(hidden)  # (batch, samples, 1)
    return keras.Model([inputs, *states] if states else inputs, outputs, name="recurrent_filter")


def gain_readout_inputs(inputs, states, spec, settings: TrainSettings, layer):
    """The read-out's inputs with the gain (GainReadout): the states and x * gain, (batch, samples, units + 1), or
    x * gain alone where the cell's read-out does not read its state (follower); `layer(name, make)` gives each
    layer with weights (_network's)."""
    import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

    from neural_filter.state_space_cell import Gained  # noqa: PLC0415 - imports Keras, as above

    audio = keras.layers.Cropping1D((spec.window - 1, 0), name="audio")(inputs)  # (batch, samples, 1)
    both = keras.layers.Concatenate(name="state_and_input")([states, audio])
    hidden = layer("gain_hidden", lambda: keras.layers.Dense(GAIN_PER_UNIT * settings.units,
                                                             activation=settings.activation, name="gain_hidden"))(both)
    gain = layer("gain", lambda: keras.layers.Dense(1, kernel_initializer="zeros", name="gain"))(hidden)
    gained = Gained(GAIN_LIMIT, name="gained")(audio, gain)
    if not CELL_TYPES[settings.cell].readout_reads_state:
        return gained
    return keras.layers.Concatenate(name="state_and_gained")([states, gained])


def stack_of_model(model, spec) -> "RecurrentStack":
    """The RecurrentStack of a Keras recurrent model in memory (as model_file reads one from its file: each cell's
    weights and config as its CellWeights holds them; model_file imports the kinds, so not its class)."""
    layers = {}
    for layer in model.layers:
        if layer.name.startswith("hidden_"):
            layers[layer.name] = types.SimpleNamespace(arrays=layer.get_weights(), config=layer.get_config())
        elif layer.name in ("output", "gain_hidden", "gain"):
            kernel, bias = layer.get_weights()
            layers[layer.name] = Dense(kernel, bias, layer.get_config().get("activation") or "linear")
    return RecurrentKind().network_of(layers, {"spec": {"window": spec.window}})


class GainedGruCell(GruCell):
    """fit.py --cell gru-gain: Keras's GRU, its read-out beside a gain read-out (GainReadout) and no linear path
    beside it: a compressor's output is its input times a gain in (0, 1], which x * exp(...) makes with a positive
    weight, where the input minus the least-squares FIR's output (what the GRU's read-out sees beside the linear
    path) is x times a gain of either sign, which it cannot. Saved as the GRU is; a model holds the gain read-out's
    layers beside it (RecurrentKind.network_of)."""

    linear_path = False
    gain = True
    format = 8  # a reader of format 7 would render its read-out without the gain

    @staticmethod
    def readout_start(starts: list, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        _kernel, recurrent, _biases = starts[-1]
        return gain_readout_start(len(recurrent), x, y)


def gain_readout_start(units: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The read-out of `units` states and x * gain with no linear path (gru-gain, follower): at zero but for its
    weight of x * gain (at gain 1 at the start), the input's least-squares scale, and the bias, so that training
    starts from the best constant gain, a compressor's mean."""
    columns = np.stack([np.asarray(x, np.float64), np.ones(len(x))], 1)
    (scale, bias), *_ = np.linalg.lstsq(columns, np.asarray(y, np.float64), rcond=None)
    kernel = np.zeros(units + 1, np.float32)
    kernel[-1] = scale
    return kernel, float(bias)


class GainedStateSpaceCell(StateSpaceCell):
    """fit.py --cell state-space-gain: the state-space cell, its read-out beside a gain read-out (GainReadout). Saved
    as the state-space cell is; a model holds the gain read-out's layers beside it (RecurrentKind.network_of)."""

    gain = True
    format = 8  # a reader of format 7 would render its read-out without the gain


# The level a follower's state is counted from (follower_cell.py), at the network's levels: -100 dB, under a 16-bit
# pair's LSB (-90 dB), so that the state resolves every level a pair holds.
FOLLOWER_FLOOR = 1e-5
# A new follower cell's time constants (JUCE's milliseconds: the coefficient is exp(-2 pi 1000 / (ms rate))), spread
# geometrically, the releases shuffled against the attacks: a compressor's attack of 0.1-30 ms and release of 20 ms
# to a second fall inside.
FOLLOWER_ATTACKS, FOLLOWER_RELEASES = (0.2, 20.0), (20.0, 1000.0)


@dataclasses.dataclass(frozen=True)
class FollowerCell:
    """fit.py --cell follower: `units` peak followers of the input (follower_cell.py), each with its attack and
    release, their state log(1 + level / FOLLOWER_FLOOR), read by the gain read-out (GainReadout) and no linear path:
    a compressor's structure, its follower and its gain curve, where a GRU has to build the follower out of gates.

    attack and release are the Keras cell's rates (coefficient exp(-exp(rate))); `weight` and `centre` the input's
    scale and centre: v = 1 + |x - centre| * weight (1 / FOLLOWER_FLOOR and the network's centre, before folding)."""

    attack: np.ndarray
    release: np.ndarray
    centre: np.float32 = np.float32(0)
    weight: np.float32 = np.float32(1 / FOLLOWER_FLOOR)
    floor: float = FOLLOWER_FLOOR  # the Keras cell's (its config's), which its output log(floor + level) counts from

    LOOP = ("follower_loop", "neural_filter_follower")  # follower_loop.FUNCTION_NAME
    linear_path = False
    clip = None
    gain = True
    # its read-out weighs x * gain alone: a weight of the state (log levels, 0 to 11.5) would add a copy of the level
    # to the output, which a compressor's has none of (not measured alone: the first fit.py run had it, and the gain
    # read-out reading the state, not the output: -10.7 dB on the worst recording; trained by the prototype, -39.4)
    readout_reads_state = False
    bank = "followers"  # one bank of `units` of them: fit.py refuses more layers
    state_per_unit = 1
    format = 9  # a reader of format 8 would not know the cell
    activation = None  # the followers have none; the gain read-out's is the model's

    @classmethod
    def of(cls, saved) -> "FollowerCell":
        """From model_file's reading of an RNN layer holding one (model_file.CellWeights)."""
        attack, release = saved.arrays
        config = saved.config["cell"]["config"]
        floor = config.get("floor", FOLLOWER_FLOOR)
        return cls(attack, release, np.float32(config.get("centre", 0.0)), np.float32(1 / floor), floor)

    @staticmethod
    def keras_layer(settings: TrainSettings, name: str, spec):
        """An RNN of follower_cell's cell, giving its output, log(FOLLOWER_FLOOR + level), at every sample, rectifying
        about the network's centre."""
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.follower_cell import FollowerCell as KerasCell  # noqa: PLC0415 - imports Keras, as above

        cell = KerasCell(settings.units, float(spec.scale_offset[1]), FOLLOWER_FLOOR)
        return keras.layers.RNN(cell, return_sequences=True, name=name)

    @staticmethod
    def start(weights: list, level: float | None, rate: int, rng) -> list:
        """Attacks and releases spread over FOLLOWER_ATTACKS and FOLLOWER_RELEASES at the pair's rate."""
        units = len(weights[0])
        attack, release = (np.log(2 * np.pi * 1000 / (np.geomspace(*span, units) * rate))
                           for span in (FOLLOWER_ATTACKS, FOLLOWER_RELEASES))
        return [attack.astype(np.float32), rng.permutation(release).astype(np.float32)]

    @staticmethod
    def readout_start(starts: list, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        return gain_readout_start(0, x, y)  # its read-out reads x * gain alone

    @property
    def units(self) -> int:
        return len(self.attack)

    def sizes(self, cells: int, gain: "GainReadout | None" = None) -> tuple:
        """The loop's size arguments after the weights: units, layers, the gain read-out's activation, its hidden
        values."""
        return self.units, cells, CELL_ACTIVATIONS.index(gain.hidden.activation), gain.width

    def scratch(self, gain: "GainReadout | None" = None) -> int:
        return gain.width

    def folded(self, scale: np.float32, offset: np.float32) -> "FollowerCell":
        """This cell reading x * scale + offset where it read x."""
        return dataclasses.replace(self, centre=np.float32((self.centre - offset) / scale),
                                   weight=np.float32(self.weight * abs(scale)))

    def read_by(self, gain: "GainReadout | None", output: Dense) -> tuple["GainReadout", Dense]:
        """The saved gain read-out and read-out as the stack reads them (RecurrentKind.network_of): the gain's reading
        the state, where the Keras model's reads the cell's output, state + log(floor) (that offset folded into its
        hidden bias), and the read-out of x * gain alone with a weight of 0 for each state value."""
        if gain is None:
            raise ValueError("a follower model without its gain read-out (the layers gain_hidden and gain)")
        kernel, bias = gain.hidden.kernel, gain.hidden.bias
        bias = (bias + np.float32(np.log(self.floor)) * kernel[: self.units].sum(0)).astype(np.float32)
        gain = dataclasses.replace(gain, hidden=dataclasses.replace(gain.hidden, bias=bias))
        readout = np.concatenate([np.zeros((self.units, 1), np.float32), output.kernel])
        return gain, Dense(readout, output.bias, output.activation)

    @functools.cached_property
    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """The attack's and the release's one-pole coefficients, float32 (once a cell: step runs every sample)."""
        return tuple(np.exp(-np.exp(rate.astype(np.float32))) for rate in (self.attack, self.release))

    def packed(self) -> list:
        """Its weights in follower_loop._run's order."""
        return [np.float32([self.weight, self.centre]), *self.coefficients]

    def step(self, inputs: np.ndarray, previous: np.ndarray) -> None:
        """One sample in NumPy: `previous` (units,) becomes the new state."""
        attack, release = self.coefficients
        level = np.exp(previous)
        rectified = np.float32(1) + np.abs(inputs[0] - self.centre) * self.weight
        coefficient = np.where(rectified > level, attack, release)
        previous += np.log1p((np.float32(1) - coefficient) * (rectified - level) / level)  # follower_cell.py says why


# A new ladder cell's cutoffs (Hz), spread geometrically over its ladders, shuffled: the read-out mixes them, and
# the ladder nearest the effect's cutoff takes over (measured in a prototype: one of four, started at 206 Hz,
# moved to 151.7 Hz and resonance 0.939 for JUCE's 150 Hz and 0.95).
LADDER_CUTOFFS = (50.0, 5000.0)
# A ladder cell's gradients are clipped to this global norm (the prototype's): a step that takes a ladder's
# resonance past self-oscillation at its cutoff is a large one.
LADDER_CLIP = 1.0


@dataclasses.dataclass(frozen=True)
class LadderCell:
    """fit.py --cell ladder: `ladders` ladder filters side by side (ladder_cell.py), every coefficient learned, their
    states read out linearly; no linear path (each ladder's stages are one). Each weight holds one value per
    ladder, in ladder_cell.WEIGHTS's order; the state is 5 values per ladder, stage by stage (every ladder's a,
    then every ladder's b, ... e), so `units` is 5 x ladders. Its fields are ladder_cell.WEIGHTS, in that order
    (the saved weights')."""

    rate: np.ndarray
    input_gain: np.ndarray
    input_drive: np.ndarray
    input_bias: np.ndarray
    resonance: np.ndarray
    feedback_gain: np.ndarray
    feedback_drive: np.ndarray
    compensation: np.ndarray
    split: np.ndarray

    LOOP = ("ladder_loop", "neural_filter_ladder")  # ladder_loop.FUNCTION_NAME
    linear_path = False
    clip = LADDER_CLIP
    gain = False
    readout_reads_state = True
    bank = "ladders"  # one bank of `units` of them: fit.py refuses more layers
    state_per_unit = 5
    format = 10  # a reader of format 9 would not know the cell
    activation = None  # its saturations are tanh, its own; the activator is not read

    @classmethod
    def of(cls, saved) -> "LadderCell":
        """From model_file's reading of an RNN layer holding one (model_file.CellWeights)."""
        return cls(*saved.arrays)

    @staticmethod
    def keras_layer(settings: TrainSettings, name: str, spec):
        """An RNN of ladder_cell's cell, giving its state at every sample."""
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.ladder_cell import LadderCell as KerasCell  # noqa: PLC0415 - imports Keras, as above

        return keras.layers.RNN(KerasCell(settings.units), return_sequences=True, name=name)

    @staticmethod
    def start(weights: list, level: float | None, rate: int, rng) -> list:
        """Cutoffs spread over LADDER_CUTOFFS at the pair's rate, shuffled; each ladder JUCE's at resonance 1, drive 1:
        gains and drives 1, no bias, compensation 0.5, and JUCE's split of each stage's zero and pole (0.769)."""
        ladders = len(weights[0])
        cutoffs = np.geomspace(*LADDER_CUTOFFS, ladders)[rng.permutation(ladders)]
        values = {"rate": np.log(2 * np.pi * cutoffs / rate), "input_gain": 1.0, "input_drive": 1.0, "input_bias": 0.0,
                  "resonance": 1.0, "feedback_gain": 1.0, "feedback_drive": 1.0, "compensation": 0.5,
                  "split": 0.76923076923}
        return [np.broadcast_to(np.float32(values[field.name]), (ladders,)).astype(np.float32)
                for field in dataclasses.fields(LadderCell)]

    @staticmethod
    def readout_start(starts: list, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """The read-out at zero: training starts from silence, and each ladder's state moves it from the first step."""
        return np.zeros(LadderCell.state_per_unit * len(starts[-1][0]), np.float32), 0.0

    @property
    def ladders(self) -> int:
        return len(self.rate)

    @property
    def units(self) -> int:
        return self.state_per_unit * self.ladders

    def sizes(self, cells: int, gain: "GainReadout | None" = None) -> tuple:
        """The loop's size arguments after the weights: ladders, layers, and two unused (the activation, the gain's)."""
        return self.ladders, cells, 0, 0

    def scratch(self, gain: "GainReadout | None" = None) -> int:
        return 1

    def folded(self, scale: np.float32, offset: np.float32) -> "LadderCell":
        """This cell reading x * scale + offset where it read x: into its input's drive and bias."""
        return dataclasses.replace(self, input_drive=(self.input_drive * scale).astype(np.float32),
                                   input_bias=(self.input_bias + self.input_drive * offset).astype(np.float32))

    def packed(self) -> list:
        """Its weights in ladder_loop._run's order (ladder_loop.A1 .. COMPENSATION)."""
        return list(self._coefficients)

    @functools.cached_property
    def _coefficients(self) -> tuple:
        """packed's arrays, computed once a cell (step runs every sample)."""
        a1 = np.exp(-np.exp(self.rate.astype(np.float32)))
        stage = np.float32(1) - a1
        return (a1, stage * self.split, stage * (np.float32(1) - self.split), self.input_gain, self.input_drive,
                self.input_bias, np.float32(4) * self.resonance, self.feedback_gain, self.feedback_drive,
                self.compensation)

    def step(self, inputs: np.ndarray, previous: np.ndarray) -> None:
        """One sample in NumPy: `previous` (5 ladders,) becomes the new state."""
        a1, b0, b1, gain, drive, bias, feedback, feedback_gain, feedback_drive, compensation = self._coefficients
        a_prev, b_prev, c_prev, d_prev, e_prev = previous.reshape(5, -1).copy()
        dx = gain * np.tanh(drive * inputs[0] + bias)
        a = dx - feedback * (feedback_gain * np.tanh(feedback_drive * e_prev) - compensation * dx)
        b = b1 * a_prev + a1 * b_prev + b0 * a
        c = b1 * b_prev + a1 * c_prev + b0 * b
        d = b1 * c_prev + a1 * d_prev + b0 * c
        e = b1 * d_prev + a1 * e_prev + b0 * d
        previous[:] = numpy_activations.flushed(np.concatenate([a, b, c, d, e]))



CELL_TYPES = {"state-space": StateSpaceCell, "gru": GruCell, "state-space-gain": GainedStateSpaceCell,  # fit.py --cell
              "gru-gain": GainedGruCell, "follower": FollowerCell, "ladder": LadderCell}


def spec_levels(spec) -> tuple[np.float32, np.float32]:
    """The network's levels: it reads x * scale + offset for a full-scale x."""
    scale, offset = spec.scale_offset
    return np.float32(scale), np.float32(offset)


def cell_of(saved):
    """The NumPy cell of a saved recurrent layer (model_file.CellWeights): a GRU, or an RNN of a state-space cell, of
    followers or of ladders."""
    if "cell" not in saved.config:
        return GruCell.of(saved)
    name = saved.config["cell"].get("class_name")
    return {"FollowerCell": FollowerCell, "LadderCell": LadderCell}.get(name, StateSpaceCell).of(saved)


@dataclasses.dataclass
class RecurrentStack:
    """The recurrent model in NumPy: full-scale blocks in, its outputs out, its state carried (`stream`).

    `engine` "compiled" runs the cells' loop in machine code (recurrent_loop or state_space_loop);
    "numpy" the same loop in NumPy, a hundred times slower, for short renders and where llvmlite is missing.
    """

    cells: list  # GruCell or StateSpaceCell each, all of one type
    output: Dense  # (units, 1): the read-out
    window: int  # the burn-in plus one: silence the render starts with is window - 1 samples
    long_path: object = None  # a linear_path.LinearPath, full scale: render.py adds its output
    engine: str = "compiled"
    gain: GainReadout | None = None  # state-space-gain's, gru-gain's or follower's: output reads units + 1 values

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
        activations = [cell.activation for cell in self.cells if cell.activation is not None]
        return all(activation in CELL_ACTIVATIONS for activation in activations + self._gain_activation())

    def _gain_activation(self) -> list:
        return [self.gain.hidden.activation] if self.gain is not None else []

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
        cells = [self.cells[0].folded(scale, offset), *self.cells[1:]]
        readout = (self.output.kernel[:, 0] / scale).astype(np.float32)
        return cells, readout, np.float32((self.output.bias[0] - offset) / scale)

    def packed(self, spec) -> np.ndarray:
        """Every weight in one float32 array, in the loop's order."""
        cells, readout, bias = self.folded(spec)
        parts = [array for cell in cells for array in cell.packed()] + [readout[: self.units], [bias]]
        if self.gain is not None:  # the read-out's weight of x * gain, then the gain read-out's own
            levels = spec_levels(spec)
            parts += [readout[self.units :], *self.gain.folded(*levels).packed(*levels)]
        return np.ascontiguousarray(np.concatenate([np.ravel(part) for part in parts]), np.float32)

    def stream(self, spec, blocks):
        """Full-scale blocks in, float32 full-scale outputs out, block for block: the state starts at zero, runs over
        window - 1 samples of silence (as training's first segment), and is carried from block to block."""
        run = self._compiled(spec) if self.engine == "compiled" else self._numpy(spec)
        state = np.zeros(len(self.cells) * self.units, np.float32)
        run(np.zeros(self.window - 1, np.float32), state)
        for block in blocks:
            yield run(np.ascontiguousarray(block, np.float32), state)

    def states_at(self, spec, samples: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(len(starts), layers * units): the state at each of `starts` (ascending) of full-scale `samples`, run from
        zero state (carried_state.py)."""
        run = self._compiled(spec) if self.engine == "compiled" else self._numpy(spec)
        state = np.zeros(len(self.cells) * self.units, np.float32)
        states = np.empty((len(starts), len(state)), np.float32)
        at = 0
        for index, start in enumerate(starts):
            run(np.ascontiguousarray(samples[at:start], np.float32), state)
            states[index], at = state, start
        return states

    def _compiled(self, spec):
        first = self.cells[0]
        sizes = first.sizes(len(self.cells), self.gain)
        function = _compiled_loop(*first.LOOP, len(sizes)).function()
        weights = self.packed(spec)
        scratch = np.empty(first.scratch(self.gain), np.float32)

        def run(samples: np.ndarray, state: np.ndarray) -> np.ndarray:
            outputs = np.empty(len(samples), np.float32)
            returned = ctypes.c_void_p()
            status = function(ctypes.byref(returned), None, samples.ctypes.data, len(samples), outputs.ctypes.data,
                              state.ctypes.data, weights.ctypes.data, *sizes, scratch.ctypes.data)
            if status:
                raise RuntimeError(f"the compiled recurrent loop failed (status {status})")
            return outputs

        return run

    def _numpy(self, spec):
        cells, readout, bias = self.folded(spec)
        units = self.units
        levels = spec_levels(spec)
        gain = self.gain.folded(*levels) if self.gain is not None else None

        def run(samples: np.ndarray, state: np.ndarray) -> np.ndarray:
            states = state.reshape(len(cells), units)  # a view: the state is updated in place
            outputs = np.empty(len(samples), np.float32)
            for n, sample in enumerate(samples):
                inputs = np.array([sample], np.float32)
                for cell, previous in zip(cells, states):
                    cell.step(inputs, previous)
                    inputs = previous
                if gain is None:
                    outputs[n] = np.dot(inputs, readout) + bias
                else:
                    gained = gain.of(inputs, np.float32(sample), *levels)
                    outputs[n] = np.dot(inputs, readout[:-1]) + bias + gained * readout[-1]
            return outputs

        return run
