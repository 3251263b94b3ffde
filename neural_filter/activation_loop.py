"""Keras's common activations as one loop for Numba to compile: the source of the compiled engine.

Rendering spends its time here, not in the matrix products: in NumPy, exp alone costs more than a
32 x 32 matrix product, and tanh or gelu take 6 to 17 passes over the array. So the common ones
are one loop compiled by Numba, which LLVM vectorises: exp and tanh are written out from
polynomials below because LLVM has no vector exp of its own. They match Keras 3's definitions,
checked against Keras in the tests.

Only compiling imports this module (Numba takes a second to import and two to compile): the first
render after installing, or after editing this file. `activations` keeps the machine code on disk
and loads it without Numba.
"""

import llvmlite.binding as llvm
import numba
import numpy as np

from neural_filter.numpy_activations import COMPILED, ERF_P, ERF_POLYNOMIAL, FUNCTION_NAME, SMALLEST_NORMAL

F = np.float32
ONE, HALF = F(1), F(0.5)

# error_model="numpy": a division by zero gives inf rather than a Python exception, which would
# stop vectorisation; "contract" lets LLVM fuse multiply-adds and nothing else, so the vector loop
# and its scalar remainder compute bit for bit the same thing.
COMPILE = dict(error_model="numpy", fastmath={"contract"})
inline = numba.njit(inline="always", **COMPILE)


