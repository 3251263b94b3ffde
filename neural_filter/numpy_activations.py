"""Keras's activation functions in plain NumPy: the engine for short songs, where the compiled
engine's start-up costs more than it saves.

Each takes a layer's fresh product (float32, one row per unit, one column per input row; it may
overwrite it) and the layer's bias, and returns the activated sum, as `activations` does. These
need NumPy alone, so a short render loads neither llvmlite nor the compiled loop (45 ms and 55 MB
of every start). They match Keras 3's definitions within float32 rounding, as the compiled ones
do, but not bit for bit the compiled ones: render.py chooses one engine per song, by the model and
the song's length alone, so fit.py and gen.py, which render through the same function, always give
the same bytes.
"""

import numpy as np

F = np.float32
ONE, HALF = F(1), F(0.5)

# Abramowitz & Stegun 7.1.26: erfc(z) = poly(t) exp(-z^2) with t = 1 / (1 + p z), for z >= 0;
# absolute error under 1.5e-7, below float32's resolution of erf near 1. (The compiled gelu,
# activation_loop.py, takes these too.)
ERF_P = F(0.3275911)
ERF_POLYNOMIAL = tuple(F(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def gelu(x):
    """x * Phi(x), Phi the normal distribution function (Keras's default, exact gelu)."""
    z = np.abs(x)
    z *= F(2**-0.5)  # |x| / sqrt(2)
    t = z * ERF_P
    t += ONE
    np.reciprocal(t, out=t)
    poly = t * ERF_POLYNOMIAL[0]
    for coefficient in ERF_POLYNOMIAL[1:]:
        poly += coefficient
        poly *= t
    np.square(z, out=z)
    np.minimum(z, F(80), out=z)  # exp(-80) is still a normal float32: no slow denormals
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # erfc(|x| / sqrt 2) = 2 Phi(-|x|)
    # Phi(x) = 1/2 + sign(x) (1/2 - Phi(-|x|)): copysign is cheaper than a masked subtract
    np.subtract(ONE, poly, out=poly)
    np.copysign(poly, x, out=poly)
    poly += ONE
    poly *= HALF
    poly *= x
    return poly


def tanh(x):
    """NumPy's own, in place: its float32 tanh is vectorised (3x faster here than 1 - 2 / (1 + exp(2x)),
    which this was until NumPy's got faster)."""
    return np.tanh(x, out=x)


def sigmoid(x):
    """1 / (1 + exp(-x)); exp(-x) = inf gives exactly 0."""
    np.negative(x, out=x)
    with np.errstate(over="ignore"):
        np.exp(x, out=x)
    x += ONE
    return np.reciprocal(x, out=x)


def relu(x):
    return np.maximum(x, F(0), out=x)  # NaN passes through, as Keras's does


def silu(x):
    return x * sigmoid(x.copy())


def softplus(x):
    return np.logaddexp(F(0), x, out=x)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, as Keras 3 defines it."""
    x /= F(6)
    x += HALF
    return np.clip(x, 0, 1, out=x)


# pre-activation -> activation, each free to overwrite its argument
NUMPY_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu6": lambda x: np.clip(x, 0, 6, out=x),
    "leaky_relu": lambda x: np.where(x >= 0, x, F(0.2) * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: F(1.0507009873554805) * np.where(x > 0, x, F(1.6732632423543772) * np.expm1(np.minimum(x, 0))),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(np.expm1(np.minimum(x, 0)), 0),
    "softplus": softplus,
    "softsign": lambda x: x / (ONE + np.abs(x)),
    "mish": lambda x: x * np.tanh(softplus(x.copy())),
    "exponential": lambda x: np.exp(x, out=x),
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": lambda x: x * hard_sigmoid(x.copy()),
    "hard_swish": lambda x: x * hard_sigmoid(x.copy()),
    "hard_tanh": lambda x: np.clip(x, -1, 1, out=x),
    "log_sigmoid": lambda x: -softplus(-x),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "squareplus": lambda x: (x + np.sqrt(x * x + F(4))) / F(2),
}
# A recurrent state below float32's smallest normal is flushed to zero, in both engines (activation_loop.flushed). A
# state that decays to nothing (a relu GRU's unit whose candidate stays at 0 through a quiet passage) passes
# through subnormal values, whose arithmetic costs x86 about a hundred times a normal one's: measured 2026-12-05
# (bench/speed.py's song), a relu GRU of 16 units rendered at 23x real time against the tanh one's 93x. Keras's
# CPU backends flush them too (TensorFlow's and XLA's flush-to-zero).
SMALLEST_NORMAL = F(np.finfo(np.float32).tiny)


def flushed(x):
    """x with its subnormal values set to zero (NaN stays NaN)."""
    return np.where(np.abs(x) < SMALLEST_NORMAL, F(0), x).astype(F, copy=False)


# the five that activations.py compiles (its loop's kinds, in its order), here in NumPy
COMPILED_IN_NUMPY = {"tanh": tanh, "sigmoid": sigmoid, "silu": silu, "gelu": gelu, "relu": relu}
ALIASES = {"swish": "silu"}  # Keras's other names for them
COMPILED = tuple(COMPILED_IN_NUMPY)  # the compiled loop's kinds, in its order
# the compiled loop's symbol: activation_loop.py names it so, activations.py loads it (without Numba)
FUNCTION_NAME = "neural_filter_activate"


def with_bias(function):
    """A NumPy activation of the pre-activation, as one taking a layer's product and its bias."""

    def activation(units: np.ndarray, bias: np.ndarray) -> np.ndarray:
        units += bias[:, None]
        return function(units)

    return activation


ACTIVATIONS = {name: with_bias(function) for name, function in {**NUMPY_ACTIVATIONS, **COMPILED_IN_NUMPY}.items()}
ACTIVATIONS.update({alias: ACTIVATIONS[name] for alias, name in ALIASES.items()})
