"""Long runs: --patience stops early, --resume continues a saved model (and refuses one the arguments
do not describe), Ctrl-C keeps the best model so far, a diverging run saves nothing, every saved run
adds its row to results.csv, and gen.py --reference scores a render.

fit.py and gen.py run in this process through cli.run, in one directory whose cache they share (on a
quarter second of audio: each run is then mostly Keras's tracing). Ctrl-C is pressed twice over: on a
real process, as a user does (about 10 s: TensorFlow's import and two epochs), and in this process
from a callback, where the moment is exact.
"""

import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import ROOT, SONG_SAMPLES, leftovers, make_training_files, one_line

import fit
import gen

from neural_filter import audio, metrics, model_file, render

TRAIN_SAMPLES = 11025  # a quarter of a second: 1225 chunks of 9, 18 steps an epoch at batch 64
BASE = ["1", "8", "64", "tanh", "adam", "0", "9", "2", "--learning-rate", "0.01", "--no-plot"]


def fit_run(directory, argv):
    """fit.py in `directory`: (exit status, stdout, stderr, the saved model's path or None)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.chdir(directory)
        status = fit.run(argv)
    saved = re.search(r"^saved (\S+\.keras)$", out.getvalue(), re.MULTILINE)
    return status, out.getvalue(), err.getvalue(), directory / saved.group(1) if saved else None


def record_of(model):
    return json.loads(model.with_suffix(".json").read_text())


def listing(directory):
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A directory with a quarter-second training pair and one trained model (BASE: 2 epochs, chunk mode)."""
    directory = tmp_path_factory.mktemp("long")
    make_training_files(directory, samples=TRAIN_SAMPLES)
    status, _, err, model = fit_run(directory, BASE)
    assert (status, err) == (0, ""), err
    assert record_of(model)["epochs_run"] == 2  # no --patience: every epoch asked for
    return directory, model


# --- --patience ----------------------------------------------------------------------------------


def patience_run(directory, epochs: str, learning_rate: str, patience: str):
    """fit.py's one-layer chunk model with --patience: what it printed, and its record."""
    status, out, err, model = fit_run(directory, ["1", "8", "64", "tanh", "adam", "0", "9", epochs, "--no-plot",
                                                  "--learning-rate", learning_rate, "--patience", patience])
    assert (status, err) == (0, ""), err
    return out, record_of(model)


def test_patience_stops_when_validation_stops_improving(runs):
    directory, _ = runs
    # learning rate 0: the weights never move, so the validation loss is the same every epoch
    out, record = patience_run(directory, "20", "0", "1")
    assert record["epochs_run"] == 2  # the first epoch sets the best; the second does not beat it: stop
    assert len(record["history"]["val_loss"]) == 2 and len(set(record["history"]["val_loss"])) == 1
    assert record["settings"]["patience"] == 1 and record["settings"]["epochs"] == 20
    assert "of 2, " in out  # "best epoch N of 2, ..."


def test_patience_on_a_real_run_keeps_the_best_epoch(runs):
    """A learning rate that overshoots: the run stops `patience` epochs after its best one."""
    directory, _ = runs
    _, record = patience_run(directory, "40", "0.2", "2")
    losses = record["history"]["val_loss"]
    assert record["epochs_run"] < 40  # measured: 5
    assert record["best_epoch"] == record["epochs_run"] - 2 == int(np.argmin(losses)) + 1
    assert min(losses[-2:]) >= losses[-3]  # the two epochs that did not improve


# --- --resume ------------------------------------------------------------------------------------


def weights(model):
    stack, _, _ = model_file.load_network(model)
    return [array for layer in stack.layers for array in (layer.kernel, layer.bias)]


def test_resume_with_learning_rate_0_changes_nothing(runs):
    directory, base = runs
    status, out, err, resumed = fit_run(directory, ["1", "8", "64", "tanh", "adam", "0", "9", "1", "--no-plot",
                                                    "--learning-rate", "0", "--resume", str(base)])
    assert (status, err) == (0, ""), err
    assert resumed != base and resumed.name.startswith("tanh_adam_1_8_64_9_1_a")  # a new model, named as typed
    for before, after in zip(weights(base), weights(resumed), strict=True):
        np.testing.assert_array_equal(before, after)
    old, new = record_of(base), record_of(resumed)
    assert new["metrics"] == old["metrics"]
    # the resumed run starts where the saved one ended: its best validation loss, not a fresh model's
    assert new["history"]["val_loss"][0] == pytest.approx(min(old["history"]["val_loss"]), rel=1e-5)
    assert new["data"]["resumed_from"] == str(base) and old["data"]["resumed_from"] is None
    assert (resumed.with_suffix(".raw").read_bytes() == base.with_suffix(".raw").read_bytes())


