"""The recurrent kind's per-sample loop for the level-follower cell (follower_cell.py) for Numba to compile.

recurrent_loop.py's sibling: per sample, with the state s = log(w), w = 1 + e / FLOOR,
    v = 1 + |x - centre| * weight,  c = attack if v > w else release,  s' = log(v + c (w - v))
                                                                   = s + log1p((1 - c)(v - w) / w)
for each follower, then the read-out of the state and the input times a gain read off the state and the input
(kinds/recurrent.py's GainReadout, activation_loop.gained). `weight` is 1 / FLOOR with the network's scale folded
in, `centre` the full-scale sample the followers rectify about (0 at signed levels and at unit levels alike).

Like activation_loop, only compiling imports this module; `activations.CompiledLoop` keeps its
machine code on disk and loads it without Numba (kinds/recurrent.py's FollowerCell calls it).
"""

import llvmlite.binding as llvm
import numba
import numpy as np

from neural_filter.activation_loop import FLOAT32_POINTER, compiled_alone, exp, gained, read_out

FUNCTION_NAME = "neural_filter_follower"
ONE = np.float32(1)


def _run(samples, count, outputs, state, weights, units, layers, kind, gain_units, scratch):
    """outputs[n] for samples[0..count), the state (units) carried in `state` and left there for the next call.

    `weights` is FollowerCell.packed's layout: weight, centre, the attack coefficients (units), the release
    coefficients (units); then the read-out's kernel (units) and bias, its weight of x * gain and the gain read-out
    (GainReadout.packed). `layers` is 1 (fit.py refuses more); `scratch` holds gain_units floats: the gain's hidden
    values.
    """
    weight, centre = weights[0], weights[1]
    at = 2 + 2 * units  # the read-out's kernel
    for n in range(count):
        x = samples[n]
        rectified = ONE + abs(x - centre) * weight
        for k in range(units):
            level = exp(state[k])
            coefficient = weights[2 + k] if rectified > level else weights[2 + units + k]
            state[k] += np.log1p((ONE - coefficient) * (rectified - level) / level)  # follower_cell.py says why
        total = read_out(state, 0, weights, at, units)
        if gain_units:
            total += weights[at + units + 1] * gained(x, state, 0, weights, at + units + 2, units, gain_units, kind,
                                                      scratch, 0)
        outputs[n] = total


SIGNATURE = numba.types.void(FLOAT32_POINTER, numba.types.intp, FLOAT32_POINTER, FLOAT32_POINTER, FLOAT32_POINTER,
                             numba.types.intp, numba.types.intp, numba.types.intp, numba.types.intp, FLOAT32_POINTER)


def machine_code(target_machine: llvm.TargetMachine) -> bytes:
    """`_run` compiled for `target_machine`: an object file's bytes, its one function named FUNCTION_NAME."""
    return compiled_alone(_run, SIGNATURE, FUNCTION_NAME, target_machine)
