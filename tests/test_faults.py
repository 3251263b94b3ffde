"""A fault battery (issue 22): fit.py and gen.py as real processes, killed, interrupted, out of space, racing.

After every fault, each file under a final name is whole (a `.keras` opens, a JSON parses, a
render has its full length, a picture ends), results.csv holds rows only for runs whose files
are all there, and the next run works and removes what the killed ones left half-written. The
kills land at seeded random moments of seeded random phases (training, saving, plots and
render), a few of them: the whole battery takes about a minute on two cores.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import ROOT, leftovers, make_training_files, one_line

from neural_filter import results
from neural_filter.model_file import load_network

MODEL = ROOT / "models" / "lowpass_600hz_6db" / "tanh_adam_6_32_32_64_40_sliding_a32.3.keras"  # shipped
SONG_SAMPLES = 3000  # the fit runs' song
FIT = ["2", "8", "64", "tanh", "adam", "0", "9", "2", "--learning-rate", "0.01", "--song", "song.raw"]
RATE = 44100


def start(script: str, arguments, cwd: Path, log: Path, limit_bytes: int | None = None) -> subprocess.Popen:
    """A script as a user starts it, unbuffered, its stdout and stderr into `log` (read while it runs)."""

    def prepared():
        # Ctrl-C as from a terminal, however the suite was started: a shell's background job (`cmd &`) ignores
        # SIGINT, and its children inherit that (measured: gen.py then finished its render, exit 0, not 130)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if limit_bytes:  # a full disk without root: writes past `limit_bytes` fail with EFBIG, not a signal
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    # as from a terminal: importing Keras in this process may have set TF_CPP_MIN_LOG_LEVEL to 1
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.Popen([sys.executable, "-u", str(ROOT / script), *map(str, arguments)], cwd=cwd,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=environment,
                            preexec_fn=prepared)


def finish(script: str, arguments, cwd: Path, limit_bytes: int | None = None) -> tuple[int, str]:
    log = cwd / f"{script}.log"
    process = start(script, arguments, cwd, log, limit_bytes)
    return process.wait(), log.read_text()


def wait_for(condition, process: subprocess.Popen) -> bool:
    """Poll until `condition()` holds (True) or the process ends first (False)."""
    while not condition():
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    return True


def assert_whole(models: Path) -> None:
    """Every file under a final name in `models` is whole; each results.csv row's model has its files."""
    for path in models.iterdir():
        if path.name.startswith("."):
            continue  # a killed run's temporary: never a final name
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                assert archive.testzip() is None, path
            load_network(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".raw":
            assert path.stat().st_size == SONG_SAMPLES, path  # u8: one byte a sample
        elif path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82"), path

    def damaged(error):
        raise AssertionError(f"damaged row: {error}")

    if (models / "results.csv").exists():
        for row in results.read_results(models / "results.csv", skip=damaged):
            assert (models / f"{row['model']}.keras").is_file() and (models / f"{row['model']}.raw").is_file(), row


# --- fit.py ---------------------------------------------------------------------------------------


def test_fit_killed_or_interrupted_anywhere_leaves_only_whole_files(tmp_path):
    make_training_files(tmp_path, samples=8000, song_samples=SONG_SAMPLES)
    models, log = tmp_path / "models", tmp_path / "fit.log"
    rng = np.random.default_rng(22)
    phases = {  # where a kill lands: what shows the run has got there
        "training": lambda: "Epoch 1/" in log.read_text(),
        "saving": lambda: any(".partial-" in path.name for path in models.glob(".*")) if models.exists() else False,
        "plots and render": lambda: any(models.glob("*.keras")) if models.exists() else False,
    }
    for kill in range(2):
        phase = list(phases)[rng.integers(len(phases))]
        process = start("fit.py", FIT, tmp_path, log)
        if wait_for(phases[phase], process):
            time.sleep(rng.uniform(0.0, 0.3))
        process.kill()
        process.wait()
        if models.exists():
            assert_whole(models)
            for model in models.glob("*.keras"):  # a model whose run was killed: its row is not written
                model.unlink()

    process = start("fit.py", FIT, tmp_path, log)  # Ctrl-C in training: the best weights so far are saved
    assert wait_for(phases["training"], process)
    process.send_signal(signal.SIGINT)
    assert process.wait() == 0, log.read_text()
    assert "training was interrupted" in log.read_text()
    assert_whole(models)

    status, output = finish("fit.py", FIT, tmp_path)  # the next run works, and cleans what the killed ones left
    assert status == 0, output
    assert_whole(models)
    assert leftovers(tmp_path) == []
    assert len(results.read_results(models / "results.csv")) == 2


# --- gen.py ---------------------------------------------------------------------------------------


@pytest.fixture
def long_song(tmp_path):
    """A 30-second 16-bit WAV song, an older render of it in out.wav, and the render gen.py gives."""
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, 30 * RATE).astype(np.float32)
    soundfile.write(tmp_path / "song.wav", noise, RATE, subtype="PCM_16")
    (tmp_path / "out.wav").write_bytes(b"an older render")
    return tmp_path


