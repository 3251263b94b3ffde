"""Audio formats end to end: fit.py and gen.py on signed 8-bit raw files and on WAV files, and a model
trained on u8 rendering songs stored in other formats at the right levels.

Every format decodes to the same full-scale samples, so the same audio in another format must train
the same model and render the same sound. fit.py and gen.py run in this process through cli.run.
"""

import contextlib
import io
import json
import re

import numpy as np
import pytest
from scipy.io import wavfile

from conftest import leftovers, make_training_files, one_line

import fit
import gen

from neural_filter import audio, model_file

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
    stack, _, _ = model_file.load_network(model)
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


# --- every kind end to end: the kind read from the content, the output's from --out ----------------


def u8_song(directory):
    """The fixture's song, full scale (exact in every format)."""
    return audio.decode(np.fromfile(directory / "song.raw", np.uint8), "u8")


@pytest.mark.parametrize("song, kind, format, argv, out, out_kind, out_format", [
    ("song.flac", "flac", "s16le", [], "outputs/song.flac", "flac", "s16le"),  # FLAC in, FLAC out
    ("song.raw", "flac", "s24le", [], "outputs/song.flac", "flac", "s24le"),  # a FLAC named .raw: read as FLAC
    ("song.wav", "wav", "s16le", ["--out", "out.flac"], "out.flac", "flac", "s16le"),  # --out picks the kind
    ("song.wav", "wav", "s24le", ["--out", "out.raw"], "out.raw", "raw", "f32le"),  # raw has no 24-bit: float
    ("song.aif", "aiff", "s16le", [], "outputs/song.aiff", "aiff", "s16le"),
    ("song.wav", "wav", "u8", ["--out", "out.aiff"], "out.aiff", "aiff", "s16le"),  # no 8-bit AIFF: 16-bit
    ("song.flac", "flac", "s8", ["--out", "out"], "out", "flac", "s8"),  # no extension: the song's kind
])
def test_gen_reads_and_writes_every_lossless_kind(u8_and_s8, tmp_path, song, kind, format, argv, out, out_kind,
                                                   out_format):
    directory, model = u8_and_s8["u8"]
    audio.write_audio(tmp_path / song, u8_song(directory), format, 44100, container=kind)
    status, stdout, err = run(gen, tmp_path, [str(model), song, *argv])
    assert (status, err) == (0, "")
    assert stdout.startswith(f"rendered {song} -> {out}: {SONG_SAMPLES} samples")
    rendered = audio.open_audio(tmp_path / out, "f32le" if out_kind == "raw" else None)
    assert (rendered.container, rendered.format, rendered.rate, len(rendered)) == (out_kind, out_format, 44100,
                                                                                     SONG_SAMPLES)
    reference = audio.decode(np.fromfile(model.with_suffix(".raw"), np.uint8), "u8")  # fit.py's u8 render
    step = {"s8": 1 / 128, "s16le": 1 / 32768, "s24le": 1 / 2**23, "f32le": 0.0}[out_format]
    assert np.abs(rendered.read() - reference).max() <= 0.5 / 128 + step / 2 + 1e-7  # rounded once each way


@pytest.mark.parametrize("song, kind, argv, out, out_kind", [
    ("song.mp3", "mp3", [], "outputs/song.mp3", "mp3"),  # MP3 in, MP3 out
    ("song.raw", "ogg", [], "outputs/song.ogg", "ogg"),  # an Ogg named .raw: read as Ogg, never as raw bytes
    ("song.mp3", "mp3", ["--out", "out.wav"], "out.wav", "wav"),  # lossy in, float WAV out
    ("song.wav", "wav", ["--out", "out.ogg"], "out.ogg", "ogg"),  # lossless in, lossy out
])
def test_gen_reads_and_writes_lossy_kinds(u8_and_s8, tmp_path, capfd, song, kind, argv, out, out_kind):
    directory, model = u8_and_s8["u8"]
    audio.write_audio(tmp_path / song, u8_song(directory), "s16le", 44100, container=kind)
    capfd.readouterr()
    status, stdout, err = run(gen, tmp_path, [str(model), song, *argv])
    assert (status, err) == (0, "")
    assert stdout.startswith(f"rendered {song} -> {out}: {SONG_SAMPLES} samples")
    assert capfd.readouterr().err == ""  # not a word from libmpg123 or libvorbis on the real stderr either
    rendered = audio.open_audio(tmp_path / out)
    assert (rendered.container, rendered.rate, len(rendered)) == (out_kind, 44100, SONG_SAMPLES)


