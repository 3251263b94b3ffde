"""Nothing the user had is lost, nothing wrong is written in silence (issue 22), case by case in this process.

gen.py refusing to write over its input however spelt; NaN and infinite samples refused with
their position; MP3s as players decode them; long names; every write failure worded by its cause;
temporaries of killed runs cleaned; damaged results.csv rows skipped with one line each. The same
faults with real processes (kills, a full disk, a file size limit) are in test_faults.py.
"""

import csv
import errno
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import ROOT, leftovers, one_line

import fit
import gen
import report
from neural_filter import audio, files, results
from neural_filter.errors import DataError

MODEL = ROOT / "models" / "lowpass_600hz_6db" / "tanh_adam_6_32_32_64_40_sliding_a32.3.keras"  # shipped, 44.1 kHz
RATE = 44100


def noise(count: int, seed: int = 1, channels: int = 1) -> np.ndarray:
    shape = (count,) if channels == 1 else (count, channels)
    return np.random.default_rng(seed).uniform(-0.5, 0.5, shape).astype(np.float32)


def run(script, argv, capsys):
    status = script.run([str(part) for part in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def folder_state(folder: Path) -> dict:
    """Every file under `folder` (hidden ones too) and its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# --- 1. gen.py never writes over its input -------------------------------------------------------


def _spellings(folder: Path):
    """Ways to name the song as the output: (gen.py's arguments after the model, what the line names)."""
    (folder / "outputs").mkdir()
    shutil.copy(folder / "song.wav", folder / "outputs" / "song.wav")
    shutil.copy(folder / "song.wav", folder / "song.raw")
    os.symlink("song.wav", folder / "link.wav")
    os.link(folder / "song.wav", folder / "hard.wav")
    return [
        (["song.wav", "--out", "song.wav"], "song.wav", "song"),  # the same name
        (["song.wav", "--out", "./song.wav"], "song.wav", "song"),  # spelt with ./
        (["song.wav", "--out", str(folder / "song.wav")], str(folder / "song.wav"), "song"),  # absolute
        (["song.raw", "--out", "song.raw"], "song.raw", "song"),  # raw
        (["outputs/song.wav"], "outputs/song.wav", "song"),  # the default output of a song in outputs/
        (["song.wav", "--out", "link.wav"], "link.wav", "song"),  # a symbolic link to the song
        (["link.wav", "--out", "song.wav"], "song.wav", "song"),  # the song through a link
        (["song.wav", "--out", "hard.wav"], "hard.wav", "song"),  # a hard link: another name, the same file
        (["song.raw", "--reference", "song.wav", "--out", "hard.wav"], "hard.wav", "reference"),  # the reference
    ]


def test_gen_never_writes_over_its_input(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    soundfile.write(tmp_path / "song.wav", noise(3000), RATE, subtype="PCM_16")
    for arguments, named, role in _spellings(tmp_path):
        before = folder_state(tmp_path)
        status, out, err = run(gen, [MODEL, *arguments, "--quiet"], capsys)
        assert (status, out) == (2, ""), arguments
        assert one_line(err) == (f"gen.py: {named}: is the {role} itself (the same file), which the render would "
                                 "replace; give --out another file name")
        assert folder_state(tmp_path) == before, arguments  # nothing written, nothing replaced


def test_gen_replaces_an_older_output_whole(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    soundfile.write(tmp_path / "song.wav", noise(3000), RATE, subtype="PCM_16")
    (tmp_path / "out.wav").write_bytes(b"an older render")
    assert run(gen, [MODEL, "song.wav", "--out", "out.wav", "--quiet"], capsys)[0] == 0
    assert len(soundfile.read(tmp_path / "out.wav")[0]) == 3000
    assert leftovers(tmp_path) == []


# --- 2. non-finite samples are refused ----------------------------------------------------------


def _poisoned(path: Path, index: int, value: float, kind: str):
    samples = noise(1_200_000 if kind == "raw" else 5000, channels=2 if kind == "stereo" else 1)
    if kind == "stereo":
        samples[index, 1] = value  # in one channel only
        soundfile.write(path, samples, RATE, subtype="DOUBLE")
    elif kind == "raw":
        samples[index] = value
        samples.tofile(path)
    else:
        samples[index] = value
        soundfile.write(path, samples, RATE, subtype="FLOAT")


@pytest.mark.parametrize("name, kind, index, value, word", [
    ("nan.wav", "wav", 1000, np.nan, "a NaN"),  # float WAV
    ("inf.wav", "wav", 0, np.inf, "an infinite"),  # the very first sample
    ("minus.wav", "stereo", 4999, -np.inf, "an infinite"),  # the last frame, in one channel of a 64-bit float WAV
    ("late.raw", "raw", 1_100_000, np.nan, "a NaN"),  # f32le, in the second block read (blocks of 2**20)
])
def test_gen_refuses_non_finite_samples_naming_the_first(tmp_path, monkeypatch, capsys, name, kind, index, value, word):
    monkeypatch.chdir(tmp_path)
    _poisoned(tmp_path / name, index, value, kind)
    format = ["--format", "f32le"] if kind == "raw" else []
    status, out, err = run(gen, [MODEL, name, *format, "--out", "out.wav", "--quiet"], capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == (f"gen.py: {name}: has {word} sample at {index / RATE:.6f} s (sample {index}), which is "
                             "no sound; re-export it from your editor, or replace such samples with silence")
    assert sorted(path.name for path in tmp_path.iterdir()) == [name]


def test_fit_refuses_a_pair_with_nan_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    dry = noise(20000)
    soundfile.write(tmp_path / "x.wav", dry, RATE, subtype="FLOAT")
    wet = dry * 0.5
    wet[12345] = np.nan
    soundfile.write(tmp_path / "y.wav", wet, RATE, subtype="FLOAT")
    status, out, err = run(fit, ["2", "8", "64", "tanh", "adam", "0", "9", "2", "--train-x", "x.wav",
                                 "--train-y", "y.wav", "--no-plot"], capsys)
    assert status == 2 and "Epoch" not in out  # refused before training, not "training diverged"
    assert one_line(err) == (f"fit.py: y.wav: has a NaN sample at {12345 / RATE:.6f} s (sample 12345), which is no "
                             "sound; re-export it from your editor, or replace such samples with silence")
    assert not (tmp_path / "models").exists()


# --- 3. MP3s as players decode them -------------------------------------------------------------


def _decoded(path) -> int:
    """Samples libsndfile decodes from `path` to its end (not the header's count, which soundfile's blocks() trusts)."""
    count = 0
    with soundfile.SoundFile(path) as file:
        while block := len(file.read(65536, dtype="int16")):
            count += block
    return count


MP3_CASES = [(44100, 1, 20.0), (48000, 2, 3.3), (22050, 1, 1.7), (32000, 2, 0.5), (16000, 1, 2.0), (8000, 2, 1.0)]


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox (with libsox-fmt-mp3) is not installed")
@pytest.mark.parametrize("rate, channels, seconds", MP3_CASES)
def test_mp3_made_by_sox_is_read_to_its_decoded_end(tmp_path, capsys, rate, channels, seconds):
    wav, mp3 = tmp_path / "tone.wav", tmp_path / "tone.mp3"
    soundfile.write(wav, 0.5 * np.sin(np.arange(round(rate * seconds)) * 0.05)[:, None].repeat(channels, 1), rate)
    subprocess.run(["sox", str(wav), str(mp3)], check=True, capture_output=True)  # LAME, as the song
    _check_mp3(mp3, capsys)


@pytest.mark.parametrize("rate, channels, seconds", MP3_CASES)
def test_mp3_made_by_libsndfile_is_read_to_its_decoded_end(tmp_path, capsys, rate, channels, seconds):
    mp3 = tmp_path / "noise.mp3"
    soundfile.write(mp3, noise(round(rate * seconds), channels=channels) * 0.5, rate, format="MP3")
    _check_mp3(mp3, capsys)


def _check_mp3(mp3: Path, capsys):
    decoded, estimate = _decoded(mp3), soundfile.info(mp3).frames
    source = audio.open_audio(mp3)
    assert len(source) == decoded and len(source.read()) == decoded
    err = capsys.readouterr().err
    if abs(decoded - estimate) > audio.MP3_FRAME:
        assert one_line(err) == (f"{mp3}: decodes to {decoded} samples, not the {estimate} its header estimates; "
                                 "the decoded samples are used")
    else:
        assert err == ""
    out = mp3.with_suffix(".wav")
    status, printed, _ = run(gen, [MODEL, mp3, "--out", out, "--quiet"], capsys)
    assert status == 0 and len(soundfile.read(out)[0]) == decoded


# --- 4. long names ------------------------------------------------------------------------------


def test_temporary_names_stay_under_the_limit_and_unique():
    for name in ("song.wav", "s" * 240 + ".wav", "é" * 126 + ".flac", "x" * 255):
        temporary = files.temporary_name(name)
        assert len(temporary.encode()) <= files.NAME_BYTES
        assert temporary.startswith(".") and temporary.endswith(os.path.splitext(name)[1])
        assert f".partial-{socket.gethostname()}-{os.getpid()}" in temporary
    assert files.temporary_name("song.wav") == f".song.partial-{socket.gethostname()}-{os.getpid()}.wav"


def test_long_names_are_read_and_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    song, out = "s" * 250 + ".wav", "o" * 251 + ".wav"  # 254 and 255 bytes: legal, with no room for a marker
    soundfile.write(tmp_path / song, noise(3000), RATE, subtype="PCM_16")
    assert run(gen, [MODEL, song, "--out", out, "--quiet"], capsys)[0] == 0
    assert len(soundfile.read(tmp_path / out)[0]) == 3000
    assert run(gen, [MODEL, song, "--quiet"], capsys)[0] == 0  # outputs/<the long stem>.wav
    assert (tmp_path / "outputs" / song).is_file()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("script, arguments, expected", [
    (gen, [MODEL, "song.wav", "--out", "o" * 300 + ".wav"],
     "gen.py: --out " + "o" * 300 + ".wav: has a name of 304 bytes, longer than a file system allows (255); "
     "give a shorter name"),
    (gen, [MODEL, "s" * 300 + ".wav"], "gen.py: " + "s" * 300 + ".wav: cannot be read (File name too long); check the path"),
    (fit, ["--train-x", "x" * 300 + ".raw"], "fit.py: " + "x" * 300 + ".raw: cannot be read (File name too long); check the path"),
    (fit, ["--models", "m" * 300], "fit.py: --models " + "m" * 300 + ": has a name of 300 bytes, longer than a file system "
     "allows (255); give another folder"),
])
def test_names_too_long_are_one_line(tmp_path, monkeypatch, capsys, script, arguments, expected):
    monkeypatch.chdir(tmp_path)
    soundfile.write(tmp_path / "song.wav", noise(3000), RATE, subtype="PCM_16")
    noise(3000).tofile(tmp_path / "train_x.raw")
    noise(3000).tofile(tmp_path / "train_y.raw")
    before = folder_state(tmp_path)
    status, out, err = run(script, arguments, capsys)
    assert status == 2 and one_line(err) == expected
    assert folder_state(tmp_path) == before


# --- 5. every write failure is worded by its cause ----------------------------------------------


class Refusing:
    """A file whose every write fails with `code`, as a full, read-only or forbidden disk's would."""

    def __init__(self, stream, code: int):
        self.stream, self.code = stream, code

    def write(self, data):
        raise OSError(self.code, os.strerror(self.code))

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.stream.close()


@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, "cannot be written: no space is left on its disk; free some space, or write it to another disk"),
    (errno.EROFS, "cannot be written: its file system is read-only; write it to another folder"),
    (errno.EACCES, "cannot be written: permission denied; write it to a folder you may write to"),
    (errno.ENAMETOOLONG, "cannot be written: its name is longer than the file system allows; give a shorter name"),
    (errno.EFBIG, "cannot be written: it would be larger than a file may be here; write it to another disk, "
                  "or raise the file size limit"),
    (errno.EIO, "cannot be written ([Errno 5] Input/output error); check that its folder can be created and written to"),
])
@pytest.mark.parametrize("name", ["out.raw", "out.wav", "out.flac", "out.aiff", "out.ogg", "out.mp3", "out.rf64"])
def test_a_failing_write_is_worded_by_its_cause(tmp_path, monkeypatch, code, words, name):
    """Each container's writer meets the failure on its first write to disk; raw through NumPy, the rest libsndfile."""
    real_open = open

    def failing_open(path, mode="r", *args, **kwargs):
        stream = real_open(path, mode, *args, **kwargs)
        return Refusing(stream, code) if ".partial-" in str(path) and "w" in mode else stream

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(DataError) as caught:
        audio.write_audio(tmp_path / name, noise(50000), "s16le", RATE)
    assert str(caught.value) == f"{tmp_path / name}: {words}"
    assert list(tmp_path.iterdir()) == []


# --- 6. leftovers of killed runs ------------------------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid  # (reused by another process in the instant since? then it is kept: the test checks this)


def test_temporaries_of_dead_runs_are_removed_by_the_next_write(tmp_path, capsys):
    host, dead = socket.gethostname(), _dead_pid()
    big = tmp_path / f".song.partial-{host}-{dead}.wav"
    with open(big, "wb") as file:
        file.truncate(10 << 20)  # 10 MB, sparse
    small = tmp_path / f".model.partial-{host}-{dead}.keras"
    small.write_bytes(b"PK half a zip")
    kept = [tmp_path / f".song.partial-{host}-{os.getppid()}.wav",  # a run still going
            tmp_path / f".song.partial-another-host-{dead}.wav",  # another machine's: its processes are not ours to see
            tmp_path / ".partial-notes.txt", tmp_path / "song.partial-1.wav"]  # not temporaries of ours
    for path in kept:
        path.write_bytes(b"keep")
    audio.write_audio(tmp_path / "new.raw", noise(100), "u8", RATE)
    assert sorted(tmp_path.iterdir()) == sorted([*kept, tmp_path / "new.raw"])
    assert one_line(capsys.readouterr().err) == (f"{big}: removed, 10 MB that a stopped run (process {dead}) left "
                                                 "half-written")


# --- 7. damaged results.csv rows ------------------------------------------------------------------

RUN = {"model": "tanh_adam_a20.0", "mode": "sliding", "window": 32, "activation": "tanh", "optimiser": "adam",
       "epochs_run": 8, "esr": 0.01, "esr_db": -20.0, "training_seconds": 12.5}


def test_report_skips_damaged_rows_with_one_line_each(tmp_path, capsys):
    path = tmp_path / "results.csv"
    results.append_result(path, RUN)
    results.append_result(path, {**RUN, "model": "notanumber", "esr": "notanumber", "esr_db": "x"})
    results.append_result(path, {**RUN, "model": "", "esr": 0.001})
    results.append_result(path, {**RUN, "model": "second", "esr": 0.1, "esr_db": -10.0})
    text = path.read_text()
    whole = text.splitlines()[1]
    path.write_text(text + "short,row\n" + "\n" + whole[: len(whole) // 2])  # a row, a blank line, half a row (a crash)
    status, out, err = run(report, ["--results", path], capsys)
    assert status == 0
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["tanh_adam_a20.0", "second"]
    assert err.splitlines() == [
        f"{path} line 3: its esr, 'notanumber', is not a number; skipped",
        f"{path} line 4: names no model; skipped",
        f"{path} line 6: has 2 values, not one for each of the 17 columns (a row cut short?); skipped",
        f"{path} line 8: has {len(next(csv.reader([whole[: len(whole) // 2]])))} values, not one for each of the 17 "
        "columns (a row cut short?); skipped",
    ]


def test_report_html_of_a_row_cut_short_is_no_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "models" / "results.csv"
    results.append_result(path, RUN)
    text = path.read_text()
    path.write_text(text + text.splitlines()[1][:40])
    status, out, err = run(report, ["--html", "--results", path], capsys)
    assert status == 0 and out.startswith("wrote ") and "(1 models" in out
    assert one_line(err).endswith("(a row cut short?); skipped")


def test_report_refuses_a_file_with_other_columns(tmp_path, capsys):
    path = tmp_path / "results.csv"
    path.write_text("name,score\nold,1\n")
    status, out, err = run(report, ["--results", path], capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == f"report.py: {path}: has other columns than {', '.join(results.COLUMNS)}; move it aside " \
                            "and a new one will be started"


# --- 9. a .keras made to hurt: a zip bomb, a device ----------------------------------------------


def test_a_zip_bomb_model_is_refused_before_it_inflates(tmp_path, capsys):
    soundfile.write(tmp_path / "song.wav", noise(3000), RATE, subtype="PCM_16")
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("neural_filter.json", "w", force_zip64=True) as entry:
            for _ in range(64):
                entry.write(bytes(1 << 20))  # 64 MB of zeros in 64 kB
        archive.writestr("config.json", "{}")
    status, out, err = run(gen, [bomb, tmp_path / "song.wav"], capsys)
    assert status == 2
    assert one_line(err).startswith(f"gen.py: {bomb}: is not a readable .keras model file (its entry neural_filter.json "
                                    "would inflate from ")


def test_a_model_that_is_a_device_is_refused(tmp_path, capsys):
    soundfile.write(tmp_path / "song.wav", noise(3000), RATE, subtype="PCM_16")
    os.symlink("/dev/zero", tmp_path / "zero.keras")
    status, out, err = run(gen, [tmp_path / "zero.keras", tmp_path / "song.wav"], capsys)
    assert status == 2
    assert one_line(err) == f"gen.py: {tmp_path / 'zero.keras'}: is not a regular file; give a .keras file made by fit.py"


def test_a_results_row_on_a_full_disk_is_worded_by_its_cause(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    results.append_result(path, RUN)
    before = path.read_bytes()
    real_open = open

    monkeypatch.setattr("builtins.open", lambda *args, **kwargs: Refusing(real_open(*args, **kwargs), errno.ENOSPC))
    with pytest.raises(DataError) as caught:
        results.append_result(path, RUN)
    assert str(caught.value) == (f"{path}: cannot be appended to: no space is left on its disk; free some space, "
                                 "or write it to another disk")
    monkeypatch.undo()
    assert path.read_bytes() == before
