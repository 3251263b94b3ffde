"""neural_filter.model, network and render: the Keras models fit.py builds, the optimisers it names,
and the NumPy forward pass gen.py renders with, which must give Keras's own numbers."""

import dataclasses
import json
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import fit
from conftest import assert_keras_renders_what_numpy_does
from neural_filter import model, model_file, network, render
from neural_filter.errors import ArgumentError, DataError
from neural_filter.spec import FilterSpec


def same_activation(saved, asked):
    """Keras saves some activations under another name of the same function (swish as silu)."""
    return keras.activations.get(saved) is keras.activations.get(asked)


@pytest.mark.parametrize("window, layers, units, activation", [
    (9, 6, 32, "gelu"),  # fit.py's defaults
    (9, 6, 32, "tanh"),  # the README's example
    (5, 0, 4, "relu"),  # no extra layers: one hidden Dense
    (36, 1, 64, "selu"),  # the largest published window
    (1, 2, 1, "swish"),  # one sample, one unit
])
def test_chunk_model_shape(window, layers, units, activation):
    built = model.build_model(FilterSpec(window=window), layers, units, activation)
    dense = [layer for layer in built.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == len(built.layers) == layers + 2
    assert built.input_shape == (None, window) and built.output_shape == (None, window)
    for index, layer in enumerate(dense[:-1]):
        assert (layer.name, layer.units) == (f"hidden_{index}", units)
        assert same_activation(layer.get_config()["activation"], activation)
    output = dense[-1]
    assert (output.name, output.units, output.get_config()["activation"]) == ("output", window, "linear")
    expected = (window * units + units) + layers * (units * units + units) + (units * window + window)
    assert built.count_params() == expected


# name -> class, starting learning rate, momentum, nesterov: the original's choices
ORIGINAL_OPTIMISERS = {
    "adam": ("Adam", 0.001, None, None),
    "sgd": ("SGD", 0.3, 0.0, False),  # decays 10x over epochs * window steps (below)
    "momentum": ("SGD", 0.01, 0.9, False),
    "nesterov": ("SGD", 0.01, 0.9, True),
    "nadam": ("Nadam", 0.001, None, None),
    "adagrad": ("Adagrad", 0.001, None, None),
    "rmsprop": ("RMSprop", 0.001, None, None),
    "adadelta": ("Adadelta", 0.001, None, None),
    "adamax": ("Adamax", 0.001, None, None),
    "ftrl": ("Ftrl", 0.001, None, None),
}


def test_the_ten_original_optimisers_are_offered():
    assert sorted(model.OPTIMISERS) == sorted(ORIGINAL_OPTIMISERS)


@pytest.mark.parametrize("name", list(ORIGINAL_OPTIMISERS))
def test_optimiser_has_the_original_settings(name):
    class_name, rate, momentum, nesterov = ORIGINAL_OPTIMISERS[name]
    optimiser = model.make_optimiser(name, epochs=64, window=9)
    assert type(optimiser).__name__ == class_name
    assert float(keras.ops.convert_to_numpy(optimiser.learning_rate)) == pytest.approx(rate, rel=1e-6)
    if momentum is not None:
        assert (optimiser.momentum, optimiser.nesterov) == (momentum, nesterov)


@pytest.mark.parametrize("epochs, window", [
    (64, 9),  # defaults: 576 decay steps
    (32, 36),  # 1152
])
def test_sgd_decays_like_the_original(epochs, window):
    schedule = model.make_optimiser("sgd", epochs, window)._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.ExponentialDecay)
    config = schedule.get_config()
    assert (config["initial_learning_rate"], config["decay_steps"], config["decay_rate"], config["staircase"]) == (
        0.3, epochs * window, 0.1, False)
    assert float(schedule(epochs * window)) == pytest.approx(0.03)


@pytest.mark.parametrize("name", ["adam", "sgd", "ftrl"])  # a float rate, a schedule, and the last one
def test_learning_rate_option_replaces_the_original(name):
    optimiser = model.make_optimiser(name, 64, 9, learning_rate=0.0625)
    assert float(keras.ops.convert_to_numpy(optimiser.learning_rate)) == 0.0625


@pytest.mark.parametrize("activation", ["tanh", "gelu", "relu", "selu", "swish", "elu", "sigmoid", "softsign"])
def test_activation_builds(activation):
    assert model.check_activation(activation) == activation
    model.build_model(FilterSpec(window=9), 1, 4, activation)


