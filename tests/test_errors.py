"""Errors hold data; the command line words them with its own names for the options."""

import pytest

import fit
from neural_filter import cli
from neural_filter.errors import ArgumentError, DataError, LengthMismatchError, LineError, TrainingDivergedError


def fit_spelling(option):
    return fit.SPELLING.get(option) or "--" + option.replace("_", "-")


@pytest.mark.parametrize("error, default, as_fit_says", [
    # the package's names by default; fit.py's words for its positionals
    (ArgumentError("window", 5, "model.keras was trained on windows of 9", "drop it or give 9"),
     "--window 5: model.keras was trained on windows of 9; drop it or give 9",
     "samples 5: model.keras was trained on windows of 9; drop it or give 9"),
    (ArgumentError("window", None, "window 99 needs at least 110 samples", "use a smaller {window}"),
     "--window: window 99 needs at least 110 samples; use a smaller --window",
     "samples: window 99 needs at least 110 samples; use a smaller samples"),
    (ArgumentError("song_seconds", "0", "not a usable length"), "--song-seconds 0: not a usable length",
     "--song-seconds 0: not a usable length"),  # underscores become dashes
    (DataError("x.raw", "has 3 bytes", "check {format}"), "x.raw: has 3 bytes; check --format",
     "x.raw: has 3 bytes; check --format"),
    (LineError("pairs.csv", 3, "cutoff 'abc' is not a number", "give the cutoff in Hz"),  # a line of a list
     "pairs.csv line 3: cutoff 'abc' is not a number; give the cutoff in Hz",
     "pairs.csv line 3: cutoff 'abc' is not a number; give the cutoff in Hz"),
    (TrainingDivergedError(3),
     "training diverged: the loss became NaN or infinite in epoch 3; nothing was saved; "
     "try a smaller --learning-rate, another optimiser or another activation",
     "training diverged: the loss became NaN or infinite in epoch 3; nothing was saved; "
     "try a smaller --learning-rate, another optimiser or another activation"),
    (TrainingDivergedError(0),
     "training diverged before it began: the model's start gives NaN or infinite outputs on the pair; nothing was "
     "saved; try another activation or a shorter --window",
     "training diverged before it began: the model's start gives NaN or infinite outputs on the pair; nothing was "
     "saved; try another activation or a shorter samples"),
    (TrainingDivergedError(0, resumed=True),
     "training diverged before it began: the model to resume gives NaN or infinite outputs on the pair; nothing "
     "was saved; train a new model instead of resuming this one",
     "training diverged before it began: the model to resume gives NaN or infinite outputs on the pair; nothing "
     "was saved; train a new model instead of resuming this one"),
])
def test_worded_by_the_edge(error, default, as_fit_says):
    assert str(error) == error.worded() == default
    assert error.worded(fit_spelling) == as_fit_says


def test_a_path_with_braces_is_never_read_as_a_placeholder():
    error = DataError("{weird}.raw", "is empty {not an option}", "give a file with audio in it")
    assert str(error) == "{weird}.raw: is empty {not an option}; give a file with audio in it"


def test_length_mismatch_keeps_its_numbers():
    error = LengthMismatchError("y.raw", 100, 90, "x.raw", rate=10)
    assert (error.path, error.expected, error.actual, error.other) == ("y.raw", 100, 90, "x.raw")
    assert str(error) == "y.raw: has 90 samples (9.00 s) but x.raw has 100 samples (10.00 s); " \
                         "both files of a training pair must be the same length"


def test_cli_run_spells_with_the_scripts_words(capsys):
    def main(argv):
        raise ArgumentError("activation", "'x'", "not a Keras activation")

    assert cli.run(main, "fit.py", [], fit.SPELLING) == 2
    assert capsys.readouterr() == ("", "fit.py: activator 'x': not a Keras activation\n")


def test_a_line_error_is_a_data_error_holding_its_file_and_line(capsys):
    error = LineError("data/pairs.csv", 4, "has 2 fields, not 3")
    assert isinstance(error, DataError) and (error.path, error.line) == ("data/pairs.csv", 4)

    def main(argv):
        raise error

    assert cli.run(main, "fit.py", [], fit.SPELLING) == 2
    assert capsys.readouterr() == ("", "fit.py: data/pairs.csv line 4: has 2 fields, not 3\n")
