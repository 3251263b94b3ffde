"""What the package asks of a kind of model: the protocol each module of this folder implements.

A kind of model is one module here (chunk.py, sliding.py, knob.py) holding one `Kind`, and one line
of the registry (kinds/__init__.py). The rest of the package never compares a mode name: it asks
the spec's kind (FilterSpec.kind) how a signal becomes rows and what a row gives back, and the
registry which kind a command line or a saved record means. A kind answers for:

- its framing: the context a row needs around the signal (`padding`), the rows a signal is cut
  into (`rows`, `outputs_per_row`, `final_silence`), how a training pair is split and arranged;
- its training: the Keras model (`build`), its start (`start`: the least-squares FIR where it has
  one), the arrays Keras trains on (`model_arrays`, `dry`), whether the rate decays;
- its NumPy forward pass: the network read from a saved file's layers (`network_of`), and what a
  knob does to it (`turned`); a network whose state runs from sample to sample (recurrent.py) has
  a `stream` of its own, which render.py runs instead of the rows, and its own `engine_for`;
- its file: the name's suffix and the record's fields; and the arguments it refuses.

Importing a kind costs NumPy only: gen.py imports every kind and must load neither Keras nor
Numba (nor SciPy, for a short render: tests/test_render.py), so `build` and `start` import Keras
and the FIR solver when they are called.
"""

import numpy as np

from neural_filter.errors import ArgumentError
from neural_filter import linear_path
from neural_filter.linear_path import LinearPath
from neural_filter.network import DenseStack
from neural_filter.settings import TrainSettings


