"""Training a filter network and scoring it on held-out data.

`train` fits a Keras model (a new one for the spec, or one to resume) to the prepared pair,
keeping the weights with the lowest validation loss, the starting ones included, and handing
back the history, the best epoch and the metrics on the validation data. A caller may add Keras
callbacks (a sweep reports each epoch through one). Saving the model is model_file's.
"""

import contextlib
import dataclasses
import sys
import time

import keras
import numpy as np

from neural_filter import console, dataset, kinds, metrics
from neural_filter.errors import TrainingDivergedError
from neural_filter.interrupt import CtrlC
from neural_filter.knob_segments import KnobSegments
from neural_filter.model import make_optimiser
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec

KEEP_BEST = "keeping the best weights so far (Ctrl-C again to abandon)"  # fit.py's first Ctrl-C


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    history: dict  # per completed epoch: loss, and val_loss with validation data
    best_epoch: int  # epoch whose weights were kept; 0 = the starting weights
    seconds: float
    interrupted: bool  # Ctrl-C stopped training; the model is the best one so far
    metrics: dict  # metrics.summary on validation data (training data when there is none)
    scored: dict  # full-scale 1-D "input", "target", "prediction" the metrics were computed on
    start_metrics: dict | None = None  # metrics.summary of the starting weights on the same data
    skipped: bool = False  # the start was already at the pair's floor: no epoch was run (see AT_FLOOR_MARGIN_DB)
    linear_path: object = None  # the fixed long linear path beside the model (linear_path.LinearPath), if any


# A new model whose start scores within this of the pair's floor (metrics.floor_db) is not trained:
# a linear filter's least-squares FIR is already as good as the pair can tell, and epochs only
# spend minutes to hand the start back ("best epoch 0", issue 23). A nonlinear pair's start is
# several dB above its floor and trains its full course.
AT_FLOOR_MARGIN_DB = 0.5


def train(prepared: dataset.Prepared, spec: FilterSpec, settings: TrainSettings, model=None,
          callbacks=(), ctrl_c: CtrlC | None = None, progress: bool = True, long_path=None) -> TrainResult:
    """Fit `model` (a new one of `spec`'s kind, at its start, by default); Ctrl-C ends training early but
    keeps the best weights.

    A kind with a long linear path (a new model's, fitted here, or a resumed one's, `long_path`)
    keeps it fixed: its output is computed once and taken from the targets, so the model trains on
    what it leaves, whatever its length. `callbacks` are Keras callbacks of the caller's, run after
    ours; `ctrl_c`, the caller's Ctrl-C handler, already installed (a sweep's), where it has one.
    Refuses to return a model whose loss went NaN.
    """
    _seed(settings.seed)
    kind = spec.kind
    new = model is None
    if new:
        model = kind.build(spec, settings)
        if long_path is None:  # the caller's, when it has fitted it already (fitting.fit)
            long_path = kind.linear_path(prepared, spec, settings)
    parts = _Parts(prepared, long_path)
    if new:  # from the pair as the model sees it: what the long path leaves
        kind.start(model, parts.left(), spec, settings)
    # a stack that reads the long path's output (a second input: sliding, format 4) is given it beside the audio
    linear = parts.linear if long_path is not None and len(model.inputs) > 1 else None
    train_x, train_y = kind.model_arrays(prepared.train_x, parts.residual("train"), spec, settings.segment,
                                         **_given(linear, "train"))
    validation = None
    if len(prepared.validation_x):
        # sliding mode: the validation tail follows the training signal, whose last samples are its past
        validation = kind.model_arrays(prepared.validation_x, parts.residual("validation"), spec, segment=None,
                                       past=prepared.train_x, **_given(linear, "validation"))
    # what is fitted: the model and these arrays, or the kind's (the recurrent kind's --carry-state)
    fitted, training, validating, carrying = kind.carried(model, prepared, (train_x, train_y), validation, spec,
                                                          settings) or (model, (train_x, train_y), validation, [])
    _compile(fitted, spec, settings, len(train_y))

    def scoring() -> tuple:  # the model and arrays a score reads: as fitted, from the states read now where carried
        if fitted is model:
            return model, validation or (train_x, train_y)
        return fitted, training[0].scored(validating)
    judged = "validation" if validation else "train"
    # the floor is read off the pair as read (the network's levels and back are not exact in float32)
    floor = metrics.floor_db(prepared.validation_y if len(prepared.validation_x) else prepared.train_y)
    start = _scored(*scoring(), spec, parts.linear(judged), parts.target(judged))
    if not np.all(np.isfinite(start["prediction"])):  # a start that blew up is no model, least of all "at the floor"
        raise TrainingDivergedError(0, resumed=not new)
    start_metrics = metrics.summary(start["prediction"], start["target"], start["input"], floor)
    if new and start_metrics["esr_db"] - floor <= AT_FLOOR_MARGIN_DB:
        return TrainResult(model, {}, 0, 0.0, False, start_metrics, start, start_metrics, skipped=True,
                           linear_path=long_path)
    callbacks = [*carrying, *kind.training_callbacks(settings, len(train_y), train_y.shape[1]), *callbacks]
    keep_best, stop_on_ctrl_c, seconds = _fit(fitted, training, validating, settings, callbacks, ctrl_c, progress)

    scored = _scored(*scoring(), spec, parts.linear(judged), parts.target(judged))
    return TrainResult(model, keep_best.history, keep_best.best_epoch, seconds, stop_on_ctrl_c.interrupted,
                       metrics.summary(scored["prediction"], scored["target"], scored["input"], floor), scored,
                       start_metrics, linear_path=long_path)