# --- songs at another rate than the model's -----------------------------------------------------


@pytest.mark.parametrize("rate, length", [
    (48000, SONG_SAMPLES),  # most audio today
    (22050, SONG_SAMPLES),  # half the model's rate
    (96000, 4801),  # more than twice: a length that converts to a fraction of a sample
    (48000, 7),  # shorter than the conversion filter
])
def test_gen_renders_a_song_at_another_rate_through_the_models_rate(u8_and_s8, tmp_path, rate, length):
    import soxr

    from neural_filter import render

    directory, model = u8_and_s8["u8"]
    samples = audio.decode(audio.encode(np.resize(u8_song(directory), length), "s16le"), "s16le")
    audio.write_audio(tmp_path / "song.wav", samples, "s16le", rate)
    status, out, err = run(gen, tmp_path, [str(model), "song.wav"])
    assert (status, err) == (0, "")
    assert out.splitlines()[1] == f"resampled song.wav from {rate} Hz to the model's 44100 Hz and back"
    rendered = audio.read_audio(tmp_path / "outputs" / "song.wav")
    assert (rendered.rate, rendered.format, len(rendered.samples)) == (rate, "s16le", length)  # the song's, exactly
    # the same as converting the whole song at once, rendering at 44.1 kHz and converting back
    network_, spec, _ = model_file.load_network(model)
    there = soxr.resample(samples, rate, 44100, quality="VHQ")
    back = soxr.resample(render.render(network_, spec, there), 44100, rate, quality="VHQ")
    expected = audio.as_stored(np.pad(back, (0, max(length - len(back), 0)))[:length], "wav", "s16le")
    assert np.abs(rendered.samples - expected).max() <= 1 / 32768 + 1e-7  # one step: rounding either side of a half


def test_gen_no_resample_refuses_a_song_at_another_rate(u8_and_s8, tmp_path):
    directory, model = u8_and_s8["u8"]
    audio.write_audio(tmp_path / "song.wav", u8_song(directory), "s16le", 48000)
    status, out, err = run(gen, tmp_path, [str(model), "song.wav", "--no-resample"])
    assert (status, out) == (2, "")
    assert one_line(err) == (f"gen.py: --no-resample: song.wav is at 48000 Hz but {model} was trained at 44100 Hz; "
                             "drop --no-resample to render it through a 44100 Hz copy, or give a song at 44100 Hz")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["song.wav"]  # no outputs/
    status, out, err = run(gen, tmp_path, [str(model), "song.wav", "--no-resample", "--out", "same.wav"])
    assert status == 2
    audio.write_audio(tmp_path / "same.wav", u8_song(directory), "s16le", 44100)  # at the model's rate: rendered
    status, out, err = run(gen, tmp_path, [str(model), "same.wav", "--no-resample"])
    assert (status, err) == (0, "") and "resampled" not in out


def test_fit_renders_a_song_at_another_rate_like_gen(tmp_path):
    wav_files(tmp_path, song_rate=48000)
    status, out, err = run(fit, tmp_path, WAV_FIT)
    assert (status, err) == (0, ""), err
    model = saved_model(tmp_path, out)
    assert "  resampled song.wav from 48000 Hz to the model's 22050 Hz and back" in out.splitlines()
    (tmp_path / "gen").mkdir()
    status, out, err = run(gen, tmp_path / "gen", [str(model), str(tmp_path / "song.wav")])
    assert (status, err) == (0, "")
    assert (tmp_path / "gen" / "outputs" / "song.wav").read_bytes() == model.with_suffix(".wav").read_bytes()


def test_fit_no_resample_refuses_before_training(tmp_path):
    wav_files(tmp_path, song_rate=48000)
    before = sorted(path.name for path in tmp_path.iterdir())
    status, out, err = run(fit, tmp_path, [*WAV_FIT, "--no-resample"])
    assert (status, out) == (2, "")
    assert one_line(err) == ("fit.py: --no-resample: song.wav is at 48000 Hz but train_x.wav is at 22050 Hz; "
                             "drop --no-resample to render it through a 22050 Hz copy, or give a song at 22050 Hz")
    assert sorted(path.name for path in tmp_path.iterdir()) == before  # no cache, no models/


