"""The effect a training pair imitates, as one object: its settings, the chain it applies, and its note.

make_data.py filters noise through a chain (Audacity's Effect > Low-Pass Filter, then a memoryless
saturation when a drive is given: the formulas are synth.py's) and writes a note of how beside the
filtered file (`train_y.json` beside `train_y.raw`). fit.py reads the note to compare a learned
response with the real one and keeps it in the model's record; the listening report filters the
song through the recorded recipe; the quality benches score renders against it. They all go
through `Recipe`, so the chain is written once.

Adding an effect is this module and its test: a field of `Recipe` whose default does nothing (a
note written before it still reads and means what it meant, and a note of a pair made without it
stays as it was), its step in `Recipe.apply`, its check, its words and its part of `label` (and
`linear`, when it makes the chain nonlinear); make_data.py then gives it an option that fills the
field.

A note is read strictly: a key it does not know is refused with the note's name, never dropped,
since a dropped effect would score a model against another filter than the one it learned.
"""

import dataclasses
import json
import numbers
from pathlib import Path

import numpy as np

from neural_filter import audio, synth
from neural_filter.errors import ArgumentError, DataError
from neural_filter.files import atomic_output


ALWAYS_NOTED = ("cutoff", "rolloff", "drive", "shape")  # in every note make_data.py has written since --drive


