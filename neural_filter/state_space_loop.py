"""The recurrent kind's per-sample loop for state-space cells (state_space_cell.py) for Numba to compile.

recurrent_loop.py's sibling, for the other cell: per sample and layer, with z = [inputs; state],
    h = activation(z K + b),  s' = z L + shift + h M
and the read-out of the last layer's state (and, with a gain read-out, of the input times a gain read off that
state and the input: kinds/recurrent.py's GainReadout). `shift` is no weight of the Keras cell: it is where the
network's levels fold in (an input offset through L; zero at signed levels). Each product runs down
the rows of its weights (stored input by input, outputs side by side, float32, contiguous), each
output its own running sum in a fixed order, so that LLVM vectorises across the outputs and the
vector loop and its scalar remainder compute the same bits (recurrent_loop.py's reasoning).

Like activation_loop, only compiling imports this module; `activations.CompiledLoop` keeps its
machine code on disk and loads it without Numba (kinds/recurrent.py's StateSpaceCell calls it).
"""

import llvmlite.binding as llvm
import numba

from neural_filter.activation_loop import FLOAT32_POINTER, activation_of, compiled_alone, flushed, gained, read_out

FUNCTION_NAME = "neural_filter_state_space"


def _run(samples, count, outputs, state, weights, units, hidden, layers, kind, gain_units, scratch):
    """outputs[n] for samples[0..count), the state (layers, units) carried in `state` and left there for the next call.

    `weights` is StateSpaceCell.packed's layout: per layer K (inputs + units, hidden), b (hidden),
    L (inputs + units, units), shift (units), M (hidden, units); then the read-out's kernel (units) and
    bias; then, where `gain_units` is not 0, the read-out's weight of x * gain and the gain read-out
    (kinds/recurrent.py's GainReadout.packed, read by activation_loop.gained). `scratch` holds hidden +
    units + gain_units floats: the hidden values, the new state and the gain's hidden values.
    """
    for n in range(count):
        x = samples[n]
        at = 0  # the layer's first weight
        for layer in range(layers):
            inputs = 1 if layer == 0 else units
            width = inputs + units
            bias_at = at + width * hidden
            linear_at = bias_at + hidden
            shift_at = linear_at + width * units
            mix_at = shift_at + units
            below = (layer - 1) * units  # the layer below's state, already at this sample: this layer's input
            mine = layer * units
            for j in range(hidden):
                scratch[j] = weights[bias_at + j]
            for k in range(units):
                scratch[hidden + k] = weights[shift_at + k]
            for i in range(width):
                if i < inputs:
                    value = x if layer == 0 else state[below + i]
                else:
                    value = state[mine + i - inputs]
                row = at + i * hidden
                for j in range(hidden):
                    scratch[j] += value * weights[row + j]
                row = linear_at + i * units
                for k in range(units):
                    scratch[hidden + k] += value * weights[row + k]
            for j in range(hidden):
                scratch[j] = activation_of(kind, scratch[j])
            for j in range(hidden):
                row = mix_at + j * units
                value = scratch[j]
                for k in range(units):
                    scratch[hidden + k] += value * weights[row + k]
            for k in range(units):
                state[mine + k] = flushed(scratch[hidden + k])
            at = mix_at + hidden * units
        last = (layers - 1) * units
        total = read_out(state, last, weights, at, units)
        if gain_units:  # after the read-out's kernel and bias: its weight of x * gain, then the gain's own
            total += weights[at + units + 1] * gained(x, state, last, weights, at + units + 2, units, gain_units,
                                                       kind, scratch, hidden + units)
        outputs[n] = total


SIGNATURE = numba.types.void(FLOAT32_POINTER, numba.types.intp, FLOAT32_POINTER, FLOAT32_POINTER, FLOAT32_POINTER,
                             numba.types.intp, numba.types.intp, numba.types.intp, numba.types.intp, numba.types.intp,
                             FLOAT32_POINTER)


def machine_code(target_machine: llvm.TargetMachine) -> bytes:
    """`_run` compiled for `target_machine`: an object file's bytes, its one function named FUNCTION_NAME."""
    return compiled_alone(_run, SIGNATURE, FUNCTION_NAME, target_machine)
