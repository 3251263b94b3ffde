"""make_data.py --song: the user's song through the same recipe, written beside it to score a model on.

The filtered song has the song's kind, sample format, rate and length (a lossy song's is a WAV),
holds exactly the recipe applied to the song as gen.py reads it, and is never written over the song
itself; make_data.py prints the gen.py command that scores a model on it, and that command works.
"""

import re
import shlex

import numpy as np
import pytest
import soundfile
from scipy.io import wavfile

from conftest import ROOT, one_line
from test_make_data import run  # make_data.py in this process: (exit status, stdout, stderr)

import gen

from neural_filter import audio, effect

RATE = 44100
SMALL = ["--seconds", "0.2", "--song-seconds", "0.2"]


def contents(directory):
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file()}


def stereo(samples=3001, seed=9) -> np.ndarray:
    """Two unlike channels of int16 noise at half scale: (samples, 2)."""
    return np.random.default_rng(seed).integers(-16384, 16384, (samples, 2), dtype=np.int16)


@pytest.mark.parametrize("argv, recipe", [
    ([], effect.Recipe()),  # the seed's 600 Hz one-pole
    (["--cutoff", "2000", "--rolloff", "24", "--drive", "10", "--shape", "asymmetric"],
     effect.Recipe(2000.0, 24, 10.0, "asymmetric")),  # the drive too
])
def test_a_wav_song_is_filtered_beside_it_in_its_own_format(cwd, capsys, argv, recipe):
    wavfile.write(cwd / "mine.wav", RATE, stereo())
    status, out, err = run([*SMALL, "--song", "mine.wav", *argv], capsys)
    assert (status, err) == (0, "")
    assert out.splitlines()[:2] == [f"wrote mine_filtered.wav (mine.wav through {recipe.words()}); score a model on "
                                    "your song with:",
                                    "    python3 gen.py MODEL mine.wav --reference mine_filtered.wav"]
    written = audio.read_audio(cwd / "mine_filtered.wav")
    assert (written.container, written.format, written.rate, len(written.samples)) == ("wav", "s16le", RATE, 3001)
    song = audio.read_audio(cwd / "mine.wav")  # mono, as gen.py reads it
    stored = audio.encode(recipe.apply(song.samples, RATE).astype(np.float32), "s16le")
    np.testing.assert_array_equal(wavfile.read(cwd / "mine_filtered.wav")[1], stored)  # every sample, exactly
    assert (cwd / "mine.wav").exists()
    assert sorted(path.name for path in cwd.iterdir()) == ["mine.wav", "mine_filtered.wav", "song.raw", "train_x.raw",
                                                            "train_y.json", "train_y.raw"]  # no temporary left


@pytest.mark.parametrize("name, write, kind, format", [
    ("mine.flac", lambda path, samples: soundfile.write(path, samples, 22050, "PCM_16", format="FLAC"), "flac",
     "s16le"),  # FLAC stays FLAC, at its own rate (the filter at 22.05 kHz, as Audacity would run it there)
    ("mine.aiff", lambda path, samples: soundfile.write(path, samples, 22050, "PCM_24", format="AIFF"), "aiff",
     "s24le"),
    ("mine.ogg", lambda path, samples: soundfile.write(path, samples, 22050, "VORBIS", format="OGG"), "wav",
     "f32le"),  # lossy: the reference is a float WAV, with no encoder's error of its own
])
def test_other_kinds_keep_their_kind_format_and_rate(cwd, capsys, name, write, kind, format):
    write(cwd / name, stereo().astype(np.float32) / 32768)
    status, out, err = run([*SMALL, "--song", name], capsys)
    assert (status, err) == (0, "")
    filtered = cwd / (name.split(".")[0] + "_filtered" + (".wav" if kind == "wav" else "." + name.split(".")[1]))
    assert f"--reference {filtered.name}" in out
    written = audio.read_audio(filtered)
    song = audio.read_audio(cwd / name)
    assert (written.container, written.format, written.rate) == (kind, format, 22050)
    assert len(written.samples) == len(song.samples)
    expected = audio.as_stored(effect.Recipe().apply(song.samples, 22050).astype(np.float32), kind, format)
    np.testing.assert_array_equal(written.samples, expected)


def test_a_raw_song_gives_a_raw_reference(cwd, capsys):
    stored = np.random.default_rng(2).integers(0, 256, 2000, dtype=np.uint8)
    (cwd / "tune.raw").write_bytes(stored.tobytes())
    status, out, err = run([*SMALL, "--song", "tune.raw"], capsys)
    assert (status, err) == (0, "")
    expected = audio.encode(effect.Recipe().apply(audio.decode(stored, "u8"), RATE).astype(np.float32), "u8")
    assert (cwd / "tune_filtered.raw").read_bytes() == expected.tobytes()


