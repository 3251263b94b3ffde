"""Every activation gen.py computes in NumPy against Keras's own, on the values a layer can see."""

import keras
import numpy as np
import pytest

from neural_filter.activations import ACTIVATIONS

# Pre-activations from deep negative to deep positive, plus the exact zero and the kinks of relu6 etc.
VALUES = np.concatenate([np.linspace(-12, 12, 4001), [0.0, -3.0, 3.0, 6.0, -1e-7, 1e-7]]).astype(np.float32)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_numpy_activation_matches_keras(name):
    expected = np.asarray(keras.activations.get(name)(keras.ops.convert_to_tensor(VALUES)), dtype=np.float64)
    got = ACTIVATIONS[name](VALUES.copy())  # a copy: the functions may work in place
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)


def test_gelu_is_the_exact_gelu_not_the_tanh_approximation():
    x = np.float32([1.0])
    # exact: 0.5 * (1 + erf(1 / sqrt 2)) = 0.8413447; the tanh approximation gives 0.8411920
    assert abs(ACTIVATIONS["gelu"](x.copy())[0] - 0.8413447) < 1e-6
