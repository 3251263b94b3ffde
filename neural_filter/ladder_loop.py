"""The recurrent kind's per-sample loop for the ladder cell (ladder_cell.py) for Numba to compile.

recurrent_loop.py's sibling: per sample and ladder, with its state a, b, c, d, e from the sample before,
    dx = g tanh(drive x + bias),  a' = dx - feedback (g2 tanh(drive2 e) - compensation dx),
    b' = b1 a + a1 b + b0 a',  c' = b1 b + a1 c + b0 b',  ... up to e'
(primes: this sample's values; `feedback` is 4 resonance), then the linear read-out of every ladder's state.

Like activation_loop, only compiling imports this module; `activations.CompiledLoop` keeps its
machine code on disk and loads it without Numba (kinds/recurrent.py's LadderCell calls it).
"""

import llvmlite.binding as llvm
import numba

from neural_filter.activation_loop import FLOAT32_POINTER, compiled_alone, flushed, read_out, tanh_of

FUNCTION_NAME = "neural_filter_ladder"
# LadderCell.packed's arrays, one value per ladder each, in this order
A1, B0, B1, GAIN, DRIVE, BIAS, FEEDBACK, FEEDBACK_GAIN, FEEDBACK_DRIVE, COMPENSATION = range(10)


def _run(samples, count, outputs, state, weights, units, layers, kind, gain_units, scratch):
    """outputs[n] for samples[0..count), the state (5 units, stage by stage: every ladder's a, then every ladder's
    b, ... e) carried in `state` and left there for the next call.

    `weights` is LadderCell.packed's layout: ten arrays of `units` values (A1 .. COMPENSATION above), then the
    read-out's kernel (5 units) and bias. `layers` is 1 (fit.py refuses more); `kind`, `gain_units` and `scratch`
    are unused (the loops' common arguments).
    """
    width = 5 * units
    at = 10 * units  # the read-out's kernel
    for n in range(count):
        x = samples[n]
        for k in range(units):
            dx = weights[GAIN * units + k] * tanh_of(weights[DRIVE * units + k] * x + weights[BIAS * units + k])
            last = state[4 * units + k]
            fed = weights[FEEDBACK_GAIN * units + k] * tanh_of(weights[FEEDBACK_DRIVE * units + k] * last)
            a = dx - weights[FEEDBACK * units + k] * (fed - weights[COMPENSATION * units + k] * dx)
            a1, b0, b1 = weights[A1 * units + k], weights[B0 * units + k], weights[B1 * units + k]
            b = b1 * state[k] + a1 * state[units + k] + b0 * a
            c = b1 * state[units + k] + a1 * state[2 * units + k] + b0 * b
            d = b1 * state[2 * units + k] + a1 * state[3 * units + k] + b0 * c
            e = b1 * state[3 * units + k] + a1 * state[4 * units + k] + b0 * d
            state[k], state[units + k], state[2 * units + k] = flushed(a), flushed(b), flushed(c)
            state[3 * units + k], state[4 * units + k] = flushed(d), flushed(e)
        outputs[n] = read_out(state, 0, weights, at, width)


SIGNATURE = numba.types.void(FLOAT32_POINTER, numba.types.intp, FLOAT32_POINTER, FLOAT32_POINTER, FLOAT32_POINTER,
                             numba.types.intp, numba.types.intp, numba.types.intp, numba.types.intp, FLOAT32_POINTER)


def machine_code(target_machine: llvm.TargetMachine) -> bytes:
    """`_run` compiled for `target_machine`: an object file's bytes, its one function named FUNCTION_NAME."""
    return compiled_alone(_run, SIGNATURE, FUNCTION_NAME, target_machine)
