"""How good a filter is, in numbers that mean something.

The error-to-signal ratio (ESR) is sum((prediction - target)^2) / sum(target^2) over full-scale
(centred) samples: 0 is perfect, 1 is as bad as outputting silence. In decibels, -30 dB means the
error carries a thousandth of the target's energy. Doing nothing (the dry input as the prediction)
gives the baseline a model has to beat.
"""

import numpy as np

VERDICTS = ((0.01, "great"), (0.035, "good"), (0.1, "fair"))  # ESR below each bound earns the word


def esr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Error-to-signal ratio; float64 accumulation so long signals sum exactly enough."""
    target = np.asarray(target, dtype=np.float64).ravel()
    error = np.asarray(prediction, dtype=np.float64).ravel() - target
    energy = np.dot(target, target)
    return float(np.dot(error, error) / energy) if energy > 0 else float("inf")


def decibels(ratio: float) -> float:
    return float(10 * np.log10(ratio)) if ratio > 0 else float("-inf")


def verdict(ratio: float) -> str:
    for bound, word in VERDICTS:
        if ratio < bound:
            return word
    return "poor"


def score(ratio: float) -> float:
    """The model name's `_a` figure: 1 - ESR clipped to 0..1, higher is better (the original's shape)."""
    return float(np.clip(1.0 - ratio, 0.0, 1.0)) if np.isfinite(ratio) else 0.0


def summary(prediction, target, dry) -> dict:
    """Everything fit.py reports about one set of predictions."""
    model_esr, dry_esr = esr(prediction, target), esr(dry, target)
    difference = np.asarray(prediction, np.float64).ravel() - np.asarray(target, np.float64).ravel()
    return {
        "mse": float(np.mean(difference**2)),
        "esr": model_esr,
        "esr_db": decibels(model_esr),
        "verdict": verdict(model_esr),
        "dry_esr": dry_esr,
        "dry_esr_db": decibels(dry_esr),
        "improvement_db": decibels(dry_esr) - decibels(model_esr),
        "score": score(model_esr),
    }
