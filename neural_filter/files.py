"""Writing files so that a failure never leaves a half-written file or destroys the old one."""

import contextlib
import os
from pathlib import Path

from neural_filter.errors import ArgumentError, DataError


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside `path`; on success rename it over `path`, on failure delete it.

    The rename is atomic on one file system, so readers see the old file or the new, never a mix.
    A file that cannot be written (its folder is a file, a full disk, no permission) is the user's
    to fix, so it is reported as a DataError naming `path`, not as a traceback.
    """
    path = Path(path)
    # The temporary keeps the suffix: some writers (Keras) insist on it.
    temporary = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        raise DataError(path, f"cannot be written ({error})", "check that its folder can be created and written to") from None
    finally:
        if temporary.exists():
            temporary.unlink()


def writable_folder(path, option: str) -> Path:
    """`path` as a folder that can be made or written, checked before hours of training; nothing is created."""
    folder = Path(path)
    existing = folder
    while not existing.exists():  # the nearest existing ancestor is where the folder would be made
        existing = existing.parent
    if not existing.is_dir():
        raise ArgumentError(option, path, f"{existing} is a file, not a folder", "give another folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ArgumentError(option, path, f"{existing} cannot be written to", "give another folder")
    return folder
