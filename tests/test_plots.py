"""Tests of neural_filter.plots: real PNG files from a realistic run, whatever the history holds."""

import subprocess
import sys

import numpy as np
import pytest

from neural_filter import plots, synth

RATE = 44100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KINDS = ("spectrum", "loss", "waveform")

pytestmark = pytest.mark.skipif(not plots.available(), reason="matplotlib is not installed")


@pytest.fixture(scope="module")
def run():
    """A second of noise through the default filter, predicted with 1% noise added: a fair model."""
    rng = np.random.default_rng(3)
    dry = synth.white_noise(1.0, RATE, rng)
    target = synth.audacity_lowpass(dry, 600, 6, RATE)
    return dry, target, target + 0.01 * rng.standard_normal(target.size)


@pytest.mark.parametrize("history", [
    {"loss": [0.02, 0.01, 0.005], "val_loss": [0.03, 0.012, 0.006]},  # training with validation
    {"loss": [0.02, 0.01, 0.005]},                                    # --val 0: no val_loss
    {"loss": [0.02]},                                                 # a single epoch
    {},                                                               # nothing recorded at all
])
def test_writes_three_pngs(tmp_path, run, history):
    paths = plots.write_plots(tmp_path / "model_a20.0", "model_a20.0, ESR -20.0 dB", RATE, *run, history)
    assert paths == [tmp_path / f"model_a20.0_{kind}.png" for kind in KINDS]
    for path in paths:
        content = path.read_bytes()
        assert content.startswith(PNG_SIGNATURE), path
        assert len(content) > 10_000, path  # axes, labels and curves, not a blank canvas
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # no temporaries left behind


def test_chunk_arrays_are_flattened(tmp_path, run):
    # chunk mode scores (chunks, window) arrays; 44100 samples are 4900 chunks of 9
    dry, target, prediction = (array.reshape(-1, 9) for array in run)
    paths = plots.write_plots(tmp_path / "chunks", "chunks", RATE, dry, target, prediction, {"loss": [0.1, 0.05]})
    assert all(path.read_bytes().startswith(PNG_SIGNATURE) for path in paths)


def test_overwrites_an_older_plot(tmp_path, run):
    stale = tmp_path / "model_loss.png"
    stale.write_bytes(b"old")
    plots.write_plots(tmp_path / "model", "model", RATE, *run, {"loss": [0.1]})
    assert stale.read_bytes().startswith(PNG_SIGNATURE)


def test_refuses_prediction_of_another_length(tmp_path, run):
    dry, target, prediction = run
    with pytest.raises(ValueError, match="samples"):
        plots.write_plots(tmp_path / "model", "model", RATE, dry, target, prediction[:-1], {})
    assert list(tmp_path.iterdir()) == []


def test_import_is_cheap():
    # fit.py imports the package before it knows whether it will plot: matplotlib waits until a plot is drawn
    code = "import sys, neural_filter.plots as p; assert p.available(); print('matplotlib.pyplot' in sys.modules, 'matplotlib.figure' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
