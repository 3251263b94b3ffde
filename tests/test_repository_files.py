"""The files around the scripts: sweep.sh runs the mode that learns, and .gitignore covers what the
scripts write (but not the shipped models), checked by git itself in a scratch repository.

sweep.sh runs with a stand-in `python3` on the PATH that records its command lines, so the test
checks what the sweep asks for without training nine models.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest
from scipy.io import wavfile

from conftest import ROOT

import make_data

# --- sweep.sh ------------------------------------------------------------------------------------

RUNS = [f"fit.py 6 32 32 {activation} {optimiser} 1 64 16 --mode sliding"
        for activation in ("tanh", "gelu", "relu") for optimiser in ("adam", "nadam", "rmsprop")]


def sweep(tmp_path, pair: bool = True, failing: str = ""):
    """sweep.sh in a folder (with a pair, or without), its python3 a stand-in that logs its arguments and fails
    for the runs whose line holds `failing`: (the finished process, the logged command lines)."""
    tools, work, log = tmp_path / "tools", tmp_path / "work", tmp_path / "calls.txt"
    tools.mkdir()
    work.mkdir()
    (tools / "python3").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n'
                                   + (f'case "$*" in *"{failing}"*) exit 1;; esac\n' if failing else ""))
    (tools / "python3").chmod(0o755)
    if pair:
        for name in ("train_x.raw", "train_y.raw"):
            (work / name).write_bytes(b"\x80")
    result = subprocess.run(["sh", str(ROOT / "sweep.sh")], cwd=work, capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"})
    return result, (log.read_text().splitlines() if log.exists() else [])


def test_sweep_trains_nine_sliding_models_then_ranks_them(tmp_path):
    result, calls = sweep(tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert calls == [*RUNS, "report.py --top 5"]
    assert result.stdout.splitlines()[:2] == ["== tanh adam", "== tanh nadam"]


def test_sweep_without_a_pair_says_what_to_run(tmp_path):
    result, calls = sweep(tmp_path, pair=False)
    assert (result.returncode, result.stdout, calls) == (2, "", [])
    assert result.stderr == "sweep.sh: train_x.raw and train_y.raw are missing here; run python3 make_data.py first\n"


def test_a_failed_run_is_named_and_the_sweep_goes_on(tmp_path):
    result, calls = sweep(tmp_path, failing="gelu nadam")
    assert (result.returncode, result.stderr) == (1, "sweep.sh: these runs failed: gelu/nadam\n")
    assert calls == [*RUNS, "report.py --top 5"]  # every run, then the ranking


# --- .gitignore ----------------------------------------------------------------------------------

SHIPPED = ["models/make_shipped_models.sh",  # the shipped models, and one more a user re-makes or adds
           "models/lowpass_600hz_6db/tanh_adam_6_32_32_64_40_sliding_a32.3.keras",
           "models/lowpass_600hz_6db/tanh_adam_6_32_32_64_40_sliding_a32.3.json",
           "models/lowpass_900hz_12db/tanh_adam_6_32_32_64_40_sliding_a33.0.keras",
           "models/lowpass_900hz_12db/tanh_adam_6_32_32_64_40_sliding_a33.0.json"]
WRITTEN = [  # what fit.py, gen.py, sweep.py and report.py write, by name (make_data.py's are written for real)
    "train_x.npy", "train_y.npy",  # fit.py's caches
    *(f"models/tanh_adam_6_32_999_9_32_a03.2{ending}"  # a model, its record, plots and render
      for ending in (".keras", ".json", "_spectrum.png", "_loss.png", "_waveform.png", ".raw", ".wav")),
    "models/results.csv", "models/study.db", "models/study.db-journal",  # fit.py's rows, sweep.py's study
    "models/report.html", "models/report/song.wav", "models/report/reference_600hz_6db.wav",  # report.py --html
    "models/lowpass_600hz_6db/results.csv",  # fit.py --models models/lowpass_600hz_6db: all but the model
    "models/lowpass_600hz_6db/tanh_adam_6_32_32_64_40_sliding_a32.3_spectrum.png",
    "models/lowpass_600hz_6db/tanh_adam_6_32_32_64_40_sliding_a32.3.raw",
    "outputs/song.raw", "outputs/mine.wav",  # gen.py
    ".train_y.partial-host-123.raw", "models/.report.partial-77/song.wav",  # temporaries a killed process left
]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_gitignore_covers_what_the_scripts_write_but_not_the_shipped_models(tmp_path, monkeypatch, capsys):
    repository = tmp_path / "clone"
    repository.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True)
    shutil.copy(ROOT / ".gitignore", repository / ".gitignore")
    monkeypatch.chdir(repository)
    (repository / "music").mkdir()
    wavfile.write(repository / "music" / "mine.wav", 8000, np.zeros(100, np.int16))  # the user's own song
    small = ["--seconds", "0.001", "--song-seconds", "0.001"]
    assert make_data.run([*small, "--song", "music/mine.wav", "--cutoff", "1000"]) == 0  # + music/mine_filtered.wav
    assert make_data.run([*small, "--cutoff", "100:8000", "--force"]) == 0  # 96 files and pairs.csv
    assert make_data.run([*small, "--cutoff", "100:8000", "--count", "100", "--force"]) == 0  # train_x_001.raw ...
    capsys.readouterr()
    for name in SHIPPED + WRITTEN:
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_bytes(b"data")
    listed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repository, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    assert sorted(line.removeprefix("?? ") for line in listed) == sorted([".gitignore", "music/mine.wav", *SHIPPED])
    assert len(list(repository.glob("train_*_*"))) == 3 * 100 + 96  # (the files were there to be ignored)
