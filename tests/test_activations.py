"""Every activation gen.py computes without Keras, in both engines (the compiled loop and plain NumPy),
against Keras's own, on the values a layer can see; and how the compiled loop is cached and loaded."""

import concurrent.futures
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT

from neural_filter import activation_loop, activations, numpy_activations
from neural_filter.activations import ACTIVATIONS

ENGINES = {"compiled": ACTIVATIONS, "numpy": numpy_activations.ACTIVATIONS}

# Pre-activations from deep negative to deep positive, plus the exact zero and the kinks of relu6 etc.
VALUES = np.concatenate([np.linspace(-12, 12, 4001), [0.0, -3.0, 3.0, 6.0, -1e-7, 1e-7]]).astype(np.float32)
# As a layer's output: 37 units of 109 rows each, which the compiled loops take mostly in vector
# registers and the last few one by one.
UNITS = 37
LAYER = np.resize(VALUES, (UNITS, len(VALUES) // UNITS + 1))
BIAS = np.random.default_rng(0).uniform(-1, 1, UNITS).astype(np.float32)


def test_both_engines_know_the_same_activations():
    assert sorted(ACTIVATIONS) == sorted(numpy_activations.ACTIVATIONS)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_keras(engine, name):
    product = LAYER - BIAS[:, None]  # what the matrix product gave; the layer adds the bias back
    pre_activation = product + BIAS[:, None]
    expected = np.asarray(keras.activations.get(name)(keras.ops.convert_to_tensor(pre_activation)), np.float64)
    got = ENGINES[engine][name](product.copy(), BIAS)  # a copy: they work in place
    assert got.dtype == np.float32 and got.shape == LAYER.shape
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_of_a_value_does_not_depend_on_its_place(engine, name):
    ACTIVATIONS = ENGINES[engine]
    # Rendering in blocks must give the same bytes: a value taken in vector registers and the same
    # value alone (scalar code) must come out the same.
    alone = ACTIVATIONS[name](LAYER.reshape(-1, 1).copy(), np.zeros(LAYER.size, np.float32))
    in_one_run = ACTIVATIONS[name](LAYER.reshape(1, -1).copy(), np.zeros(1, np.float32))
    in_a_layer = ACTIVATIONS[name](LAYER.copy(), np.zeros(UNITS, np.float32))
    assert alone.tobytes() == in_one_run.tobytes() == in_a_layer.tobytes()


def test_gelu_is_the_exact_gelu_not_the_tanh_approximation():
    x = np.float32([[1.0]])
    # exact: 0.5 * (1 + erf(1 / sqrt 2)) = 0.8413447; the tanh approximation gives 0.8411920
    assert abs(ACTIVATIONS["gelu"](x, np.zeros(1, np.float32))[0, 0] - 0.8413447) < 1e-6


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "relu", "silu"])
def test_compiled_activations_keep_nan_and_saturate(engine, name):
    x = np.float32([[np.nan, -1e30, -100.0, 100.0, 1e30, 0.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        got = ENGINES[engine][name](x.copy(), np.zeros(1, np.float32))
    assert np.isnan(got[0, 0])
    expected = {"tanh": [-1, -1, 1, 1, 0], "sigmoid": [0, 0, 1, 1, 0.5], "gelu": [0, 0, 100, 1e30, 0],
                "relu": [0, 0, 100, 1e30, 0], "silu": [0, 0, 100, 1e30, 0]}[name]
    np.testing.assert_array_equal(got[0, 1:], np.float32(expected))


def test_a_layer_in_another_memory_order_is_activated_alike():
    product = LAYER - BIAS[:, None]
    wanted = ACTIVATIONS["gelu"](product.copy(), BIAS)
    np.testing.assert_array_equal(ACTIVATIONS["gelu"](np.asfortranarray(product), BIAS), wanted)
    np.testing.assert_array_equal(ACTIVATIONS["gelu"](product.astype(np.float64), BIAS), wanted)


def test_threads_run_the_compiled_loop_at_once():
    """render's threads call it together (ctypes lets go of the GIL); each call has its own return slot."""
    layers = [np.random.default_rng(seed).uniform(-6, 6, (32, 4096)).astype(np.float32) for seed in range(2)]
    bias = np.full(32, 0.25, np.float32)

    def activate_often(layer):
        layer = layer.copy()
        for _ in range(1000):
            ACTIVATIONS["gelu"](layer, bias)
        return layer

    wanted = [activate_often(layer) for layer in layers]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for got, expected in zip(pool.map(activate_often, layers), wanted):
            np.testing.assert_array_equal(got, expected)


def test_the_compiled_engine_starts_without_numba():
    """The machine code comes from the cache (compiled here first if need be): Numba stays out of gen.py."""
    ACTIVATIONS["tanh"](LAYER.copy(), BIAS)
    check = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
import numpy as np
from neural_filter.activations import ACTIVATIONS
print(ACTIVATIONS["tanh"](np.float32([[0.5]]), np.float32([0.25]))[0, 0], "numba" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", check], check=True, capture_output=True, text=True)
    assert done.stdout.split() == [str(np.tanh(np.float32(0.75))), "False"]


def test_the_loop_is_compiled_once_then_read_from_the_cache(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(activation_loop, "machine_code", lambda target_machine: compiled.append(1) or b"object code")
    (tmp_path / "not a folder").write_text("")  # the first folder cannot be written: the next one is used
    monkeypatch.setattr(activations, "_cache_folders", lambda: [tmp_path / "not a folder", tmp_path / "user"])
    target_machine = activations._target_machine()
    assert activations._machine_code(target_machine) == b"object code" and len(compiled) == 1
    assert activations._machine_code(target_machine) == b"object code" and len(compiled) == 1  # from the file
    (cached,) = (tmp_path / "user").iterdir()
    cached.write_bytes(cached.read_bytes()[:-1])  # damaged: LLVM would crash on it, so it is compiled again
    assert activations._machine_code(target_machine) == b"object code" and len(compiled) == 2
    assert activations._read_checked(cached) == b"object code"  # and rewritten


def test_no_writable_cache_folder_compiles_every_time(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(activation_loop, "machine_code", lambda target_machine: compiled.append(1) or b"object code")
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(activations, "_cache_folders", lambda: [tmp_path / "file"])
    for _ in range(2):
        assert activations._machine_code(activations._target_machine()) == b"object code"
    assert len(compiled) == 2


def test_editing_the_loop_compiles_it_again(tmp_path, monkeypatch):
    target_machine = activations._target_machine()
    key = activations._build_key(target_machine)
    assert activations._build_key(target_machine) == key  # the same build: the same file
    edited = tmp_path / "activation_loop.py"
    edited.write_bytes(activations.SOURCE.read_bytes() + b"\n# edited\n")
    monkeypatch.setattr(activations, "SOURCE", edited)
    assert activations._build_key(target_machine) != key