@pytest.mark.parametrize("check, name, message", [
    (model.check_activation, "nosuchact", "activator 'nosuchact': not a Keras activation"),  # unknown
    (model.check_activation, "Tanh", "activator 'Tanh': not a Keras activation"),  # names are lower case
    (model.check_optimiser, "adamw", "optimiser 'adamw': unknown; use one of adam, sgd,"),  # not an original one
    (model.check_optimiser, "", "optimiser '': unknown"),  # empty
])
def test_unknown_names_are_refused(check, name, message):
    with pytest.raises(ArgumentError) as caught:
        check(name)
    # the error names the package's option; fit.py words it with the original's name for it
    assert (caught.value.option, caught.value.value) == (check.__name__.removeprefix("check_"), repr(name))
    worded = caught.value.worded(lambda option: fit.SPELLING[option])
    assert worded.startswith(message) and "\n" not in worded


# --- NumPy rendering agrees with Keras ---------------------------------------------------------


def randomised(built, seed):
    """Weights large enough that every activation works away from its linear middle."""
    rng = np.random.default_rng(seed)
    for layer in built.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            fan_in = int(np.prod(kernel.shape[:-1]))
            layer.set_weights([rng.normal(0, 1.5 / np.sqrt(fan_in), kernel.shape).astype(np.float32),
                               rng.normal(0, 0.5, bias.shape).astype(np.float32)])
    return built


def saved(built, spec, path):
    model_file.save_model(built, path, {"spec": dataclasses.asdict(spec)})
    return path


def song(count, seed=3):
    return np.random.default_rng(seed).uniform(-1, 1, count).astype(np.float32)


RENDER_ACTIVATIONS = ["tanh", "gelu", "relu", "selu", "swish", "sigmoid", "elu", "softplus"]


@pytest.mark.parametrize("activation", RENDER_ACTIVATIONS)
def test_chunk_render_equals_keras(tmp_path, activation):
    spec = FilterSpec(mode="chunk", window=9, levels="unit")
    built = randomised(model.build_model(spec, 2, 16, activation), seed=len(activation))
    stack, loaded_spec, record = model_file.load_network(saved(built, spec, tmp_path / "m.keras"))
    assert loaded_spec == spec and record["spec"] == dataclasses.asdict(spec)
    assert stack.numpy_ready and stack.layers[-1].activation == "linear" and len(stack.layers) == 4
    assert all(same_activation(layer.activation, activation) for layer in stack.layers[:-1])

    samples = song(1000)  # 111 chunks and one sample: the last chunk is padded with silence
    scale, offset = spec.scale_offset
    padded = np.full(112 * 9, offset, np.float32)
    padded[:1000] = samples * scale + offset
    expected = (built.predict(padded.reshape(112, 9), verbose=0).reshape(-1)[:1000] - offset) / scale

    rendered = render.render(stack, spec, samples)
    assert rendered.shape == (1000,) and rendered.dtype == np.float32
    np.testing.assert_allclose(rendered, expected, rtol=0, atol=2e-5)


@pytest.mark.parametrize("activation, align", [
    ("tanh", "causal"),  # output at the window's last sample
    ("gelu", "causal"),
    ("relu", "centre"),  # output at the window's centre
    ("swish", "centre"),
])
def test_sliding_render_equals_keras(tmp_path, activation, align):
    spec = FilterSpec(mode="sliding", window=8, align=align, levels="signed")
    built = randomised(model.build_model(spec, 2, 8, activation, linear_path=True), seed=11)
    stack, loaded_spec, _ = model_file.load_network(saved(built, spec, tmp_path / "s.keras"))
    assert loaded_spec == spec and stack.linear_path is not None

    samples = song(777)
    before, after = spec.padding
    assert before + after == spec.window - 1 and before == (7 if align == "causal" else 3)
    padded = np.concatenate([np.zeros(before, np.float32), samples, np.zeros(after, np.float32)])
    expected = built.predict(padded[None, :, None], verbose=0).reshape(-1)
    assert expected.shape == (777,)

    rendered = render.render(stack, spec, samples)
    assert rendered.shape == (777,)
    np.testing.assert_allclose(rendered, expected, rtol=0, atol=2e-5)


