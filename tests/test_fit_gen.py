"""fit.py and gen.py as a user runs them: arguments, one-line errors with exit status 2, a tiny
training run end to end, and gen.py reproducing fit.py's render byte for byte.

The command lines run in this process through cli.run (Keras is imported once for the whole
suite); three cases run as real processes, to see what a user's terminal sees.
"""

import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SONG_SAMPLES, leftovers, make_training_files, one_line

import fit
import gen

from neural_filter import cli, model_file

DEFAULTS = {"layers": "6", "units": "32", "batches": "999", "activator": "gelu", "optimiser": "adam",
            "cpu_only": "0", "samples": "9", "epoches": "64"}
FIT_ARGS = ["2", "8", "64", "tanh", "adam", "0", "9", "2", "--learning-rate", "0.01", "--no-plot"]  # lr: below 0 dB
NAME = re.compile(r"tanh_adam_2_8_64_9_2_a([-+]\d+\.\d)")


def run(script, argv, capsys):
    """A script (fit or gen) in this process: (exit status, stdout, stderr)."""
    status = script.run(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def positionals(args):
    return {name: getattr(args, name) for name in DEFAULTS}


# --- fit.py's command line ---------------------------------------------------------------------


@pytest.mark.parametrize("argv, given", [
    ([], {}),  # every default: 6 32 999 gelu adam 0 9 64
    (["3"], {"layers": "3"}),  # the first only
    (["3", "16", "100", "tanh"], {"layers": "3", "units": "16", "batches": "100", "activator": "tanh"}),
    (["6", "32", "999", "tanh", "adam", "1", "9", "32"],  # the original README's example
     {"activator": "tanh", "cpu_only": "1", "epoches": "32"}),
    (["6", "32", "999", "gelu", "nadam", "0", "36"], {"optimiser": "nadam", "samples": "36"}),  # all but the last
    (["06", "32"], {"layers": "06"}),  # kept as typed: the model's name is made of the arguments as typed
])
def test_fit_positionals_and_defaults(argv, given):
    args = fit.parse_arguments(argv)
    assert positionals(args) == {**DEFAULTS, **given}
    assert (args.val, args.seed, args.learning_rate, args.models) == (0.1, 1234, None, "models")
    assert fit.request_from(args).mode == "chunk"  # sliding only with --pairs


@pytest.mark.parametrize("script, prog, names", [
    (fit, "fit.py", list(DEFAULTS)),  # the eight positionals
    (gen, "gen.py", ["model", "song", "samples"]),
])
def test_help_exits_0_and_names_every_argument(capsys, script, prog, names):
    status, out, err = run(script, ["--help"], capsys)
    assert (status, err) == (0, "")
    assert out.startswith(f"usage: {prog}")
    for name in names:
        assert re.search(rf"^\s+{name}\b", out, re.MULTILINE), name


def test_fit_help_gives_the_defaults(capsys):
    _, out, _ = run(fit, ["--help"], capsys)
    assert "6 32 999 gelu adam 0 9 64" in out
    for name, default in DEFAULTS.items():
        assert re.search(rf"^\s+{name}\s.*?\(default {default}\)", out, re.MULTILINE | re.DOTALL), name


@pytest.mark.parametrize("argv, name", [
    (["abc"], "layers"),  # a word for the first number
    (["6", "x"], "units"),  # the second
    (["6", "32", "many"], "batches"),
    (["6", "32", "999", "gelu", "adam", "yes"], "cpu_only"),  # only 0 or 1
    (["6", "32", "999", "gelu", "adam", "2"], "cpu_only"),
    (["6", "32", "999", "gelu", "adam", "0", "nine"], "samples"),
    (["6", "32", "999", "gelu", "adam", "0", "9", "1.5"], "epoches"),  # not whole
    (["0"], "layers"),  # zero is not a positive whole number
    (["6", "-3"], "units"),  # negative
    (["6", "32", "999", "gelu", "adam", "0", "0"], "samples"),  # a window of nothing
    (["6", "32", "999", "gelu", "adam", "0", "9", "64", "extra"], None),  # a ninth positional
    (["--val", "1"], "--val"),  # validation must leave something to train on
    (["--mode", "overlap"], "--mode"),  # not a mode
    (["--seed", "-1"], "--seed"),  # NumPy's generators take no negative seed (was a traceback)
])
def test_fit_bad_argument_is_one_line_and_exit_2(workdir, capsys, argv, name):
    status, out, err = run(fit, argv, capsys)
    line = one_line(err)
    assert (status, out) == (2, "")
    assert line.startswith("fit.py: ") and line.endswith("; see fit.py --help")
    if name:
        assert f"argument {name}" in line
    assert sorted(path.name for path in workdir.iterdir()) == ["song.raw", "train_x.raw", "train_y.raw"]


# --- fit.py refusing data and names: one line, exit 2, nothing written -------------------------


def remove(name):
    return lambda directory: (directory / name).unlink()


def empty(name):
    return lambda directory: (directory / name).write_bytes(b"")


def shorten(name):
    return lambda directory: (directory / name).write_bytes((directory / name).read_bytes()[:-5])


@pytest.mark.parametrize("damage, argv, message", [
    (remove("train_x.raw"), [], "fit.py: train_x.raw: no such file"),  # no dry recording
    (remove("train_y.raw"), [], "fit.py: train_y.raw: no such file"),  # no filtered recording
    (empty("train_x.raw"), [], "fit.py: train_x.raw: is empty"),
    (empty("train_y.raw"), [], "fit.py: train_y.raw: is empty"),
    (shorten("train_y.raw"), [], "fit.py: train_y.raw: has 44095 samples (1.00 s) but train_x.raw has 44100"),
    (shorten("train_x.raw"), [], "fit.py: train_y.raw: has 44100 samples (1.00 s) but train_x.raw has 44095"),
    (None, ["2", "8", "64", "tanh", "adam", "0", "50000", "1"], "fit.py: samples: window 50000 needs at least"),
    (None, ["2", "8", "64", "nosuchact"], "fit.py: activator 'nosuchact': not a Keras activation"),
    (None, ["2", "8", "64", "tanh", "adamw"], "fit.py: optimiser 'adamw': unknown; use one of adam, sgd,"),
    (remove("song.raw"), ["--song", "song.raw"], "fit.py: song.raw: no such file"),  # asked for, not there
    (None, ["--format", "s24le"], "fit.py: --format s24le: unknown raw format"),
    (lambda directory: (directory / "train_y.json").write_text(  # make_data.py's note: an s16le pair
        '{"cutoff": 8000, "rolloff": 6, "rate": 44100, "format": "s16le", "bytes": 44100}'), [],
     "fit.py: --format u8: train_y.raw is s16le (make_data.py's note train_y.json says so); give --format s16le"),
    (lambda directory: (directory / "train_x.npy").write_bytes(b"stale"),  # a stale cache adds no second line
     ["2", "8", "64", "tanh", "adam", "0", "50000", "1"], "fit.py: samples: window 50000 needs at least"),
])
def test_fit_refuses_with_one_line(workdir, capsys, damage, argv, message):
    if damage:
        damage(workdir)
    before = sorted(path.name for path in workdir.iterdir())
    status, out, err = run(fit, argv, capsys)
    assert status == 2 and one_line(err).startswith(message), err
    assert sorted(path.name for path in workdir.iterdir()) == before  # no cache, no models/


def test_cpu_only_hides_gpus_and_says_so_on_stdout(monkeypatch, capsys):
    for key in ("CUDA_VISIBLE_DEVICES", "JAX_PLATFORMS"):
        monkeypatch.setenv(key, "before")  # put back (or removed) after the test
    cli.quiet_frameworks(cpu_only=True)
    assert (os.environ["CUDA_VISIBLE_DEVICES"], os.environ["JAX_PLATFORMS"]) == ("-1", "cpu")
    assert capsys.readouterr() == ("cpu only: every GPU is hidden from the backend\n", "")  # stderr stays for errors


def test_run_turns_a_user_error_into_one_line(capsys):
    from neural_filter.errors import DataError

    def main(argv):
        raise DataError("song.wav", "is not a readable WAV file (a library's\nmessage over\nthree lines)")

    assert cli.run(main, "gen.py") == 2
    assert capsys.readouterr() == ("", "gen.py: song.wav: is not a readable WAV file (a library's message over three lines)\n")


def test_fit_refuses_an_unwritable_models_folder_before_training(workdir, capsys):
    (workdir / "models").write_bytes(b"a file where the folder should be")
    status, out, err = run(fit, ["1", "4", "999", "tanh", "adam", "0", "9", "1"], capsys)
    assert status == 2
    assert one_line(err) == "fit.py: --models models: models is a file, not a folder; give another folder"
    assert "Epoch" not in out  # refused before any training
    assert (workdir / "models").read_bytes() == b"a file where the folder should be"
    assert leftovers(workdir) == []


# --- a tiny training run, end to end -----------------------------------------------------------


@dataclasses.dataclass
class Fitted:
    directory: Path
    runs: list  # (status, stdout, stderr) of two identical runs

    def model(self, run=0) -> Path:
        return self.directory / "models" / f"{self.stem(run)}.keras"

    def stem(self, run=0) -> str:
        match = re.search(r"^saved models/(\S+)\.keras$", self.runs[run][1], re.MULTILINE)
        assert match, self.runs[run][1]
        return match.group(1)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """fit.py 2 8 64 tanh adam 0 9 2, run twice with the same seed in one directory."""
    directory = tmp_path_factory.mktemp("fit")
    make_training_files(directory)
    runs = []
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        for _ in range(2):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = fit.run(FIT_ARGS)
            runs.append((status, out.getvalue(), err.getvalue()))
    return Fitted(directory, runs)


def test_fit_succeeds_quietly(fitted):
    for status, out, err in fitted.runs:
        assert (status, err) == (0, "")  # the second run reused the cache: no notice
        assert "rendered song.raw -> models/" in out


def test_fit_writes_model_record_and_render_named_after_arguments_and_score(fitted):
    stem = fitted.stem(0)
    match = NAME.fullmatch(stem)
    assert match, stem
    record = json.loads((fitted.directory / "models" / f"{stem}.json").read_text())
    assert match.group(1) == f"{record['metrics']['score']:+.1f}"  # the ESR in dB, as fit.py prints it
    assert record["metrics"]["score"] < 0  # the name is tested on a real score, not +0.0
    assert fitted.stem(1) == f"{stem}_2"  # never overwrites: the second run gets a number
    names = sorted(path.name for path in (fitted.directory / "models").iterdir())
    assert names == sorted(["results.csv"] + [f"{s}{suffix}" for s in (stem, f"{stem}_2")
                                              for suffix in (".json", ".keras", ".raw")])
    rows = (fitted.directory / "models" / "results.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[1].split(",")[1] == stem and rows[2].split(",")[1] == f"{stem}_2"
    assert sorted(path.name for path in fitted.directory.glob("*.npy")) == ["train_x.npy", "train_y.npy"]


def test_fit_record_describes_the_run(fitted):
    record = json.loads(fitted.model().with_suffix(".json").read_text())
    assert record["spec"] == {"mode": "chunk", "window": 9, "align": "causal", "levels": "unit", "rate": 44100}
    settings = record["settings"]
    assert (settings["layers"], settings["units"], settings["batch_size"], settings["activation"],
            settings["optimiser"], settings["epochs"], settings["seed"], settings["learning_rate"]) == (
        2, 8, 64, "tanh", "adam", 2, 1234, 0.01)
    assert model_file.read_record(fitted.model()) == record  # the same record inside the .keras


def test_fit_loss_falls(fitted):
    history = json.loads(fitted.model().with_suffix(".json").read_text())["history"]
    assert len(history["loss"]) == 2
    assert history["loss"][1] < history["loss"][0]
    assert history["val_loss"][1] < history["val_loss"][0]


def test_fit_model_shape(fitted):
    stack, spec, _ = model_file.load_network(fitted.model())
    assert [layer.kernel.shape for layer in stack.layers] == [(9, 8), (8, 8), (8, 8), (8, 9)]
    assert [layer.activation for layer in stack.layers] == ["tanh", "tanh", "tanh", "linear"]


def test_fit_render_is_as_long_as_the_song_rounded_and_clipped(fitted):
    import keras

    rendered = np.frombuffer(fitted.model().with_suffix(".raw").read_bytes(), np.uint8)
    assert len(rendered) == SONG_SAMPLES  # 1001: 111 chunks of 9 and two samples, none dropped

    song = np.fromfile(fitted.directory / "song.raw", np.uint8)
    chunks = np.full(112 * 9, 128 / 255, np.float32)  # the last chunk padded with silence
    chunks[:SONG_SAMPLES] = song / np.float32(255)
    predicted = keras.models.load_model(fitted.model(), compile=False).predict(chunks.reshape(112, 9), verbose=0)
    scaled = predicted.reshape(-1)[:SONG_SAMPLES].astype(np.float64) * 255  # unit levels back to bytes
    expected = np.clip(np.rint(scaled), 0, 255)
    undecided = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-3  # float noise may round either way here
    assert undecided.mean() < 0.01
    np.testing.assert_array_equal(rendered[~undecided], expected[~undecided])


def test_same_arguments_and_seed_give_the_same_model(fitted):
    first, _, _ = model_file.load_network(fitted.model(0))
    second, _, _ = model_file.load_network(fitted.model(1))
    for a, b in zip(first.layers, second.layers, strict=True):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        np.testing.assert_array_equal(a.bias, b.bias)
    records = [json.loads(fitted.model(run).with_suffix(".json").read_text()) for run in (0, 1)]
    assert records[0]["history"] == records[1]["history"]
    assert fitted.model(0).with_suffix(".raw").read_bytes() == fitted.model(1).with_suffix(".raw").read_bytes()


# --- gen.py ------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [
    [],  # the model says its window
    ["9"],  # the window given, and right
])
def test_gen_reproduces_fits_render_byte_for_byte(fitted, tmp_path, monkeypatch, capsys, extra):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(gen, [str(fitted.model()), str(fitted.directory / "song.raw"), *extra],
                           capsys)
    assert (status, err) == (0, "")
    assert out.startswith(f"rendered {fitted.directory / 'song.raw'} -> outputs/song.raw: 1001 samples")
    assert (tmp_path / "outputs" / "song.raw").read_bytes() == fitted.model().with_suffix(".raw").read_bytes()
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["outputs", "song.raw"]


