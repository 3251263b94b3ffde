"""What the terminal shows while work runs: progress bars on stderr (lines in a log), and stderr silenced around
C libraries.

The package's modules report progress and keep C libraries' chatter (TensorFlow's loader,
libmpg123's warnings) off stderr through these two, so that stderr holds one line at most when
something goes wrong. Neither needs a command line: cli.py, the scripts' shared edge, uses them too.
"""

import contextlib
import os
import sys
import time


def progress_bar(total: int, enabled: bool, what: str = "samples"):
    """Progress through `total` units of work, if enabled: a tqdm bar on stderr on a terminal (after two
    seconds), else, as a log file reads it, a line on stdout every PROGRESS_LINE_SECONDS (ProgressLines)."""
    from tqdm import tqdm  # noqa: PLC0415 - 0.1 s that gen.py's short renders, and fit.py's --help, never pay

    if enabled and not sys.stderr.isatty():
        return ProgressLines(total, what)
    unit = "sample" if what == "samples" else what.split()[0].removesuffix("s")
    return tqdm(total=total, unit=unit, unit_scale=unit == "sample", delay=2, leave=False, disable=not enabled)


# Output to a file has no bar: long work (reading pairs, arranging and scoring a knob's, epochs,
# renders) says where it is at least this often, so a log never sits silent for half a minute.
PROGRESS_LINE_SECONDS = 20.0


class ProgressLines:
    """tqdm's `update` for a log: a line on stdout ("  samples: 1,048,576 of 4,410,000 (24%)") once
    `every` seconds have passed since the last one; work shorter than that prints nothing."""

    def __init__(self, total: int, what: str, every: float | None = None, clock=time.monotonic):
        self.total, self.what, self.clock = total, what, clock
        self.every = PROGRESS_LINE_SECONDS if every is None else every
        self.done, self.last = 0, clock()

    def update(self, count: int = 1) -> None:
        self.done += count
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            share = f" ({self.done / self.total:.0%})" if self.total else ""
            print(f"  {self.what}: {self.done:,} of {self.total:,}{share}", flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exception) -> None:
        pass


@contextlib.contextmanager
def stderr_silenced():
    """Point file descriptor 2 at /dev/null (C++ libraries write there directly), then restore it."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