@pytest.mark.parametrize("argv, name, given, saved", [
    (["1", "8", "64", "tanh", "adam", "0", "5", "1"], "samples", "5", "9"),  # another window
    (["2", "8", "64", "tanh", "adam", "0", "9", "1"], "layers", "2", "1"),
    (["1", "16", "64", "tanh", "adam", "0", "9", "1"], "units", "16", "8"),
    (["1", "8", "64", "relu", "adam", "0", "9", "1"], "activator", "relu", "tanh"),
    (["1", "8", "64", "tanh", "adam", "0", "9", "1", "--mode", "sliding"], "--mode", "sliding", "chunk"),
    (["1", "8", "64", "tanh", "adam", "0", "9", "1", "--levels", "signed"], "--levels", "signed", "unit"),
])
def test_resume_refuses_arguments_that_do_not_describe_the_model(runs, argv, name, given, saved):
    directory, base = runs
    before = listing(directory)
    status, out, err, _ = fit_run(directory, [*argv, "--no-plot", "--resume", str(base)])
    assert (status, out) == (2, "")
    assert one_line(err) == (f"fit.py: {name} {given}: the model to resume, {base}, has {saved}; "
                             "give the arguments it was trained with")
    assert listing(directory) == before


@pytest.mark.parametrize("resume, problem", [
    ("missing.keras", "no such model"),  # was "is not a readable .keras model file ([Errno 2] ...); retrain it"
    ("models", "is a directory, not a .keras model"),
])
def test_resume_refuses_what_is_not_a_model_file(runs, resume, problem):
    directory, _ = runs
    before = listing(directory)
    status, out, err, _ = fit_run(directory, [*BASE, "--resume", resume])
    assert (status, out) == (2, "")
    assert one_line(err) == f"fit.py: {resume}: {problem}; give --resume a .keras file made by fit.py"
    assert listing(directory) == before


# --- a diverging run -----------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["1", "8", "64", "tanh", "sgd", "0", "9", "2", "--learning-rate", "1e12"],  # chunk: NaN in the second batch
    ["1", "8", "4", "tanh", "sgd", "0", "16", "2", "--learning-rate", "1e12", "--mode", "sliding", "--no-fir-start"],
])
def test_diverging_run_says_so_and_saves_nothing(runs, tmp_path, argv):
    directory, _ = runs
    for name in ("train_x.raw", "train_y.raw", "song.raw"):  # a directory of its own: no cache notice on stderr
        shutil.copy(directory / name, tmp_path / name)
    directory = tmp_path
    before = listing(directory)
    status, _, err, model = fit_run(directory, [*argv, "--no-plot"])
    assert status == 2 and model is None
    assert one_line(err) == ("fit.py: training diverged: the loss became NaN or infinite in epoch 1; nothing was "
                             "saved; try a smaller --learning-rate, another optimiser or another activation")
    new = set(listing(directory)) - set(before)
    assert new <= {"train_x.npy", "train_y.npy"}  # the data cache at most; no model, render or row
    assert leftovers(directory) == []