def keras_without_spec(fitted, path):
    with zipfile.ZipFile(fitted.model()) as source, zipfile.ZipFile(path, "w") as target:
        for entry in source.namelist():
            if entry != model_file.SPEC_ENTRY:
                target.writestr(entry, source.read(entry))


def keras_with_broken_weights(fitted, path):
    with zipfile.ZipFile(fitted.model()) as source, zipfile.ZipFile(path, "w") as target:
        for entry in source.namelist():
            target.writestr(entry, b"not hdf5" if entry == "model.weights.h5" else source.read(entry))


@pytest.mark.parametrize("make, message", [
    (lambda fitted, path: path.write_bytes(b"\x00garbage" * 100), "is not a readable .keras model file"),
    (lambda fitted, path: path.write_bytes(fitted.model().read_bytes()[:2000]), "is not a readable .keras model"),
    (keras_without_spec, "is a Keras model but not one made by fit.py (no neural_filter.json inside)"),
    (keras_with_broken_weights, "has unreadable weights"),
])
@pytest.mark.parametrize("old_output", [None, b"an earlier render"])  # none yet / one that must survive
def test_gen_on_a_broken_model_is_one_line_and_writes_nothing(fitted, tmp_path, monkeypatch, capsys, make,
                                                              message, old_output):
    monkeypatch.chdir(tmp_path)
    make(fitted, tmp_path / "x.keras")
    shutil.copy(fitted.directory / "song.raw", tmp_path / "song.raw")
    if old_output is not None:
        (tmp_path / "outputs").mkdir()
        (tmp_path / "outputs" / "song.raw").write_bytes(old_output)
    status, out, err = run(gen, ["x.keras", "song.raw"], capsys)
    assert (status, out) == (2, "")
    assert one_line(err).startswith(f"gen.py: x.keras: {message}"), err
    if old_output is None:
        assert not (tmp_path / "outputs").exists()
    else:
        assert [path.name for path in (tmp_path / "outputs").iterdir()] == ["song.raw"]
        assert (tmp_path / "outputs" / "song.raw").read_bytes() == old_output


