"""One trial of a sweep: a fit run that reports every epoch to Optuna, and that Optuna may stop.

`run_trial` is fitting.fit with one more Keras callback, `ReportEpochs`. After each epoch it
reports the validation ESR in dB the trial has reached so far (the best epoch's: what the trial
would keep if it stopped now) and raises optuna.TrialPruned when the pruner says the trial cannot
catch up, which abandons the run before anything is saved. The trial's value is the saved
model's own validation ESR in dB, as fit.py reports it.

Keras reports each epoch's validation loss, the mean squared error at the network's levels; the
ESR is that error at full scale over the validation target's mean energy at full scale, so
`EsrDecibels` converts one into the other with the spec's levels map and the validation target.

Ctrl-C: fit.py's first Ctrl-C keeps the best model so far; in a sweep it abandons the trial
instead (`CtrlC`, the one Ctrl-C handler with the trial's words, which training uses in place of
fit.py's), at the end of the current batch, so the trial is marked failed with nothing written. A
Ctrl-C while the finished model is being saved lets the save finish. A second Ctrl-C raises
KeyboardInterrupt at once.
"""

import math

import keras
import numpy as np
import optuna

from neural_filter import dataset, fitting, interrupt

ABANDON = "abandoning this trial (Ctrl-C again to quit at once)"  # a sweep's first Ctrl-C


class CtrlC(interrupt.CtrlC):
    """The Ctrl-C handler of a trial: while entered (main thread only), the first Ctrl-C abandons it."""

    def __init__(self):
        super().__init__(ABANDON)


class EsrDecibels:
    """A validation loss (MSE at the network's levels) -> the validation ESR in dB at full scale."""

    def __init__(self, spec, validation_target: np.ndarray):
        scale, _ = spec.scale_offset  # network value = full-scale sample * scale + offset
        target = np.asarray(validation_target, np.float64).ravel()
        self.energy = float(np.dot(target, target) / len(target)) * scale**2  # the target's mean energy, network levels

    def __call__(self, val_loss: float) -> float:
        ratio = float(val_loss) / self.energy
        return 10 * math.log10(ratio) if ratio > 0 else -math.inf


class ReportEpochs(keras.callbacks.Callback):
    """Report each epoch's best-so-far validation ESR in dB to `trial`; prune when the pruner says so."""

    def __init__(self, trial, to_decibels: EsrDecibels, ctrl_c: CtrlC):
        super().__init__()
        self.trial, self.to_decibels, self.ctrl_c = trial, to_decibels, ctrl_c
        self.best = math.inf

    def on_train_batch_end(self, batch, logs=None):
        if self.ctrl_c.requested:  # raised here, in Python between batches, never inside the framework
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs=None):
        if self.ctrl_c.requested:
            raise KeyboardInterrupt
        loss = (logs or {}).get("val_loss")
        if loss is None or not math.isfinite(loss):
            return  # a NaN loss: training refuses the run itself
        self.best = min(self.best, self.to_decibels(loss))
        self.trial.report(max(self.best, -1000.0), step=epoch + 1)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"epoch {epoch + 1}: {self.best:.2f} dB")


def run_trial(trial, request: fitting.FitRequest, ctrl_c: CtrlC) -> tuple[float, str]:
    """Train `request` for `trial`: (validation ESR in dB, model name); raises TrialPruned or KeyboardInterrupt."""
    prepared = dataset.prepare(request.train_x, request.train_y, request.spec(), request.data)  # cached for fit
    if not len(prepared.validation_y):
        raise ValueError("a sweep needs validation data")  # the sweep refuses --val 0 before any trial
    outcome = fitting.fit(request, callbacks=[ReportEpochs(trial, EsrDecibels(request.spec(), prepared.validation_y),
                                                           ctrl_c)], ctrl_c=ctrl_c)
    value = outcome.record["metrics"]["esr_db"]  # -inf for a perfect model: a database wants a number
    return float(np.clip(value, -1000.0, 1000.0)), outcome.path.stem
