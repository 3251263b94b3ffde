"""How good a filter is, in numbers that mean something.

The error-to-signal ratio (ESR) is sum((prediction - target)^2) / sum(target^2) over full-scale
(centred) samples: 0 is perfect, 1 is as bad as outputting silence. In decibels, -30 dB means the
error carries a thousandth of the target's energy. Doing nothing (the dry input as the prediction)
gives the baseline a model has to beat. Every score is printed this one way: ESR in dB, with its
sign, lower is better; the verdict says how far it lies above the pair's floor.

The frequency response says where the error lies: the gain the network applies at each frequency,
measured from its input and output, beside the gain of the Audacity low-pass it imitates.
"""

import numpy as np
from scipy import signal

from neural_filter import synth
from neural_filter.fir import rounding_share

# The verdict is measured against what the pair can show: its floor, the share of the target's power
# that the target's own rounding carries (fir.rounding_share: about -31..-38 dB for a u8 pair,
# -80 dB at 16 bits). No model can be told apart from the target below it.
AT_FLOOR_DB, NEAR_FLOOR_DB = 1.0, 3.0  # within these of the floor: "at the floor", "near the floor"


def esr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Error-to-signal ratio; float64 accumulation so long signals sum exactly enough."""
    target = np.asarray(target, dtype=np.float64).ravel()
    error = np.asarray(prediction, dtype=np.float64).ravel() - target
    energy = np.dot(target, target)
    return float(np.dot(error, error) / energy) if energy > 0 else float("inf")


def decibels(ratio: float) -> float:
    """10 log10(ratio); 0 is -inf dB, and a NaN ratio stays NaN (a broken model is never "at the floor")."""
    if np.isnan(ratio):
        return float("nan")
    return float(10 * np.log10(ratio)) if ratio > 0 else float("-inf")


def floor_db(target) -> float:
    """The target's floor in dB: the share of its power its own rounding carries (-inf for a silent or constant one)."""
    return decibels(rounding_share(target))


def verdict(esr_db: float, floor: float) -> str:
    """The score in words, against the floor (both in dB): "at the floor", "near the floor", or how far above it."""
    if np.isnan(esr_db):
        return "no score (the outputs hold NaN)"
    if floor == float("-inf"):  # a silent or constant target
        return "no floor to measure against"
    above = esr_db - floor
    if above <= AT_FLOOR_DB:
        return "at the floor"
    if above <= NEAR_FLOOR_DB:
        return "near the floor"
    return f"{above:.1f} dB above the floor"


def signed_db(value: float) -> str:
    """A figure in dB as every score is printed: with its sign, one decimal ("-32.3 dB", "+13.1 dB")."""
    return f"{round(value, 1) + 0.0:+.1f} dB"


NAME_RANGE = (-99.9, 99.9)  # the name's figure: the ESR in dB, clipped to what one decimal and two digits hold


def score(ratio: float) -> float:
    """The model name's `_a` figure: the ESR in dB as the console prints it (one decimal), lower is better.

    The original's `_a` was a Keras accuracy (meaningless here); 1 - ESR, as before, gave every
    good sliding model `_a1.00`. Decibels rank them: 0.5 dB apart means different names.
    """
    if ratio == 0:  # perfect
        return NAME_RANGE[0]
    if not ratio > 0:  # NaN
        return NAME_RANGE[1]
    return round(float(np.clip(decibels(ratio), *NAME_RANGE)), 1) + 0.0  # + 0.0: never "-0.0" in a name


