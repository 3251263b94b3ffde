"""Shared fixtures: a working directory holding a small training pair and a song, as fit.py expects.

The pair is the seed's recipe in miniature: white noise, and the same noise through Audacity's
low-pass at a high cutoff, both written as unsigned 8-bit raw files at 44.1 kHz.
"""

from pathlib import Path

import numpy as np
import pytest

from neural_filter import audio, synth

ROOT = Path(__file__).resolve().parents[1]  # fit.py, gen.py and clean.sh live here
RATE = 44100
TRAIN_SAMPLES = 44100  # one second: 4900 chunks of 9, 69 steps an epoch at batch 64
SONG_SAMPLES = 1001  # not a multiple of 9 (nor of 2 or 4): the render must still be exactly this long
CUTOFF = 8000.0  # Hz: a gentle filter, so two epochs already learn something


def make_training_files(directory: Path, samples: int = TRAIN_SAMPLES, song_samples: int = SONG_SAMPLES,
                        seed: int = 7) -> None:
    """Write train_x.raw, train_y.raw and song.raw (u8, no header) into `directory`."""
    rng = np.random.default_rng(seed)
    dry = synth.white_noise(samples / RATE, RATE, rng)
    audio.write_audio(directory / "train_x.raw", dry, "u8", RATE)
    audio.write_audio(directory / "train_y.raw", synth.audacity_lowpass(dry, CUTOFF, 6, RATE), "u8", RATE)
    audio.write_audio(directory / "song.raw", synth.white_noise(song_samples / RATE, RATE, rng), "u8", RATE)


@pytest.fixture(autouse=True)
def no_progress_lines(monkeypatch):
    """A slow machine must not add a log's progress line to output a test compares (test_progress.py tests them)."""
    from neural_filter import console

    monkeypatch.setattr(console, "PROGRESS_LINE_SECONDS", float("inf"))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh current directory with train_x.raw, train_y.raw and song.raw in it."""
    make_training_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """A fresh, empty current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line(text: str) -> str:
    """The single line of `text` (a script's stderr), failing unless there is exactly one."""
    lines = text.splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    return lines[0]


def leftovers(directory: Path) -> list[str]:
    """Temporary files an interrupted atomic write would leave (files.atomic_output's names)."""
    return sorted(str(path) for path in Path(directory).rglob("*.partial-*"))


def split(samples, sizes):
    """`samples` cut into blocks of the given sizes, repeated until it is used up."""
    blocks, start, index = [], 0, 0
    while start < len(samples):
        blocks.append(samples[start : start + sizes[index % len(sizes)]])
        start, index = start + sizes[index % len(sizes)], index + 1
    return blocks


def assert_keras_renders_what_numpy_does(model_path, samples, folder: Path, monkeypatch, rate: int = 44100) -> None:
    """A saved model renders `samples` through Keras, once neither engine knows its activation, as it does in NumPy."""
    from neural_filter import activations, model_file, numpy_activations, render

    audio.write_audio(folder / "song.raw", samples, "f32le", rate)
    render.render_file(model_path, folder / "song.raw", folder / "ours.raw", format="f32le")
    monkeypatch.delitem(activations.ACTIVATIONS, "tanh")  # neither engine knows it now
    monkeypatch.delitem(numpy_activations.ACTIVATIONS, "tanh")
    assert not model_file.load_network(model_path)[0].numpy_ready
    render.render_file(model_path, folder / "song.raw", folder / "keras.raw", format="f32le")
    ours, through_keras = (np.fromfile(folder / name, np.float32) for name in ("ours.raw", "keras.raw"))
    assert through_keras.shape == (len(samples),) and not np.array_equal(ours, through_keras)  # really another path
    np.testing.assert_allclose(through_keras, ours, rtol=0, atol=2e-5)
