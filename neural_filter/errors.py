"""The errors neural_filter raises for anything a user can get wrong.

Every error here is the user's to fix (a file, an argument, a model). Each holds what went wrong
as data (the path, the option and value, the expected and actual lengths) and says it in one
sentence: the thing, what is wrong with it, what to do. The package never names a command-line
flag: an option is named as the package knows it ("window", "format"), and the command line that
raised it words the line (`worded`, with its own spelling: fit.py calls the window "samples", and
"format" "--format"). A remedy may mention another option as "{name}", spelled the same way.
The scripts print the line on stderr and exit with status 2; anything else escaping is a bug.
What is done on the user's behalf and is no error (a stale temporary removed, an MP3 longer than
its header said) is a one-line `notice` on stderr, and the run goes on.
"""

import sys


def notice(message: str) -> None:
    """Print a one-line notice on stderr: something done on the user's behalf that is no error."""
    print(message, file=sys.stderr)


def flag_spelling(option: str) -> str:
    """How a command line spells an option it has no word of its own for: --like-this."""
    return "--" + option.replace("_", "-")


class _Spelled(dict):
    """Fills "{option}" in a remedy with the command line's spelling of it."""

    def __init__(self, spell):
        super().__init__()
        self.spell = spell

    def __missing__(self, option):
        return self.spell(option)


class NeuralFilterError(Exception):
    """Base of every error the user can fix: a subject, what is wrong with it, and what to do."""

    exit_status = 2

    def __init__(self, problem: str, remedy: str = ""):
        self.problem, self.remedy = problem, remedy
        super().__init__(self.worded())

    def subject(self, spell) -> str:
        return ""

    def worded(self, spell=flag_spelling) -> str:
        """The one-line message, with options spelled by `spell` (option name -> what the user types)."""
        subject = self.subject(spell)
        text = f"{subject}: {self.problem}" if subject else self.problem
        if self.remedy:
            text += "; " + self.remedy.format_map(_Spelled(spell))
        return text


class ArgumentError(NeuralFilterError):
    """An argument or option that cannot be used as given: `option` is the package's name for it."""

    def __init__(self, option: str, value, problem: str, remedy: str = ""):
        self.option, self.value = option, value
        super().__init__(problem, remedy)

    def subject(self, spell) -> str:
        return spell(self.option) if self.value is None else f"{spell(self.option)} {self.value}"


class DataError(NeuralFilterError):
    """An audio or data file that is missing, empty, unreadable or of the wrong shape."""

    def __init__(self, path, problem: str, remedy: str = ""):
        self.path = str(path)
        super().__init__(problem, remedy)

    def subject(self, spell) -> str:
        return self.path


class LengthMismatchError(DataError):
    """Two files that must line up sample for sample do not."""

    def __init__(self, path, expected: int, actual: int, other, rate: int | None = None,
                 remedy: str = "both files of a training pair must be the same length"):
        self.expected, self.actual, self.other = expected, actual, str(other)

        def describe(count):
            return f"{count} samples" + (f" ({count / rate:.2f} s)" if rate else "")

        super().__init__(path, f"has {describe(actual)} but {other} has {describe(expected)}", remedy)


class ModelFileError(DataError):
    """A model file or directory that cannot be read or does not match what was asked."""


class LineError(DataError):
    """One line of a text file (a pairs list) that cannot be used; `line` counts from 1."""

    def __init__(self, path, line: int, problem: str, remedy: str = ""):
        self.line = line
        super().__init__(path, problem, remedy)

    def subject(self, spell) -> str:
        return f"{self.path} line {self.line}"


class TrainingDivergedError(NeuralFilterError):
    """Training produced a NaN or infinite loss in `epoch`; nothing was saved. Epoch 0: the model's start (or the
    model to resume, `resumed`) already gave NaN or infinite outputs, before any training."""

    def __init__(self, epoch: int, resumed: bool = False):
        self.epoch = epoch
        if epoch == 0 and resumed:  # its activation and window are the file's: no other can be given
            super().__init__("training diverged before it began: the model to resume gives NaN or infinite outputs "
                             "on the pair; nothing was saved", "train a new model instead of resuming this one")
        elif epoch == 0:
            super().__init__("training diverged before it began: the model's start gives NaN or infinite outputs on "
                             "the pair; nothing was saved", "try another activation or a shorter {window}")
        else:
            super().__init__(f"training diverged: the loss became NaN or infinite in epoch {epoch}; nothing was "
                             "saved", "try a smaller {learning_rate}, another optimiser or another activation")
