"""Writing files so that a failure never leaves a half-written file or destroys the old one."""

import contextlib
import os
import socket
from pathlib import Path

from neural_filter.errors import ArgumentError, DataError


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside `path`; on success rename it over `path`, on failure delete it.

    The rename is atomic on one file system, so readers see the old file or the new, never a mix.
    A file that cannot be written (its folder is a file, a full disk, no permission) is the user's
    to fix, so it is reported as a DataError naming `path`, not as a traceback.
    """
    with _temporary_beside(path) as temporary:
        yield temporary
        os.replace(temporary, path)


@contextlib.contextmanager
def new_output(path, claimed: list):
    """Like atomic_output, but never over an existing file: the result takes the first free name.

    `path`, else `<stem>_2<suffix>`, `_3`, ...: each name is claimed in one step that fails if the
    name exists (`_claim`), so runs that finish at once (sweep workers sharing a folder) never take
    the same one. The name taken is appended to `claimed`.
    """
    path = Path(path)
    with _temporary_beside(path) as temporary:
        yield temporary
        number = 1
        while True:
            candidate = path if number == 1 else path.with_name(f"{path.stem}_{number}{path.suffix}")
            try:
                _claim(temporary, candidate)
                claimed.append(candidate)
                return
            except FileExistsError:
                number += 1


def _claim(temporary: Path, name: Path) -> None:
    """Give `temporary`'s contents the name `name`, unless a file has it (FileExistsError).

    A hard link does both at once. Where the file system has none (FAT, some network shares),
    the name is reserved with an exclusive create and the file renamed over it: a reader may see
    it empty for that moment, never a file of someone else's.
    """
    try:
        os.link(temporary, name)
        return
    except FileExistsError:
        raise
    except OSError:
        pass  # no hard links here
    os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    os.replace(temporary, name)


@contextlib.contextmanager
def _temporary_beside(path):
    """A temporary path beside `path`, deleted at the end whatever happens; OSErrors become DataErrors."""
    path = Path(path)
    # The temporary keeps the suffix (some writers, Keras, insist on it); host and process make it
    # this writer's own, also in a folder that several machines share.
    temporary = path.with_name(f".{path.stem}.partial-{socket.gethostname()}-{os.getpid()}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
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
