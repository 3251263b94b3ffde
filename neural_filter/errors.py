"""The errors neural_filter raises for anything a user can get wrong.

Every error here is the user's to fix (a file, an argument, a model), so each carries a message
that names the thing, says what is wrong and what to do. The scripts print it as one line on
stderr and exit with status 2; anything else escaping is a bug in neural_filter.
"""


class NeuralFilterError(Exception):
    """Base of every error the user can fix; its message is the whole story, on one line."""

    exit_status = 2


class ArgumentError(NeuralFilterError):
    """A command-line argument or option that cannot be used as given."""


class DataError(NeuralFilterError):
    """An audio or data file that is missing, empty, unreadable or of the wrong shape."""

    def __init__(self, path, problem: str, remedy: str = ""):
        self.path = str(path)
        message = f"{self.path}: {problem}"
        if remedy:
            message += f"; {remedy}"
        super().__init__(message)


class LengthMismatchError(DataError):
    """Two files that must line up sample for sample do not."""

    def __init__(self, path, expected: int, actual: int, other, rate: int | None = None):
        self.expected, self.actual = expected, actual

        def describe(count):
            return f"{count} samples" + (f" ({count / rate:.2f} s)" if rate else "")

        super().__init__(
            path,
            f"has {describe(actual)} but {other} has {describe(expected)}",
            "both files of a training pair must be the same length",
        )


class ModelFileError(DataError):
    """A model file or directory that cannot be read or does not match what was asked."""


class TrainingDivergedError(NeuralFilterError):
    """Training produced a NaN or infinite loss; nothing was saved."""
