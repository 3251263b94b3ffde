"""effect.Recipe and its note: the chain applied exactly as synth's functions apply it, the note's
bytes, notes from every earlier make_data.py still read, and a note that is not make_data.py's
refused in one line naming it (by fit.py too, before anything is written).
"""

import dataclasses
import json

import numpy as np
import pytest

from conftest import one_line

import fit

from neural_filter import effect, synth
from neural_filter.errors import DataError

RATE = 44100


@pytest.mark.parametrize("recipe", [
    effect.Recipe(),  # the seed's 600 Hz one-pole, no drive
    effect.Recipe(2000.0, 24),  # two biquads
    effect.Recipe(2000.0, 24, 10.0, "soft"),  # then a tanh
    effect.Recipe(150.5, 48, 6.0, "asymmetric"),  # four biquads, then the diode-like curve
])
def test_apply_is_the_lowpass_then_the_saturation_exactly(recipe):
    samples = synth.white_noise(0.05, RATE, np.random.default_rng(1))
    expected = synth.saturate(synth.audacity_lowpass(samples, recipe.cutoff, recipe.rolloff, RATE), recipe.drive,
                              recipe.shape)
    np.testing.assert_array_equal(recipe.apply(samples, RATE), expected)


@pytest.mark.parametrize("recipe, words, label, linear", [
    (effect.Recipe(), "600 Hz at 6 dB/octave", "600hz_6db", True),
    (effect.Recipe(2000.0, 24, 10.0), "2000 Hz at 24 dB/octave, soft saturation 10 dB", "2000hz_24db_soft10db", False),
    (effect.Recipe(150.5, 48, 6.5, "asymmetric"), "150.5 Hz at 48 dB/octave, asymmetric saturation 6.5 dB",
     "150.5hz_48db_asymmetric6.5db", False),
])
def test_words_label_and_linear(recipe, words, label, linear):
    assert (recipe.words(), recipe.label(), recipe.linear) == (words, label, linear)


def test_a_range_words_its_cutoff_itself():
    assert effect.Recipe(100.0, 24).words("100 to 8000 Hz,") == "100 to 8000 Hz, at 24 dB/octave"


@pytest.mark.parametrize("recipe, rate, message", [
    (effect.Recipe(22050.0), RATE, "--cutoff 22050 Hz: out of range at 44100 Hz"),  # Nyquist itself
    (effect.Recipe(600.0, 18), RATE, "--rolloff 18 dB/octave: not one that lowpass.ny offers"),
    (effect.Recipe(600.0, 6, -1.0), RATE, "--drive -1 dB: not a drive"),
    (effect.Recipe(600.0, 6, 3.0, "hard"), RATE, "--shape 'hard': unknown"),
])
def test_check_refuses_what_the_chain_cannot_apply(recipe, rate, message):
    with pytest.raises(Exception) as raised:
        recipe.check(rate)
    assert str(raised.value).startswith(message)


def written(tmp_path, note_text: str, size: int = 10):
    """A filtered file of `size` bytes and its note with `note_text`; the filtered file's path."""
    filtered = tmp_path / "train_y.raw"
    filtered.write_bytes(bytes(size))
    (tmp_path / "train_y.json").write_text(note_text)
    return filtered


def test_a_note_is_written_in_make_data_s_order_and_read_back(tmp_path):
    filtered = tmp_path / "train_y_03.raw"
    filtered.write_bytes(bytes(10))
    note = effect.Note(effect.Recipe(2000.0, 24, 10.0, "asymmetric"), 22050, 10, "pink", 1.0, "s16le")
    assert note.write(filtered) == tmp_path / "train_y_03.json"
    assert (tmp_path / "train_y_03.json").read_text() == (
        '{"noise": "pink", "amplitude": 1.0, "cutoff": 2000.0, "rolloff": 24, "drive": 10.0, "shape": "asymmetric", '
        '"rate": 22050, "format": "s16le", "bytes": 10}\n')
    assert effect.read_note(filtered) == note
    assert note.target_filter() == {"cutoff": 2000.0, "rolloff": 24, "drive": 10.0, "shape": "asymmetric",
                                    "rate": 22050, "format": "s16le"}
    assert effect.Recipe.from_record(note.target_filter()) == note.recipe


@dataclasses.dataclass(frozen=True, order=True)
class WithGain(effect.Recipe):
    """A recipe with one more effect, as a later version might add: an output gain that does nothing at 0 dB."""

    gain: float = 0.0


def test_a_newer_field_is_noted_only_where_it_acts():
    # the notes (and run records) of pairs made without the new effect stay as they were
    assert WithGain(2000.0, 24).noted_fields() == {"cutoff": 2000.0, "rolloff": 24, "drive": 0.0, "shape": "soft"}
    assert WithGain(2000.0, 24, gain=-6.0).noted_fields() == {"cutoff": 2000.0, "rolloff": 24, "drive": 0.0,
                                                              "shape": "soft", "gain": -6.0}
    assert WithGain.from_record({"cutoff": 2000.0, "rolloff": 24}) == WithGain(2000.0, 24)  # absent: its default


