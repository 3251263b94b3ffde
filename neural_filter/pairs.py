"""The pairs list of a knob: which dry and filtered files were made at which cutoff.

Owns `pairs.csv`, the file that ties a set of training pairs to the cutoffs they were filtered at:
make_data.py writes it, a user can write it by hand beside Audacity exports, and training reads
it. Its format:

    dry,filtered,cutoff
    # lines starting with # and blank lines are skipped
    train_x_01.raw, train_y_01.raw, 100.0
    my noise.wav,   my noise 2k.wav, 2000

A header naming the three columns (in any order), then one line a pair: the dry file, the same
audio filtered, and the filter's cutoff in Hz. Paths are relative to the folder the csv file is
in. Fields are separated by commas (quote a path that holds one) and stripped of the whitespace
around them.

Reading refuses, with the file and line, everything that can be told without reading the audio:
a missing or empty list, a wrong header, a line of the wrong length, a cutoff that is not a
positive number, a missing or empty audio file, two pairs at one cutoff, fewer than two pairs.
Whether the audio files line up in length and rate is for whoever reads them.
"""

import csv
import dataclasses
import math
from pathlib import Path

from neural_filter.audio import check_readable
from neural_filter.errors import DataError, LineError
from neural_filter.files import atomic_output

COLUMNS = ("dry", "filtered", "cutoff")
MIN_PAIRS = 2  # a knob needs at least two settings to turn between
HEADER_REMEDY = "begin the list with the line dry,filtered,cutoff (the dry file, the filtered file, the cutoff in Hz)"


@dataclasses.dataclass(frozen=True)
class Pair:
    """One training pair of a knob: the dry file, the same audio filtered, and the cutoff in Hz."""

    dry: Path
    filtered: Path
    cutoff: float


def read_pairs(path) -> list[Pair]:
    """The pairs `path` lists, sorted by cutoff, their paths taken from its folder; a DataError for anything wrong."""
    path = Path(path)
    columns, pairs, lines_of_cutoffs = None, [], {}
    for number, line in enumerate(_lines(path), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            fields = [field.strip() for field in next(csv.reader([line], skipinitialspace=True))]
        except csv.Error as error:
            raise LineError(path, number, f"is not a line of CSV ({error})", HEADER_REMEDY) from None
        if columns is None:
            columns = _columns(path, number, fields)
            continue
        pair = _pair(path, number, fields, columns)
        if pair.cutoff in lines_of_cutoffs:
            raise LineError(path, number, f"cutoff {pair.cutoff:g} Hz is also line {lines_of_cutoffs[pair.cutoff]}'s",
                            "a knob needs a different cutoff for every pair: drop one of the two or change its cutoff")
        lines_of_cutoffs[pair.cutoff] = number
        pairs.append(pair)
    if columns is None:
        raise DataError(path, "has no header and no pairs, only comments and blank lines", HEADER_REMEDY)
    if len(pairs) < MIN_PAIRS:
        raise DataError(path, f"lists {len(pairs)} pair{'' if len(pairs) == 1 else 's'}",
                        f"a knob needs at least {MIN_PAIRS} pairs at different cutoffs")
    return sorted(pairs, key=lambda pair: pair.cutoff)


def write_pairs(path, pairs) -> None:
    """Write `pairs` as a pairs list at `path`, atomically; files inside its folder are named relative to it."""
    path = Path(path)
    folder = path.parent.absolute()
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(COLUMNS)
            for pair in pairs:
                # repr reads back as the same float: the cutoff a pair was made at, to the last bit
                writer.writerow([_relative(pair.dry, folder), _relative(pair.filtered, folder),
                                 repr(float(pair.cutoff))])


def _relative(file, folder: Path) -> str:
    """`file` as the list names it: relative to `folder` when inside it, else absolute (a relative path
    outside it would be read from the list's folder, not from here)."""
    absolute = Path(file).absolute()
    text = str(absolute.relative_to(folder)) if absolute.is_relative_to(folder) else str(absolute)
    return "./" + text if text.startswith("#") else text  # not read back as a comment


def _lines(path: Path) -> list[str]:
    if not path.exists():
        raise DataError(path, "no such file", "check the path, or write the pairs list first: " + HEADER_REMEDY)
    if path.is_dir():
        raise DataError(path, "is a directory, not a pairs list", "give the path of the csv file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a spreadsheet's byte-order mark is not part of "dry"
    except OSError as error:
        raise DataError(path, f"cannot be read ({error.strerror or error})", "check its permissions") from None
    except UnicodeDecodeError:
        raise DataError(path, "is not a text file", "give a pairs list in CSV: " + HEADER_REMEDY) from None
    if not text.strip():
        raise DataError(path, "is empty", HEADER_REMEDY)
    return text.splitlines()


def _columns(path: Path, number: int, fields: list[str]) -> dict[str, int]:
    """Where each column is, from the header line; a header that is not dry, filtered, cutoff is refused."""
    names = [field.lower() for field in fields]
    if sorted(names) == sorted(COLUMNS):
        return {name: names.index(name) for name in COLUMNS}
    if len(fields) == len(COLUMNS) and _is_number(fields[-1]):
        raise LineError(path, number, "is a pair, but the list has no header", HEADER_REMEDY)
    raise LineError(path, number, f"has the columns {','.join(fields)}, not dry,filtered,cutoff", HEADER_REMEDY)


def _pair(path: Path, number: int, fields: list[str], columns: dict[str, int]) -> Pair:
    if len(fields) != len(COLUMNS):
        raise LineError(path, number, f"has {len(fields)} field{'' if len(fields) == 1 else 's'}, not {len(COLUMNS)}",
                        "give the dry file, the filtered file and the cutoff in Hz, separated by commas")
    dry, filtered, cutoff = (fields[columns[name]] for name in COLUMNS)
    cutoff = _cutoff(path, number, cutoff)  # before the files: it needs no file system
    return Pair(_audio_file(path, number, "dry", dry), _audio_file(path, number, "filtered", filtered), cutoff)


def _cutoff(path: Path, number: int, text: str) -> float:
    problem = None
    if not _is_number(text):
        problem = f"cutoff {text!r} is not a number"
    elif not math.isfinite(float(text)):
        problem = f"cutoff {text!r} is not finite"
    elif float(text) <= 0:
        problem = f"cutoff {text} is not above 0 Hz"
    if problem:
        raise LineError(path, number, problem, "give the cutoff in Hz")
    return float(text)


def _audio_file(path: Path, number: int, column: str, text: str) -> Path:
    """The audio file a field names, relative to the list's folder, checked as every input file is."""
    if not text:
        raise LineError(path, number, f"has no {column} file", "give its path, relative to the list's folder")
    try:
        return check_readable(path.parent / text)
    except DataError as error:  # the same words as for any input file, placed at this line
        raise LineError(path, number, f"{column} file {error.path}: {error.problem}", error.remedy) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
