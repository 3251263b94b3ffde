"""What fit.py and gen.py share as command lines: argument types, one-line errors, GPU hiding."""

import argparse
import os
import sys

from neural_filter.errors import NeuralFilterError


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


def positive_int(text: str) -> int:
    return int(whole_number(text))


def quiet_frameworks(cpu_only: bool) -> None:
    """Before any framework is imported: hide GPUs if asked, and keep TensorFlow's start-up chatter off stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if cpu_only:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # TensorFlow and PyTorch
        os.environ["JAX_PLATFORMS"] = "cpu"
        print("cpu only: every GPU is hidden from the backend", file=sys.stderr)


def run(main, prog: str, argv=None) -> int:
    """Run a script's main(); a user's error becomes one line on stderr and exit status 2."""
    try:
        main(argv)
    except NeuralFilterError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0