@pytest.mark.parametrize("argv, message", [
    (["{model}", "song.raw", "5"], "gen.py: samples 5: {model} was trained on windows of 9; drop the argument or give 9"),
    (["{model}", "song.raw", "five"], "gen.py: argument samples: 'five' is not a positive whole number"),
    (["{model}", "nosong.raw"], "gen.py: nosong.raw: no such file"),
    (["{model}", "song.raw", "--format", "s16le"], "gen.py: song.raw: has 1001 bytes, not a whole number"),
    (["{model}", "song.raw", "--out", "song.raw/out.raw"], "gen.py: song.raw/out.raw: cannot be written"),
    (["missing.keras", "song.raw"], "gen.py: missing.keras: no such model"),
])
def test_gen_refuses_with_one_line(fitted, tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    shutil.copy(fitted.directory / "song.raw", tmp_path / "song.raw")
    model = str(fitted.model())
    status, out, err = run(gen, [arg.format(model=model) for arg in argv], capsys)
    assert (status, out) == (2, "")
    assert one_line(err).startswith(message.format(model=model)), err
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["song.raw"]


# --- as real processes: what a terminal shows --------------------------------------------------


@pytest.mark.parametrize("script, argv, message", [
    ("fit.py", ["abc"], "fit.py: argument layers: 'abc' is not a positive whole number; see fit.py --help"),
    # imports TensorFlow (about 8 s): its start-up logging must not reach the terminal
    ("fit.py", ["6", "32", "999", "nosuchact"], "fit.py: activator 'nosuchact': not a Keras activation; use one of"),
    ("gen.py", ["missing.keras", "song.raw"], "gen.py: missing.keras: no such model"),
])
def test_script_error_is_exactly_one_line(workdir, script, argv, message):
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, str(ROOT / script), *argv], cwd=workdir, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout) == (2, "")
    assert one_line(result.stderr).startswith(message), result.stderr
    assert sorted(path.name for path in workdir.iterdir()) == ["song.raw", "train_x.raw", "train_y.raw"]