def _given(linear, part: str) -> dict:
    """model_arrays' `linear` for a stack that reads the long path's output (`linear`: _Parts.linear), else nothing."""
    return {"linear": linear(part)} if linear else {}


class _Parts:
    """The pair's training and validation parts beside a fixed long linear path: its outputs on each (computed
    once, with the validation part's real past) and the residual the model trains on."""

    def __init__(self, prepared: dataset.Prepared, long_path):
        self.prepared, self.long_path = prepared, long_path
        self.outputs = {}
        if long_path is not None:
            self.outputs["train"] = long_path.filter(prepared.train_x)
            self.outputs["validation"] = long_path.filter(prepared.validation_x, past=prepared.train_x)

    def target(self, part: str) -> np.ndarray:
        return getattr(self.prepared, f"{part}_y")

    def residual(self, part: str) -> np.ndarray:
        return self.target(part) - self.outputs[part] if self.long_path is not None else self.target(part)

    def linear(self, part: str):
        return self.outputs.get(part)

    def left(self) -> dataset.Prepared:
        """The pair with what the long path leaves as its targets (the pair itself where there is none)."""
        if self.long_path is None:
            return self.prepared
        return dataclasses.replace(self.prepared, train_y=self.residual("train"),
                                   validation_y=self.residual("validation"))