def test_gen_killed_anywhere_keeps_the_older_output_then_replaces_it_whole(long_song):
    folder, log = long_song, long_song / "gen.log"
    rng = np.random.default_rng(22)
    for kill in range(4):
        process = start("gen.py", [MODEL, "song.wav", "--out", "out.wav", "--quiet"], folder, log)
        time.sleep(rng.uniform(0.2, 2.0))
        process.kill()
        process.wait()
        assert (folder / "out.wav").read_bytes() == b"an older render" or \
            len(soundfile.read(folder / "out.wav")[0]) == 30 * RATE
    status, output = finish("gen.py", [MODEL, "song.wav", "--out", "out.wav", "--quiet"], folder)
    assert status == 0, output
    assert len(soundfile.read(folder / "out.wav")[0]) == 30 * RATE
    assert leftovers(folder) == []


def test_gen_interrupted_while_rendering_writes_nothing(long_song):
    folder, log = long_song, long_song / "gen.log"
    # ten minutes of song: the render outlasts the moment between its temporary appearing and the signal, however
    # loaded the machine (the 30 s song rendered whole before a SIGINT arrived, once, under load 8)
    noise = np.random.default_rng(4).uniform(-0.5, 0.5, 600 * RATE).astype(np.float32)
    soundfile.write(folder / "song.wav", noise, RATE, subtype="PCM_16")
    process = start("gen.py", [MODEL, "song.wav", "--out", "out.wav", "--quiet"], folder, log)
    assert wait_for(lambda: leftovers(folder) != [], process)  # the render has begun: its temporary is there
    process.send_signal(signal.SIGINT)
    assert process.wait() == 130
    assert one_line(log.read_text()) == "gen.py: interrupted; nothing was written"
    assert (folder / "out.wav").read_bytes() == b"an older render"
    assert leftovers(folder) == []


def test_two_gens_writing_one_output_at_once(tmp_path):
    """One wins whole; the other is whole too, or refused: never a mix of the two."""
    for name, seconds in (("a.wav", 3), ("b.wav", 4)):
        noise = np.random.default_rng(seconds).uniform(-0.5, 0.5, seconds * RATE).astype(np.float32)
        soundfile.write(tmp_path / name, noise, RATE, subtype="PCM_16")
    renders = {}
    for name in ("a.wav", "b.wav"):
        assert finish("gen.py", [MODEL, name, "--out", f"alone_{name}", "--quiet"], tmp_path)[0] == 0
        renders[name] = (tmp_path / f"alone_{name}").read_bytes()
    racers = [start("gen.py", [MODEL, name, "--out", "out.wav", "--quiet"], tmp_path, tmp_path / f"{name}.log")
              for name in ("a.wav", "b.wav")]
    statuses = [racer.wait() for racer in racers]
    assert statuses.count(0) >= 1 and set(statuses) <= {0, 2}
    assert (tmp_path / "out.wav").read_bytes() in renders.values()
    assert leftovers(tmp_path) == []


# --- a full disk --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.raw", "out.wav", "out.flac", "out.mp3"])
def test_gen_past_the_file_size_limit_is_one_line_naming_the_cause(long_song, name):
    folder = long_song
    (folder / name).write_bytes(b"an older render")
    status, output = finish("gen.py", [MODEL, "song.wav", "--out", name, "--quiet"], folder, limit_bytes=100_000)
    assert status == 2
    assert one_line(output) == (f"gen.py: {name}: cannot be written: it would be larger than a file may be here; "
                                "write it to another disk, or raise the file size limit")
    assert (folder / name).read_bytes() == b"an older render"
    assert leftovers(folder) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 256 kB tmpfs, where the tests run as root and may mount one; skipped elsewhere."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = os.geteuid() == 0 and shutil.which("mount") and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (not root, or no permission)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.parametrize("name", ["out.raw", "out.wav", "out.aiff"])
def test_gen_onto_a_full_disk_says_no_space(long_song, small_disk, name):
    out = small_disk / name
    status, output = finish("gen.py", [MODEL, "song.wav", "--out", out, "--quiet"], long_song)
    assert status == 2
    assert one_line(output) == (f"gen.py: {out}: cannot be written: no space is left on its disk; free some space, "
                                "or write it to another disk")
    assert list(small_disk.iterdir()) == []


def test_gen_onto_a_read_only_disk_says_read_only(long_song, small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    out = small_disk / "out.wav"
    status, output = finish("gen.py", [MODEL, "song.wav", "--out", out, "--quiet"], long_song)
    assert status == 2
    assert one_line(output) == f"gen.py: {out}: cannot be written: its file system is read-only; write it to another folder"


# --- sweep.py ---------------------------------------------------------------------------------------


def test_sweep_with_a_storage_where_nothing_listens_is_one_line(tmp_path):
    make_training_files(tmp_path, samples=8000, song_samples=SONG_SAMPLES)
    url = "postgresql://sweep@127.0.0.1:1/sweeps"  # port 1: nothing listens there
    status, output = finish("sweep.py", ["--storage", url, "--trials", "1"], tmp_path)
    assert status == 2
    assert one_line(output).startswith(f"sweep.py: --storage {url}: cannot be opened")
    assert not (tmp_path / "models").exists()