# --- Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_saves_the_best_model_so_far(tmp_path):
    make_training_files(tmp_path)
    # as from a terminal: importing keras (or jax) in this process may have set TF_CPP_MIN_LOG_LEVEL to 1
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    process = subprocess.Popen([sys.executable, str(ROOT / "fit.py"), "1", "8", "64", "tanh", "adam", "1", "9", "200",
                                "--mode", "chunk", "--no-plot"],
                               cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in process.stdout:  # a line per epoch: stdout is not a terminal
            seen.append(line)
            if line.startswith("Epoch 2/200"):  # the first epoch finished and its callbacks ran
                break
        assert any(" - loss: " in line for line in seen), seen
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    out = "".join(seen) + out
    assert process.returncode == 0, err
    assert err.strip() == "interrupted: keeping the best weights so far (Ctrl-C again to abandon)"
    assert out.rstrip().endswith("training was interrupted: the model above is the best one reached before Ctrl-C")

    (model,) = (tmp_path / "models").glob("*.keras")
    assert re.fullmatch(r"tanh_adam_1_8_64_9_200_a[-+]\d+\.\d", model.stem)  # the normal name
    stack, spec, _ = model_file.load_network(model)
    assert spec.window == 9 and [layer.kernel.shape for layer in stack.layers] == [(9, 8), (8, 8), (8, 9)]
    record = record_of(model)
    assert record["interrupted"] is True
    assert 1 <= record["epochs_run"] < 200 and record["best_epoch"] <= record["epochs_run"]
    assert len(model.with_suffix(".raw").read_bytes()) == SONG_SAMPLES
    rows = list(csv.DictReader(open(tmp_path / "models" / "results.csv")))
    assert [(row["model"], row["epochs"], row["epochs_run"]) for row in rows] == [
        (model.stem, "200", str(record["epochs_run"]))]
    assert leftovers(tmp_path) == []


class CtrlCDuringEpoch2(keras.callbacks.TerminateOnNaN):
    """TerminateOnNaN as before, and Ctrl-C pressed `presses` times after the third batch of epoch 2."""

    presses = 1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.epoch == 1 and batch == 2:
            for _ in range(self.presses):
                os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_in_process(runs, tmp_path, monkeypatch, presses):
    """One Ctrl-C: stop after the batch, keep the best, exit 0; a second: abandon, exit 130, no model.
    Either way fit.py puts Python's own Ctrl-C handling back."""
    directory, _ = runs
    for name in ("train_x.raw", "train_y.raw", "song.raw"):
        shutil.copy(directory / name, tmp_path / name)
    monkeypatch.setattr(CtrlCDuringEpoch2, "presses", presses)
    monkeypatch.setattr(keras.callbacks, "TerminateOnNaN", CtrlCDuringEpoch2)
    handler = signal.getsignal(signal.SIGINT)
    status, out, err, model = fit_run(tmp_path, ["1", "8", "64", "tanh", "adam", "0", "9", "50", "--no-plot"])
    assert signal.getsignal(signal.SIGINT) is handler
    first = "interrupted: keeping the best weights so far (Ctrl-C again to abandon)"
    if presses == 1:
        assert (status, err.strip()) == (0, first)
        record = record_of(model)
        assert record["interrupted"] is True and 1 <= record["epochs_run"] <= 2
        assert len(model.with_suffix(".raw").read_bytes()) == SONG_SAMPLES
        assert "training was interrupted" in out
    else:
        assert (status, err.strip().splitlines()) == (130, [first, "fit.py: interrupted; nothing was written"])
        assert model is None and not (tmp_path / "models").exists()
    assert leftovers(tmp_path) == []


# --- gen.py --reference ----------------------------------------------------------------------------


def gen_run(directory, argv, capsys):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        status = gen.run(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def u8(path):
    return audio.decode(np.fromfile(path, np.uint8), "u8")


def test_reference_against_its_own_render_is_0(runs, tmp_path, capsys):
    directory, base = runs
    reference = base.with_suffix(".raw")
    status, out, err = gen_run(tmp_path, [str(base), str(directory / "song.raw"), "--reference", str(reference)],
                               capsys)
    assert (status, err) == (0, "")
    assert out.splitlines()[1].startswith(f"ESR against {reference}: -inf dB: at the floor (its floor ")
    assert (tmp_path / "outputs" / "song.raw").read_bytes() == reference.read_bytes()


def test_reference_against_another_file_is_the_esr_of_the_decoded_bytes(runs, tmp_path, capsys):
    directory, base = runs
    rng = np.random.default_rng(5)
    wanted = rng.uniform(-0.5, 0.5, SONG_SAMPLES)  # any other audio of the song's length
    audio.write_audio(tmp_path / "wanted.raw", wanted, "u8", 44100)
    status, out, err = gen_run(tmp_path, [str(base), str(directory / "song.raw"), "--reference", "wanted.raw"],
                               capsys)
    assert (status, err) == (0, "")
    expected = metrics.esr(u8(tmp_path / "outputs" / "song.raw"), u8(tmp_path / "wanted.raw"))
    assert 0.1 < expected < 100  # finite, and not 0: a real comparison
    floor = metrics.floor_db(u8(tmp_path / "wanted.raw"))  # the reference's own rounding: a u8 file's
    trained = model_file.read_record(base)["metrics"]["floor_db"]  # the model's own pair's, for comparison
    assert out.splitlines()[1] == (f"ESR against wanted.raw: {metrics.signed_db(metrics.decibels(expected))}: "
                                   f"{metrics.verdict(metrics.decibels(expected), floor)} "
                                   f"(its floor {metrics.signed_db(floor)}; the model's training pair could show "
                                   f"{metrics.signed_db(trained)}; lower is better)")
    stats = render.render_file(base, directory / "song.raw", tmp_path / "again.raw", reference=tmp_path / "wanted.raw")
    assert stats["reference_esr"] == pytest.approx(expected, rel=1e-9)  # the unrounded figure too


@pytest.mark.parametrize("change", [-1, 5])  # one sample short, five too many
def test_reference_of_another_length_is_refused(runs, tmp_path, capsys, change):
    directory, base = runs
    shutil.copy(directory / "song.raw", tmp_path / "song.raw")
    (tmp_path / "ref.raw").write_bytes(bytes(SONG_SAMPLES + change))
    status, out, err = gen_run(tmp_path, [str(base), "song.raw", "--reference", "ref.raw"], capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == (f"gen.py: ref.raw: has {SONG_SAMPLES + change} samples but song.raw has {SONG_SAMPLES}; "
                             "give the reference rendering of the same song")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ref.raw", "song.raw"]  # no outputs/


# --- results.csv: last, so that it sees every run above ------------------------------------------


def test_results_csv_has_one_row_per_saved_model(runs):
    directory, _ = runs
    rows = list(csv.DictReader(open(directory / "models" / "results.csv")))
    models = sorted((directory / "models").glob("*.keras"), key=lambda path: path.stat().st_mtime_ns)
    assert [row["model"] for row in rows] == [model.stem for model in models]  # in the order they were saved
    for row, model in zip(rows, models):
        record = record_of(model)
        assert (row["mode"], row["window"], row["optimiser"], row["epochs"], row["epochs_run"]) == (
            "chunk", "9", record["settings"]["optimiser"], str(record["settings"]["epochs"]), str(record["epochs_run"]))
        assert float(row["esr"]) == pytest.approx(record["metrics"]["esr"], rel=1e-5)
