"""Training a filter network, scoring it on held-out data, and saving a model that describes itself.

A saved model is `<name>.keras` (Keras's own format, plus `neural_filter.json` inside the zip with
the FilterSpec, so gen.py needs no arguments to use it) and `<name>.json` beside it with the same
record for people: every hyperparameter, the data, the metrics, the time taken, library versions.
"""

import contextlib
import dataclasses
import json
import platform
import signal
import sys
import threading
import time
import zipfile

import keras
import numpy as np

from neural_filter import dataset, metrics
from neural_filter.errors import TrainingDivergedError
from neural_filter.files import atomic_output
from neural_filter.fir import least_squares_fir
from neural_filter.model import build_model, make_optimiser
from neural_filter.network import SPEC_ENTRY, FilterSpec


@dataclasses.dataclass
class TrainSettings:
    """fit.py's hyperparameters, as the original named and defaulted them."""

    layers: int = 6  # hidden Dense layers after the first one
    units: int = 32  # units in every hidden layer
    batch_size: int = 999  # chunk mode: chunks per batch; sliding mode: segments per batch
    activation: str = "gelu"  # any Keras activation name, for every hidden layer
    optimiser: str = "adam"  # a key of model.OPTIMISERS
    epochs: int = 64
    seed: int = 1234  # data shuffle and weight initialisation: same arguments, same model
    learning_rate: float | None = None  # None keeps the optimiser's original rate
    linear_path: bool = False  # sliding mode: an FIR beside the stack
    segment: int = 1024  # sliding mode: output samples per training segment
    fir_start: bool = True  # sliding mode: start the linear path at the least-squares FIR
    patience: int = 0  # stop after this many epochs without a better validation loss; 0 = never


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    history: dict  # per completed epoch: loss, and val_loss with validation data
    best_epoch: int  # epoch whose weights were kept; 0 = the starting weights
    seconds: float
    interrupted: bool  # Ctrl-C stopped training; the model is the best one so far
    metrics: dict  # metrics.summary on validation data (training data when there is none)
    scored: dict  # full-scale 1-D "input", "target", "prediction" the metrics were computed on