def summary(prediction, target, dry, floor: float | None = None) -> dict:
    """Everything fit.py reports about one set of predictions; `floor` in dB (default: read off `target`)."""
    model_esr, dry_esr = esr(prediction, target), esr(dry, target)
    floor = floor_db(target) if floor is None else floor
    difference = np.asarray(prediction, np.float64).ravel() - np.asarray(target, np.float64).ravel()
    return {
        "mse": float(np.mean(difference**2)),
        "esr": model_esr,
        "esr_db": decibels(model_esr),
        "floor_db": floor,
        "verdict": verdict(decibels(model_esr), floor),
        "dry_esr": dry_esr,
        "dry_esr_db": decibels(dry_esr),
        "improvement_db": decibels(dry_esr) - decibels(model_esr),
        "score": score(model_esr),
    }


# What a filter does to each frequency: the learned response, measured from what went in and what
# came out, beside the response of the Audacity filter it was trained to imitate.

RESPONSE_SEGMENT = 4096  # samples per Welch segment: ~11 Hz bins at 44.1 kHz, smooth yet fine enough
RESPONSE_MULTIPLES = (0.25, 0.5, 1.0, 2.0, 4.0)  # response_table's frequencies, in cutoffs


def _response_db(gain: np.ndarray) -> np.ndarray:
    """|gain| in dB; a gain of exactly zero is -inf rather than a warning."""
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.abs(gain))


def _check_frequencies(frequencies, rate: int) -> np.ndarray:
    frequencies = np.atleast_1d(np.asarray(frequencies, dtype=np.float64))
    if np.any(frequencies < 0) or np.any(frequencies > rate / 2):
        raise ValueError(f"frequencies must lie from 0 to {rate / 2:g} Hz (half of {rate} Hz), got {frequencies}")
    return frequencies


def magnitude_response(input, output, rate: int, frequencies) -> np.ndarray:
    """The gain in dB from `input` to `output` at each frequency: |Pxy / Pxx| (the H1 estimate).

    Measured on the signals rather than read from weights, so it works for any network, linear or
    not; with a broadband input such as white noise it is the filter the network has learned. The
    cross spectrum keeps only what in the output is correlated with the input, so the network's
    noise does not lift the estimate. Welch segments of RESPONSE_SEGMENT samples, linearly
    interpolated between bins.
    """
    input = np.asarray(input, dtype=np.float64).ravel()
    output = np.asarray(output, dtype=np.float64).ravel()
    if input.size != output.size:
        raise ValueError(f"input has {input.size} samples but output has {output.size}")
    frequencies = _check_frequencies(frequencies, rate)
    segment = min(RESPONSE_SEGMENT, input.size)
    bins, cross = signal.csd(input, output, fs=rate, nperseg=segment)
    _, power = signal.welch(input, fs=rate, nperseg=segment)
    with np.errstate(divide="ignore", invalid="ignore"):  # a silent input has no response: NaN
        gain = np.abs(cross) / power
    return _response_db(np.interp(frequencies, bins, gain))


def target_response(cutoff: float, rolloff: int, rate: int, frequencies) -> np.ndarray:
    """The gain in dB of Audacity's low-pass (synth.lowpass_coefficients) at each frequency."""
    frequencies = _check_frequencies(frequencies, rate)
    gain = np.ones(frequencies.size, dtype=complex)
    for numerator, denominator in synth.lowpass_coefficients(cutoff, rolloff, rate):
        gain *= signal.freqz(numerator, denominator, worN=frequencies, fs=rate)[1]
    return _response_db(gain)


def response_table(input, output, cutoff: float, rolloff: int, rate: int) -> list[dict]:
    """Learned against target gain at a quarter, half, one, two and four times the cutoff.

    One row per frequency, {"hz", "learned_db", "target_db"}; multiples at or above half the
    sample rate have no meaning there and are left out.
    """
    frequencies = [cutoff * multiple for multiple in RESPONSE_MULTIPLES if cutoff * multiple < rate / 2]
    learned = magnitude_response(input, output, rate, frequencies)
    target = target_response(cutoff, rolloff, rate, frequencies)
    return [{"hz": float(hz), "learned_db": float(got), "target_db": float(wanted)}
            for hz, got, wanted in zip(frequencies, learned, target)]
