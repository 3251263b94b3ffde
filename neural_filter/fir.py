"""The linear least-squares FIR filter: the best any linear filter over the window can do.

For a low-pass target this is nearly the whole answer, so it serves twice: as the reference row of
the quality benchmark, and as the starting point of a sliding model's linear path (the network then
only has to learn what a linear filter cannot). It is solved from the normal equations, whose matrix
is the input's autocorrelation (a Toeplitz matrix), in O(window^2) after one pass over the data,
or, for the long linear path's thousands of taps, by conjugate gradients whose products are FFTs.
"""

import numpy as np
from scipy import fft, linalg, signal

from neural_filter.network import Dense, DenseStack


def least_squares_fir(x: np.ndarray, y: np.ndarray, window: int, before: int) -> tuple[np.ndarray, float]:
    """Taps h and bias c minimising sum_t (y[t] - c - sum_k h[k] x[t - before + k])^2.

    Tap k weighs the input `before - k` samples before the output (negative: after it); the taps
    are in the order of a window row, i.e. of a Conv1D kernel over the padded signal.
    """
    autocorrelation, cross, x_mean, y_mean = correlations(x, y, window, before)
    taps = solve_toeplitz(autocorrelation, cross)
    return taps.astype(np.float32), float(y_mean - taps.sum() * x_mean)


LEVINSON_LARGEST = 8192  # taps solved exactly (Levinson, O(n^2): 0.13 s at 8192, 3.4 s at 32768); longer by CG


def solve_toeplitz(autocorrelation: np.ndarray, cross: np.ndarray, edges=None) -> np.ndarray:
    """The symmetric Toeplitz system's solution: Levinson up to LEVINSON_LARGEST taps, else preconditioned CG.

    CG's products with the matrix are FFTs of twice its size (O(n log n)), and T. Chan's circulant
    preconditioner (the circulant nearest the matrix) gathers the eigenvalues of an input's
    autocorrelation around 1, so a coloured input (pink noise) converges in tens of steps: 65536
    taps in about a second, where Levinson would take a minute. `edges`: a function v -> E v, where
    the system is the Toeplitz matrix less E (exact_least_squares_fir); CG then, at any size.
    """
    size = len(autocorrelation)
    if size <= LEVINSON_LARGEST and edges is None:
        return linalg.solve_toeplitz(autocorrelation, cross)
    embedded = fft.rfft(np.concatenate([autocorrelation, [0.0], autocorrelation[:0:-1]]))  # the circulant of 2n

    def product(vector):
        toeplitz = fft.irfft(embedded * fft.rfft(vector, 2 * size), 2 * size)[:size]
        return toeplitz - edges(vector) if edges else toeplitz

    lags = np.arange(size)
    chan = ((size - lags) * autocorrelation + lags * np.concatenate([[0.0], autocorrelation[:0:-1]])) / size
    eigenvalues = fft.rfft(chan)
    smallest = 1e-12 * np.abs(eigenvalues).max()
    eigenvalues = np.where(np.abs(eigenvalues) > smallest, eigenvalues, smallest)

    def preconditioned(vector):
        return fft.irfft(fft.rfft(vector) / eigenvalues, size)

    solution = np.zeros(size)
    residual = np.asarray(cross, np.float64).copy()
    direction = preconditioned(residual)
    rho = float(residual @ direction)
    goal = 1e-24 * float(cross @ cross)  # a relative residual of 1e-12: as exact as Levinson's float64
    for _ in range(CG_STEPS):
        if float(residual @ residual) <= goal:
            break
        moved = product(direction)
        step = rho / float(direction @ moved)
        solution += step * direction
        residual -= step * moved
        preconditioned_residual = preconditioned(residual)
        rho, previous = float(residual @ preconditioned_residual), rho
        direction = preconditioned_residual + rho / previous * direction
    return solution


CG_STEPS = 500  # far more than a pair's autocorrelation needs; a bound, not a setting