@pytest.mark.parametrize("text, expected", [
    # today's make_data.py
    ('{"noise": "white", "amplitude": 0.8, "cutoff": 600.0, "rolloff": 6, "drive": 0.0, "shape": "soft", '
     '"rate": 44100, "format": "u8", "bytes": 10}', effect.Note(effect.Recipe(600.0, 6), 44100, 10)),
    # before --noise and --amplitude
    ('{"cutoff": 2000.0, "rolloff": 24, "drive": 10.0, "shape": "soft", "rate": 44100, "format": "s16le", "bytes": 10}',
     effect.Note(effect.Recipe(2000.0, 24, 10.0), 44100, 10, format="s16le")),
    # before --drive and --shape
    ('{"cutoff": 8000, "rolloff": 6, "rate": 44100, "format": "s16le", "bytes": 10}',
     effect.Note(effect.Recipe(8000.0, 6), 44100, 10, format="s16le")),
    # before --format: u8, the original's
    ('{"cutoff": 600.0, "rolloff": 12, "rate": 8000, "bytes": 10}', effect.Note(effect.Recipe(600.0, 12), 8000, 10)),
])
def test_notes_of_every_earlier_make_data_still_read(tmp_path, text, expected):
    assert effect.read_note(written(tmp_path, text)) == expected


def test_no_note_or_a_note_of_another_file_is_no_recipe(tmp_path):
    filtered = tmp_path / "train_y.raw"
    filtered.write_bytes(bytes(10))
    assert effect.read_note(filtered) is None  # no note: the filter is unknown
    text = '{"cutoff": 600.0, "rolloff": 6, "rate": 44100, "bytes": 11}'
    assert effect.read_note(written(tmp_path, text, size=10)) is None  # the file was replaced since


@pytest.mark.parametrize("text, message", [
    ('{"cutoff": 600.0, "rolloff": 6, "rate": 44100, "bytes": 10, "q": 0.7}',  # an effect this version lacks
     "train_y.json: has a key make_data.py does not write ('q'): an effect this version cannot apply; "
     "make the pair again with this make_data.py, or delete the note"),
    ('{"cutoff": 600.0, "rolloff": 6, "rate": 44100, "bytes": 10, "gate": 1, "delay": 2}',
     "train_y.json: has keys make_data.py does not write ('gate', 'delay')"),
    ("cutoff=600", "train_y.json: is not a make_data.py note: not JSON; make the pair again with make_data.py, "
     "or delete the note"),
    ("[600, 6]", "train_y.json: is not a make_data.py note: not a JSON object"),
    ('{"rolloff": 6, "rate": 44100}', "train_y.json: lacks 'cutoff', 'bytes', which every make_data.py note has"),
    ('{"cutoff": "600", "rolloff": 6, "rate": 44100, "bytes": 10}', 'train_y.json: holds cutoff "600", not a number'),
    ('{"cutoff": 600, "rolloff": 6.0, "rate": 44100, "bytes": 10}',
     "train_y.json: holds rolloff 6.0, not a whole number"),
    ('{"cutoff": 600, "rolloff": 6, "drive": true, "rate": 44100, "bytes": 10}', "train_y.json: holds drive true, not"),
    ('{"cutoff": 600, "rolloff": 18, "rate": 44100, "bytes": 10}',
     "train_y.json: holds rolloff 18 dB/octave: not one that lowpass.ny offers; make the pair again"),
    ('{"cutoff": 600, "rolloff": 6, "shape": "hard", "rate": 44100, "bytes": 10}', "train_y.json: holds shape 'hard': "
     "unknown"),
    ('{"cutoff": 600, "rolloff": 6, "rate": 44100, "format": "s24le", "bytes": 10}',
     "train_y.json: holds format s24le: unknown raw format"),
])
def test_a_note_that_is_not_make_data_s_is_refused_naming_it(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    written(tmp_path, text)
    with pytest.raises(DataError) as raised:
        effect.read_note("train_y.raw")
    assert str(raised.value).startswith(message), str(raised.value)


def test_fit_refuses_an_unknown_key_in_one_line_and_writes_nothing(workdir, capsys):
    size = (workdir / "train_y.raw").stat().st_size
    (workdir / "train_y.json").write_text(json.dumps({"cutoff": 8000.0, "rolloff": 6, "drive": 0.0, "shape": "soft",
                                                      "highpass": 40.0, "rate": 44100, "format": "u8", "bytes": size}))
    before = sorted(path.name for path in workdir.iterdir())
    assert fit.run(["2", "8", "64", "tanh", "adam", "0", "9", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert one_line(captured.err) == ("fit.py: train_y.json: has a key make_data.py does not write ('highpass'): an "
                                      "effect this version cannot apply; make the pair again with this make_data.py, "
                                      "or delete the note")
    assert sorted(path.name for path in workdir.iterdir()) == before  # no cache, no models/


@pytest.mark.parametrize("target_filter, expected", [
    (None, None),  # a record that knows no filter (a user's own pair)
    ({"cutoff": 600, "rolloff": 6, "rate": 44100, "format": "u8"}, effect.Recipe(600.0, 6)),  # before --drive
    ({"drive": 10.0, "shape": "asymmetric", "format": "u8", "cutoff": 2000.0, "rolloff": 24, "rate": 44100},
     effect.Recipe(2000.0, 24, 10.0, "asymmetric")),
])
def test_a_run_record_s_target_filter_is_a_recipe(target_filter, expected):
    assert effect.Recipe.from_record(target_filter) == expected
