"""The recurrent kind (kinds/recurrent.py): its render against Keras's predict, in blocks against one pass, its
compiled loop against NumPy's, its training cost lines, and fit.py and gen.py with --mode recurrent end to end
(names, results.csv, resume, refusals).

The render tests need NumPy only (and the compiled loop); the Keras comparison builds models with
random weights; the end-to-end tests run fit.py and gen.py in this process on small pairs.
"""

import csv
import dataclasses
import json
import re

import numpy as np
import pytest

from conftest import one_line, split

import fit
import gen

from neural_filter import audio, ladder_cell, model_file, render, state_space_transition, synth
from neural_filter.kinds import recurrent
from neural_filter.network import Dense
from neural_filter.spec import FilterSpec
from tests.fixtures.saved_before_format.expected_renders import MODELS, signal

# --- the NumPy render ------------------------------------------------------------------------------


def random_stack(window, layers, units, seed=3, activation="tanh", cell="gru") -> recurrent.RecurrentStack:
    rng = np.random.default_rng(seed)

    def gru(inputs):
        return recurrent.GruCell(rng.normal(0, 1.0, (inputs, 3 * units)).astype(np.float32),
                                 rng.normal(0, 1 / np.sqrt(units), (units, 3 * units)).astype(np.float32),
                                 rng.normal(0, 0.3, (2, 3 * units)).astype(np.float32), activation)

    def state_space(inputs):  # a bounded transition (state_space_transition), the dense layer's share about as large
        hidden, width = 2 * units, inputs + units
        transition = state_space_transition.transition(
            rng.uniform(-0.7, 0.7, units), rng.normal(0, 0.1, units // 2), rng.normal(0, 0.15, (units, units)), np,
            state_space_transition.constants(units))
        linear = np.concatenate([rng.normal(0, 0.3, (inputs, units)), transition])
        return recurrent.StateSpaceCell(rng.normal(0, 1 / np.sqrt(width), (width, hidden)).astype(np.float32),
                                        rng.normal(0, 0.3, hidden).astype(np.float32), linear.astype(np.float32),
                                        rng.normal(0, 0.3 / np.sqrt(hidden), (hidden, units)).astype(np.float32),
                                        activation)

    def follower(_inputs):  # attacks and releases of about 0.05 to 2 ms at 44.1 kHz: every sample moves them
        return recurrent.FollowerCell(rng.uniform(-4, -1, units).astype(np.float32),
                                      rng.uniform(-7, -3, units).astype(np.float32))

    def ladder(_inputs):  # ladders at 200 Hz to 4 kHz, resonance 0.2-0.6, drives about 1 (ladder_cell's weights)
        values = [np.log(2 * np.pi * rng.uniform(200, 4000, units) / 44100), rng.uniform(0.5, 1.5, units),
                  rng.uniform(0.5, 2, units), rng.normal(0, 0.1, units), rng.uniform(0.2, 0.6, units),
                  rng.uniform(0.5, 1.5, units), rng.uniform(0.5, 2, units), rng.uniform(0, 1, units),
                  rng.uniform(0.6, 0.9, units)]
        return recurrent.LadderCell(*(value.astype(np.float32) for value in values))

    make = {"gru": gru, "gru-gain": gru, "follower": follower, "ladder": ladder}.get(cell, state_space)
    layers = 1 if cell in ("follower", "ladder") else layers  # one bank of followers or ladders (fit.py refuses more)
    cells = [make(1 if layer == 0 else units) for layer in range(layers)]
    gain = None
    if cell.endswith("-gain") or cell == "follower":  # a gain of about exp(+-1): the input weighed by it is as large as the state's share
        gain = recurrent.GainReadout(Dense(rng.normal(0, 0.5, (units + 1, 2 * units)).astype(np.float32),
                                           rng.normal(0, 0.3, 2 * units).astype(np.float32), activation),
                                     Dense(rng.normal(0, 0.3, (2 * units, 1)).astype(np.float32), np.float32([0.1])))
    # a ladder's five values each, resonant: a smaller read-out keeps the output (and float32's rounding) as large
    readout = rng.normal(0, 0.1 if cell == "ladder" else 0.5, (cells[0].units + (gain is not None), 1)).astype(np.float32)
    if cell == "follower":  # its read-out weighs x * gain alone (RecurrentKind.network_of)
        readout[:units] = 0
    return recurrent.RecurrentStack(cells, Dense(readout, np.float32([0.05])), window, gain=gain)


def reference(stack: recurrent.RecurrentStack, samples: np.ndarray) -> np.ndarray:
    """The cells as the modules' docstrings write them (Keras's GRU; state_space_cell's), in float64, over the
    silence and the signal."""
    padded = np.concatenate([np.zeros(stack.window - 1), samples]).astype(np.float64)
    states = [np.zeros(cell.units) for cell in stack.cells]  # a ladder's: 5 values per ladder
    outputs = []
    for sample in padded:
        inputs = np.array([sample])
        for index, cell in enumerate(stack.cells):
            step = {recurrent.GruCell: gru_step, recurrent.FollowerCell: follower_step,
                    recurrent.LadderCell: ladder_step}.get(type(cell), state_space_step)
            states[index] = step(cell, inputs, states[index])
            inputs = states[index]
        read = inputs
        if stack.gain is not None:  # y = s' . r + d x exp(h . w + c), h = tanh([s'; x] hidden + b)
            hidden = np.tanh(np.concatenate([inputs, [sample]]) @ stack.gain.hidden.kernel + stack.gain.hidden.bias)
            read = np.concatenate([inputs, [sample * np.exp(hidden @ stack.gain.gain.kernel[:, 0]
                                                            + stack.gain.gain.bias[0])]])
        outputs.append(read @ stack.output.kernel[:, 0] + stack.output.bias[0])
    return np.array(outputs[stack.window - 1 :])


def gru_step(cell, inputs, state):
    units = cell.units
    from_input = inputs @ cell.kernel + cell.biases[0]
    from_state = state @ cell.recurrent + cell.biases[1]
    update, reset = (1 / (1 + np.exp(-(from_input[part] + from_state[part])))
                     for part in (slice(0, units), slice(units, 2 * units)))
    candidate = np.tanh(from_input[2 * units :] + reset * from_state[2 * units :])
    return update * state + (1 - update) * candidate


def follower_step(cell, inputs, state):
    """follower_cell's docstring in w = exp(state) = 1 + level / FOLLOWER_FLOOR."""
    level = np.exp(state)
    rectified = 1 + abs(inputs[0] - cell.centre) * np.float64(cell.weight)
    attack, release = (np.exp(-np.exp(rate.astype(np.float64))) for rate in (cell.attack, cell.release))
    return np.log(rectified + np.where(rectified > level, attack, release) * (level - rectified))


def ladder_step(cell, inputs, state):
    """ladder_cell's docstring, ladder by ladder, in float64."""
    weights = {name: getattr(cell, name).astype(np.float64) for name in ladder_cell.WEIGHTS}
    a1 = np.exp(-np.exp(weights["rate"]))
    b0, b1 = (1 - a1) * weights["split"], (1 - a1) * (1 - weights["split"])
    a_prev, b_prev, c_prev, d_prev, e_prev = state.reshape(5, -1)
    dx = weights["input_gain"] * np.tanh(weights["input_drive"] * inputs[0] + weights["input_bias"])
    a = dx - 4 * weights["resonance"] * (weights["feedback_gain"] * np.tanh(weights["feedback_drive"] * e_prev)
                                         - weights["compensation"] * dx)
    b = b1 * a_prev + a1 * b_prev + b0 * a
    c = b1 * b_prev + a1 * c_prev + b0 * b
    d = b1 * c_prev + a1 * d_prev + b0 * c
    return np.concatenate([a, b, c, d, b1 * d_prev + a1 * e_prev + b0 * d])


def state_space_step(cell, inputs, state):
    both = np.concatenate([inputs, state])
    return both @ cell.linear + np.tanh(both @ cell.kernel + cell.bias) @ cell.mix


CELLS = ["gru", "state-space", "state-space-gain", "gru-gain", "follower", "ladder"]
FORMAT_6 = MODELS["state-space, format 6"]  # saved before the bounded transition, its L one free weight


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("engine", ["numpy", "compiled"])
@pytest.mark.parametrize("window, layers, units", [
    (16, 1, 16),  # the README's shape, smaller
    (1, 2, 8),  # no burn-in; two cells, the second reading the first's state
    (5, 3, 3),  # units fewer than a vector's lanes: the loops' remainders alone
])
def test_the_render_is_the_cells_at_every_sample(engine, window, layers, units, cell):
    stack = random_stack(window, layers, units, cell=cell).with_engine(engine)
    samples = np.random.default_rng(5).uniform(-1, 1, 2000).astype(np.float32)
    spec = FilterSpec(mode="recurrent", window=window, levels="signed")
    rendered = render.render(stack, spec, samples)
    assert rendered.dtype == np.float32 and rendered.shape == samples.shape
    np.testing.assert_allclose(rendered, reference(stack, samples), rtol=0, atol=2e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("engine", ["numpy", "compiled"])
@pytest.mark.parametrize("length, sizes", [
    (0, [1]),  # nothing
    (1, [1]),  # one sample
    (700, [1]),  # sample by sample
    (3000, [1023, 0, 1025]),  # uneven blocks, an empty one among them
])
def test_blocks_give_the_same_bytes_as_one_pass_and_come_back_block_for_block(engine, length, sizes, cell):
    stack = random_stack(32, 2, 8, cell=cell).with_engine(engine)
    spec = FilterSpec(mode="recurrent", window=32, levels="signed")
    samples = np.random.default_rng(2).uniform(-1, 1, length).astype(np.float32)
    whole = render.render(stack, spec, samples)
    blocks = list(render.render_blocks(stack, spec, split(samples, sizes)))
    assert [len(block) for block in blocks] == [len(block) for block in split(samples, sizes)]  # streamed
    assert len(whole) == length
    assert np.concatenate([np.empty(0, np.float32), *blocks]).tobytes() == whole.tobytes()


@pytest.mark.parametrize("cell", ["gru-gain", "state-space-gain"])
def test_a_gain_past_its_limit_is_held_at_exp_of_the_limit_in_both_engines(cell):
    stack = random_stack(4, 1, 4, cell=cell)
    gain = dataclasses.replace(stack.gain, gain=Dense(stack.gain.gain.kernel, np.float32([40.0])))  # 40 +- ~1 > 30
    stack = dataclasses.replace(stack, gain=gain)
    spec = FilterSpec(mode="recurrent", window=4, levels="signed")
    samples = np.random.default_rng(6).uniform(-1, 1, 500).astype(np.float32)
    compiled, numpy = (render.render(stack.with_engine(engine), spec, samples) for engine in ("compiled", "numpy"))
    np.testing.assert_allclose(compiled, numpy, rtol=1e-5)
    weight = stack.output.kernel[-1, 0]  # the read-out's weight of x * gain: the rest is a few units at most
    np.testing.assert_allclose(compiled, weight * samples * np.exp(np.float32(recurrent.GAIN_LIMIT)), rtol=1e-4,
                               atol=10.0)


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_a_state_decaying_to_nothing_is_flushed_to_zero_not_left_subnormal(engine):
    """A relu GRU's unit whose candidate stays at 0 halves at every sample; below float32's smallest normal it is
    stored as 0 (a subnormal state made the compiled loop 4x slower: numpy_activations.SMALLEST_NORMAL)."""
    cell = recurrent.GruCell(np.zeros((1, 3), np.float32), np.float32([[0, 0, -1]]), np.zeros((2, 3), np.float32),
                             "relu")  # z = r = 1/2, candidate relu(-h / 2) = 0: h' = h / 2
    stack = recurrent.RecurrentStack([cell], Dense(np.ones((1, 1), np.float32), np.zeros(1, np.float32)), 1,
                                     engine=engine)
    spec = FilterSpec(mode="recurrent", window=1, levels="signed")
    run = stack._compiled(spec) if engine == "compiled" else stack._numpy(spec)
    state = np.ones(1, np.float32)
    run(np.zeros(120, np.float32), state)
    assert state[0] == np.float32(2.0**-120)  # normal: exact halvings
    run(np.zeros(20, np.float32), state)
    assert state[0] == 0 and not np.signbit(state[0])  # 2^-140 would be subnormal


@pytest.mark.parametrize("cell", CELLS)
def test_the_compiled_loop_and_numpy_agree_and_unit_levels_fold_into_the_weights(cell):
    stack = random_stack(8, 2, 16, cell=cell)
    samples = np.random.default_rng(4).uniform(-1, 1, 3000).astype(np.float32)
    unit = FilterSpec(mode="recurrent", window=8, levels="unit")
    compiled, numpy = (render.render(stack.with_engine(engine), unit, samples) for engine in ("compiled", "numpy"))
    np.testing.assert_allclose(compiled, numpy, rtol=0, atol=1e-5)
    # the network sees sample * scale + offset, and its output is mapped back: the signed render of those levels
    signed = FilterSpec(mode="recurrent", window=8, levels="signed")
    silence = np.full(7, unit.to_network(np.zeros(1))[0], np.float32)  # the burn-in's silence, at the levels
    direct = render.render(dataclasses.replace(stack, window=1, engine="numpy"), dataclasses.replace(signed, window=1),
                           np.concatenate([silence, unit.to_network(samples)]))[7:]
    np.testing.assert_allclose(numpy, unit.from_network(direct), rtol=0, atol=1e-5)


def test_the_engine_is_numpy_only_where_the_compiled_start_up_costs_more():
    stack = random_stack(8, 1, 4)
    assert stack.engine_for(100) == "numpy"
    assert stack.engine_for(44100) == "compiled"


# --- the state-space cell's bounded transition ---------------------------------------------------


def transition_as_written(decay, rotation, coupling):
    """state_space_transition's docstring, block by block, in float64."""
    units = len(decay)
    starts = range(0, units, 2)
    blocks = {}
    for k in starts:
        if k + 1 == units:  # the odd last unit: a block of one
            blocks[k, k] = np.array([[decay[k]]], np.float64)
        else:
            sigma, delta, omega = (decay[k] + decay[k + 1]) / 2, (decay[k] - decay[k + 1]) / 2, rotation[k // 2]
            blocks[k, k] = np.array([[sigma + delta, omega], [-omega, sigma - delta]])
        for i in starts:
            if i < k:
                blocks[i, k] = coupling[i : i + 2, k : k + 2].astype(np.float64)
    matrix = np.zeros((units, units))
    for k in starts:
        column = [block for (_, column), block in blocks.items() if column == k]
        norm = sum(np.linalg.norm(block, 2 if block is blocks[k, k] else "fro") for block in column)
        gain = state_space_transition.RADIUS / max(state_space_transition.RADIUS, norm)
        for (i, column), block in blocks.items():
            if column == k:
                matrix[i : i + block.shape[0], k : k + block.shape[1]] = gain * block
    return matrix


def longest_block(states, units):
    """The norm the transition contracts: each state's longest block (pairs of units; an odd last one alone)."""
    return np.max([np.linalg.norm(states[:, k : k + 2], axis=1) for k in range(0, units, 2)], axis=0)


@pytest.mark.parametrize("units", [1, 2, 5, 8])
def test_the_transition_is_its_formula_and_shrinks_every_state(units):
    rng = np.random.default_rng(units)
    fixed = state_space_transition.constants(units)
    for scale in (0.3, 1, 10):  # inside the bound, about it, far outside it
        decay, rotation, coupling = (rng.normal(0, scale, shape).astype(np.float32)
                                     for shape in (units, units // 2, (units, units)))
        matrix = state_space_transition.transition(decay, rotation, coupling, np, fixed)
        np.testing.assert_allclose(matrix, transition_as_written(decay, rotation, coupling), rtol=1e-5, atol=1e-7)
        states = rng.normal(0, 1, (1000, units))
        shrunk = longest_block(states @ matrix.astype(np.float64), units) / longest_block(states, units)
        assert shrunk.max() <= state_space_transition.RADIUS + 1e-6
        assert np.abs(np.linalg.eigvals(matrix.astype(np.float64))).max() <= state_space_transition.RADIUS + 1e-6


def test_the_transition_starts_as_the_one_pole_bank_and_a_rotation_makes_a_complex_pair():
    poles = np.exp(-2 * np.pi * np.geomspace(*recurrent.START_CUTOFFS, 7) / 48000)
    fixed = state_space_transition.constants(7)
    start = state_space_transition.transition(*state_space_transition.start(poles), np, fixed)
    assert start.tobytes() == np.diag(poles).astype(np.float32).tobytes()  # the bank, exactly
    # decay 0.999 twice and rotation 0.02: the poles 0.999 +- 0.02i (radius 0.9992, 153 Hz at 48 kHz), coupled to
    # the next block (its column's norms 0.5 + 0.2: unscaled)
    decay = np.float32([0.999, 0.999, 0.5, 0.4])
    coupling = np.full((4, 4), 0.1, np.float32)
    poles = np.linalg.eigvals(state_space_transition.transition(decay, np.float32([0.02, 0]), coupling, np,
                                                                state_space_transition.constants(4)))
    np.testing.assert_allclose(sorted(poles, key=lambda pole: (pole.real, pole.imag)),
                               [0.4, 0.5, 0.999 - 0.02j, 0.999 + 0.02j], rtol=1e-6)


def test_a_state_space_model_saved_in_format_6_is_one_of_the_files_whose_renders_are_kept():
    """A model saved before the bounded transition (its L one free weight): test_model_file checks the SHA-256 of
    its float32 render with each engine against the one recorded then."""
    assert model_file.read_record(FORMAT_6)["format"] == 6
    assert {"state-space, format 6 numpy", "state-space, format 6 compiled"} <= set(
        json.loads((FORMAT_6.parent / "expected_renders.json").read_text()))


def test_a_state_space_model_saved_in_format_6_loads_in_keras_free_and_predicts_what_it_renders():
    """fit.py --resume loads it with its L free (no transition in its config): Keras computes what gen.py renders."""
    import keras

    keras_model = keras.models.load_model(FORMAT_6, compile=False,
                                          custom_objects=recurrent.RecurrentKind().keras_objects())
    assert keras_model.get_layer("hidden_0").cell.transition == "free"
    network, spec, _ = model_file.load_network(FORMAT_6)
    samples = signal()
    predicted = spec.from_network(np.asarray(keras_model.predict(spec.to_network(spec.pad(samples))[None, :, None],
                                                                 verbose=0)).ravel())
    np.testing.assert_allclose(render.render(network, spec, samples), predicted, rtol=0,
                               atol=1e-5 * np.abs(predicted).max())


# --- against Keras ---------------------------------------------------------------------------------


@pytest.mark.parametrize("levels, activation, cell", [
    ("signed", "tanh", "gru"),
    ("unit", "gelu", "gru"),
    ("signed", "tanh", "state-space"),
    ("unit", "silu", "state-space"),  # the input's offset folds into the hidden bias and the state's shift
    ("unit", "tanh", "state-space-gain"),  # ... and into the gain read-out's hidden bias; x * gain at network levels
    ("unit", "tanh", "gru-gain"),  # the gain read-out after GRUs
    ("signed", "relu", "follower"),  # followers: the gain read-out reads their output, log(floor + level)
    ("unit", "tanh", "follower"),  # ... rectified about the network's centre, the offset folded out
    ("signed", "tanh", "ladder"),  # ladders: 5 state values each
    ("unit", "tanh", "ladder"),  # ... the offset folded into each ladder's input bias
])
def test_a_saved_model_renders_as_keras_predicts(tmp_path, levels, activation, cell):
    from neural_filter.settings import TrainSettings

    spec = FilterSpec(mode="recurrent", window=64, levels=levels)
    layers = 1 if cell in ("follower", "ladder") else 2
    keras_model = spec.kind.build(spec, TrainSettings(layers=layers, units=8, activation=activation, cell=cell))
    # seed 1 drew a state-space model whose dense layer amplifies rounding (Keras and NumPy 3e-5 of its peak apart)
    rng = np.random.default_rng(2)
    scale = 0.5 if cell == "gru" else 0.25
    keras_model.set_weights([rng.normal(0, scale, weight.shape).astype(np.float32)
                             for weight in keras_model.get_weights()])
    if cell == "follower":  # rates of coefficients 0.7-0.98 (exp(-exp(rate))): attacks and releases under 2 ms
        cell_layer = keras_model.get_layer("hidden_0")
        cell_layer.set_weights([rng.uniform(-4, -1, 8).astype(np.float32), rng.uniform(-7, -3, 8).astype(np.float32)])
    if cell == "ladder":  # random_stack's ladders: resonant, stable
        keras_model.get_layer("hidden_0").set_weights([weight.astype(np.float32) for weight in dataclasses.astuple(
            random_stack(1, 1, 8, seed=2, cell="ladder").cells[0])])
    path = model_file.save_model(keras_model, tmp_path / "recurrent.keras",
                                 {"spec": {"mode": "recurrent", "window": 64, "align": "causal", "levels": levels,
                                           "rate": 44100}})
    network, loaded_spec, _ = model_file.load_network(path)
    assert (loaded_spec, network.window, len(network.cells), network.units) == (spec, 64, layers,
                                                                                 40 if cell == "ladder" else 8)
    saved_as = {"state-space-gain": recurrent.StateSpaceCell, "gru-gain": recurrent.GruCell}.get(
        cell, recurrent.CELL_TYPES[cell])
    assert all(type(loaded) is saved_as for loaded in network.cells)
    assert (network.gain is not None) == recurrent.CELL_TYPES[cell].gain
    samples = rng.uniform(-1, 1, 6000).astype(np.float32)
    predicted = spec.from_network(np.asarray(keras_model.predict(spec.to_network(spec.pad(samples))[None, :, None],
                                                                 verbose=0)).ravel())
    for engine in ("numpy", "compiled"):
        rendered = render.render(network.with_engine(engine), spec, samples)
        np.testing.assert_allclose(rendered, predicted, rtol=0, atol=1e-5 * np.abs(predicted).max())


def test_slow_followers_render_as_keras_predicts_them_over_level_steps(tmp_path):
    """A follower's release of thousands of samples carries every step's rounding on: the cell adds each step's
    small change to its state (log1p), so that Keras and the render stay within 1e-4 of the peak over a minute-long
    signal stepping over 25 dB (measured 2026-12-06 on TensorFlow: 3.6e-5; with a log of the whole level, 1.6e-4)."""
    from neural_filter.settings import TrainSettings

    spec = FilterSpec(mode="recurrent", window=64, levels="signed")
    keras_model = spec.kind.build(spec, TrainSettings(layers=1, units=8, activation="relu", cell="follower"))
    rng = np.random.default_rng(2)
    weights = [rng.normal(0, 0.25, weight.shape).astype(np.float32) for weight in keras_model.get_weights()]
    weights[:2] = recurrent.FollowerCell.start(weights[:2], None, 44100, rng)  # releases of 20 ms to a second
    keras_model.set_weights(weights)
    path = model_file.save_model(keras_model, tmp_path / "follower.keras",
                                 {"spec": {"mode": "recurrent", "window": 64, "align": "causal", "levels": "signed",
                                           "rate": 44100}})
    network, _, _ = model_file.load_network(path)
    samples = (rng.uniform(-1, 1, 60000) * np.repeat(10 ** rng.uniform(-2.5, 0, 60), 1000)).astype(np.float32)
    predicted = spec.from_network(np.asarray(keras_model.predict(spec.to_network(spec.pad(samples))[None, :, None],
                                                                 verbose=0)).ravel())
    for engine in ("numpy", "compiled"):
        rendered = render.render(network.with_engine(engine), spec, samples)
        np.testing.assert_allclose(rendered, predicted, rtol=0, atol=1e-4 * np.abs(predicted).max())


def test_a_follower_model_without_its_gain_read_out_is_refused_as_damaged():
    """model_file turns the ValueError into one line naming the file (a damaged model)."""
    import types

    saved = types.SimpleNamespace(arrays=[np.zeros(4, np.float32)] * 2,
                                  config={"cell": {"class_name": "FollowerCell", "config": {"floor": 1e-5}}})
    output = Dense(np.ones((1, 1), np.float32), np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="^a follower model without its gain read-out"):
        recurrent.RecurrentKind().network_of({"hidden_0": saved, "output": output}, {"spec": {"window": 8}})


# --- training ------------------------------------------------------------------------------------


def test_a_state_space_cells_optimiser_skips_a_step_whose_gradients_are_not_finite_and_clips_the_others():
    import keras

    from neural_filter import model
    from neural_filter.settings import TrainSettings

    clip = recurrent.RecurrentKind().gradient_clip(TrainSettings(cell="state-space"))
    optimiser = model.make_optimiser("sgd", 1, 64, learning_rate=1.0, clip=clip)
    weight = keras.Variable(np.float32([1.0, 2.0]))
    for _ in range(200):  # Keras's own wrapper halves its scale at each: 0 after about 150, then NaN weights
        optimiser.apply_gradients([(keras.ops.convert_to_tensor(np.float32([np.inf, 1.0])), weight)])
    assert np.asarray(weight).tolist() == [1.0, 2.0]  # skipped, not NaN
    assert float(np.asarray(optimiser.dynamic_scale)) == 1.0
    optimiser.apply_gradients([(keras.ops.convert_to_tensor(np.float32([3.0, 4.0])), weight)])
    np.testing.assert_allclose(np.asarray(weight), [1 - 0.6 * clip, 2 - 0.8 * clip], rtol=1e-6)  # clipped to its norm


# --- training cost ---------------------------------------------------------------------------------


def test_a_run_longer_than_the_readme_says_so_with_what_to_change():
    from neural_filter.training_cost import TrainingCost

    cost = TrainingCost(examples=300, samples=4096, batch_size=16, epochs=100)  # 19 batches an epoch
    assert cost.estimate_line(600) == "training: about 10.0 min for 100 epochs of 19 batches"
    assert cost.estimate_line(3600) == ("training: about 60.0 min for 100 epochs of 19 batches, more than the "
                                        "README's 15 min on this machine: give fewer epochs (25 fit), fewer units or "
                                        "layers, or a shorter pair")


@pytest.mark.parametrize("batches, said", [
    (37, "training: about 3.7 min for 10 epochs of 37 batches"),  # timed over batches 3 to 6: 0.6 s each
    (2, "training: about 1.7 min for 10 epochs of 2 batches"),  # a short epoch: its second batch alone
    (1, None),  # an epoch of one batch, which compiles: nothing to time
])
def test_the_run_is_timed_after_the_batches_that_compile(monkeypatch, batches, said):
    """The first three batches take 5 s each (the first compiles; with --carry-state the next two were slow too:
    training_cost.SKIPPED_BATCHES), the others 0.6 s."""
    from neural_filter import training_cost

    now = [0.0]
    monkeypatch.setattr(training_cost.time, "perf_counter", lambda: now[0])
    lines = []
    cost = training_cost.TrainingCost(examples=batches * 16, samples=4096, batch_size=16, epochs=10,
                                      inform=lines.append)
    cost.on_epoch_begin(0)
    for batch in range(batches):
        cost.on_train_batch_begin(batch)
        now[0] += 5.0 if batch < 3 else 0.6
        cost.on_train_batch_end(batch)
    assert lines == ([said] if said else [])


# --- fit.py and gen.py -----------------------------------------------------------------------------


def driven_pair(directory, seconds=0.6, rate=44100, seed=11):
    """A drive whose level follows the last 10 ms (a crude compressor's gain), then a low-pass: an effect with
    memory, which no FIR makes. Writes train_x.raw, train_y.raw and song.raw (s16le)."""
    rng = np.random.default_rng(seed)
    dry = synth.pink_noise(seconds, rate, rng)
    envelope = np.sqrt(np.convolve(dry**2, np.ones(441) / 441)[: len(dry)]) + 0.05
    wet = synth.audacity_lowpass(np.tanh(4 * dry) / (1 + 4 * envelope), 3000, 12, rate)
    audio.write_audio(directory / "train_x.raw", dry.astype(np.float32), "s16le", rate)
    audio.write_audio(directory / "train_y.raw", (0.5 * wet / np.abs(wet).max()).astype(np.float32), "s16le", rate)
    audio.write_audio(directory / "song.raw", synth.pink_noise(0.1, rate, rng).astype(np.float32), "s16le", rate)


@pytest.fixture
def keras_backend(monkeypatch):
    """fit.py in this process trains on the backend Keras has here (it would choose JAX in a process of its own)."""
    import keras

    monkeypatch.setenv("KERAS_BACKEND", keras.backend.backend())


FIT = ["1", "8", "4", "tanh", "adam", "1", "64", "3", "--mode", "recurrent", "--no-plot", "--format", "s16le"]


def test_fit_trains_names_records_and_renders_a_recurrent_model_gen_renders_the_same(tmp_path, monkeypatch, capsys,
                                                                                     keras_backend):
    driven_pair(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert fit.run(FIT) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert re.search(r"^epoch 3: [\d.]+ s, [\d,]+ samples/s \(training and validation\)$", out, re.MULTILINE), out
    path = tmp_path / re.search(r"^saved (\S+\.keras)$", out, re.MULTILINE).group(1)
    record = json.loads(path.with_suffix(".json").read_text())
    assert path.name == f"tanh_adam_1_8_4_64_3_recurrent_a{record['metrics']['score']:+.1f}.keras"
    assert record["spec"]["mode"] == "recurrent" and record["settings"]["cell"] == "state-space"
    assert record["format"] == 7  # a reader of format 5 would skip its cells, one of 6 misread its transition
    assert "linear_path" not in record  # the cell's own linear map is its linear part
    losses = record["history"]["loss"]
    assert losses[-1] < losses[0]
    assert record["metrics"]["esr"] < record["start"]["esr"]
    with open(tmp_path / "models" / "results.csv", newline="") as file:
        assert [row["model"] for row in csv.DictReader(file)] == [path.stem]

    assert gen.run([str(path), "song.raw", "--out", "again.raw", "--format", "s16le"]) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "again.raw").read_bytes() == path.with_suffix(".raw").read_bytes()
    assert gen.run([str(path), "song.raw", "--out", "knob.raw", "--cutoff", "500", "--format", "s16le"]) == 2
    assert one_line(capsys.readouterr().err) == (f"gen.py: --cutoff: {path} has no knob: it was trained on one pair, "
                                                 "one filter; drop --cutoff, or give a model trained with fit.py "
                                                 "--pairs")

    # resumed: the same kind, and what was typed must describe it
    assert fit.run([*FIT[:7], "1", *FIT[8:], "--resume", str(path)]) == 0
    assert "saved" in capsys.readouterr().out
    assert fit.run([*FIT[:7], "1", "--mode", "sliding", *FIT[10:], "--resume", str(path)]) == 2
    assert one_line(capsys.readouterr().err) == (f"fit.py: --mode sliding: the model to resume, {path}, has "
                                                 "recurrent; give the arguments it was trained with")
    assert fit.run([*FIT[:7], "1", *FIT[8:], "--cell", "gru", "--resume", str(path)]) == 2
    assert one_line(capsys.readouterr().err) == (f"fit.py: --cell gru: the model to resume, {path}, has "
                                                 "state-space; give the arguments it was trained with")


@pytest.mark.parametrize("cell, format, linear_path", [
    ("gru", 5, True),  # beside the long linear path
    ("state-space-gain", 8, False),  # format 7 would render it without the gain
    ("gru-gain", 8, False),  # the same read-out after a GRU, no linear path
    ("follower", 9, False),  # format 8 would not know the cell
    ("ladder", 10, False),  # nor would format 9 this one
])
def test_each_cell_trains_is_saved_in_its_format_and_gen_renders_its_bytes(tmp_path, monkeypatch, capsys,
                                                                          keras_backend, cell, format, linear_path):
    driven_pair(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert fit.run([*FIT[:7], "2", *FIT[8:], "--cell", cell]) == 0
    out = capsys.readouterr().out
    path = tmp_path / re.search(r"^saved (\S+\.keras)$", out, re.MULTILINE).group(1)
    record = json.loads(path.with_suffix(".json").read_text())
    assert (record["settings"]["cell"], record["format"], "linear_path" in record) == (cell, format, linear_path)
    assert record["metrics"]["esr"] < record["start"]["esr"]  # it learned something from its start
    assert gen.run([str(path), "song.raw", "--out", "again.raw", "--format", "s16le"]) == 0
    assert (tmp_path / "again.raw").read_bytes() == path.with_suffix(".raw").read_bytes()
    assert fit.run([*FIT[:7], "1", *FIT[8:], "--cell", cell, "--resume", str(path)]) == 0


@pytest.mark.parametrize("argv, line", [
    (["1", "8", "16", "elu", "adam", "1", "64", "1", "--mode", "recurrent"],
     "fit.py: activator elu: is not a cell activation gen.py renders; give one of tanh, sigmoid, silu, gelu, relu"),
    (["1", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "recurrent", "--align", "centre"],
     "fit.py: --align centre: is not for a recurrent model: its cells never read the future; drop it"),
    (["1", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "recurrent", "--cell", "gru", "--no-fir-start"],
     "fit.py: --no-fir-start: is not for a recurrent model: its linear path is the long least-squares FIR; drop it"),
    (["1", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "recurrent", "--no-fir-start"],
     "fit.py: --no-fir-start: is not for --cell state-space: it has no linear path beside it; drop it"),
    (["1", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "recurrent", "--linear-taps", "512"],
     "fit.py: --linear-taps 512: is not for --cell state-space: it has no linear path beside it; drop it, or give "
     "--cell gru"),
    (["2", "8", "16", "relu", "adam", "1", "64", "1", "--mode", "recurrent", "--cell", "follower"],
     "fit.py: layers 2: is not for --cell follower: its followers read the audio, one bank of UNITS of them; give 1"),
    (["3", "2", "16", "tanh", "adam", "1", "64", "1", "--mode", "recurrent", "--cell", "ladder"],
     "fit.py: layers 3: is not for --cell ladder: its ladders read the audio, one bank of UNITS of them; give 1"),
    (["6", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "sliding", "--cell", "gru"],
     "fit.py: --cell gru: is a recurrent model's cell, and this is a sliding model; drop it, or give --mode recurrent"),
    (["6", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "tcn", "--carry-state"],
     "fit.py: --carry-state: is for a recurrent model's cells, and this is a tcn model; drop it, or give --mode "
     "recurrent"),
    (["1", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "recurrent", "--pairs", "pairs.csv"],
     "fit.py: --mode recurrent: is not for a knob model (--pairs): one is a sliding model at signed levels whose "
     "linear path starts at each pair's least-squares FIR, trained anew; drop it, or train on one pair"),
])
def test_what_a_recurrent_model_is_not_is_one_line_and_exit_status_2_with_nothing_written(workdir, capsys, argv,
                                                                                          line):
    before = sorted(path.name for path in workdir.iterdir())
    assert fit.run(argv) == 2
    assert one_line(capsys.readouterr().err) == line
    assert sorted(path.name for path in workdir.iterdir()) == before


# --- carried state ------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["gru", "state-space-gain"])
def test_states_at_are_the_states_a_render_of_everything_before_reaches(cell):
    stack = random_stack(window=1, layers=2, units=4, cell=cell)
    spec = FilterSpec(mode="recurrent", window=1, levels="signed")
    samples = np.random.default_rng(5).uniform(-1, 1, 1000).astype(np.float32)
    starts = [0, 300, 600, 900, 950]
    states = stack.states_at(spec, samples, np.array(starts))
    assert states.shape == (5, 8)
    assert not states[0].any()
    for index in (1, 3, 4):
        state = np.zeros(8, np.float32)
        stack.with_engine("numpy")._numpy(spec)(samples[: starts[index]], state)
        np.testing.assert_allclose(states[index], state, rtol=0, atol=1e-5)


@pytest.mark.parametrize("cell, layers", [("state-space", 2), ("gru-gain", 2), ("follower", 1), ("ladder", 1)])
def test_a_carried_segment_gives_what_the_whole_pair_run_in_one_sequence_gives_there(cell, layers):
    """Each segment starts from the state the model reaches at its first sample over the whole pair: the training
    model's outputs on the segments are the saved model's over the pair in one sequence."""
    from neural_filter import dataset
    from neural_filter.settings import TrainSettings

    settings = TrainSettings(layers=layers, units=8, activation="tanh", cell=cell, batch_size=4, carry_state=True)
    spec = FilterSpec(mode="recurrent", window=33, levels="signed")
    kind = spec.kind
    model = kind.build(spec, settings)
    rng = np.random.default_rng(4)
    model.set_weights([rng.normal(0, 0.3, weight.shape).astype(np.float32) for weight in model.get_weights()])
    x = rng.uniform(-0.5, 0.5, 3 * recurrent.SEGMENT + 100).astype(np.float32)
    held_out = rng.uniform(-0.5, 0.5, 500).astype(np.float32)
    prepared = dataset.Prepared(x, x, held_out, held_out, 44100)
    arrays = kind.model_arrays(x, x, spec, settings.segment)
    validation = kind.model_arrays(held_out, held_out, spec, segment=None, past=x)
    fitted, (segments,), validating, refresh = kind.carried(model, prepared, arrays, validation, spec, settings)
    assert (len(arrays[1]), len(segments), len(validating)) == (3, 1, 1)
    (inputs, *states), _targets = segments[0]
    width = 40 if cell == "ladder" else 8  # a ladder's state: 5 values each
    assert [state.shape for state in states] == [(3, width)] * layers and not states[0][0].any() and states[-1][2].any()
    carried = np.asarray(fitted.predict([inputs, *states], verbose=0))[:, :, 0]
    whole = np.asarray(model.predict(spec.pad(np.concatenate([x, held_out]))[None, :, None], verbose=0))[0, :, 0]
    np.testing.assert_allclose(carried.ravel(), whole[: 3 * recurrent.SEGMENT], rtol=0,
                               atol=2e-5 * np.abs(whole).max())
    # the validation part starts from the state the whole training part leaves
    (validation_inputs, *validation_states), _targets = validating[0]
    carried = np.asarray(fitted.predict([validation_inputs, *validation_states], verbose=0)).ravel()
    np.testing.assert_allclose(carried, whole[len(x) :], rtol=0, atol=2e-5 * np.abs(whole).max())


def test_fit_carries_the_state_trains_and_gen_renders_its_bytes(tmp_path, monkeypatch, capsys, keras_backend):
    driven_pair(tmp_path, seconds=1.0)
    monkeypatch.chdir(tmp_path)
    reads = []
    states_at = recurrent.RecurrentStack.states_at
    monkeypatch.setattr(recurrent.RecurrentStack, "states_at",
                        lambda *arguments: reads.append(states_at(*arguments)) or reads[-1])
    assert fit.run([*FIT[:7], "2", *FIT[8:], "--carry-state"]) == 0
    # read at the start, before the start's score, after each epoch but the last and before the last score
    assert len(reads) == 4 and all(states[-1].any() for states in reads)
    out = capsys.readouterr().out
    path = tmp_path / re.search(r"^saved (\S+\.keras)$", out, re.MULTILINE).group(1)
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["settings"]["carry_state"] is True
    assert record["metrics"]["esr"] < record["start"]["esr"]
    assert gen.run([str(path), "song.raw", "--out", "again.raw", "--format", "s16le"]) == 0
    assert (tmp_path / "again.raw").read_bytes() == path.with_suffix(".raw").read_bytes()


def test_a_sweep_over_sliding_tcn_and_recurrent_names_each_kind(workdir, capsys):
    import sweep
    from neural_filter import study

    status = sweep.run(["--trials", "2", "--mode", "sliding,tcn,recurrent", "--layers", "2", "--units", "4",
                        "--batches", "8", "--samples", "4", "--activator", "tanh", "--optimiser", "adam",
                        "--epoches", "1", "--no-plot"])
    out = capsys.readouterr().out
    assert status == 0, out
    the_study = study.open_study(study.default_storage("models"), study.DEFAULT_STUDY, create=False)
    for trial in the_study.trials:
        assert trial.state.name == "COMPLETE", (trial.params, out)
        assert f"_{trial.params['mode']}_a" in trial.user_attrs["model"]
