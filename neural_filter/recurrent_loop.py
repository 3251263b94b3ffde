"""The recurrent kind's per-sample loop (a stack of GRU cells and a linear read-out) for Numba to compile.

A recurrent network's state at one sample is the input of the next, so no matrix product spans
samples: each sample is a few matrix-vector products and the gates. Written as one loop over the
samples, compiled, it costs a few hundred nanoseconds a sample for 16 to 32 units, where NumPy's
calls cost microseconds each. Each matrix-vector product runs down the rows of the weights
(weights stored input by input, gates side by side, float32 and contiguous): every output is its
own running sum, so LLVM vectorises across the outputs without reordering any sum, and the
vector loop and its scalar remainder compute the same bits.

The cell is Keras 3's GRU with reset_after (its default), gates in Keras's order z, r, h:
    z = sigmoid(x Wz + bz + h Uz + cz),  r = sigmoid(x Wr + br + h Ur + cr)
    candidate = activation(x Wh + bh + r (h Uh + ch)),  h' = z h + (1 - z) candidate
with the activations of activation_loop (its exp, tanh and sigmoid, within a few ulp of Keras's).

Like activation_loop, only compiling imports this module; `activations.CompiledLoop` keeps its
machine code on disk and loads it without Numba (kinds/recurrent.py's RecurrentStack calls it).
"""

import llvmlite.binding as llvm
import numba
import numpy as np

from neural_filter.activation_loop import (FLOAT32_POINTER, activation_of, compiled_alone, flushed, gained, read_out,
                                           sigmoid_of)

F = np.float32
ONE = F(1)
FUNCTION_NAME = "neural_filter_recurrent"


def _run(samples, count, outputs, state, weights, units, layers, kind, gain_units, scratch):
    """outputs[n] for samples[0..count), the state (layers, units) carried in `state` and left there for the next call.

    `weights` is RecurrentStack.packed's layout: per layer its input kernel (inputs, 3 units), its
    recurrent kernel (units, 3 units), its input bias and recurrent bias (3 units each); then the
    read-out's kernel (units) and bias; then, where `gain_units` is not 0, the read-out's weight of x * gain
    and the gain read-out (kinds/recurrent.py's GainReadout.packed, read by activation_loop.gained).
    `scratch` holds 6 units + gain_units floats: the two products and the gain's hidden values.
    """
    gates = 3 * units
    from_input = scratch
    for n in range(count):
        x = samples[n]
        at = 0  # the layer's first weight
        for layer in range(layers):
            inputs = 1 if layer == 0 else units
            recurrent_at = at + inputs * gates
            bias_at = recurrent_at + units * gates
            below = (layer - 1) * units  # the layer below's state, already at this sample: this layer's input
            mine = layer * units
            for j in range(gates):
                from_input[j] = weights[bias_at + j]
                scratch[gates + j] = weights[bias_at + gates + j]
            for i in range(inputs):
                value = x if layer == 0 else state[below + i]
                row = at + i * gates
                for j in range(gates):
                    from_input[j] += value * weights[row + j]
            for i in range(units):
                value = state[mine + i]
                row = recurrent_at + i * gates
                for j in range(gates):
                    scratch[gates + j] += value * weights[row + j]
            # one simple loop each (the gates, the candidate, the new state), so that each vectorises
            for k in range(2 * units):  # z and r, over the state's products
                scratch[gates + k] = sigmoid_of(from_input[k] + scratch[gates + k])
            for k in range(units):  # the candidate, over the input's product
                from_input[2 * units + k] = activation_of(kind, from_input[2 * units + k]
                                                          + scratch[gates + units + k] * scratch[gates + 2 * units + k])
            for k in range(units):
                update = scratch[gates + k]
                state[mine + k] = flushed(update * state[mine + k] + (ONE - update) * from_input[2 * units + k])
            at = bias_at + 2 * gates
        last = (layers - 1) * units
        total = read_out(state, last, weights, at, units)
        if gain_units:  # after the read-out's kernel and bias: its weight of x * gain, then the gain's own
            total += weights[at + units + 1] * gained(x, state, last, weights, at + units + 2, units, gain_units,
                                                      kind, scratch, 6 * units)
        outputs[n] = total


SIGNATURE = numba.types.void(FLOAT32_POINTER, numba.types.intp, FLOAT32_POINTER, FLOAT32_POINTER, FLOAT32_POINTER,
                             numba.types.intp, numba.types.intp, numba.types.intp, numba.types.intp, FLOAT32_POINTER)


def machine_code(target_machine: llvm.TargetMachine) -> bytes:
    """`_run` compiled for `target_machine`: an object file's bytes, its one function named FUNCTION_NAME."""
    return compiled_alone(_run, SIGNATURE, FUNCTION_NAME, target_machine)
