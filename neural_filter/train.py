"""Training a filter network, scoring it on held-out data, and saving a model that describes itself.

A saved model is `<name>.keras` (Keras's own format, plus `neural_filter.json` inside the zip with
the FilterSpec, so gen.py needs no arguments to use it) and `<name>.json` beside it with the same
record for people: every hyperparameter, the data, the metrics, the time taken, library versions.
"""

import dataclasses
import json
import platform
import sys
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


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    history: dict
    best_epoch: int  # epoch whose weights were kept; 0 = the starting weights
    seconds: float
    metrics: dict  # metrics.summary on validation data (training data when there is none)


def train(prepared: dataset.Prepared, spec: FilterSpec, settings: TrainSettings, callbacks=()) -> TrainResult:
    """Build and fit the model for `spec`; refuse to return a model whose loss went NaN."""
    keras.utils.set_random_seed(settings.seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    model = build_model(spec, settings.layers, settings.units, settings.activation, settings.linear_path)
    if settings.linear_path and settings.fir_start:
        _start_from_fir(model, prepared, spec)
    model.compile(optimizer=make_optimiser(settings.optimiser, settings.epochs, spec.window, settings.learning_rate),
                  loss="mse")

    train_x, train_y = _model_arrays(prepared.train_x, prepared.train_y, spec, settings.segment)
    validation = None
    if len(prepared.validation_x):
        validation = _model_arrays(prepared.validation_x, prepared.validation_y, spec, segment=None)
    started = time.perf_counter()
    keep_best = KeepBest(validation)
    history = model.fit(
        train_x, train_y, batch_size=settings.batch_size, epochs=settings.epochs, validation_data=validation,
        shuffle=True, callbacks=[keras.callbacks.TerminateOnNaN(), keep_best, *callbacks],
        verbose=1 if sys.stdout.isatty() else 2,  # a live bar on a terminal, a line per epoch in a log
    ).history
    seconds = time.perf_counter() - started
    if not all(np.isfinite(history.get("loss", [0.0]))):
        epoch = len(history["loss"])
        raise TrainingDivergedError(
            f"training diverged: the loss became NaN or infinite in epoch {epoch}; nothing was saved. "
            "Try a smaller learning rate (--learning-rate), another optimiser or activation"
        )
    scored_x, scored_y = validation or (train_x, train_y)
    prediction = np.asarray(model.predict(scored_x, batch_size=4096, verbose=0))
    scale, offset = spec.scale_offset
    full = [(np.asarray(array) - offset) / scale for array in (prediction, scored_y, _dry(scored_x, spec))]
    history = {key: [float(value) for value in values] for key, values in history.items()}
    return TrainResult(model, history, keep_best.best_epoch if validation else len(history["loss"]), seconds,
                       metrics.summary(*full))


class KeepBest(keras.callbacks.Callback):
    """Keep the weights with the lowest validation loss, the starting weights included.

    A sliding model starts as the least-squares FIR, which can already beat anything the first
    epochs reach; training must never hand back a model worse than where it began.
    """

    def __init__(self, validation):
        super().__init__()
        self.validation = validation
        self.best_loss, self.best_weights, self.best_epoch = float("inf"), None, 0

    def on_train_begin(self, logs=None):
        if self.validation is not None:
            self.best_loss = float(self.model.evaluate(*self.validation, verbose=0))
            self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
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


def _model_arrays(x, y, spec: FilterSpec, segment: int | None):
    """Chunk mode trains on the chunks as they are; sliding mode on segments padded with context."""
    if spec.mode == "chunk":
        return x, y
    silence = np.float32(spec.scale_offset[1])
    before, after = spec.padding
    padded = np.concatenate([np.full(before, silence, np.float32), x, np.full(after, silence, np.float32)])
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