@pytest.mark.parametrize("bias, byte", [
    (10.0, 255),  # far above full scale: every byte clipped to the top
    (-10.0, 0),  # far below: clipped to the bottom, not wrapped
])
def test_render_file_clips(tmp_path, bias, byte):
    spec = FilterSpec(mode="chunk", window=4)
    built = model.build_model(spec, 0, 2, "tanh")
    output = built.get_layer("output")
    kernel, _ = output.get_weights()
    output.set_weights([np.zeros_like(kernel), np.full(4, bias, np.float32)])
    path = saved(built, spec, tmp_path / "m.keras")
    (tmp_path / "song.raw").write_bytes(bytes(range(0, 250, 5)))  # 50 samples, not a multiple of 4
    stats = render.render_file(path, tmp_path / "song.raw", tmp_path / "out.raw")
    assert (tmp_path / "out.raw").read_bytes() == bytes([byte]) * 50
    assert stats["samples"] == 50


def test_identity_model_renders_every_byte_back(tmp_path):
    """A chunk model whose output is its input: u8 in, the same u8 out, so levels and rounding are exact."""
    spec = FilterSpec(mode="chunk", window=4)
    built = model.build_model(spec, 0, 4, "relu")
    built.get_layer("hidden_0").set_weights([np.eye(4, dtype=np.float32), np.zeros(4, np.float32)])
    built.get_layer("output").set_weights([np.eye(4, dtype=np.float32), np.zeros(4, np.float32)])
    path = saved(built, spec, tmp_path / "m.keras")
    data = bytes(range(256)) + bytes([7, 200, 0])  # 259 samples: a padded last chunk
    (tmp_path / "song.raw").write_bytes(data)
    render.render_file(path, tmp_path / "song.raw", tmp_path / "out.raw")
    assert (tmp_path / "out.raw").read_bytes() == data


def random_dense(rng, inputs, outputs, activation):
    return network.Dense(rng.normal(0, 1 / np.sqrt(inputs), (inputs, outputs)).astype(np.float32),
                         rng.normal(0, 0.3, outputs).astype(np.float32), activation)


@pytest.mark.parametrize("hidden, output, linear_path", [
    (2, True, False),  # chunk: hidden layers and a linear output layer
    (2, True, True),  # sliding: the stack plus a linear path, summed
    (0, True, False),  # one layer, reading the input and writing the output
    (0, True, True),  # the same beside a linear path
    (0, False, True),  # a linear path alone (fir.fir_network)
])
def test_levels_folded_into_the_weights_give_the_same_numbers(hidden, output, linear_path):
    """on_full_scale moves `x * scale + offset` in and `(y - offset) / scale` out into the weights."""
    rng = np.random.default_rng(4)
    widths = [6] + [5] * hidden
    layers = [random_dense(rng, inputs, outputs, activation)
              for inputs, outputs, activation in zip(widths, widths[1:], ["tanh", "gelu"])]
    layers += [random_dense(rng, widths[-1], 1, "linear")] if output else []
    stack = network.DenseStack(layers, random_dense(rng, 6, 1, "linear") if linear_path else None)
    spec = FilterSpec(mode="sliding", window=6, levels="unit")
    scale, offset = (np.float32(value) for value in spec.scale_offset)
    assert (scale, offset) != (1, 0)
    rows = rng.uniform(-1, 1, (300, 6)).astype(np.float32)
    expected = (stack(rows * scale + offset) - offset) / scale
    np.testing.assert_allclose(stack.on_full_scale(spec)(rows), expected, rtol=0, atol=2e-6)


def test_levels_cannot_be_folded_into_a_nonlinear_output_layer():
    stack = network.DenseStack([random_dense(np.random.default_rng(5), 6, 1, "tanh")])
    with pytest.raises(ValueError, match="the output layer is tanh"):
        stack.on_full_scale(FilterSpec(mode="sliding", window=6, levels="unit"))


def test_a_rows_function_gets_the_levels_applied_around_it():
    """The Keras fallback is not a DenseStack: render maps the levels around it instead."""
    seen = []

    def identity(rows, first_row=0):  # a rows function: where the rows are does not matter to it
        seen.append(rows.copy())
        return rows

    samples = song(1000)
    spec = FilterSpec(mode="chunk", window=9, levels="unit")
    np.testing.assert_allclose(render.render(identity, spec, samples), samples, rtol=0, atol=1e-6)
    inputs = np.concatenate(seen).reshape(-1)[:1000]
    np.testing.assert_allclose(inputs, samples * np.float32(128 / 255) + np.float32(128 / 255), rtol=0, atol=1e-6)