def train(prepared: dataset.Prepared, spec: FilterSpec, settings: TrainSettings, model=None) -> TrainResult:
    """Fit `model` (a new one for `spec` by default); Ctrl-C ends training early but keeps the best weights.

    Refuses to return a model whose loss went NaN.
    """
    keras.utils.set_random_seed(settings.seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    if model is None:
        model = build_model(spec, settings.layers, settings.units, settings.activation, settings.linear_path)
        if settings.linear_path:
            if settings.fir_start:
                _start_from_fir(model, prepared, spec)
            else:  # --no-fir-start: the FIR starts at zero, not at Keras's random initial kernel
                path = model.get_layer("linear_path")
                path.set_weights([np.zeros_like(weight) for weight in path.get_weights()])
    model.compile(optimizer=make_optimiser(settings.optimiser, settings.epochs, spec.window, settings.learning_rate),
                  loss="mse")

    train_x, train_y = _model_arrays(prepared.train_x, prepared.train_y, spec, settings.segment)
    validation = None
    if len(prepared.validation_x):
        # sliding mode: the validation tail follows the training signal, whose last samples are its past
        validation = _model_arrays(prepared.validation_x, prepared.validation_y, spec, segment=None,
                                   context=prepared.train_x)
    keep_best = KeepBest(validation)
    callbacks = [keras.callbacks.TerminateOnNaN(), keep_best]
    if settings.patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_loss" if validation else "loss", patience=settings.patience))
    stop_on_ctrl_c = StopOnCtrlC()
    callbacks.append(stop_on_ctrl_c)
    started = time.perf_counter()
    with stop_on_ctrl_c.catching():
        model.fit(train_x, train_y, batch_size=settings.batch_size, epochs=settings.epochs,
                  validation_data=validation, shuffle=True, callbacks=callbacks,
                  verbose=1 if sys.stdout.isatty() else 2)  # a live bar on a terminal, a line per epoch in a log
    interrupted = stop_on_ctrl_c.interrupted
    seconds = time.perf_counter() - started
    history = keep_best.history
    losses = history.get("loss", [])
    if not all(np.isfinite(losses)) or not keep_best.finite:
        # the epoch TerminateOnNaN stopped is recorded too (its loss NaN), unless it stopped before its end
        epoch = next((index for index, loss in enumerate(losses) if not np.isfinite(loss)), len(losses)) + 1
        raise TrainingDivergedError(
            f"training diverged: the loss became NaN or infinite in epoch {epoch}; "
            "nothing was saved. Try a smaller --learning-rate, another optimiser or another activation"
        )

    scored_x, scored_y = validation or (train_x, train_y)
    prediction = np.asarray(model.predict(scored_x, batch_size=4096, verbose=0))
    scale, offset = spec.scale_offset
    scored = {name: ((np.asarray(array, np.float32) - offset) / scale).ravel()
              for name, array in (("input", _dry(scored_x, spec)), ("target", scored_y), ("prediction", prediction))}
    best_epoch = keep_best.best_epoch if validation else len(history.get("loss", []))
    return TrainResult(model, history, best_epoch, seconds, interrupted,
                       metrics.summary(scored["prediction"], scored["target"], scored["input"]), scored)


class StopOnCtrlC(keras.callbacks.Callback):
    """The first Ctrl-C stops training after the current batch, the normal way; a second one abandons the run.

    The first is not let loose as a KeyboardInterrupt: raised inside TensorFlow (while it makes an
    epoch's data iterator, say) it can leave TensorFlow's heap corrupt and the process aborting.
    Only the main thread can catch signals; elsewhere a Ctrl-C abandons the run at once.
    """

    def __init__(self):
        super().__init__()
        self.interrupted = False

    @contextlib.contextmanager
    def catching(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)

    def _interrupt(self, signum, frame):
        self.interrupted = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the next Ctrl-C raises KeyboardInterrupt
        print("\ninterrupted: keeping the best weights so far (Ctrl-C again to abandon)", file=sys.stderr)

    def on_train_batch_end(self, batch, logs=None):
        if self.interrupted:
            self.model.stop_training = True  # Keras stops after this batch, validates it, ends the fit

    def on_epoch_end(self, epoch, logs=None):
        if self.interrupted:  # Ctrl-C during validation: start no other epoch
            self.model.stop_training = True


class KeepBest(keras.callbacks.Callback):
    """Record each epoch, and keep the weights with the lowest validation loss, the starting ones included.

    A sliding model starts as the least-squares FIR, which can already beat anything the first
    epochs reach; training must never hand back a model worse than where it began. The history is
    kept here rather than in Keras's History so that it survives a Ctrl-C mid-fit.
    """

    def __init__(self, validation):
        super().__init__()
        self.validation = validation
        self.best_loss, self.best_weights, self.best_epoch = float("inf"), None, 0
        self.history: dict[str, list[float]] = {}
        self.finite = True

    def on_train_begin(self, logs=None):
        if self.validation is not None:
            self.best_loss = float(self.model.evaluate(*self.validation, verbose=0))
            self.best_weights = self.model.get_weights()

    def on_batch_end(self, batch, logs=None):
        if logs and not np.isfinite(logs.get("loss", 0.0)):
            self.finite = False  # TerminateOnNaN stops mid-epoch, before on_epoch_end records it

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        loss = (logs or {}).get("val_loss")
        if loss is not None and np.isfinite(loss) and loss < self.best_loss:
            self.best_loss, self.best_weights, self.best_epoch = float(loss), self.model.get_weights(), epoch + 1

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def _start_from_fir(model, prepared: dataset.Prepared, spec: FilterSpec) -> None:
    """Linear path = least-squares FIR of the training pair; the stack's output starts at zero."""
    taps, bias = least_squares_fir(prepared.train_x, prepared.train_y, spec.window, spec.padding[0])
    model.get_layer("linear_path").set_weights([taps.reshape(spec.window, 1, 1), np.array([bias], np.float32)])
    output = model.get_layer("output")
    output.set_weights([np.zeros_like(weight) for weight in output.get_weights()])


def _model_arrays(x, y, spec: FilterSpec, segment: int | None, context=None):
    """Chunk mode trains on the chunks as they are; sliding mode on segments padded with context.

    `context`, sliding mode: the signal that came just before `x`; its last samples, not silence,
    are the past of x's first outputs (the target was made with them).
    """
    if spec.mode == "chunk":
        return x, y
    silence = np.float32(spec.scale_offset[1])
    before, after = spec.padding
    past = np.asarray(context if context is not None else [], np.float32)
    past = past[len(past) - before :] if before <= len(past) else past  # its last `before` samples
    past = np.concatenate([np.full(before - len(past), silence, np.float32), past])  # silence before the start
    padded = np.concatenate([past, x, np.full(after, silence, np.float32)])
    if segment is None:  # the whole signal as one sequence
        return padded[None, :, None], y[None, :, None]
    count = len(y) // segment
    starts = np.arange(count) * segment
    # (segments, segment + window - 1, 1) inputs for (segments, segment, 1) targets
    inputs = np.lib.stride_tricks.sliding_window_view(padded, segment + spec.window - 1)[starts]
    return inputs[:, :, None].copy(), y[: count * segment].reshape(count, segment, 1)


def _dry(x, spec: FilterSpec):
    """The input aligned with the target: what doing nothing would output."""
    if spec.mode == "chunk":
        return x
    before, after = spec.padding
    return x[:, before : x.shape[1] - after]


def model_name(arguments: list[str], spec: FilterSpec, score: float) -> str:
    """The original's name from the arguments as typed, then `_a<score>`; sliding models say so."""
    name = "_".join(arguments)
    if spec.mode == "sliding":
        name += "_sliding" + ("_centre" if spec.align == "centre" else "")
    return f"{name}_a{score:.2f}"


def load_for_resume(path, spec: FilterSpec, settings: TrainSettings, typed: dict | None = None):
    """The Keras model to continue training, and its spec; refused unless the arguments describe it.

    `typed` holds the options with defaults of their own ("--align", "--levels"): None where the user
    did not type them, so the model's own values are taken.
    """
    from neural_filter.errors import ArgumentError, ModelFileError
    from neural_filter.network import read_spec

    saved = read_spec(path)
    saved_spec, saved_settings = FilterSpec(**saved["spec"]), saved["settings"]
    checks = [("samples", spec.window, saved_spec.window), ("--mode", spec.mode, saved_spec.mode),
              ("layers", settings.layers, saved_settings["layers"]),
              ("units", settings.units, saved_settings["units"]),
              ("activator", settings.activation, saved_settings["activation"])]
    checks += [(option, given, getattr(saved_spec, option.removeprefix("--")))
               for option, given in (typed or {}).items() if given is not None]
    for name, given, wanted in checks:
        if given != wanted:
            raise ArgumentError(f"{name} {given}: the model to resume, {path}, has {wanted}; "
                                "give the arguments it was trained with")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a damaged file
        raise ModelFileError(path, f"cannot be loaded by Keras ({type(error).__name__})", "retrain it") from None
    return model, saved_spec


def run_record(result: TrainResult, spec: FilterSpec, settings: TrainSettings, data: dict) -> dict:
    """Everything worth knowing about a run: stored in the .keras file and beside it as .json."""
    return {"spec": dataclasses.asdict(spec), "settings": dataclasses.asdict(settings), "data": data,
            "metrics": result.metrics, "history": result.history, "best_epoch": result.best_epoch,
            "epochs_run": len(result.history.get("loss", [])), "interrupted": result.interrupted,
            "training_seconds": result.seconds, "versions": versions()}


def results_row(path, record: dict) -> dict:
    """The run as one row of models/results.csv."""
    spec, settings, scores = record["spec"], record["settings"], record["metrics"]
    return {"model": path.stem, "mode": spec["mode"], "window": spec["window"], "align": spec["align"],
            "layers": settings["layers"], "units": settings["units"], "batch_size": settings["batch_size"],
            "activation": settings["activation"], "optimiser": settings["optimiser"], "epochs": settings["epochs"],
            "epochs_run": record["epochs_run"], "seed": settings["seed"], "val_mse": scores["mse"],
            "esr": scores["esr"], "esr_db": scores["esr_db"], "training_seconds": record["training_seconds"]}


def save_model(model: keras.Model, path, record: dict) -> None:
    """Write `path` (.keras with the record inside) and the record as `.json` beside it, atomically."""
    with atomic_output(path) as temporary:
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(SPEC_ENTRY, json.dumps(record, indent=2))
    with atomic_output(path.with_suffix(".json")) as temporary:
        temporary.write_text(json.dumps(record, indent=2) + "\n")


def versions() -> dict:
    import scipy

    return {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
            "numpy": np.__version__, "scipy": scipy.__version__}