# exp in float32 (Cephes's expf): x = k ln 2 + r with |r| <= ln 2 / 2, exp(r) by polynomial, and
# 2^k written straight into the exponent bits; within 1 ulp of exp for x in [-87.3, 88].
LOG2E, LN2_HIGH, LN2_LOW = F(1.44269504088896341), F(0.693359375), F(-2.12194440e-4)
EXP_POLYNOMIAL = tuple(F(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                      4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
EXP_LOW, EXP_HIGH = F(-87.3), F(88.0)  # outside: 0 or inf (2^k would leave float32's exponent range)


@inline
def exp(x):
    clamped = EXP_LOW if x < EXP_LOW else (EXP_HIGH if x > EXP_HIGH else x)
    clamped = clamped if clamped == clamped else F(0)  # NaN: keep k finite, its int conversion defined
    k = np.floor(clamped * LOG2E + HALF)
    r = clamped - k * LN2_HIGH - k * LN2_LOW
    c0, c1, c2, c3, c4, c5 = EXP_POLYNOMIAL
    p = ((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5
    p = p * r * r + r + ONE
    power = np.int32((np.int32(k) + np.int32(127)) << np.int32(23)).view(np.float32)  # 2^k
    result = p * power
    if x > EXP_HIGH:
        result = F(np.inf)
    if x < EXP_LOW:
        result = F(0)
    if x != x:
        result = x
    return result


# tanh in float32 as Eigen computes it (generic_fast_tanh_float): an odd rational function on
# [-7.9, 7.9], within 5 ulp (3e-7) of tanh and 1 ulp near 0; from 9 on, where tanh rounds to 1
# in float32, exactly +-1.
TANH_LIMIT, TANH_SATURATED = F(7.90531110763549805), F(9)
TANH_NUMERATOR = tuple(F(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                                      5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                                      4.89352455891786e-03))
TANH_DENOMINATOR = tuple(F(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                                        4.89352518554385e-03))


@inline
def tanh_of(x):
    clamped = TANH_LIMIT if x > TANH_LIMIT else (-TANH_LIMIT if x < -TANH_LIMIT else x)  # NaN passes through
    x2 = clamped * clamped
    n0, n1, n2, n3, n4, n5, n6 = TANH_NUMERATOR
    numerator = clamped * ((((((n0 * x2 + n1) * x2 + n2) * x2 + n3) * x2 + n4) * x2 + n5) * x2 + n6)
    d0, d1, d2, d3 = TANH_DENOMINATOR
    ratio = numerator / (((d0 * x2 + d1) * x2 + d2) * x2 + d3)
    return ONE if x >= TANH_SATURATED else (-ONE if x <= -TANH_SATURATED else ratio)


@inline
def sigmoid_of(x):
    return ONE / (ONE + exp(-x))  # exp(-x) = inf gives exactly 0


# gelu: Keras's default is the exact one, x Phi(x), Phi the normal distribution function; erfc by
# Abramowitz & Stegun 7.1.26, with numpy_activations' constants (ERF_P, ERF_POLYNOMIAL).


@inline
def gelu_of(x):
    z = abs(x) * F(2**-0.5)  # |x| / sqrt(2)
    t = ONE / (ONE + ERF_P * z)
    c0, c1, c2, c3, c4 = ERF_POLYNOMIAL
    erfc = ((((c0 * t + c1) * t + c2) * t + c3) * t + c4) * t * exp(-z * z)  # = 2 Phi(-|x|)
    below = HALF * erfc  # Phi(-|x|)
    return x * (below if x < 0 else ONE - below)


# One loop serves them all: LLVM takes the choice of function out of the loop and vectorises each
# version. It takes raw pointers, not arrays, so that its machine code stands alone: no Numba
# runtime, no Python objects (see machine_code).
TANH, SIGMOID, SILU, GELU, RELU = (COMPILED.index(name) for name in ("tanh", "sigmoid", "silu", "gelu", "relu"))


@inline
def activation_of(kind, x):
    if kind == TANH:
        return tanh_of(x)
    if kind == SIGMOID:
        return sigmoid_of(x)
    if kind == SILU:
        return x * sigmoid_of(x)
    if kind == GELU:
        return gelu_of(x)
    return F(0) if x < 0 else x  # relu; NaN passes through


@inline
def flushed(x):
    """x, or zero where it is subnormal (numpy_activations.SMALLEST_NORMAL says why); NaN stays NaN."""
    return F(0) if abs(x) < SMALLEST_NORMAL else x


@inline
def read_out(state, first, weights, at, units):
    """A recurrent model's linear read-out of its last cell's state (recurrent_loop, state_space_loop): the bias
    weights[at + units] plus state[first + k] * weights[at + k], k in order."""
    total = weights[at + units]
    for k in range(units):
        total += state[first + k] * weights[at + k]
    return total


@inline
def gained(x, state, last, weights, at, units, gain_units, kind, scratch, free):
    """A recurrent model's gain read-out (kinds/recurrent.py's GainReadout; recurrent_loop, state_space_loop): x at
    the network's levels (x * scale + offset) times exp(min(c + h . w, limit)), h = activation([state; x] K + b),
    from weights[at]: scale, offset, c, limit, K (units + 1, gain_units), b and w (gain_units each); scratch[free..]
    holds h."""
    scale, offset, exponent, limit = weights[at], weights[at + 1], weights[at + 2], weights[at + 3]
    kernel_at = at + 4
    bias_at = kernel_at + (units + 1) * gain_units
    for j in range(gain_units):
        scratch[free + j] = weights[bias_at + j]
    for i in range(units + 1):
        value = state[last + i] if i < units else x
        row = kernel_at + i * gain_units
        for j in range(gain_units):
            scratch[free + j] += value * weights[row + j]
    for j in range(gain_units):
        scratch[free + j] = activation_of(kind, scratch[free + j])
    for j in range(gain_units):
        exponent += scratch[free + j] * weights[bias_at + gain_units + j]
    if exponent > limit:
        exponent = limit
    return (x * scale + offset) * exp(exponent)

def _activate(units, bias, unit_count, row_count, kind):
    """units[u, i] = activation(units[u, i] + bias[u]) in place, `units` in C order (unit_count, row_count)."""
    for unit in range(unit_count):
        unit_bias = bias[unit]
        for i in range(unit * row_count, (unit + 1) * row_count):
            units[i] = activation_of(kind, units[i] + unit_bias)


FLOAT32_POINTER = numba.types.CPointer(numba.types.float32)
SIGNATURE = numba.types.void(FLOAT32_POINTER, FLOAT32_POINTER, numba.types.intp, numba.types.intp, numba.types.intp)


def machine_code(target_machine: llvm.TargetMachine) -> bytes:
    """`_activate` compiled for `target_machine`: an object file's bytes, its one function named FUNCTION_NAME."""
    return compiled_alone(_activate, SIGNATURE, FUNCTION_NAME, target_machine)


def compiled_alone(function, signature, name: str, target_machine: llvm.TargetMachine) -> bytes:
    """`function` compiled for `target_machine` as an object file's bytes, its one function called `name`.

    Without Numba's wrappers (one for Python callers, one for C) the module holds our function
    alone, which needs nothing at run time that llvmlite cannot give it; it keeps Numba's calling
    convention (see activations.LOOP_PROTOTYPE).
    """
    compiled = numba.njit(signature, no_cpython_wrapper=True, no_cfunc_wrapper=True, **COMPILE)(function)
    module = llvm.parse_assembly(compiled.inspect_llvm(signature.args))
    (only,) = (function for function in module.functions if not function.is_declaration)
    only.name = name
    return target_machine.emit_object(module)
