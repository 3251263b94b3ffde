"""Audio formats end to end: fit.py and gen.py on signed 8-bit raw files and on WAV files, and a model
trained on u8 rendering songs stored in other formats at the right levels.

Every format decodes to the same full-scale samples, so the same audio in another format must train
the same model and render the same sound. fit.py and gen.py run in this process through cli.run.
"""

import contextlib
import io
import json
import re
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from conftest import ROOT, leftovers, make_training_files, one_line

import fit
import gen

from neural_filter import audio, cli, network

TRAIN_SAMPLES = 11025  # a quarter of a second: enough for two quick epochs
SONG_SAMPLES = 1001  # not a multiple of the window (9)
FIT = ["1", "8", "64", "tanh", "adam", "0", "9", "2", "--learning-rate", "0.01", "--no-plot"]


def run(script, directory, argv):
    """A script in `directory`, in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.chdir(directory)
        status = script.run(argv)
    return status, out.getvalue(), err.getvalue()


def saved_model(directory, out):
    match = re.search(r"^saved (\S+\.keras)$", out, re.MULTILINE)
    assert match, out
    return directory / match.group(1)


def weights(model):
    stack, _, _ = network.load_network(model)
    return [array for layer in stack.layers for array in (layer.kernel, layer.bias)]


@pytest.fixture(scope="module")
def u8_and_s8(tmp_path_factory):
    """The same training pair and song as u8 raw files in one directory and as s8 raw files in another,
    each trained with FIT; returns {format: (directory, model)}."""
    trained = {}
    for format in ("u8", "s8"):
        directory = tmp_path_factory.mktemp(format)
        make_training_files(directory, samples=TRAIN_SAMPLES, song_samples=SONG_SAMPLES)
        if format == "s8":  # the same samples stored signed: every byte's top bit flipped
            for name in ("train_x.raw", "train_y.raw", "song.raw"):
                data = np.fromfile(directory / name, np.uint8)
                (directory / name).write_bytes((data ^ 0x80).tobytes())
        status, out, err = run(fit, directory, [*FIT, *(["--format", "s8"] if format == "s8" else [])])
        assert (status, err) == (0, ""), err
        trained[format] = directory, saved_model(directory, out)
    return trained


# --- signed 8-bit raw files ----------------------------------------------------------------------


def test_s8_trains_the_same_model_as_u8(u8_and_s8):
    (_, u8_model), (_, s8_model) = u8_and_s8["u8"], u8_and_s8["s8"]
    assert u8_model.name == s8_model.name  # the same score, so the same name
    for a, b in zip(weights(u8_model), weights(s8_model), strict=True):
        np.testing.assert_array_equal(a, b)
    records = [json.loads(model.with_suffix(".json").read_text()) for model in (u8_model, s8_model)]
    assert [record["data"]["format"] for record in records] == ["u8", "s8"]
    assert records[0]["metrics"] == records[1]["metrics"]


def test_s8_render_is_the_u8_render_stored_signed(u8_and_s8):
    (_, u8_model), (_, s8_model) = u8_and_s8["u8"], u8_and_s8["s8"]
    u8_render = np.fromfile(u8_model.with_suffix(".raw"), np.uint8)
    s8_render = np.fromfile(s8_model.with_suffix(".raw"), np.uint8)
    assert len(u8_render) == len(s8_render) == SONG_SAMPLES
    np.testing.assert_array_equal(s8_render, u8_render ^ 0x80)
    assert len(np.unique(u8_render)) > 20  # a real render, not silence


def test_gen_reproduces_the_s8_render(u8_and_s8, tmp_path):
    directory, model = u8_and_s8["s8"]
    status, out, err = run(gen, tmp_path, [str(model), str(directory / "song.raw"), "--format", "s8"])
    assert (status, err) == (0, "")
    assert (tmp_path / "outputs" / "song.raw").read_bytes() == model.with_suffix(".raw").read_bytes()


def test_s8_pair_with_a_wav_song(u8_and_s8):
    """--format describes the raw pair; the WAV song names its own format (the render used to be refused,
    after training, with "--format s8: song.wav is a WAV file ...; drop --format")."""
    directory, s8_model = u8_and_s8["s8"]
    samples = audio.decode(np.fromfile(directory / "song.raw", np.int8), "s8")
    audio.write_audio(directory / "song.wav", samples, "s16le", 44100)  # the pair's rate: rendered as it is
    status, out, err = run(fit, directory, [*FIT, "--format", "s8", "--song", "song.wav",
                                                           "--models", "with_wav"])
    assert (status, err) == (0, ""), err
    model = saved_model(directory, out)
    assert model.name == s8_model.name  # the same run as the fixture's, into another folder
    rate, stored = wavfile.read(model.with_suffix(".wav"))
    assert (rate, stored.dtype, stored.shape) == (44100, np.int16, (SONG_SAMPLES,))
    s8_render = audio.decode(np.fromfile(s8_model.with_suffix(".raw"), np.int8), "s8")
    assert np.abs(audio.decode(stored, "s16le") - s8_render).max() <= 0.5 / 128 + 0.5 / 32768


# --- a u8 model on songs stored in other formats -------------------------------------------------


@pytest.mark.parametrize("name, format, step", [
    ("song.wav", "s16le", 1 / 32768),  # a 16-bit WAV: the output is a 16-bit WAV
    ("song.s16", "s16le", 1 / 32768),  # the same as a raw file
    ("song.f32", "f32le", 0.0),  # float: the network's output unrounded
    ("song.s8", "s8", 1 / 128),
])
def test_u8_model_renders_other_formats_at_the_right_levels(u8_and_s8, tmp_path, name, format, step):
    directory, model = u8_and_s8["u8"]
    samples = audio.decode(np.fromfile(directory / "song.raw", np.uint8), "u8")  # exact in every format
    wav = name.endswith(".wav")
    audio.write_audio(tmp_path / name, samples, format, 44100)
    status, _, err = run(gen, tmp_path, [str(model), name, "--out", f"out{'.wav' if wav else ''}",
                                                        *([] if wav else ["--format", format])])
    assert (status, err) == (0, "")
    rendered = audio.read_audio(tmp_path / f"out{'.wav' if wav else ''}", None if wav else format)
    assert (rendered.format, rendered.rate, len(rendered.samples)) == (format, 44100, SONG_SAMPLES)
    reference = audio.decode(np.fromfile(model.with_suffix(".raw"), np.uint8), "u8")  # fit.py's u8 render
    assert np.abs(reference).max() < 0.99  # nothing clipped in u8, so the bound below is rounding alone
    # the same network output, rounded once to u8 and once to this format
    assert np.abs(rendered.samples - reference).max() <= 0.5 / 128 + step / 2 + 1e-7
    if format == "s8":  # the same steps as u8: the same bytes, stored signed
        np.testing.assert_array_equal(np.fromfile(tmp_path / "out", np.uint8),
                                      np.fromfile(model.with_suffix(".raw"), np.uint8) ^ 0x80)


# --- WAV files end to end ------------------------------------------------------------------------


def wav_files(directory, x_rate=22050, y_rate=22050, song_rate=22050):
    """The conftest pair and song written as 16-bit WAV files, at the rates given."""
    make_training_files(directory, samples=TRAIN_SAMPLES, song_samples=SONG_SAMPLES)
    for name, rate in (("train_x", x_rate), ("train_y", y_rate), ("song", song_rate)):
        samples = audio.decode(np.fromfile(directory / f"{name}.raw", np.uint8), "u8")
        audio.write_audio(directory / f"{name}.wav", samples, "s16le", rate)
        (directory / f"{name}.raw").unlink()


WAV_FIT = [*FIT, "--train-x", "train_x.wav", "--train-y", "train_y.wav", "--song", "song.wav"]


def test_wav_pair_and_song_render_a_wav_like_the_song(tmp_path):
    wav_files(tmp_path)
    status, out, err = run(fit, tmp_path, WAV_FIT)
    assert (status, err) == (0, ""), err
    model = saved_model(tmp_path, out)
    assert f"rendered song.wav -> models/{model.stem}.wav" in out
    rate, stored = wavfile.read(model.with_suffix(".wav"))
    assert (rate, stored.dtype, stored.shape) == (22050, np.int16, (SONG_SAMPLES,))  # mono, the song's kind
    record = json.loads(model.with_suffix(".json").read_text())
    assert record["spec"]["rate"] == 22050 and record["data"]["rate"] == 22050
    assert len(np.unique(stored)) > 100  # a real 16-bit render, not silence or 8-bit steps

    (tmp_path / "elsewhere").mkdir()
    status, out, err = run(gen, tmp_path / "elsewhere", [str(model), str(tmp_path / "song.wav")])
    assert (status, err) == (0, "")
    assert (tmp_path / "elsewhere" / "outputs" / "song.wav").read_bytes() == model.with_suffix(".wav").read_bytes()


@pytest.mark.parametrize("rates, argv, message", [
    ((44100, 22050, 22050), [], "fit.py: train_y.wav: is at 22050 Hz but train_x.wav is at 44100 Hz; "
                                "resample one to match the other"),
    ((22050, 44100, 22050), [], "fit.py: train_y.wav: is at 44100 Hz but train_x.wav is at 22050 Hz; "),
    ((22050, 22050, 22050), ["--format", "s8"], "fit.py: --format s8: train_x.wav is a WAV file, which names "
                                                "its own format; drop --format"),
    ((22050, 22050, 22050), ["--rate", "44100"], "fit.py: --rate 44100: train_x.wav says its rate is 22050 Hz; "
                                                 "drop --rate for WAV files"),
])
def test_wav_pair_that_does_not_match_is_refused(tmp_path, rates, argv, message):
    wav_files(tmp_path, *rates)
    before = sorted(path.name for path in tmp_path.iterdir())
    status, out, err = run(fit, tmp_path, [*WAV_FIT, *argv])
    assert (status, out) == (2, "")
    assert one_line(err).startswith(message), err
    assert sorted(path.name for path in tmp_path.iterdir()) == before  # no cache, no models/
    assert leftovers(tmp_path) == []


def test_u8_model_on_a_wav_song_keeps_its_rate_and_width(u8_and_s8, tmp_path):
    """gen.py's default output for a WAV song: outputs/<name>.wav, the song's rate and sample width."""
    directory, model = u8_and_s8["u8"]
    samples = audio.decode(np.fromfile(directory / "song.raw", np.uint8), "u8")
    audio.write_audio(tmp_path / "mine.wav", samples, "s16le", 48000)
    status, out, err = run(gen, tmp_path, [str(model), "mine.wav"])
    assert (status, err) == (0, "")
    assert out.startswith(f"rendered mine.wav -> outputs/mine.wav: {SONG_SAMPLES} samples")
    assert out.splitlines()[1] == "resampled mine.wav from 48000 Hz to the model's 44100 Hz and back"
    rate, stored = wavfile.read(tmp_path / "outputs" / "mine.wav")
    assert (rate, stored.dtype, len(stored)) == (48000, np.int16, SONG_SAMPLES)
