"""A knob model end to end: make_data.py's pairs, fit.py --pairs, gen.py --cutoff, and their refusals."""

import contextlib
import io
import json
import re
import zipfile

import keras
import numpy as np
import pytest

import fit
import gen
import make_data
from neural_filter import audio, fir, metrics, render
from neural_filter.knob import Knob
from neural_filter.model_file import load_network
from neural_filter.spec import FilterSpec
from tests.conftest import one_line

FIT_ARGS = ["1", "8", "16", "tanh", "adam", "1", "64", "2", "--pairs", "pairs.csv", "--no-plot"]


def run(script, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = script.run(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def knob_fitted(tmp_path_factory):
    """Three 1-second pairs from 300 to 3000 Hz and a model trained on them."""
    directory = tmp_path_factory.mktemp("knob")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        assert run(make_data, ["--cutoff", "300:3000", "--count", "3", "--seconds", "1", "--song-seconds", "0.1"])[0] == 0
        status, out, err = run(fit, FIT_ARGS)
    assert (status, err) == (0, ""), out + err
    model = directory / "models" / (re.search(r"^saved models/(\S+)$", out, re.MULTILINE).group(1))
    return directory, model, out


def test_a_knob_model_is_named_after_its_range_and_records_its_knob(knob_fitted):
    directory, model, out = knob_fitted
    assert re.fullmatch(r"tanh_adam_1_8_16_64_2_sliding_cutoff300-3000_a[-+]\d+\.\d\.keras", model.name)
    record = json.loads(model.with_suffix(".json").read_text())
    inside = json.loads(zipfile.ZipFile(model).read("neural_filter.json"))
    assert record["knob"] == inside["knob"]
    assert record["knob"]["name"] == "cutoff" and record["knob"]["unit"] == "Hz"
    assert (record["knob"]["low"], record["knob"]["high"]) == (300.0, 3000.0)
    assert record["knob"]["knots"] == pytest.approx([300.0, 948.683, 3000.0], rel=1e-6)
    assert [row["cutoff"] for row in record["metrics"]["by_knob"]] == record["knob"]["knots"]
    assert "rendered song.raw -> " in out and "at cutoff 949 Hz, the middle of the trained 300 to 3000 Hz" in out
    # the long bank (format 5): its length read off the pairs, its taps an entry of the file, read back as they were
    bank = record["linear_bank"]
    assert record["format"] == 5 and bank["length_from"] == "pair" and bank["knots"] == 3
    assert bank["taps"] >= 64 and bank["before"] == bank["taps"] - 1
    assert f"  linear bank, one FIR per pair: {bank['taps']} taps " in out
    network, _, _ = load_network(model)
    assert network.bank.taps.shape == (bank["taps"], 3) and list(network.bank.biases) == pytest.approx(bank["biases"])
    assert np.array_equal(np.load(io.BytesIO(zipfile.ZipFile(model).read("linear_bank.npy"))), network.bank.taps)


def render_song(knob_fitted, out, *extra):
    """gen.py MODEL song.raw --out OUT EXTRA..., which must succeed quietly; its stdout."""
    directory, model, _ = knob_fitted
    status, stdout, err = run(gen, [str(model), str(directory / "song.raw"), "--out", str(out), *extra])
    assert (status, err) == (0, "")
    return stdout


def test_gen_at_the_middle_gives_fits_bytes(knob_fitted, tmp_path):
    assert "at cutoff 949 Hz" in render_song(knob_fitted, tmp_path / "middle.raw", "--cutoff", "949")
    assert (tmp_path / "middle.raw").read_bytes() == knob_fitted[1].with_suffix(".raw").read_bytes()


def test_numpy_render_matches_keras_between_knots(knob_fitted):
    directory, model, _ = knob_fitted
    network, spec, record = load_network(model)
    song = audio.read_audio(directory / "song.raw").samples
    features = Knob.from_record(record["knob"]).features([1500.0])
    # the Keras model is the stack; the long bank beside it, at 1500 Hz: each knot's FIR weighed, in float64
    bank = network.bank
    linear = sum(bank.path(knot).filter(song).astype(np.float64) * weight for knot, weight in enumerate(features[0]))
    stack = keras.models.load_model(model, compile=False)
    expected = stack.predict([spec.pad(song)[None, :, None], features, linear[None, :, None]], verbose=0).ravel()
    np.testing.assert_allclose(render.render(network.at(1500.0), spec, song), expected + linear, atol=1e-5)


def test_gen_sweeps_the_cutoff_over_the_song(knob_fitted, tmp_path):
    stdout = render_song(knob_fitted, tmp_path / "sweep.wav", "--cutoff", "300:3000")
    assert "sweeping the cutoff from 300 Hz to 3000 Hz" in stdout
    swept = audio.read_audio(tmp_path / "sweep.wav")
    assert len(swept.samples) == len(audio.read_audio(knob_fitted[0] / "song.raw").samples)


@pytest.mark.parametrize("extra, message", [
    ([], "--cutoff: {model} was trained for every cutoff from 300 to 3000 Hz; give --cutoff Hz, or A:B"),
    (["--cutoff", "100"], "--cutoff 100 Hz: outside the range the model was trained on (300 to 3000 Hz)"),
    (["--cutoff", "500:9000"], "--cutoff 9000 Hz: outside the range the model was trained on (300 to 3000 Hz)"),
    (["--cutoff", "loud"], "argument --cutoff: 'loud' is not a cutoff in Hz"),
])
def test_gen_refuses_a_knob_missing_or_out_of_range(knob_fitted, tmp_path, extra, message):
    directory, model, _ = knob_fitted
    out = tmp_path / "refused.raw"
    status, stdout, err = run(gen, [str(model), str(directory / "song.raw"), "--out", str(out), *extra])
    assert status == 2
    assert message.format(model=model) in one_line(err)
    assert not out.exists()


def test_gen_refuses_a_cutoff_for_a_model_without_a_knob(tmp_path):
    model = "models/lowpass_600hz_6db/tanh_adam_6_32_32_64_40_sliding_a32.3.keras"
    song = tmp_path / "song.raw"
    song.write_bytes(bytes(range(256)))
    from tests.conftest import ROOT

    status, _, err = run(gen, [str(ROOT / model), str(song), "--cutoff", "1000", "--out", str(tmp_path / "out.raw")])
    assert status == 2
    assert "--cutoff: " in err and "has no knob: it was trained on one pair" in one_line(err)


@pytest.mark.parametrize("csv, message", [
    ("dry,filtered,cutoff\ntrain_x_01.raw,train_y_01.raw,300\n", "pairs.csv: lists 1 pair; a knob needs at least 2"),
    ("dry,filtered,cutoff\ntrain_x_01.raw,train_y_01.raw,300\ntrain_x_02.raw,missing.raw,900\n", "missing.raw"),
    ("dry,filtered,cutoff\ntrain_x_01.raw,train_y_01.raw,300\ntrain_x_02.raw,train_y_02.raw,lots\n", "is not a number"),
    ("dry,filtered,cutoff\ntrain_x_01.raw,train_y_01.raw,300\ntrain_x_02.raw,short.raw,900\n",
     "short.raw: has 22050 samples (0.50 s) but"),
])
def test_fit_refuses_a_bad_pairs_file(knob_fitted, tmp_path, monkeypatch, csv, message):
    directory, _, _ = knob_fitted
    for name in ("train_x_01.raw", "train_y_01.raw", "train_x_02.raw", "train_y_02.raw"):
        (tmp_path / name).write_bytes((directory / name).read_bytes())
    (tmp_path / "short.raw").write_bytes((directory / "train_y_02.raw").read_bytes()[:22050])
    (tmp_path / "pairs.csv").write_text(csv)
    monkeypatch.chdir(tmp_path)
    status, _, err = run(fit, FIT_ARGS)
    assert status == 2
    assert message in one_line(err)
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").glob("*.keras"))


@pytest.mark.parametrize("extra, message", [
    (["--mode", "chunk"], "--mode chunk: is not for a knob model"),
    (["--levels", "unit"], "--levels unit: is not for a knob model"),
    (["--no-linear-path"], "--no-linear-path: is not for a knob model"),
    (["--no-fir-start"], "--no-fir-start: is not for a knob model"),
    (["--linear-taps", "2048", "--no-linear-path"], "--no-linear-path: is not for a knob model"),
    (["--train-x", "a.raw"], "--pairs pairs.csv: names the training pairs, and so do --train-x and --train-y"),
])
def test_fit_refuses_what_a_knob_model_is_not(knob_fitted, monkeypatch, extra, message):
    monkeypatch.chdir(knob_fitted[0])
    status, _, err = run(fit, FIT_ARGS + extra)
    assert status == 2
    assert message in one_line(err)


def test_a_long_bank_of_linear_taps_follows_a_filter_far_longer_than_the_window(tmp_path, monkeypatch):
    """Pairs at 60 and 120 Hz, 24 dB/octave (s16): thousands of samples of response, a window of 64."""
    monkeypatch.chdir(tmp_path)
    made = run(make_data, ["--cutoff", "60:120", "--count", "2", "--rolloff", "24", "--seconds", "1", "--format",
                           "s16le", "--song-seconds", "0.1"])
    assert made[0] == 0
    status, out, err = run(fit, [*FIT_ARGS, "--format", "s16le", "--linear-taps", "2048"])
    assert (status, err) == (0, ""), out + err
    assert "  linear bank, one FIR per pair: 2048 taps (46.4 ms), as --linear-taps gave\n" in out
    (model,) = (tmp_path / "models").glob("*.keras")
    record = json.loads(model.with_suffix(".json").read_text())
    assert (record["linear_bank"]["taps"], record["linear_bank"]["length_from"]) == (2048, "given")
    for row, index in zip(record["metrics"]["by_knob"], ("01", "02")):
        x, y = (audio.read_audio(f"train_{side}_{index}.raw", "s16le").samples for side in ("x", "y"))
        # the window-long least-squares FIR, scored on the pair it was solved on (which flatters it)
        taps, bias = fir.least_squares_fir(x, y, 64, 63)
        window_esr = metrics.decibels(metrics.esr(render.render(fir.fir_network(taps, bias), FilterSpec(
            mode="sliding", window=64, levels="signed"), x), y))
        assert row["esr_db"] < window_esr - 30 and row["esr_db"] < -40, (row, window_esr)


def test_fit_refuses_a_list_that_contradicts_make_datas_note(knob_fitted, tmp_path, monkeypatch):
    directory, _, _ = knob_fitted
    for name in ("train_x_01.raw", "train_y_01.raw", "train_y_01.json", "train_x_02.raw", "train_y_02.raw",
                 "train_y_02.json"):
        (tmp_path / name).write_bytes((directory / name).read_bytes())
    (tmp_path / "pairs.csv").write_text("dry,filtered,cutoff\ntrain_x_01.raw,train_y_01.raw,300\n"
                                        "train_x_02.raw,train_y_02.raw,900\n")
    monkeypatch.chdir(tmp_path)
    status, _, err = run(fit, FIT_ARGS)
    assert status == 2
    assert one_line(err) == ("fit.py: pairs.csv: lists train_y_02.raw at 900 Hz, but make_data.py's note "
                             "train_y_02.json says it was filtered at 948.683 Hz; correct the cutoff in the list")


def test_gen_on_a_knob_model_needs_no_framework_nor_scipy(knob_fitted, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    directory, model, _ = knob_fitted
    check = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
import gen
status = gen.run([{str(model)!r}, {str(directory / 'song.raw')!r}, "--cutoff", "300:3000", "--out",
                  {str(tmp_path / 'out.raw')!r}, "--quiet"])
print(status, sorted(name for name in ("keras", "tensorflow", "scipy") if name in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", check], check=True, capture_output=True, text=True)
    assert result.stdout.split("\n")[-2] == "0 []"