def _compile(model, spec: FilterSpec, settings: TrainSettings, examples: int) -> None:
    # the kind says whether the rate follows a cosine to zero over the run's steps (sliding mode)
    cosine = spec.kind.decays(settings)
    steps = settings.epochs * -(-examples // settings.batch_size) if cosine else None
    model.compile(optimizer=make_optimiser(settings.optimiser, settings.epochs, spec.window, settings.learning_rate,
                                           steps, spec.kind.gradient_clip(settings)), loss="mse")


def train_knob(pairs: list, knob, spec: FilterSpec, settings: TrainSettings, callbacks=(), bank=None,
               ctrl_c: CtrlC | None = None, progress: bool = True) -> TrainResult:
    """One model for every value of `knob` (knob.Knob): `pairs[k]` (dataset.Prepared) is the pair at knot k.

    Each knot's linear path is its pair's long least-squares FIR (`bank`, a linear_bank.LinearBank,
    when the caller has fitted it), fixed: the best any linear filter can do there, which gradient
    steps only wander from (issue #11). Its output over each pair is computed once; the stack, whose
    biases follow the knob and which also reads that output, trains on what it leaves, with the
    segments of every pair shuffled together. The model handed back is the stack, the bank its
    `linear_path`. Sliding mode at signed levels only (fit.py refuses the rest).
    """
    _seed(settings.seed)
    stack = kinds.KNOB.build(spec, settings, len(knob.knots))
    bank = bank or kinds.KNOB.fit_bank(pairs, spec, settings)
    features = knob.features(knob.knots)  # (knots, knots): each pair's knob input
    outputs = [_Parts(pair, bank.path(knot)) for knot, pair in enumerate(pairs)]  # each pair's FIR output, once
    # one segment length for every pair (the batches mix them), no longer than the shortest part
    segments = [min([settings.segment] + [len(getattr(pair, part)) for pair in pairs])
                for part in ("train_y", "validation_y")]
    before, after = spec.padding
    training = KnobSegments([(pair.train_x, pair.train_y, None, output.linear("train"), feature)
                             for pair, output, feature in zip(pairs, outputs, features)],
                            segments[0], before, after, settings.batch_size, seed=settings.seed)
    validation = None
    if segments[1]:
        validation = KnobSegments([(pair.validation_x, pair.validation_y, pair.train_x, output.linear("validation"),
                                    feature) for pair, output, feature in zip(pairs, outputs, features)],
                                  segments[1], before, after, settings.batch_size)
    _compile(stack, spec, settings, training.count)
    keep_best, stop_on_ctrl_c, seconds = _fit(stack, (training,), validation, settings, callbacks, ctrl_c, progress)

    scored, start, by_knob = _scored_knob(stack, spec, outputs, features, knob, progress)
    floor = metrics.floor_db(np.concatenate([pair.validation_y if len(pair.validation_x) else pair.train_y
                                             for pair in pairs]))
    summary = metrics.summary(scored["prediction"], scored["target"], scored["input"], floor)
    return TrainResult(stack, keep_best.history, keep_best.best_epoch, seconds, stop_on_ctrl_c.interrupted,
                       {**summary, "by_knob": by_knob}, scored,
                       metrics.summary(start["prediction"], start["target"], start["input"], floor), linear_path=bank)


def _scored_knob(stack, spec: FilterSpec, outputs: list, features, knob, progress: bool = True):
    """Every pair's held-out part (its training part when none is held out) through the whole model, joined;
    the same through the FIRs alone (the start); and each knot's ESR. `outputs`: per pair, its _Parts."""
    parts, starts, by_knob = [], [], []
    with console.progress_bar(len(outputs), progress, "pairs scored") as bar:
        for output, feature, knot in zip(outputs, features, knob.knots):
            pair = output.prepared
            held_out = len(pair.validation_x) > 0
            part = "validation" if held_out else "train"
            x, y, linear = getattr(pair, f"{part}_x"), output.target(part), output.linear(part)
            inputs, _ = kinds.KNOB.model_arrays(x, y, spec, segment=None, past=pair.train_x if held_out else None,
                                                linear=linear)
            prediction = np.asarray(stack.predict([inputs[0], feature[None], inputs[1]], verbose=0)).ravel() + linear
            parts.append((x, y, prediction))
            starts.append((x, y, linear))
            by_knob.append({"cutoff": knot, "esr_db": metrics.decibels(metrics.esr(prediction, y)),
                            "start_esr_db": metrics.decibels(metrics.esr(linear, y))})
            bar.update(1)

    def joined(triples):
        return {name: np.concatenate(arrays) for name, arrays in zip(("input", "target", "prediction"), zip(*triples))}

    return joined(parts), joined(starts), by_knob


def _seed(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415 - this backend's only: JAX and PyTorch runs never import it

        tf.config.experimental.enable_op_determinism()


def _fit(model, arrays, validation, settings: TrainSettings, callbacks,
         ctrl_c: CtrlC | None = None, progress: bool = True) -> tuple["KeepBest", "StopOnCtrlC", float]:
    """model.fit with our callbacks (the best weights kept, NaN refused, Ctrl-C stopping cleanly) before the caller's.

    Ctrl-C: the caller's handler where it has one (installed already), else fit.py's, installed around training.
    """
    handler = ctrl_c or CtrlC(KEEP_BEST)
    as_arguments = (validation,) if isinstance(validation, keras.utils.PyDataset) else validation  # evaluate(*...)
    keep_best, stop_on_ctrl_c = KeepBest(as_arguments, training=arrays), StopOnCtrlC(handler)
    ours = [keras.callbacks.TerminateOnNaN(), keep_best, stop_on_ctrl_c]
    if progress and not sys.stdout.isatty():  # a log: Keras writes one line an epoch, at its end
        ours.append(EpochProgress())
    if settings.patience:
        ours.append(keras.callbacks.EarlyStopping("val_loss" if validation else "loss", patience=settings.patience))
    started = time.perf_counter()
    with contextlib.nullcontext() if ctrl_c is not None else handler:
        batches = {} if isinstance(arrays[0], keras.utils.PyDataset) else {"batch_size": settings.batch_size,
                                                                            "shuffle": True}  # a dataset batches itself
        # a live bar on a terminal, a line an epoch in a log
        model.fit(*arrays, epochs=settings.epochs, validation_data=validation, callbacks=[*ours, *callbacks],
                  verbose=1 if sys.stdout.isatty() else 2, **batches)
    seconds = time.perf_counter() - started
    _refuse_divergence(keep_best)
    return keep_best, stop_on_ctrl_c, seconds


def _refuse_divergence(keep_best: "KeepBest") -> None:
    losses = keep_best.history.get("loss", [])
    if not all(np.isfinite(losses)) or not keep_best.finite:
        # the epoch TerminateOnNaN stopped is recorded too (its loss NaN), unless it stopped before its end
        raise TrainingDivergedError(next((index for index, loss in enumerate(losses) if not np.isfinite(loss)),
                                         len(losses)) + 1)


def _scored(model, arrays, spec: FilterSpec, linear=None, target=None) -> dict:
    """Full-scale 1-D input, target and prediction of the model on `arrays` (network inputs, targets).

    `linear`: the long linear path's output beside the model on these targets, and `target` the
    pair's (the arrays' targets are then the residual): added to the prediction.
    """
    inputs, targets = arrays
    prediction = np.asarray(model.predict(inputs, batch_size=4096, verbose=0))
    named = (("input", spec.kind.dry(inputs, spec)), ("target", targets), ("prediction", prediction))
    scored = {name: spec.from_network(array).ravel() for name, array in named}
    if linear is not None:
        count = len(scored["prediction"])  # training arrays: whole segments, the pair's tail left out
        scored["prediction"] = scored["prediction"] + linear[:count]
        scored["target"] = np.asarray(target[:count], np.float32)
    return scored


class EpochProgress(keras.callbacks.Callback):
    """In a log (Keras's verbose=2 writes an epoch's line at its end): a line within a long epoch at least
    every console.PROGRESS_LINE_SECONDS, saying which batch it has reached."""

    def on_epoch_begin(self, epoch, logs=None):
        what = f"epoch {epoch + 1}/{self.params.get('epochs')}: batches"
        self.lines = console.ProgressLines(self.params.get("steps") or 0, what)

    def on_train_batch_end(self, batch, logs=None):
        self.lines.update(1)


class StopOnCtrlC(keras.callbacks.Callback):
    """Training stops after the current batch once `handler` (interrupt.CtrlC) has seen a Ctrl-C, the normal way.

    (The handler notes the first Ctrl-C rather than raising it; a second one abandons the run.)
    """

    def __init__(self, handler: CtrlC):
        super().__init__()
        self.handler = handler

    @property
    def interrupted(self) -> bool:
        return self.handler.requested

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
    kept here rather than in Keras's History so that it survives a Ctrl-C mid-fit. With nothing held
    out (`--val 0`), the training arrays judge instead, once at the start and once at the end: the
    last epoch's weights are kept unless the starting ones were better.
    """

    def __init__(self, validation, training=None):
        super().__init__()
        self.validation, self.training = validation, training
        self.best_loss, self.best_weights, self.best_epoch = float("inf"), None, 0
        self.history: dict[str, list[float]] = {}
        self.finite = True

    def on_train_begin(self, logs=None):
        judge = self.validation if self.validation is not None else self.training
        if judge is not None:
            self.best_loss = float(self.model.evaluate(*judge, verbose=0))
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
        epochs = len(self.history.get("loss", []))
        if self.validation is None and self.training is not None and epochs:
            loss = float(self.model.evaluate(*self.training, verbose=0))
            if np.isfinite(loss) and loss <= self.best_loss:
                self.best_loss, self.best_weights, self.best_epoch = loss, None, epochs  # the last epoch's: keep them
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
