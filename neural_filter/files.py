"""Writing files so that a failure never leaves a half-written file or destroys the old one."""

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside `path`; on success rename it over `path`, on failure delete it.

    The rename is atomic on one file system, so readers see the old file or the new, never a mix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary keeps the suffix: some writers (Keras) insist on it.
    temporary = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