def test_an_activation_only_keras_knows_renders_through_keras(tmp_path, monkeypatch):
    """The fallback: a model whose activation has no NumPy version renders through Keras's predict."""

    spec = FilterSpec(mode="sliding", window=8, levels="unit")
    built = randomised(model.build_model(spec, 1, 8, "tanh", linear_path=True), seed=9)
    path = saved(built, spec, tmp_path / "m.keras")
    assert_keras_renders_what_numpy_does(path, song(3000), tmp_path, monkeypatch)


def test_a_model_ending_in_a_nonlinear_layer_is_refused(tmp_path):
    spec = FilterSpec(mode="chunk", window=4)
    built = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "tanh", name="hidden_0"),
                              keras.layers.Dense(4, "tanh", name="output")])
    path = saved(built, spec, tmp_path / "m.keras")
    with pytest.raises(DataError) as caught:
        model_file.load_network(path)
    assert str(caught.value) == f"{path}: ends in a tanh layer, not a linear one; render a model trained by fit.py"


def test_saved_model_carries_its_record(tmp_path):
    spec = FilterSpec(mode="chunk", window=5, rate=22050)
    record = {"spec": dataclasses.asdict(spec), "note": "anything"}
    path = tmp_path / "m.keras"
    model_file.save_model(model.build_model(spec, 0, 2, "tanh"), path, record)
    assert model_file.read_record(path) == record
    assert json.loads(path.with_suffix(".json").read_text()) == record
    with zipfile.ZipFile(path) as archive:
        assert {"config.json", "model.weights.h5", model_file.SPEC_ENTRY} <= set(archive.namelist())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]


def test_failed_save_leaves_nothing(tmp_path):
    class BreaksMidway:
        def save(self, path):
            path.write_bytes(b"PK half a zip")
            raise OSError("disk full")

    path = tmp_path / "m.keras"
    path.write_bytes(b"an older model")
    with pytest.raises(DataError) as caught:
        model_file.save_model(BreaksMidway(), path, {"spec": {}})
    assert str(caught.value) == f"{path}: cannot be written (disk full); check that its folder can be created and written to"
    assert path.read_bytes() == b"an older model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


# --- sliding mode's start (issue #11) -----------------------------------------------------------


@pytest.mark.parametrize("bias_start", [0.0, 0.5])
def test_sliding_hidden_biases_start_as_asked(bias_start):
    keras.utils.set_random_seed(1)
    built = model.build_model(FilterSpec(mode="sliding", window=8), 2, 16, "tanh", True, bias_start=bias_start)
    biases = [built.get_layer(f"hidden_{index}").get_weights()[1] for index in range(3)]
    for bias in biases:
        assert np.all(np.abs(bias) <= bias_start)
    if bias_start:  # random, and a fresh draw for every layer (a shared initializer would repeat one)
        assert np.std(biases[0]) > 0.1 and not np.array_equal(biases[0], biases[1])
    else:
        assert all(not bias.any() for bias in biases)
    assert not built.get_layer("output").get_weights()[1].any()  # the output layer is not a hidden one


@pytest.mark.parametrize("name, learning_rate, start", [
    ("adam", None, 3e-3),  # sliding mode's own start for Adam
    ("adam", 0.01, 0.01),  # --learning-rate wins
    ("nadam", None, 1e-3),  # the original's rate, decayed
])
def test_sliding_rate_decays_along_a_cosine(name, learning_rate, start):
    optimiser = model.make_optimiser(name, 10, 64, learning_rate, steps=100)
    schedule = optimiser.learning_rate if callable(optimiser.learning_rate) else optimiser._learning_rate
    assert float(schedule(0)) == pytest.approx(start)
    assert float(schedule(50)) == pytest.approx(start / 2, rel=1e-5)  # half way: half the rate
    assert float(schedule(100)) == pytest.approx(0, abs=1e-12)


def test_without_steps_the_rate_is_the_originals_constant():
    assert float(model.make_optimiser("adam", 10, 64).learning_rate) == pytest.approx(1e-3)
