"""make_data.py as a user runs it: the training pair, the song and the filter note it writes, that
they are Audacity's recipe computed exactly (white noise, lowpass.ny, 8-bit export by rounding),
the same bytes for the same seed, and one-line refusals that leave the directory as it was.

The command line runs in this process through cli.run, in a fresh working directory per test.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from conftest import ROOT, one_line

import make_data

from neural_filter import audio, cli, dataset, effect, synth
from neural_filter.errors import DataError
from neural_filter.pairs import read_pairs

RATE = 44100
SMALL = ["--seconds", "0.5", "--song-seconds", "0.5"]  # 22050 samples of each: fast, yet a real filter
SAMPLES = round(0.5 * RATE)
OUTPUTS = ["song.raw", "train_x.raw", "train_y.json", "train_y.raw"]


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


@pytest.mark.parametrize("envelope, words", [
    ("bursts", "in bursts"),  # for a drive or a clipper
    ("levels", "at moving levels"),  # for a compressor
])
def test_an_envelope_makes_the_pair_from_noise_at_its_levels_and_is_noted(cwd, capsys, envelope, words):
    status, out, err = run([*SMALL, "--seed", "5", "--noise", "pink", "--envelope", envelope, "--drive", "10"], capsys)
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote train_x.raw and train_y.raw (0.5 s of pink noise {words} peaking at 1, 600 Hz")
    noise = synth.noise("pink", 0.5, RATE, np.random.default_rng(5), 1.0, envelope)
    assert (cwd / "train_x.raw").read_bytes() == audio.encode(noise, "u8").tobytes()
    note = json.loads((cwd / "train_y.json").read_text())
    assert list(note)[:3] == ["noise", "amplitude", "envelope"] and note["envelope"] == envelope
    read = effect.read_note(cwd / "train_y.raw")
    assert (read.noise, read.envelope, read.recipe.drive) == ("pink", envelope, 10.0)


def test_tones_are_made_and_noted_and_a_note_read_back(cwd, capsys):
    status, out, err = run([*SMALL, "--seed", "5", "--noise", "pink", "--tones", "--envelope", "bursts"], capsys)
    assert (status, err) == (0, "") and "0.5 s of pink noise and tones in bursts peaking at 1," in out
    noise = synth.noise("pink", 0.5, RATE, np.random.default_rng(5), 1.0, "bursts", tones=True)
    assert (cwd / "train_x.raw").read_bytes() == audio.encode(noise, "u8").tobytes()
    assert json.loads((cwd / "train_y.json").read_text())["tones"] is True
    assert effect.read_note(cwd / "train_y.raw").tones is True


@pytest.mark.parametrize("noted, damaged, problem", [
    ('"tones": true', '"tones": 1', "holds tones 1, not a true or false"),
    ('"bursts"', '"loud"', "holds envelope 'loud': unknown"),
])
def test_a_note_with_a_damaged_envelope_or_tones_is_refused(cwd, capsys, noted, damaged, problem):
    assert run([*SMALL, "--envelope", "bursts", "--tones"], capsys)[0] == 0
    note = cwd / "train_y.json"
    note.write_text(note.read_text().replace(noted, damaged))
    with pytest.raises(DataError) as caught:
        effect.read_note(cwd / "train_y.raw")
    assert str(caught.value) == f"{note}: {problem}; make the pair again with make_data.py, or delete the note"


def test_amplitude_scales_the_noise_and_is_noted(cwd, capsys):
    status, out, err = run([*SMALL, "--seed", "5", "--noise", "white", "--amplitude", "0.5"], capsys)
    assert (status, err) == (0, "") and "0.5 s of white noise peaking at 0.5," in out
    noise = synth.white_noise(0.5, RATE, np.random.default_rng(5), 0.5)
    assert (cwd / "train_x.raw").read_bytes() == audio.encode(noise, "u8").tobytes()
    assert json.loads((cwd / "train_y.json").read_text())["amplitude"] == 0.5


# --- a knob: --cutoff LO:HI --count N ------------------------------------------------------------

KNOB = ["--seconds", "0.2", "--song-seconds", "0.2"]  # 8820 samples a file: 32 pairs in well under a second
KNOB_SAMPLES = round(0.2 * RATE)


def knob_names(count, width=2):
    numbers = [str(index).zfill(width) for index in range(1, count + 1)]
    return sorted([f"train_{kind}_{number}.{suffix}" for number in numbers
                   for kind, suffix in (("x", "raw"), ("y", "raw"), ("y", "json"))] + ["pairs.csv", "song.raw"])


def test_a_range_writes_count_pairs_their_notes_the_song_and_the_list(cwd, capsys):
    status, out, err = run([*KNOB, "--cutoff", "100:8000", "--count", "5", "--rolloff", "24", "--seed", "3"], capsys)
    assert (status, err) == (0, "")
    assert out == ("wrote 5 pairs, train_x_01.raw .. train_x_05.raw and train_y_01.raw .. train_y_05.raw (0.2 s each, "
                   "100 to 8000 Hz spaced evenly in log frequency, at 24 dB/octave), song.raw (0.2 s) and pairs.csv\n")
    assert sorted(path.name for path in cwd.iterdir()) == knob_names(5)  # no temporary left behind
    for path in cwd.glob("*.raw"):
        assert path.stat().st_size == KNOB_SAMPLES, path.name

    pairs = read_pairs("pairs.csv")
    cutoffs = [pair.cutoff for pair in pairs]
    assert (cutoffs[0], cutoffs[-1]) == (100.0, 8000.0)  # the ends exactly as typed
    np.testing.assert_allclose(cutoffs, np.geomspace(100, 8000, 5), rtol=1e-15)
    np.testing.assert_allclose(np.diff(np.log(cutoffs)), np.log(80) / 4, rtol=1e-12)  # evenly in log frequency
    assert (cwd / "pairs.csv").read_text().splitlines()[:2] == ["dry,filtered,cutoff", "train_x_01.raw,train_y_01.raw,100.0"]

    for index, pair in enumerate(pairs, 1):
        assert (pair.dry, pair.filtered) == (Path(f"train_x_{index:02}.raw"), Path(f"train_y_{index:02}.raw"))
        # each pair's own noise: stream [seed, index], filtered at its cutoff, exactly
        noise = synth.white_noise(0.2, RATE, np.random.default_rng([3, index]))
        assert pair.dry.read_bytes() == audio.encode(noise, "u8").tobytes(), index
        target = synth.audacity_lowpass(noise, pair.cutoff, 24, RATE)
        assert pair.filtered.read_bytes() == audio.encode(target, "u8").tobytes(), index
        # fit.py knows each pair's filter from its note
        assert dataset.known_filter(pair.filtered) == {"cutoff": pair.cutoff, "rolloff": 24, "rate": RATE,
                                                       "drive": 0.0, "shape": "soft", "format": "u8"}
        assert json.loads(dataset.filter_note_path(pair.filtered).read_text()) == {
            "noise": "white", "amplitude": 0.8, "cutoff": pair.cutoff, "rolloff": 24, "drive": 0.0, "shape": "soft",
            "rate": RATE, "format": "u8", "bytes": KNOB_SAMPLES}
    assert len({pair.dry.read_bytes() for pair in pairs}) == 5  # no two pairs share their noise
    song = synth.synthetic_song(0.2, RATE, np.random.default_rng(3))  # the song's generator is the seed's own
    assert (cwd / "song.raw").read_bytes() == audio.encode(song, "u8").tobytes()


def test_a_range_makes_32_pairs_unless_told(cwd, capsys):
    status, out, _ = run([*KNOB, "--cutoff", "100:8000"], capsys)
    assert status == 0 and out.startswith("wrote 32 pairs, train_x_01.raw .. train_x_32.raw and")
    assert sorted(path.name for path in cwd.iterdir()) == knob_names(32)
    assert [pair.cutoff for pair in read_pairs("pairs.csv")][::31] == [100.0, 8000.0]


def test_names_are_as_wide_as_the_count(cwd, capsys):
    status, _, err = run(["--seconds", "0.001", "--song-seconds", "0.001", "--cutoff", "100:8000", "--count", "100"], capsys)
    assert (status, err) == (0, "")
    assert sorted(path.name for path in cwd.iterdir()) == knob_names(100, width=3)  # train_x_001 .. train_x_100


def test_every_option_applies_to_every_pair(cwd, capsys):
    status, out, err = run([*KNOB, "--cutoff", "500:4000", "--count", "3", "--rolloff", "12", "--drive", "6",
                            "--shape", "asymmetric", "--noise", "pink", "--amplitude", "0.9", "--format", "s16le",
                            "--rate", "22050", "--seed", "8"], capsys)
    assert (status, err) == (0, "")
    assert "(0.2 s each of pink noise peaking at 0.9, 500 to 4000 Hz spaced evenly in log frequency, at 12 " \
           "dB/octave, asymmetric saturation 6 dB)" in out
    for index, pair in enumerate(read_pairs("pairs.csv"), 1):
        noise = synth.noise("pink", 0.2, 22050, np.random.default_rng([8, index]), 0.9)
        target = synth.saturate(synth.audacity_lowpass(noise, pair.cutoff, 12, 22050), 6, "asymmetric")
        assert pair.dry.read_bytes() == audio.encode(noise, "s16le").tobytes(), index
        assert pair.filtered.read_bytes() == audio.encode(target, "s16le").tobytes(), index
        assert json.loads(dataset.filter_note_path(pair.filtered).read_text()) == {
            "noise": "pink", "amplitude": 0.9, "cutoff": pair.cutoff, "rolloff": 12, "drive": 6.0,
            "shape": "asymmetric", "rate": 22050, "format": "s16le", "bytes": round(0.2 * 22050) * 2}
    assert [pair.cutoff for pair in read_pairs("pairs.csv")] == [500.0, float(np.geomspace(500, 4000, 3)[1]), 4000.0]


def test_a_range_same_seed_same_bytes_another_seed_other_bytes(tmp_path, monkeypatch, capsys):
    made = {}
    for run_name, seed in (("first", "3"), ("again", "3"), ("other", "4")):
        (tmp_path / run_name).mkdir()
        monkeypatch.chdir(tmp_path / run_name)
        assert run([*KNOB, "--cutoff", "200:2000", "--count", "3", "--seed", seed], capsys)[0] == 0
        made[run_name] = contents(tmp_path / run_name)
    assert made["first"] == made["again"]
    for name in ("train_x_01.raw", "train_x_03.raw", "train_y_02.raw"):  # (0.2 s of song has no seeded hat yet)
        assert made["first"][name] != made["other"][name], name
    assert made["first"]["pairs.csv"] == made["other"]["pairs.csv"]  # the list names files and cutoffs, not the seed


@pytest.mark.parametrize("argv, message", [
    (["--count", "8"], "make_data.py: --count 8: needs a range of cutoffs; give --cutoff as LO:HI, say 100:8000"),
    (["--cutoff", "600", "--count", "8"], "make_data.py: --count 8: needs a range of cutoffs"),
    (["--cutoff", "8000:100"], "make_data.py: --cutoff 8000:100 Hz: not a range from low to high; "
     "give LO:HI with LO below HI, say 100:8000"),
    (["--cutoff", "600:600"], "make_data.py: --cutoff 600:600 Hz: not a range from low to high"),
    (["--cutoff", "100:8000", "--count", "1"], "make_data.py: --count 1: too few for a range; "
     "a knob needs at least 2 pairs at different cutoffs"),
    (["--cutoff", "100:8000", "--count", "0"], "make_data.py: argument --count: '0' is not a positive whole number"),
    (["--cutoff", "100:8000", "--count", "2.5"], "make_data.py: argument --count: '2.5' is not a positive whole number"),
    (["--cutoff", "abc"], "make_data.py: argument --cutoff: 'abc' is not a cutoff in Hz nor a range of them, LO:HI; "
     "see make_data.py --help"),
    (["--cutoff", "100:8k"], "make_data.py: argument --cutoff: '100:8k' is not a cutoff in Hz nor a range"),
    (["--cutoff", "100:"], "make_data.py: argument --cutoff: '100:' is not a cutoff in Hz nor a range"),
    (["--cutoff", "1:2:3"], "make_data.py: argument --cutoff: '1:2:3' is not a cutoff in Hz nor a range"),
    (["--cutoff", "0.05:8000"], "make_data.py: --cutoff 0.05 Hz: out of range at 44100 Hz; "
     "give a frequency from 0.1 Hz up to (not including) 22050 Hz"),  # an end Audacity refuses
    (["--cutoff", "100:22050"], "make_data.py: --cutoff 22050 Hz: out of range at 44100 Hz"),
    (["--cutoff", "100:5000", "--rate", "8000"], "make_data.py: --cutoff 5000 Hz: out of range at 8000 Hz"),
    (["--cutoff", "100:inf"], "make_data.py: --cutoff inf Hz: out of range at 44100 Hz"),
    (["--cutoff", "nan:100"], "make_data.py: --cutoff nan:100 Hz: not a range from low to high"),
    (["--cutoff", "100:8000", "--rolloff", "18"], "make_data.py: --rolloff 18 dB/octave: not one that lowpass.ny offers"),
])
def test_range_refusals_are_one_line_exit_2_and_write_nothing(cwd, capsys, argv, message):
    status, out, err = run([*KNOB, *argv], capsys)
    assert (status, out) == (2, "")
    assert one_line(err).startswith(message), err
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("existing, others", [
    ("pairs.csv", ""),  # the list alone
    ("train_y_02.json", ""),  # a note alone
    ("train_x_03.raw", ", train_y_03.raw, train_y_03.json and 2 more"),  # an earlier run's last pair, song and list
])
def test_existing_outputs_of_a_range_are_kept_without_force(cwd, capsys, existing, others):
    argv = [*KNOB, "--cutoff", "100:1000", "--count", "3"]
    if others:
        assert run(argv, capsys)[0] == 0
        for path in cwd.glob("train_*_0[12].*"):  # an earlier run's last pair, song and list are left
            path.unlink()
    else:
        (cwd / existing).write_bytes(b"the user's own")
    before = contents(cwd)
    status, out, err = run(argv, capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == f"make_data.py: {existing}: exists; pass --force to overwrite {existing}{others}"
    assert contents(cwd) == before

    status, _, err = run([*argv, "--force"], capsys)
    assert (status, err) == (0, "")
    assert sorted(contents(cwd)) == knob_names(3)


def test_a_range_through_a_subprocess_as_a_user_runs_it(tmp_path):
    command = [sys.executable, str(ROOT / "make_data.py"), *KNOB, "--cutoff", "100:8000", "--count", "1"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, "")
    assert one_line(result.stderr).startswith("make_data.py: --count 1: too few for a range")
    result = subprocess.run(command[:-1] + ["2"], cwd=tmp_path, capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")
    assert [pair.cutoff for pair in read_pairs(tmp_path / "pairs.csv")] == [100.0, 8000.0]


@pytest.mark.parametrize("text, value", [
    ("600", 600.0),  # one cutoff, as --cutoff has always taken
    ("1e3", 1000.0),
    ("150.5", 150.5),
    ("100:8000", (100.0, 8000.0)),  # a range
    ("8000:100", (8000.0, 100.0)),  # downwards: a sweep may fall (make_data.py refuses it, gen.py will not)
    ("nan", "nan"),  # the syntax of a number: whether it is a usable cutoff is the caller's to say
])
def test_cutoff_or_range_reads_the_syntax(text, value):
    parsed = cli.cutoff_or_range(text)
    assert str(parsed) == value if value == "nan" else parsed == value


@pytest.mark.parametrize("text", ["", "abc", "100:", ":100", "1:2:3", "100-8000", "100 : 8k", "600Hz"])
def test_cutoff_or_range_refuses_what_is_neither(text):
    with pytest.raises(cli.argparse.ArgumentTypeError, match="is not a cutoff in Hz nor a range of them, LO:HI$"):
        cli.cutoff_or_range(text)