class Kind:
    """One kind of model; each method says what the kind does, the defaults what most kinds do."""

    name = ""  # the kind's name: fit.py's --mode word for those it offers
    mode = ""  # the spec's mode word in a model file of this kind (FilterSpec.mode)
    default_levels = "signed"  # fit.py's --levels when none is given (see spec.LEVELS)
    has_linear_path = False  # an FIR beside the stack, on unless fit.py --no-linear-path
    cells: tuple = ()  # fit.py --cell: the cells a model of this kind may have (recurrent.CELLS); none for most
    fitted_start = "the least-squares FIR"  # what a new model with the linear path starts as (fit.py says its score)
    stack_reads_path = False  # the stack reads the long path's output (its length is judged after a curve of it)
    fits_a_response = False  # one output per window: fit.py says when the filter's response is longer
    sweep_defaults: dict = {}  # sweep.py: what a hyperparameter left out searches, where it depends on the kind
    backend = None  # the Keras backend fit.py trains it on where KERAS_BACKEND names none and it is installed

    # --- framing: a signal as rows of `window` samples ------------------------------------------

    def padding(self, window: int, align: str) -> tuple[int, int]:
        """Samples of context the rows need before and after the signal (FilterSpec.padding)."""
        raise NotImplementedError

    def outputs_per_row(self, window: int) -> int:
        raise NotImplementedError

    def rows(self, pending: np.ndarray, window: int, group_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The whole groups of `group_rows` rows `pending` holds, and what is left of it for later rows."""
        raise NotImplementedError

    def final_silence(self, pending: int, window: int, after: int) -> int:
        """Silence added to the last `pending` samples so that they make whole rows, their future included."""
        raise NotImplementedError

    def rows_per_call(self, window: int, block_rows: int) -> int:
        """Rows per network call, and per group of rows the framing keeps whole (render's `block_rows` by default)."""
        return block_rows

    def row_count(self, samples: int, window: int) -> int:
        """Rows a signal of `samples` samples makes (render.engine_for weighs the work by it)."""
        raise NotImplementedError

    def keras_inputs(self, rows: np.ndarray) -> np.ndarray:
        """Rows as the Keras model takes them (render's fallback for activations NumPy lacks)."""
        raise NotImplementedError

    # --- the training pair -----------------------------------------------------------------------

    def split_unit(self, window: int) -> int:
        """Samples the training and validation parts are whole multiples of."""
        return 1

    def smallest_part(self, window: int) -> int:
        """The fewest split units a part (training, or validation when any is held out) may have."""
        raise NotImplementedError

    def arrange(self, parts: tuple, window: int, seed: int) -> tuple:
        """(train_x, train_y, validation_x, validation_y), full-scale signals, as dataset.Prepared holds them."""
        return parts

    def model_arrays(self, x: np.ndarray, y: np.ndarray, spec, segment: int | None, past=None) -> tuple:
        """Full-scale data -> what Keras trains on, at the network's levels (`past`: see FilterSpec.pad)."""
        raise NotImplementedError

    def dry(self, inputs: np.ndarray, spec) -> np.ndarray:
        """The Keras inputs aligned with the target: what doing nothing would output."""
        raise NotImplementedError

    def decays(self, settings: TrainSettings) -> bool:
        """Whether the rate follows a cosine to zero over the run (model.make_optimiser's `steps`)."""
        return False

    def gradient_clip(self, settings: TrainSettings) -> float | None:
        """The global norm every training step's gradients are scaled down to at most, or None: no clipping."""
        return None

    def build(self, spec, settings: TrainSettings):
        """The Keras model, its layers named hidden_0.., output (and the kind's own), as `network_of` reads them."""
        raise NotImplementedError

    def start(self, model, prepared, spec, settings: TrainSettings) -> None:
        """Set a new model's starting weights from the training pair (dataset.Prepared), where the kind has a start."""

    def carried(self, model, prepared, arrays: tuple, validation, spec, settings: TrainSettings):
        """The model to fit, its training data, validation arrays and callbacks where they are not `model`, `arrays`
        and none (the recurrent kind's --carry-state); None: those."""
        return None

    def training_callbacks(self, settings: TrainSettings, examples: int, samples: int) -> list:
        """Keras callbacks of the kind's own for a run on `examples` training examples of `samples` outputs each."""
        return []

    def linear_path(self, prepared, spec, settings: TrainSettings):
        """The fixed long linear path beside the stack (linear_path.LinearPath at the pair's least-squares FIR),
        or None: a kind without one, --no-linear-path, or --no-fir-start (the window-long path inside the
        Keras model). Training fits the stack to what it leaves; any kind with `has_linear_path` has it."""
        if not self.fits_long_path(settings):
            return None

        def before(length):
            return linear_path.taps_before(length, spec.align)

        return linear_path.fit(prepared.train_x, prepared.train_y, prepared.rate, before, settings.linear_taps,
                               curve=self.stack_reads_path)

    def linear_path_with(self, cell: str) -> bool:
        """Whether a new model has the long linear path unless fit.py --no-linear-path (`cell`: fit.py --cell)."""
        return self.has_linear_path

    def fits_long_path(self, settings: TrainSettings) -> bool:
        """Whether a new model of these settings has the long linear path (`linear_path`)."""
        return self.has_linear_path and settings.linear_path and settings.fir_start

    def check_request(self, request) -> None:
        """Refuse what a fitting.FitRequest asks that this kind is not (an ArgumentError naming the option)."""
        self.check_linear_taps(request)

    def check_linear_taps(self, request) -> None:
        """Refuse a linear path's length (--linear-taps) where no long linear path is fitted."""
        settings = request.settings
        if settings.linear_taps is None:
            return
        for option, value, wrong, problem in (
                ("linear_taps", settings.linear_taps, not self.has_linear_path,
                 f"{self.name} models have no linear path"),
                ("no_linear_path", None, not settings.linear_path, "leaves out the linear path {linear_taps} is the "
                 "length of"),
                ("no_fir_start", None, not settings.fir_start, "gives the window-long linear path trained from zero, "
                 "not the long one {linear_taps} is the length of"),
                ("resume", request.resume, request.resume is not None, "the model to resume keeps its linear path")):
            if wrong:
                spelled = problem.replace("{linear_taps}", "--linear-taps")
                raise ArgumentError(option, value, spelled, "drop one of the two" if option != "linear_taps" else
                                    "drop {linear_taps}, or train a sliding model")

    # --- the saved model ------------------------------------------------------------------------

    def network_of(self, layers: dict, record: dict):
        """The NumPy network from a saved file's layers (model_file reads them: name -> network.Dense or
        activation, and "linear_path" -> a linear_path.LinearPath in files that have a long one)."""
        hidden = [layers[name] for name in hidden_names(layers)]
        path = layers.get("linear_path")
        if isinstance(path, LinearPath):
            return DenseStack(hidden + [layers["output"]], long_path=path)
        return DenseStack(hidden + [layers["output"]], path)

    def turned(self, network, knob, model_path, rows: int):
        """The network at gen.py's --cutoff (`knob`: a value, or (start, end) over `rows` rows); refused
        by a model without a knob."""
        if knob is not None:
            raise ArgumentError("cutoff", None, f"{model_path} has no knob: it was trained on one pair, one filter",
                                "drop {cutoff}, or give a model trained with fit.py --pairs")
        return network

    def resume_checks(self, settings: TrainSettings, saved: dict) -> list:
        """(option, given, saved) for the kind's own settings a model to resume must have been trained with."""
        return []

    def keras_objects(self) -> dict:
        """Classes of the kind's own that Keras must know to load its model (model_file.load_for_resume)."""
        return {}

    def name_suffix(self, spec, knob=None) -> str:
        """What the model's name says after the arguments as typed (model_file.model_name)."""
        return ""

    def format_needed(self, settings: TrainSettings) -> int:
        """The model-file format this model's record says (model_file.FORMAT's history): 5, but a newer one for a
        model that a reader of 5 would not render right."""
        return 5

    def record_fields(self, knob=None) -> dict:
        """The kind's own fields of the run record (model_file.run_record)."""
        return {}


def hidden_names(layers: dict) -> list:
    """The hidden layers' names, hidden_0, hidden_1, ..., in order."""
    return sorted((name for name in layers if name.startswith("hidden_")), key=layer_order)


def layer_order(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


def bias_initializer(bias_start: float):
    """Hidden biases uniform on +-bias_start (0: Keras's zeros); one per layer: a reused one gives every
    layer the same draw."""
    import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

    return keras.initializers.RandomUniform(-bias_start, bias_start) if bias_start else "zeros"
