"""What fit.py and gen.py share as command lines: argument types, one-line errors, GPU hiding."""

import argparse
import importlib.abc
import importlib.util
import os
import sys

from neural_filter.console import stderr_silenced
from neural_filter.errors import NeuralFilterError, flag_spelling


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage dump) and exit status 2."""

    def error(self, message):
        print(f"{self.prog}: {message}; see {self.prog} --help", file=sys.stderr)
        sys.exit(2)


def whole_number(text: str) -> str:
    """A positive whole number, kept as typed: the original names models after the arguments as typed."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return text


def flag(text: str) -> str:
    if text not in ("0", "1"):
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 or 1")
    return text


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 up to (not including) 1")
    return value


def seed(text: str) -> int:
    """A seed for NumPy's and Keras's generators: a whole number, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0 up")
    return int(text)


def positive_int(text: str) -> int:
    return int(whole_number(text))


def cutoff_or_range(text: str) -> float | tuple[float, float]:
    """A cutoff in Hz ("600") or a range of them ("100:8000": from the first to the second).

    Only the syntax is checked here: whether the numbers are usable cutoffs (within a filter's
    range, or a model's), and whether a range may run downwards, is the caller's to say.
    """
    parts = text.split(":")
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r} is not a cutoff in Hz nor a range of them, LO:HI")
    return values[0] if len(values) == 1 else values


def quiet_frameworks(cpu_only: bool) -> None:
    """Before any framework is imported: hide GPUs if asked, and keep TensorFlow's start-up chatter off stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if cpu_only:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # TensorFlow and PyTorch
        os.environ["JAX_PLATFORMS"] = "cpu"
        print("cpu only: every GPU is hidden from the backend")  # stdout: stderr is for the one-line error
    # TensorFlow's C++ libraries log while they load ("Could not find cuda drivers ...", absl's
    # "All log messages before absl::InitializeLog() ..."), before TF_CPP_MIN_LOG_LEVEL is read.
    # Unless the user asked for its logs, TensorFlow's import runs with file descriptor 2 silenced.
    quiet = os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    if quiet and "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport("tensorflow"))


def prefer_backend(backend: str | None) -> None:
    """Before Keras is imported: train on `backend` (a kind's choice) where KERAS_BACKEND names none and it is
    installed (once Keras is imported, in a caller's process, its backend stays)."""
    if backend and "KERAS_BACKEND" not in os.environ and "keras" not in sys.modules \
            and importlib.util.find_spec(backend) is not None:
        os.environ["KERAS_BACKEND"] = backend


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds one top-level module as usual, but runs its import with file descriptor 2 silenced; then leaves."""

    def __init__(self, name: str):
        self.name = name

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        sys.meta_path.remove(self)  # once is enough; and lets the ordinary finders find it below
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            execute = spec.loader.exec_module

            def exec_module(module):
                with stderr_silenced():
                    execute(module)

            spec.loader.exec_module = exec_module  # this spec's own loader object
        return spec


def run(main, prog: str, argv=None, spelling: dict | None = None) -> int:
    """Run a script's main(); a user's error becomes one line on stderr and exit status 2.

    The line names options as the script's users type them: `spelling` maps the package's name
    of an option to the script's word for it (fit.py's "samples" for the package's "window");
    any other option is spelled as a flag ("format" -> "--format"). argparse's own exits (--help:
    0, a bad argument: 2) come back as the status too, so that a caller in the same process (a
    test) gets a number rather than SystemExit.
    """

    def spell(option: str) -> str:
        return (spelling or {}).get(option) or flag_spelling(option)

    try:
        main(argv)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except NeuralFilterError as error:
        # one line, whatever a library said
        print(f"{prog}: {' '.join(error.worded(spell).splitlines())}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0
