"""neural_filter.legacy against a SavedModel directory written by Keras 2 itself.

The fixture is made by tf_keras in a subprocess (TF_USE_LEGACY_KERAS=1 must be set before
TensorFlow is imported, so it cannot be done in this process), the way the original project's
fit.py made its published models: compile, at least one fit step, model.save(dir).
"""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.special import erf

pytest.importorskip("tf_keras")

from neural_filter.errors import ModelFileError
from neural_filter.legacy import load_legacy_model

# The 2021 models were trained with the Keras 2 OptimizerV2 Adam ('adam' in TF <= 2.10), whose slot
# variables are what make tf.saved_model.load fail without tf_keras; tf_keras 2.21 calls it
# optimizers.legacy.Adam ('adam' there is the newer optimizer, saved differently).
SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    out = sys.argv[1]
    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(8, activation="tanh", input_dim=9),
        tf.keras.layers.Dense(8, activation="gelu"),
        tf.keras.layers.Dense(9),
    ])
    model.compile(tf.keras.optimizers.legacy.Adam(0.001), "mse")
    data = np.random.default_rng(2).random((64, 9)).astype(np.float32)
    model.fit(data, data, epochs=1, batch_size=16, verbose=0)
    model.save(out + "/model")
    x = np.random.default_rng(3).random((5, 9)).astype(np.float32) * 2 - 1
    np.save(out + "/x.npy", x)
    np.save(out + "/y.npy", model.predict(x, verbose=0))
    """
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("keras2")
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    env["CUDA_VISIBLE_DEVICES"] = ""  # CPU is enough, and keeps the numbers reproducible
    command = [sys.executable, "-c", SCRIPT, str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def forward(layers, x):
    """A plain numpy Dense stack, with Keras 2's exact (erf) gelu."""
    activations = {
        "tanh": np.tanh,
        "gelu": lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))),
        "linear": lambda v: v,
    }
    for kernel, bias, activation in layers:
        x = activations[activation](x.astype(np.float64) @ kernel + bias)
    return x


def test_reads_layers_and_window(saved):
    layers, window = load_legacy_model(saved / "model")
    assert window == 9
    assert [a for _, _, a in layers] == ["tanh", "gelu", "linear"]
    assert [k.shape for k, _, _ in layers] == [(9, 8), (8, 8), (8, 9)]
    assert [b.shape for _, b, _ in layers] == [(8,), (8,), (9,)]
    assert all(k.dtype == np.float32 and b.dtype == np.float32 for k, b, _ in layers)


def test_forward_pass_matches_keras2(saved):
    layers, _ = load_legacy_model(str(saved / "model"))
    expected = np.load(saved / "y.npy")
    np.testing.assert_allclose(forward(layers, np.load(saved / "x.npy")), expected, atol=1e-5)


def assert_model_file_error(path):
    with pytest.raises(ModelFileError) as caught:
        load_legacy_model(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def test_missing_path(tmp_path):
    assert "does not exist" in assert_model_file_error(tmp_path / "nowhere")


def test_file_not_directory(saved):
    assert "not a directory" in assert_model_file_error(saved / "x.npy")


def test_no_keras_metadata(saved, tmp_path):
    copy = shutil.copytree(saved / "model", tmp_path / "model")
    os.remove(copy / "keras_metadata.pb")
    assert "keras_metadata.pb" in assert_model_file_error(copy)


@pytest.mark.parametrize("garbage", [b"\xff" * 16, b"this is not a protobuf\n", "half", b""])
def test_corrupt_keras_metadata(saved, tmp_path, garbage):
    copy = shutil.copytree(saved / "model", tmp_path / "model")
    if garbage == "half":  # a file cut short in the middle of a field
        garbage = (copy / "keras_metadata.pb").read_bytes()[:700]
    (copy / "keras_metadata.pb").write_bytes(garbage)
    assert_model_file_error(copy)


def test_missing_variables(saved, tmp_path):
    copy = shutil.copytree(saved / "model", tmp_path / "model")
    shutil.rmtree(copy / "variables")
    assert "variables" in assert_model_file_error(copy)


def test_gen_renders_an_original_model_directory(saved, tmp_path, monkeypatch, capsys):
    import gen

    song = np.random.default_rng(4).integers(0, 256, 50, dtype=np.uint8)  # 50: not a multiple of 9
    song.tofile(tmp_path / "song.raw")
    monkeypatch.chdir(tmp_path)
    status = gen.run([str(saved / "model"), "song.raw", "9"])  # the README's command line
    assert status == 0, capsys.readouterr().err
    rendered = np.fromfile(tmp_path / "outputs" / "song.raw", np.uint8)
    # The original's levels: byte / 255 in, value * 255 out; the last chunk padded with silence (128).
    chunks = np.concatenate([song, np.full(4, 128, np.uint8)]).reshape(-1, 9) / 255.0
    layers, _ = load_legacy_model(saved / "model")
    expected = np.clip(np.rint(forward(layers, chunks).ravel()[:50] * 255), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(rendered, expected)


def test_gen_refuses_a_window_the_original_model_does_not_have(saved, tmp_path, monkeypatch, capsys):
    import gen

    np.zeros(20, np.uint8).tofile(tmp_path / "song.raw")
    monkeypatch.chdir(tmp_path)
    assert gen.run([str(saved / "model"), "song.raw", "18"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "samples 18" in error and "windows of 9" in error
    assert not (tmp_path / "outputs").exists()
