"""make_data.py as a user runs it: the training pair, the song and the filter note it writes, that
they are Audacity's recipe computed exactly (white noise, lowpass.ny, 8-bit export by rounding),
the same bytes for the same seed, and one-line refusals that leave the directory as it was.

The command line runs in this process through cli.run, in a fresh working directory per test.
"""

import json
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from conftest import ROOT, one_line

import make_data

from neural_filter import audio, cli, synth

RATE = 44100
SMALL = ["--seconds", "0.5", "--song-seconds", "0.5"]  # 22050 samples of each: fast, yet a real filter
SAMPLES = round(0.5 * RATE)
OUTPUTS = ["song.raw", "train_x.raw", "train_y.json", "train_y.raw"]


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(argv, capsys):
    """make_data.py in this process: (exit status, stdout, stderr)."""
    status = make_data.run(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def contents(directory):
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def recipe(seed, seconds=0.5, song_seconds=0.5, cutoff=600.0, rolloff=6, rate=RATE, format="u8"):
    """The three files' bytes computed here from synth directly, as make_data.py is meant to compute them."""
    rng = np.random.default_rng(seed)
    noise = synth.white_noise(seconds, rate, rng)
    filtered = synth.audacity_lowpass(noise, cutoff, rolloff, rate)
    song = synth.synthetic_song(song_seconds, rate, rng)  # the same generator, after the noise
    return {name: audio.encode(samples, format).tobytes()
            for name, samples in (("train_x.raw", noise), ("train_y.raw", filtered), ("song.raw", song))}


def test_writes_the_pair_the_song_and_the_note(cwd, capsys):
    status, out, err = run(SMALL, capsys)
    assert (status, err) == (0, "")
    assert out == "wrote train_x.raw and train_y.raw (0.5 s, 600 Hz at 6 dB/octave) and song.raw (0.5 s)\n"
    assert sorted(path.name for path in cwd.iterdir()) == OUTPUTS  # no temporary left behind
    for name in ("train_x.raw", "train_y.raw", "song.raw"):
        assert (cwd / name).stat().st_size == SAMPLES == 22050, name  # u8: one byte a sample
    assert json.loads((cwd / "train_y.json").read_text()) == {"noise": "white", "amplitude": 0.8,
                                                              "cutoff": 600.0, "rolloff": 6, "drive": 0.0,
                                                              "shape": "soft", "rate": 44100, "format": "u8",
                                                              "bytes": 22050}


@pytest.mark.parametrize("argv, cutoff, rolloff, rate", [
    ([], 600.0, 6, RATE),  # the defaults: the seed's 600 Hz one-pole
    (["--cutoff", "2000", "--rolloff", "24"], 2000.0, 24, RATE),  # a cascade of two biquads
    (["--cutoff", "150.5", "--rolloff", "48"], 150.5, 48, RATE),  # four biquads, a fractional cutoff
    (["--cutoff", "1000", "--rolloff", "12", "--rate", "8000"], 1000.0, 12, 8000),  # another rate: 4000 samples
])
def test_bytes_are_audacitys_recipe_computed_exactly(cwd, capsys, argv, cutoff, rolloff, rate):
    status, _, err = run([*SMALL, "--seed", "5", *argv], capsys)
    assert (status, err) == (0, "")
    written = contents(cwd)
    expected = recipe(5, cutoff=cutoff, rolloff=rolloff, rate=rate)
    for name in ("train_x.raw", "train_y.raw", "song.raw"):
        assert len(written[name]) == round(0.5 * rate), name
        assert written[name] == expected[name], name
    assert json.loads(written["train_y.json"]) == {"noise": "white", "amplitude": 0.8,
                                                   "cutoff": cutoff, "rolloff": rolloff, "drive": 0.0, "shape": "soft",
                                                   "rate": rate, "format": "u8", "bytes": round(0.5 * rate)}
    # the target really is filtered: a low-pass takes most of white noise's energy away
    x, y = (audio.decode(np.frombuffer(written[name], np.uint8), "u8") for name in ("train_x.raw", "train_y.raw"))
    assert np.dot(y, y) < 0.5 * np.dot(x, x)


def test_drive_saturates_the_target_and_is_noted(cwd, capsys):
    status, out, _ = run([*SMALL, "--seed", "5", "--drive", "10", "--shape", "asymmetric"], capsys)
    assert status == 0 and "asymmetric saturation 10 dB" in out
    rng = np.random.default_rng(5)
    noise = synth.white_noise(0.5, RATE, rng)
    target = synth.saturate(synth.audacity_lowpass(noise, 600.0, 6, RATE), 10, "asymmetric")
    assert (cwd / "train_y.raw").read_bytes() == audio.encode(target, "u8").tobytes()
    assert json.loads((cwd / "train_y.json").read_text()) == {"cutoff": 600.0, "rolloff": 6, "rate": RATE,
                                                              "noise": "white", "amplitude": 0.8,
                                                              "format": "u8", "bytes": SAMPLES, "drive": 10.0,
                                                              "shape": "asymmetric"}


def test_same_seed_same_bytes_another_seed_other_bytes(tmp_path, monkeypatch, capsys):
    made = {}
    for run_name, seed in (("first", "3"), ("again", "3"), ("other", "4")):
        (tmp_path / run_name).mkdir()
        monkeypatch.chdir(tmp_path / run_name)
        assert run([*SMALL, "--seed", seed], capsys)[0] == 0
        made[run_name] = contents(tmp_path / run_name)
    assert made["first"] == made["again"]
    for name in ("train_x.raw", "train_y.raw", "song.raw"):  # the song's hats are coloured by the seed too
        assert made["first"][name] != made["other"][name], name
    assert made["first"]["train_y.json"] == made["other"]["train_y.json"]  # the note names the filter, not the seed


@pytest.mark.parametrize("argv, message", [
    (["--cutoff", "0.05"], "make_data.py: --cutoff 0.05 Hz: out of range at 44100 Hz"),  # below lowpass.ny's 0.1
    (["--cutoff", "22050"], "make_data.py: --cutoff 22050 Hz: out of range at 44100 Hz"),  # Nyquist itself
    (["--cutoff", "4000", "--rate", "8000"], "make_data.py: --cutoff 4000 Hz: out of range at 8000 Hz"),
    (["--cutoff", "nan"], "make_data.py: --cutoff nan Hz: out of range"),  # not a frequency at all
    (["--shape", "asymmetric"], "make_data.py: --shape asymmetric: bends nothing without a drive; give --drive too"),
    (["--rolloff", "18"], "make_data.py: --rolloff 18 dB/octave: not one that lowpass.ny offers; use one of 6, 12,"),
    (["--rolloff", "6.5"], "make_data.py: argument --rolloff: invalid int value: '6.5'"),
    (["--song", "missing.wav"], "make_data.py: missing.wav: no such file"),
    (["--seconds", "0"], "make_data.py: --seconds 0: not a usable length; give a length of at least one sample"),  # no noise at all
    (["--song-seconds", "-1"], "make_data.py: --song-seconds -1: not a usable length; give a length of at least one sample"),
    (["--seconds", "0.00001"], "make_data.py: --seconds 1e-05: not a usable length; give a length of at least one sample"),  # was 0 bytes
    (["--song-seconds", "0.00001"], "make_data.py: --song-seconds 1e-05: not a usable length; give"),  # was an empty song.raw
    (["--seconds", "nan"], "make_data.py: --seconds nan: not a usable length; give a length"),  # was a traceback
    (["--seconds", "inf"], "make_data.py: --seconds inf: not a usable length; give a length"),  # was a traceback
    (["--noise", "violet"], "make_data.py: --noise 'violet': unknown; use one of white, pink, brownian"),
    (["--amplitude", "1.5"], "make_data.py: --amplitude 1.5: out of range; give a peak above 0 and at most 1"),  # export clips
    (["--amplitude", "0"], "make_data.py: --amplitude 0: out of range"),  # silence trains nothing
])
def test_refusals_are_one_line_exit_2_and_write_nothing(cwd, capsys, argv, message):
    status, out, err = run([*SMALL, *argv], capsys)
    assert (status, out) == (2, "")
    assert one_line(err).startswith(message), err
    assert list(cwd.iterdir()) == []


def test_one_sample_is_enough(cwd, capsys):
    status, _, err = run(["--seconds", "0.00002", "--song-seconds", "0.00002"], capsys)  # 0.88 samples round to 1
    assert (status, err) == (0, "")
    assert {name: len(data) for name, data in contents(cwd).items() if name.endswith(".raw")} == {
        "song.raw": 1, "train_x.raw": 1, "train_y.raw": 1}


@pytest.mark.parametrize("existing", ["train_x.raw", "train_y.raw", "song.raw"])
def test_existing_files_are_kept_without_force(cwd, capsys, existing):
    (cwd / existing).write_bytes(b"the user's own recording")
    status, out, err = run(SMALL, capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == f"make_data.py: {existing}: exists; pass --force to overwrite {existing}"
    assert contents(cwd) == {existing: b"the user's own recording"}  # untouched, and nothing beside it

    status, _, err = run([*SMALL, "--force"], capsys)
    assert (status, err) == (0, "")
    assert contents(cwd) == {**recipe(0), "train_y.json": (cwd / "train_y.json").read_bytes()}


def test_all_three_existing_are_named_and_kept(cwd, capsys):
    assert run([*SMALL, "--seed", "1"], capsys)[0] == 0
    before = contents(cwd)
    status, _, err = run([*SMALL, "--seed", "2", "--cutoff", "900"], capsys)
    assert status == 2
    assert one_line(err) == ("make_data.py: train_x.raw: exists; "
                             "pass --force to overwrite train_x.raw, train_y.raw, song.raw")
    assert contents(cwd) == before


def stereo_wav(path, rate, samples=3001, seed=9):
    """A 16-bit stereo WAV with unlike channels, reaching both ends of the range; (left, right) as int16."""
    rng = np.random.default_rng(seed)
    left = rng.integers(-32768, 32768, samples, dtype=np.int16)
    right = rng.integers(-32768, 32768, samples, dtype=np.int16)
    left[:2], right[:2] = (-32768, 32767), (-32768, 32767)  # full scale: must clip to 0 and 255, not wrap
    wavfile.write(path, rate, np.stack([left, right], axis=1))
    return left, right


def test_song_from_a_stereo_16_bit_wav_is_the_plain_average_in_u8(cwd, capsys):
    left, right = stereo_wav(cwd / "mine.wav", RATE)
    status, out, err = run([*SMALL, "--song", "mine.wav"], capsys)
    assert (status, err) == (0, "")
    assert out.endswith("and song.raw (0.1 s)\n")  # the WAV's length, not --song-seconds
    song = np.fromfile(cwd / "song.raw", np.uint8)
    # the mean of the two channels, 16-bit to 8-bit by rounding (half to even) and clipping; exact in float64
    average = (left.astype(np.int64) + right) / 2 / 32768
    expected = np.clip(np.rint(average * 128 + 128), 0, 255).astype(np.uint8)
    assert len(song) == 3001
    np.testing.assert_array_equal(song, expected)
    assert (song[0], song[1]) == (0, 255)
    assert (cwd / "mine.wav").exists()  # the user's file is read, not moved
    assert (cwd / "train_x.raw").read_bytes() == recipe(0)["train_x.raw"]  # the pair does not change with --song


def test_song_at_another_rate_is_converted_to_the_pairs(cwd, capsys):
    # raw files carry no rate: a 22.05 kHz song written as it is would play an octave high at 44.1 kHz
    stereo_wav(cwd / "mine.wav", 22050)
    status, out, err = run([*SMALL, "--song", "mine.wav"], capsys)
    assert (status, err) == (0, "")
    assert out.startswith("converted mine.wav from 22050 Hz to 44100 Hz, the pair's rate\n")
    assert (cwd / "song.raw").stat().st_size == 6002  # 3001 samples at twice the rate: the same 0.136 s


@pytest.mark.parametrize("format, width", [("s16le", 2), ("f32le", 4), ("s8", 1)])
def test_another_format_writes_every_file_in_it(cwd, capsys, format, width):
    status, _, err = run([*SMALL, "--seed", "5", "--format", format], capsys)
    assert (status, err) == (0, "")
    written = contents(cwd)
    for name, expected in recipe(5, format=format).items():
        assert written[name] == expected, name
        assert len(written[name]) == SAMPLES * width
    assert json.loads(written["train_y.json"])["format"] == format
    assert json.loads(written["train_y.json"])["bytes"] == SAMPLES * width


@pytest.mark.parametrize("kind", ["pink", "brownian"])
def test_noise_kind_makes_the_pair_from_that_noise_and_notes_it(cwd, capsys, kind):
    status, out, err = run([*SMALL, "--seed", "5", "--noise", kind, "--cutoff", "2000", "--rolloff", "24",
                            "--drive", "10"], capsys)  # full scale by default: pink and brownian are for drives
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote train_x.raw and train_y.raw (0.5 s of {kind} noise peaking at 1, 2000 Hz at 24 dB/octave, "
                          "soft saturation 10 dB)")
    rng = np.random.default_rng(5)
    noise = synth.noise(kind, 0.5, RATE, rng, 1.0)
    target = synth.saturate(synth.audacity_lowpass(noise, 2000.0, 24, RATE), 10, "soft")
    song = synth.synthetic_song(0.5, RATE, rng)  # the same generator, after the noise
    for name, samples in (("train_x.raw", noise), ("train_y.raw", target), ("song.raw", song)):
        assert (cwd / name).read_bytes() == audio.encode(samples, "u8").tobytes(), name
    x = audio.decode(np.fromfile(cwd / "train_x.raw", np.uint8), "u8")
    assert np.max(np.abs(x)) > 0.99  # full scale, not clipped: the export's peak is the amplitude's
    note = json.loads((cwd / "train_y.json").read_text())
    assert (note["noise"], note["amplitude"]) == (kind, 1.0)


def test_amplitude_scales_the_noise_and_is_noted(cwd, capsys):
    status, out, err = run([*SMALL, "--seed", "5", "--noise", "white", "--amplitude", "0.5"], capsys)
    assert (status, err) == (0, "") and "0.5 s of white noise peaking at 0.5," in out
    noise = synth.white_noise(0.5, RATE, np.random.default_rng(5), 0.5)
    assert (cwd / "train_x.raw").read_bytes() == audio.encode(noise, "u8").tobytes()
    assert json.loads((cwd / "train_y.json").read_text())["amplitude"] == 0.5
