"""Every activation gen.py computes without Keras, in both engines (Numba's loops and plain NumPy),
against Keras's own, on the values a layer can see."""

import keras
import numpy as np
import pytest

from neural_filter import numpy_activations
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