def exact_least_squares_fir(x: np.ndarray, y: np.ndarray, length: int, before: int) -> tuple[np.ndarray, float]:
    """least_squares_fir's taps and bias, but the exact least squares over the pair's outputs alone.

    The autocorrelation method (least_squares_fir) also counts the rows of outputs past the
    pair's ends, whose windows hang over into silence: for a window that is a fraction of the
    pair that costs little, but for a long linear path (thousands of taps, a pink input whose
    matrix is ill-conditioned) it left an 80 Hz high-pass 6 dB above the 16-bit floor the true
    response reaches. Those rows are E = G^T G, G the windows over the last `before` and the first
    `after` samples: the system is the Toeplitz matrix less E, solved by CG, E's products by FFT.
    """
    autocorrelation, cross, x_mean, y_mean = correlations(x, y, length, before)
    centred = np.asarray(x, np.float64) - x_mean
    after = length - 1 - before
    tail, head = centred[len(centred) - before :] if before else centred[:0], centred[:after]

    def edges(vector):
        result = np.zeros(length)
        if len(tail):  # rows past the end: their windows' oldest taps still read the tail
            rows = signal.fftconvolve(tail, vector[::-1])[length - 1 : length - 1 + len(tail)]
            back = signal.fftconvolve(tail, rows[::-1])[len(tail) - 1 : len(tail) - 1 + length]
            result[: len(back)] += back  # (taps older than the tail reaches: none)
        if len(head):  # rows before the start: their windows' newest taps already read the head
            rows = signal.fftconvolve(vector[before + 1 :], head[::-1])[len(head) - 1 : len(head) - 1 + after]
            result[before + 1 :] += signal.fftconvolve(rows, head)[:after]
        return result

    taps = solve_toeplitz(autocorrelation, cross, edges)
    return taps.astype(np.float32), float(y_mean - taps.sum() * x_mean)


def least_squares_bank(inputs: np.ndarray, y: np.ndarray, window, before) -> tuple[list, float]:
    """Taps h_c and bias b minimising sum_t (y[t] - b - sum_c,k h_c[k] inputs[c, t - before_c + k])^2: one FIR
    per channel, their outputs summed (least_squares_fir's, for several inputs at once). `window` and `before`:
    one for every channel, or one each; the taps come back one array a channel.

    The normal equations are block Toeplitz: block (c, d) is the cross-correlation of channels c and
    d, one FFT product each, so the data is read once per channel (and a channel pair per product),
    never as a design matrix of a column per tap. The system, a row per tap, is solved densely (a
    thousand unknowns: milliseconds).
    """
    inputs = np.asarray(inputs, np.float64)
    channels, samples = inputs.shape
    windows, befores = (np.broadcast_to(np.asarray(value), channels) for value in (window, before))
    offsets = [np.arange(length) - ahead for length, ahead in zip(windows, befores)]  # tap k reads t + offset[k]
    starts = np.concatenate([[0], np.cumsum(windows)])
    means, y_mean = inputs.mean(axis=1), float(np.mean(y))
    size = fft.next_fast_len(samples + int(windows.max()) + int(np.abs(befores).max()), real=True)
    spectra = fft.rfft(inputs - means[:, None], size, axis=1)
    target = fft.rfft(np.asarray(y, np.float64) - y_mean, size)
    normal = np.empty((starts[-1], starts[-1]))
    cross = np.empty(starts[-1])
    for first in range(channels):
        rows = slice(starts[first], starts[first + 1])
        # lag[s] = sum_u inputs[first, u] y[u + s]: a tap reading t + offset sees y at lag -offset
        cross[rows] = fft.irfft(spectra[first].conj() * target, size)[-offsets[first] % size]
        for second in range(first, channels):
            lags = fft.irfft(spectra[first].conj() * spectra[second], size)
            block = lags[(offsets[second][None, :] - offsets[first][:, None]) % size]  # lag l's offset - k's
            normal[rows, starts[second] : starts[second + 1]] = block
            normal[starts[second] : starts[second + 1], rows] = block.T
    normal[np.diag_indices_from(normal)] *= 1 + 1e-9  # the ridge least_squares_fir's autocorrelation has
    solved = linalg.solve(normal, cross, assume_a="pos")
    taps = [solved[starts[channel] : starts[channel + 1]] for channel in range(channels)]
    return [fir_taps.astype(np.float32) for fir_taps in taps], float(y_mean - sum(
        fir_taps.sum() * mean for fir_taps, mean in zip(taps, means)))


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


# a share of a target's power below this is as good as none: the solve's own error is about this
# large on a 30 s pair, whatever the data's precision (linear_path.stack_window's floor)
SMALLEST_SHARE = 1e-6


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