# --- training pairs of every kind, at every common rate ----------------------------------------


@pytest.mark.parametrize("kind, format, rate, name", [
    ("flac", "s16le", 22050, "{}.flac"),  # 22.05 kHz FLAC
    ("wav", "f32le", 48000, "{}.wav"),  # 48 kHz float WAV
    ("aiff", "s24le", 96000, "{}.aiff"),  # 96 kHz 24-bit AIFF
    ("flac", "s24le", 44100, "{}.raw"),  # FLAC files named .raw: read as FLAC
    ("ogg", "f32le", 44100, "{}.ogg"),  # a lossy pair trains too (both decode to the same length)
])
def test_fit_trains_on_a_pair_of_any_kind_and_rate(tmp_path, kind, format, rate, name):
    make_training_files(tmp_path, samples=TRAIN_SAMPLES, song_samples=SONG_SAMPLES)
    for stem in ("train_x", "train_y", "song"):
        samples = audio.decode(np.fromfile(tmp_path / f"{stem}.raw", np.uint8), "u8")
        (tmp_path / f"{stem}.raw").unlink()
        audio.write_audio(tmp_path / name.format(stem), samples, format, rate, container=kind)
    argv = ["--train-x", name.format("train_x"), "--train-y", name.format("train_y"), "--song", name.format("song")]
    status, out, err = run(fit, tmp_path, [*FIT, *argv])
    assert (status, err) == (0, ""), err
    model = saved_model(tmp_path, out)
    record = json.loads(model.with_suffix(".json").read_text())
    assert record["spec"]["rate"] == rate and record["data"]["rate"] == rate  # the pair's rate, recorded
    assert "resampled" not in out  # the song is at the pair's rate
    rendered = audio.open_audio(model.with_suffix(audio.KINDS[kind].extensions[0]))
    assert (rendered.container, rendered.rate, len(rendered)) == (kind, rate, SONG_SAMPLES)


def test_fit_refuses_a_pair_of_two_rates_in_other_kinds(tmp_path):
    make_training_files(tmp_path, samples=TRAIN_SAMPLES, song_samples=SONG_SAMPLES)
    for stem, rate, kind in (("train_x", 44100, "flac"), ("train_y", 48000, "aiff")):
        audio.write_audio(tmp_path / f"{stem}.{kind}", audio.read_audio(tmp_path / f"{stem}.raw").samples, "s16le",
                          rate, container=kind)
    status, out, err = run(fit, tmp_path, [*FIT, "--train-x", "train_x.flac", "--train-y", "train_y.aiff"])
    assert (status, out) == (2, "")
    assert one_line(err) == ("fit.py: train_y.aiff: is at 48000 Hz but train_x.flac is at 44100 Hz; "
                             "resample one to match the other")


@pytest.mark.parametrize("write, argv, message", [
    (lambda path: path.write_bytes(b"RIFF\x10\0\0\0WAVEfmt "), [],  # a WAV header cut short, named .raw
     "song.raw: is a WAV file that cannot be read: its header is damaged or its encoding unsupported; "
     "re-export it as 8, 16, 24 or 32-bit PCM or float WAV"),
    (lambda path: path.write_bytes(b"fLaC" + bytes(60)), [],  # a FLAC whose STREAMINFO is zeros
     "song.raw: is a FLAC file that cannot be read: its header is damaged or its encoding unsupported; "
     "re-export it, or convert it to WAV or FLAC"),
    (lambda path: audio.write_audio(path, np.zeros(2000, np.float32), "s16le", 44100, container="flac"),
     ["--format", "s16le"],  # raw asked for, a FLAC given: never read as raw bytes
     "--format s16le: song.raw is a FLAC file, which names its own format; drop --format"),
])
def test_gen_refuses_a_damaged_or_misdescribed_song_with_one_line(u8_and_s8, tmp_path, capfd, write, argv, message):
    _, model = u8_and_s8["u8"]
    write(tmp_path / "song.raw")
    capfd.readouterr()
    status, out, err = run(gen, tmp_path, [str(model), "song.raw", *argv])
    assert (status, out) == (2, "")
    assert one_line(err) == f"gen.py: {message}"
    assert capfd.readouterr().err == ""  # and nothing of libsndfile's on the real stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["song.raw"]  # no outputs/