@dataclasses.dataclass(frozen=True, order=True)
class Recipe:
    """A low-pass filter, then a saturation: make_data.py's chain (order=True: references sort by cutoff)."""

    cutoff: float = 600.0  # Hz: where Audacity's low-pass is 3 dB down
    rolloff: int = 6  # dB per octave: one of synth.ROLLOFFS
    drive: float = 0.0  # dB of saturation after the filter (quiet signals over full scale); 0: none
    shape: str = "soft"  # the saturation's curve: one of synth.SHAPES

    def check(self, rate: int) -> None:
        """Refuse, before any work, settings the chain cannot apply at `rate`."""
        synth.check_lowpass(self.cutoff, self.rolloff, rate)
        synth.check_saturation(self.drive, self.shape)

    def apply(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """`samples` through the chain, from silence, as float64."""
        filtered = synth.audacity_lowpass(samples, self.cutoff, self.rolloff, rate)
        return synth.saturate(filtered, self.drive, self.shape)

    @property
    def linear(self) -> bool:
        """The low-pass alone: a gain per frequency to compare with (a saturated chain has none)."""
        return not self.drive

    def at(self, cutoff: float) -> "Recipe":
        """The same chain at another cutoff (a knob's pairs)."""
        return dataclasses.replace(self, cutoff=cutoff)

    def words(self, cutoff: str | None = None) -> str:
        """"600 Hz at 6 dB/octave, soft saturation 10 dB"; `cutoff` words the cutoff otherwise (a range of them)."""
        cutoff = f"{self.cutoff:g} Hz" if cutoff is None else cutoff
        saturation = f", {self.shape} saturation {self.drive:g} dB" if self.drive else ""
        return f"{cutoff} at {self.rolloff} dB/octave{saturation}"

    def label(self) -> str:
        """A file name's part that tells recipes apart: 600hz_6db, 2000hz_24db_soft10db."""
        saturation = f"_{self.shape}{self.drive:g}db" if self.drive else ""
        return f"{self.cutoff:g}hz_{self.rolloff}db{saturation}"

    def fields(self) -> dict:
        return dataclasses.asdict(self)

    def noted_fields(self) -> dict:
        """The fields a note (and a run record) holds: the first four always, a newer one where it acts.

        So a new effect leaves the notes and records of pairs made without it as they were, and an
        older fit.py refuses only a note whose effect it cannot apply.
        """
        neutral = type(self)()
        return {name: value for name, value in self.fields().items()
                if name in ALWAYS_NOTED or value != getattr(neutral, name)}

    @classmethod
    def from_record(cls, target_filter: dict | None) -> "Recipe | None":
        """The recipe a model's run record keeps (`Note.target_filter`), or None when the record knows none.

        A record from before a field existed lacks it: the field's default is what it meant.
        """
        if not target_filter:
            return None
        known = {field.name: field.type for field in dataclasses.fields(cls)}
        return cls(**{name: kind(target_filter[name]) for name, kind in known.items() if name in target_filter})


def note_path(filtered) -> Path:
    """Where make_data.py notes how `filtered` was made: `train_y.json` beside `train_y.raw`."""
    return Path(filtered).with_suffix(".json")


@dataclasses.dataclass(frozen=True)
class Note:
    """make_data.py's note beside a filtered file: the recipe, the noise it filtered, and the file it made."""

    recipe: Recipe
    rate: int  # Hz
    bytes: int  # the filtered file's size: a note that no longer fits its file is not its note
    noise: str = "white"  # the dry noise's kind (notes from before --noise: the seed's white)
    amplitude: float = 0.8  # its peak (notes from before --amplitude: Audacity's 0.8)
    format: str = "u8"  # the raw files' encoding (notes from before --format: the original's u8)
    envelope: str = "steady"  # the noise's level over time (synth.ENVELOPES; notes from before --envelope: steady)
    tones: bool = False  # every other second tone bursts (synth.tone_bursts; notes from before --tones: none)

    def as_json(self) -> str:
        """The note's text: one JSON object on one line, keys in make_data.py's order since the first note (the
        envelope only where it is not steady, so a steady pair's note is what it always was)."""
        envelope = {} if self.envelope == "steady" else {"envelope": self.envelope}
        tones = {"tones": True} if self.tones else {}
        return json.dumps({"noise": self.noise, "amplitude": self.amplitude, **envelope, **tones,
                           **self.recipe.noted_fields(),
                           "rate": self.rate, "format": self.format, "bytes": self.bytes}) + "\n"

    def write(self, filtered) -> Path:
        path = note_path(filtered)
        with atomic_output(path) as temporary:
            temporary.write_text(self.as_json())
        return path

    def target_filter(self) -> dict:
        """What a model's run record keeps of the note: the recipe (as the note holds it), at its rate and format."""
        return {**self.recipe.noted_fields(), "rate": self.rate, "format": self.format}


# A note's keys and the kind of value each holds (a Recipe field's from its type), and the words for each kind.
_WORDS = {numbers.Real: "number", numbers.Integral: "whole number", str: "word", bool: "true or false"}
_KINDS = {"noise": str, "amplitude": numbers.Real, "envelope": str, "tones": bool, "rate": numbers.Integral,
          "format": str, "bytes": numbers.Integral,
          **{field.name: {float: numbers.Real, int: numbers.Integral}.get(field.type, field.type)
             for field in dataclasses.fields(Recipe)}}
_REQUIRED = ("cutoff", "rolloff", "rate", "bytes")  # in every note make_data.py has written
_REMEDY = "make the pair again with make_data.py, or delete the note"


def read_note(filtered) -> Note | None:
    """make_data.py's note of how `filtered` was made; None without one, or when it no longer fits the file.

    (A note that fits no longer: the file was replaced, by a recording of the user's, say, and the
    filter that made it is unknown.) A note that is not one make_data.py writes is refused.
    """
    path = note_path(filtered)
    try:
        text = path.read_text()
        size = Path(filtered).stat().st_size
    except (OSError, UnicodeDecodeError):
        return None  # no note (or no file): the filter is simply unknown
    try:
        fields = json.loads(text)
    except ValueError:
        raise DataError(path, "is not a make_data.py note: not JSON", _REMEDY) from None
    if not isinstance(fields, dict):
        raise DataError(path, "is not a make_data.py note: not a JSON object", _REMEDY)
    unknown = [key for key in fields if key not in _KINDS]
    if unknown:
        raise DataError(path, f"has {'a key' if len(unknown) == 1 else 'keys'} make_data.py does not write "
                        f"({', '.join(map(repr, unknown))}): an effect this version cannot apply",
                        "make the pair again with this make_data.py, or delete the note")
    missing = [key for key in _REQUIRED if key not in fields]
    if missing:
        raise DataError(path, f"lacks {', '.join(map(repr, missing))}, which every make_data.py note has", _REMEDY)
    for key, value in fields.items():
        if isinstance(value, bool) != (_KINDS[key] is bool) or not isinstance(value, _KINDS[key]):
            raise DataError(path, f"holds {key} {json.dumps(value)}, not a {_WORDS[_KINDS[key]]}", _REMEDY)
    recipe = Recipe(**{key: fields[key] for key in Recipe.__dataclass_fields__ if key in fields})
    note = Note(recipe, **{key: fields[key] for key in Note.__dataclass_fields__ if key in fields})
    try:
        recipe.check(note.rate)
        synth.check_noise(note.noise, note.amplitude)
        synth.check_envelope(note.envelope)
        audio.check_format(note.format)
    except ArgumentError as error:
        raise DataError(path, f"holds {error.option} {error.value}: {error.problem}", _REMEDY) from None
    return note if note.bytes == size else None
