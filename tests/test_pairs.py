"""pairs.csv, the list of a knob's training pairs: written and read back exactly, read from lists a
user wrote by hand (paths from the list's folder, comments, blank lines, whitespace, quoting), and
every kind of bad list refused with a DataError that names the file and the line.
"""

import os
from pathlib import Path

import pytest

from neural_filter.errors import DataError, LineError
from neural_filter.pairs import Pair, read_pairs, write_pairs

AUDIO_FILES = ("x1.raw", "y1.raw", "x2.raw", "y2.raw", "x3.raw", "y3.raw")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working directory holding a `data` folder with six small (non-empty) audio files in it."""
    (tmp_path / "data").mkdir()
    for name in AUDIO_FILES:
        (tmp_path / "data" / name).write_bytes(b"\x80" * 10)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def written(text: str, name: str = "data/pairs.csv") -> Path:
    path = Path(name)
    path.write_text(text)
    return path


def test_written_and_read_back_exactly(folder):
    pairs = [Pair(Path("data/x1.raw"), Path("data/y1.raw"), 100.0),
             Pair(Path("data/x2.raw"), Path("data/y2.raw"), 115.18342801539727),  # needs all 17 digits
             Pair(Path("data/x3.raw"), Path("data/y3.raw"), 1 / 3 * 24000)]
    write_pairs("data/pairs.csv", pairs)
    assert Path("data/pairs.csv").read_text() == ("dry,filtered,cutoff\n"
                                                  "x1.raw,y1.raw,100.0\n"  # relative to the list's folder
                                                  "x2.raw,y2.raw,115.18342801539727\n"
                                                  "x3.raw,y3.raw,8000.0\n")
    assert read_pairs("data/pairs.csv") == pairs  # the same paths from here, the same floats to the last bit
    assert [path.name for path in folder.rglob("*.partial-*")] == []


def test_files_outside_the_lists_folder_are_written_absolute(folder):
    (folder / "outside.raw").write_bytes(b"\x80")
    pairs = [Pair(Path("outside.raw"), Path("data/y1.raw"), 200.0),  # not inside data/: absolute
             Pair(folder / "data" / "x2.raw", Path("data/y2.raw"), 300.0)]  # absolute but inside: relative
    write_pairs("data/pairs.csv", pairs)
    assert Path("data/pairs.csv").read_text().splitlines()[1:] == [f"{folder / 'outside.raw'},y1.raw,200.0",
                                                                   "x2.raw,y2.raw,300.0"]
    assert [pair.dry.resolve() for pair in read_pairs("data/pairs.csv")] == [folder / "outside.raw",
                                                                             folder / "data" / "x2.raw"]


def test_a_file_named_like_a_comment_is_not_read_as_one(folder):
    (folder / "data" / "#1.raw").write_bytes(b"\x80")
    write_pairs("data/pairs.csv", [Pair(Path("data/#1.raw"), Path("data/y1.raw"), 200.0),
                                   Pair(Path("data/x2.raw"), Path("data/y2.raw"), 300.0)])
    assert read_pairs("data/pairs.csv")[0].dry == Path("data/#1.raw")


@pytest.mark.parametrize("text, expected", [
    # the plain list, as make_data.py writes it
    ("dry,filtered,cutoff\nx1.raw,y1.raw,100\nx2.raw,y2.raw,2000\n", [("x1", "y1", 100.0), ("x2", "y2", 2000.0)]),
    # by hand: comments, blank lines, spaces around fields, CRLF line ends, no newline at the end
    ("# my Audacity exports\r\n\r\ndry , filtered , cutoff\r\n  # 100 Hz\r\n x1.raw ,  y1.raw , 100.0 \r\n"
     "   \r\nx2.raw,y2.raw,\t2e3", [("x1", "y1", 100.0), ("x2", "y2", 2000.0)]),
    # the columns in another order, named in capitals; the pairs out of order come back sorted by cutoff
    ("Cutoff,Filtered,Dry\n3000,y1.raw,x1.raw\n150.5,y2.raw,x2.raw\n900,y3.raw,x3.raw\n",
     [("x2", "y2", 150.5), ("x3", "y3", 900.0), ("x1", "y1", 3000.0)]),
    # a spreadsheet's byte-order mark before the header
    ("\ufeffdry,filtered,cutoff\nx1.raw,y1.raw,100\nx2.raw,y2.raw,200\n", [("x1", "y1", 100.0), ("x2", "y2", 200.0)]),
    # paths reaching out of the folder and back, and a quoted one
    ('dry,filtered,cutoff\n../data/x1.raw,./y1.raw,100\n"x2.raw", "y2.raw",200\n',
     [("../data/x1", "y1", 100.0), ("x2", "y2", 200.0)]),
])
def test_hand_written_lists(folder, text, expected):
    pairs = read_pairs(written(text))
    assert pairs == [Pair(Path("data") / f"{dry}.raw", Path("data") / f"{filtered}.raw", cutoff)
                     for dry, filtered, cutoff in expected]
    assert all(pair.dry.exists() and pair.filtered.exists() for pair in pairs)


def test_a_path_holding_a_comma_is_quoted_and_read_back(folder):
    (folder / "data" / "noise, dry.wav").write_bytes(b"RIFF")
    write_pairs("data/pairs.csv", [Pair(Path("data/noise, dry.wav"), Path("data/y1.raw"), 100.0),
                                   Pair(Path("data/x2.raw"), Path("data/y2.raw"), 200.0)])
    assert '"noise, dry.wav",y1.raw,100.0' in Path("data/pairs.csv").read_text()
    assert read_pairs("data/pairs.csv")[0].dry == Path("data/noise, dry.wav")


def test_a_list_beside_the_working_directory_names_its_files_plainly(folder):
    os.chdir(folder / "data")
    assert read_pairs(written("dry,filtered,cutoff\nx1.raw,y1.raw,100\nx2.raw,y2.raw,200\n", "pairs.csv"))[0] == \
        Pair(Path("x1.raw"), Path("y1.raw"), 100.0)


HEADER = "dry,filtered,cutoff\n"
TWO = "x1.raw,y1.raw,100\nx2.raw,y2.raw,200\n"


@pytest.mark.parametrize("text, line, message", [
    # the header
    ("x1.raw,y1.raw,100\nx2.raw,y2.raw,200\n", 1, "data/pairs.csv line 1: is a pair, but the list has no header; "
     "begin the list with the line dry,filtered,cutoff (the dry file, the filtered file, the cutoff in Hz)"),
    ("# made by hand\ninput,output,hz\n" + TWO, 2, "data/pairs.csv line 2: has the columns input,output,hz, "
     "not dry,filtered,cutoff; begin the list with the line dry,filtered,cutoff"),
    ("dry,filtered\n" + TWO, 1, "data/pairs.csv line 1: has the columns dry,filtered, not dry,filtered,cutoff"),
    ("dry,dry,cutoff\n" + TWO, 1, "data/pairs.csv line 1: has the columns dry,dry,cutoff, not"),  # a name twice
    # a pair's fields
    (HEADER + TWO + "x3.raw,y3.raw\n", 4, "data/pairs.csv line 4: has 2 fields, not 3; give the dry file, "
     "the filtered file and the cutoff in Hz, separated by commas"),
    (HEADER + "x1.raw,y1.raw,100,extra\n" + TWO, 2, "data/pairs.csv line 2: has 4 fields, not 3"),
    (HEADER + "x1.raw\n", 2, "data/pairs.csv line 2: has 1 field, not 3"),
    (HEADER + TWO + "x3.raw,y3.raw,abc\n", 4,
     "data/pairs.csv line 4: cutoff 'abc' is not a number; give the cutoff in Hz"),
    (HEADER + "x1.raw,y1.raw,\n" + TWO, 2, "data/pairs.csv line 2: cutoff '' is not a number; give the cutoff in Hz"),
    (HEADER + "x1.raw,y1.raw,1 kHz\n", 2, "data/pairs.csv line 2: cutoff '1 kHz' is not a number"),
    (HEADER + "x1.raw,y1.raw,nan\n", 2, "data/pairs.csv line 2: cutoff 'nan' is not finite; give the cutoff in Hz"),
    (HEADER + "x1.raw,y1.raw,inf\n", 2, "data/pairs.csv line 2: cutoff 'inf' is not finite"),
    (HEADER + "x1.raw,y1.raw,0\n", 2, "data/pairs.csv line 2: cutoff 0 is not above 0 Hz; give the cutoff in Hz"),
    (HEADER + "x1.raw,y1.raw,-100\n", 2, "data/pairs.csv line 2: cutoff -100 is not above 0 Hz"),
    # a pair's files, worded as every missing input file is
    (HEADER + "x1.raw,y1.raw,100\nx9.raw,y2.raw,200\n", 3,
     "data/pairs.csv line 3: dry file data/x9.raw: no such file; check the path, or create it first"),
    (HEADER + "x1.raw,y9.raw,100\n", 2, "data/pairs.csv line 2: filtered file data/y9.raw: no such file"),
    (HEADER + "x1.raw,empty.raw,100\n", 2,
     "data/pairs.csv line 2: filtered file data/empty.raw: is empty; give a file with audio in it"),
    (HEADER + "x1.raw,sub,100\n", 2,
     "data/pairs.csv line 2: filtered file data/sub: is a directory, not an audio file; give the path of a file"),
    (HEADER + ",y1.raw,100\n", 2, "data/pairs.csv line 2: has no dry file; give its path, relative to the list's folder"),
    # a knob needs distinct cutoffs, however they are written
    (HEADER + TWO + "x3.raw,y3.raw,100.0\n", 4, "data/pairs.csv line 4: cutoff 100 Hz is also line 2's; "
     "a knob needs a different cutoff for every pair: drop one of the two or change its cutoff"),
    (HEADER + "x1.raw,y1.raw,2000\n# between\nx2.raw,y2.raw,2e3\n", 4, "data/pairs.csv line 4: cutoff 2000 Hz is also line 2's"),
    # not CSV that the csv module reads
    (HEADER + "x" * 200_000 + ",y1.raw,100\n", 2,
     "data/pairs.csv line 2: is not a line of CSV (field larger than field limit (131072))"),
])
def test_bad_lines_are_refused_with_the_file_and_line(folder, text, line, message):
    (folder / "data" / "empty.raw").touch()
    (folder / "data" / "sub").mkdir()
    with pytest.raises(LineError) as raised:
        read_pairs(written(text))
    assert str(raised.value).startswith(message), str(raised.value)
    assert (raised.value.path, raised.value.line) == ("data/pairs.csv", line)  # data, as every error holds


@pytest.mark.parametrize("make, message", [
    (lambda path: None, "data/pairs.csv: no such file; check the path, or write the pairs list first: "
     "begin the list with the line dry,filtered,cutoff"),
    (lambda path: path.mkdir(), "data/pairs.csv: is a directory, not a pairs list; give the path of the csv file"),
    (lambda path: path.touch(), "data/pairs.csv: is empty; begin the list with the line dry,filtered,cutoff"),
    (lambda path: path.write_text(" \n\n"), "data/pairs.csv: is empty"),  # whitespace only
    (lambda path: path.write_text("# nothing yet\n\n"),
     "data/pairs.csv: has no header and no pairs, only comments and blank lines; begin the list with"),
    (lambda path: path.write_bytes(b"dry,filtered,cutoff\n\xff\xfe\x00"), "data/pairs.csv: is not a text file; "
     "give a pairs list in CSV: begin the list with the line dry,filtered,cutoff"),
    # a knob needs at least two pairs
    (lambda path: path.write_text(HEADER), "data/pairs.csv: lists 0 pairs; a knob needs at least 2 pairs at "
     "different cutoffs"),
    (lambda path: path.write_text(HEADER + "x1.raw,y1.raw,100\n# x2.raw,y2.raw,200\n"),
     "data/pairs.csv: lists 1 pair; a knob needs at least 2 pairs at different cutoffs"),
])
def test_bad_lists_are_refused_with_the_file(folder, make, message):
    make(Path("data/pairs.csv"))
    with pytest.raises(DataError) as raised:
        read_pairs("data/pairs.csv")
    assert not isinstance(raised.value, LineError)
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_list_that_cannot_be_written_is_a_data_error(folder):
    (folder / "blocked").write_text("a file where the folder should be")
    with pytest.raises(DataError, match="^blocked/pairs.csv: cannot be written"):
        write_pairs("blocked/pairs.csv", [Pair(Path("data/x1.raw"), Path("data/y1.raw"), 100.0)])
