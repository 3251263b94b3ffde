"""The linear least-squares FIR filter: the best any linear filter over the window can do.

For a low-pass target this is nearly the whole answer, so it serves twice: as the reference row of
the quality benchmark, and as the starting point of a sliding model's linear path (the network then
only has to learn what a linear filter cannot). It is solved from the normal equations, whose matrix
is the input's autocorrelation (a Toeplitz matrix), in O(window^2) after one pass over the data.
"""

import numpy as np
from scipy import fft, linalg

from neural_filter.network import Dense, DenseStack


def least_squares_fir(x: np.ndarray, y: np.ndarray, window: int, before: int) -> tuple[np.ndarray, float]:
    """Taps h and bias c minimising sum_t (y[t] - c - sum_k h[k] x[t - before + k])^2.

    Tap k weighs the input `before - k` samples before the output (negative: after it); the taps
    are in the order of a window row, i.e. of a Conv1D kernel over the padded signal.
    """
    autocorrelation, cross, x_mean, y_mean = correlations(x, y, window, before)
    taps = linalg.solve_toeplitz(autocorrelation, cross)
    return taps.astype(np.float32), float(y_mean - taps.sum() * x_mean)


def correlations(x: np.ndarray, y: np.ndarray, window: int, before: int):
    """The normal equations' data: the centred input's autocorrelation (lags 0..window-1), its
    cross-correlation with the centred target for each tap, and both means.

    By FFT, in float64 (setup, not the hot path: it keeps the solve well conditioned): a window of
    a thousand taps over 30 s of audio costs a quarter of a second, where a dot product per lag
    cost seconds.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x_mean, y_mean = x.mean(), y.mean()
    n = len(x)
    size = fft.next_fast_len(n + window, real=True)
    spectrum = fft.rfft(x - x_mean, size)
    autocorrelation = fft.irfft(spectrum * spectrum.conj(), size)[:window]
    autocorrelation[0] *= 1 + 1e-9  # a touch of ridge keeps silence-padded or tonal inputs solvable
    # lag[s] = sum_t x[t + s] y[t], s from -before to window - 1 - before; negative lags wrap to the end
    lags = fft.irfft(spectrum * fft.rfft(y - y_mean, size).conj(), size)
    cross = lags[(np.arange(window) - before) % size]
    return autocorrelation, cross, x_mean, y_mean


def fir_network(taps: np.ndarray, bias: float) -> DenseStack:
    """The FIR as a network render.render can run in sliding mode (no hidden layers)."""
    return DenseStack([], Dense(taps.reshape(-1, 1).astype(np.float32), np.array([bias], np.float32)))


# a tail share below this is as good as none: the solve's own error (the autocorrelation method
# leaves out the pair's ends) is about this large on a 30 s pair, whatever the data's precision
SMALLEST_SHARE = 1e-6


def tail_share(taps: np.ndarray) -> float:
    """The share of the FIR's energy in its oldest eighth of taps (at least two): ~0 when the response fits."""
    taps = np.asarray(taps, np.float64)
    oldest = taps[: max(2, len(taps) // 8)]  # tap 0 weighs the oldest input sample of the window
    energy = float(np.dot(taps, taps))
    return float(np.dot(oldest, oldest)) / energy if energy > 0 else 0.0


def rounding_share(y: np.ndarray) -> float:
    """The share of `y`'s power that its own rounding carries: step^2 / 12 over the power, step read off the values."""
    y = np.asarray(y, np.float64)
    return share_of_step(smallest_step(y), float(np.mean((y - y.mean()) ** 2)) if len(y) else 0.0)


def smallest_step(y: np.ndarray) -> float:
    """The smallest difference between two of `y`'s values (0 when it holds fewer than two): its rounding's step."""
    steps = np.diff(np.unique(y))
    return float(steps.min()) if len(steps) else 0.0


def share_of_step(step: float, power: float) -> float:
    """step^2 / 12 (rounding noise's power) over `power`; 0 where there is no step or no power."""
    return step**2 / 12 / power if step > 0 and power > 0 else 0.0


def window_that_fits(x: np.ndarray, y: np.ndarray, window: int, before, taps=None) -> tuple[int, bool] | None:
    """None when the least-squares FIR of `window` taps dies out inside the window; else (window, found).

    `found`: the returned window's FIR does die out in it; when no window up to the longest tried
    does, the longest tried comes back with found False (the response is longer than that).

    On white-noise training data the least-squares FIR is the filter's impulse response cut to the
    window, so taps that still carry energy at the oldest end mean the response goes on beyond it.
    What counts as dying out is what the pair can resolve: the oldest eighth of the taps may carry
    no more of the FIR's energy than the target's own rounding noise carries of its energy
    (step^2 / 12 over its power; the step is read off the data: 1/128 for u8, 1/32768 for s16). So
    a window that reaches the u8 floor passes for a u8 pair and is too short for the same filter
    at 16 bits. The window is doubled until its FIR dies out (up to a sixteenth of the data, 8192
    at most); `before(window)` gives each window's taps before the output (FilterSpec.padding[0]).
    `taps`: the FIR of `window` taps, when the caller has solved it already.
    """
    limit = max(rounding_share(y), SMALLEST_SHARE)
    if taps is None:
        taps, _ = least_squares_fir(x, y, window, before(window))
    if tail_share(taps) <= limit:
        return None
    longest, candidate = min(8192, len(x) // 16), window
    while candidate * 2 <= longest:
        candidate *= 2
        taps, _ = least_squares_fir(x, y, candidate, before(candidate))
        if tail_share(taps) <= limit:
            return candidate, True
    return candidate, False
