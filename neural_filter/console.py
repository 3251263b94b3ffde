"""What the terminal shows while work runs: progress bars on stderr, and stderr silenced around C libraries.

The package's modules report progress and keep C libraries' chatter (TensorFlow's loader,
libmpg123's warnings) off stderr through these two, so that stderr holds one line at most when
something goes wrong. Neither needs a command line: cli.py, the scripts' shared edge, uses them too.
"""

import contextlib
import os
import sys


def progress_bar(total: int, enabled: bool):
    """A tqdm bar on stderr for `total` samples: shown only after two seconds, on a terminal, if enabled."""
    from tqdm import tqdm  # noqa: PLC0415 - 0.1 s that gen.py's short renders, and fit.py's --help, never pay

    return tqdm(total=total, unit="sample", unit_scale=True, delay=2, leave=False,
                disable=not (enabled and sys.stderr.isatty()))


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