def test_the_pair_and_song_raw_do_not_change_with_the_filtered_song(tmp_path, monkeypatch, capsys):
    made = {}
    for folder in ("before", "after"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        wavfile.write(tmp_path / folder / "mine.wav", RATE, stereo())
        assert run([*SMALL, "--song", "mine.wav"], capsys)[0] == 0
        made[folder] = contents(tmp_path / folder)
    assert made["before"] == made["after"]  # the same bytes again
    assert set(made["before"]) == {"mine.wav", "mine_filtered.wav", "song.raw", "train_x.raw", "train_y.json",
                                   "train_y.raw"}


def test_an_existing_filtered_song_is_kept_without_force(cwd, capsys):
    wavfile.write(cwd / "mine.wav", RATE, stereo())
    (cwd / "mine_filtered.wav").write_bytes(b"an earlier reference")
    status, out, err = run([*SMALL, "--song", "mine.wav"], capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == "make_data.py: mine_filtered.wav: exists; pass --force to overwrite mine_filtered.wav"
    assert sorted(path.name for path in cwd.iterdir()) == ["mine.wav", "mine_filtered.wav"]
    assert (cwd / "mine_filtered.wav").read_bytes() == b"an earlier reference"
    assert run([*SMALL, "--song", "mine.wav", "--force"], capsys)[0] == 0
    assert audio.read_audio(cwd / "mine_filtered.wav").rate == RATE


def test_the_song_itself_is_never_overwritten(cwd, capsys):
    # mine.wav is a link to mine_filtered.wav: writing the reference would replace the song's own bytes
    wavfile.write(cwd / "mine_filtered.wav", RATE, stereo())
    (cwd / "mine.wav").symlink_to("mine_filtered.wav")
    before = (cwd / "mine_filtered.wav").read_bytes()
    status, out, err = run([*SMALL, "--song", "mine.wav", "--force"], capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == ("make_data.py: mine_filtered.wav: is mine.wav itself (a link to it); rename or copy "
                             "the song, then make the pair again")
    assert (cwd / "mine_filtered.wav").read_bytes() == before
    assert sorted(path.name for path in cwd.iterdir()) == ["mine.wav", "mine_filtered.wav"]


def test_a_song_whose_rate_cannot_hold_the_cutoff_is_refused_before_anything_is_written(cwd, capsys):
    wavfile.write(cwd / "phone.wav", 8000, stereo())
    status, out, err = run([*SMALL, "--song", "phone.wav", "--cutoff", "6000"], capsys)
    assert (status, out) == (2, "")
    assert one_line(err) == ("make_data.py: phone.wav: is at 8000 Hz, too low a rate for a 6000 Hz low-pass; "
                             "give a song at a higher rate, or a --cutoff below 4000 Hz")
    assert sorted(path.name for path in cwd.iterdir()) == ["phone.wav"]


def test_a_range_of_cutoffs_writes_no_filtered_song(cwd, capsys):
    wavfile.write(cwd / "mine.wav", RATE, stereo())
    status, out, err = run([*SMALL, "--song", "mine.wav", "--cutoff", "100:8000", "--count", "2"], capsys)
    assert (status, err) == (0, "")
    assert not (cwd / "mine_filtered.wav").exists()  # no one filter: gen.py --cutoff picks one


def test_the_printed_command_scores_the_shipped_model_at_its_floor(cwd, capsys):
    # the shipped 600 Hz model against the song through the real 600 Hz filter: -47.5 dB, the number
    rng = np.random.default_rng(4)
    wavfile.write(cwd / "my song.wav", RATE, (rng.uniform(-0.5, 0.5, (RATE // 2, 2)) * 32767).astype(np.int16))
    status, out, _ = run([*SMALL, "--song", "my song.wav"], capsys)
    assert status == 0
    command = shlex.split(out.splitlines()[1])
    assert command[:3] == ["python3", "gen.py", "MODEL"]
    model = next((ROOT / "models" / "lowpass_600hz_6db").glob("*.keras"))
    assert gen.run([str(model), *command[3:], "--quiet"]) == 0
    esr_line = capsys.readouterr().out.splitlines()[-1]
    assert esr_line.startswith("ESR against my song_filtered.wav: ")
    score, verdict = esr_line.split(": ")[1:3]
    assert float(score.split(" dB")[0]) < -40  # -47.5 dB: the model is the filter
    # ... as far as its u8 training pair can tell: the 16-bit reference's floor is far lower
    assert re.fullmatch(r"\d+\.\d dB above the floor \(its floor -\d+\.\d dB; lower is better\)", verdict)


def test_a_filtered_song_that_cannot_be_written_leaves_the_pair_unwritten(cwd, capsys):
    wavfile.write(cwd / "mine.wav", RATE, stereo())
    (cwd / "mine_filtered.wav").mkdir()  # in the way, even with --force (as a read-only music folder would be)
    status, out, err = run([*SMALL, "--song", "mine.wav", "--force"], capsys)
    assert (status, out) == (2, "")
    assert one_line(err).startswith("make_data.py: mine_filtered.wav: cannot be written")
    assert sorted(path.name for path in cwd.iterdir()) == ["mine.wav", "mine_filtered.wav"]  # no pair, no temporary
