"""fit.py and gen.py on Keras's other backends: the same commands, the same files.

Each backend runs in its own process (Keras picks its backend once, at import). A backend that is
not installed is skipped; CI installs JAX, so the JAX cases run there.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, make_training_files

BACKENDS = [
    pytest.param("jax", marks=pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")),
    pytest.param("torch", marks=pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")),
]


def run(script, arguments, cwd, backend):
    environment = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, str(ROOT / script), *arguments], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


# tcn: 4 layers make a window of 16; recurrent: one cell
@pytest.mark.parametrize("mode, layers", [("sliding", "2"), ("tcn", "4"), ("recurrent", "1")])
@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_and_gen_work_unchanged_on_another_backend(tmp_path, backend, mode, layers):
    make_training_files(tmp_path)
    fitted = run("fit.py", [layers, "8", "64", "tanh", "adam", "1", "16", "2", "--mode", mode, "--no-plot"],
                 tmp_path, backend)
    assert fitted.returncode == 0, fitted.stderr
    models = tmp_path / "models"
    (model,) = models.glob("*.keras")
    record = json.loads(model.with_suffix(".json").read_text())
    assert model.name == f"tanh_adam_{layers}_8_64_16_2_{mode}_a{record['metrics']['score']:+.1f}.keras"
    assert record["versions"]["backend"] == backend
    assert record["metrics"]["esr"] < record["metrics"]["dry_esr"]  # it learned something
    assert sorted(path.suffix for path in models.iterdir()) == [".csv", ".json", ".keras", ".raw"]

    rendered = run("gen.py", [str(model), "song.raw"], tmp_path, backend)
    assert rendered.returncode == 0, rendered.stderr
    assert (tmp_path / "outputs" / "song.raw").read_bytes() == model.with_suffix(".raw").read_bytes()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_knob_model_trains_and_renders_on_another_backend(tmp_path, backend):
    made = run("make_data.py", ["--cutoff", "300:3000", "--count", "3", "--seconds", "1", "--song-seconds", "0.1"],
               tmp_path, backend)
    assert made.returncode == 0, made.stderr
    fitted = run("fit.py", ["1", "8", "16", "tanh", "adam", "1", "64", "1", "--pairs", "pairs.csv", "--no-plot"],
                 tmp_path, backend)
    assert fitted.returncode == 0, fitted.stderr
    (model,) = (tmp_path / "models").glob("*.keras")
    assert json.loads(model.with_suffix(".json").read_text())["versions"]["backend"] == backend
    rendered = run("gen.py", [str(model), "song.raw", "--cutoff", "949"], tmp_path, backend)
    assert rendered.returncode == 0, rendered.stderr
    assert (tmp_path / "outputs" / "song.raw").read_bytes() == model.with_suffix(".raw").read_bytes()
