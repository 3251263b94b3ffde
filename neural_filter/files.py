"""Writing files so that a failure never leaves a half-written file or destroys the old one."""

import contextlib
import errno
import os
import socket
from pathlib import Path

from neural_filter import errors
from neural_filter.errors import ArgumentError, DataError

NAME_BYTES = 255  # the longest file name ext4, XFS, Btrfs, tmpfs and APFS take, in bytes
NOTICED_BYTES = 4 << 20  # a leftover this large or larger is removed with a notice; smaller ones quietly

# why a write failed, by errno: what is wrong, and what to do (every other error keeps the system's words)
WRITE_FAILURES = {
    errno.ENOSPC: ("no space is left on its disk", "free some space, or write it to another disk"),
    errno.EDQUOT: ("its disk quota is used up", "free some space, or write it to another disk"),
    errno.EFBIG: ("it would be larger than a file may be here",
                  "write it to another disk, or raise the file size limit"),
    errno.EROFS: ("its file system is read-only", "write it to another folder"),
    errno.EACCES: ("permission denied", "write it to a folder you may write to"),
    errno.EPERM: ("permission denied", "write it to a folder you may write to"),
    errno.ENAMETOOLONG: ("its name is longer than the file system allows", "give a shorter name"),
}


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
    """A temporary path beside `path`, deleted at the end whatever happens; OSErrors become DataErrors.

    Before it is made, the temporaries that dead runs of this machine left in the folder go.
    """
    path = Path(path)
    temporary = path.with_name(temporary_name(path.name))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(path.parent)
        yield temporary
    except OSError as error:
        raise write_error(path, error) from None
    finally:
        with contextlib.suppress(OSError):  # (a read-only folder: there is nothing to delete)
            temporary.unlink()


def _marker() -> str:
    """What a temporary's name holds after the stem: this host and process make it this writer's own,
    also in a folder that several machines share."""
    return f"{_host_marker()}{os.getpid()}"


def _host_marker() -> str:
    return f".partial-{socket.gethostname()}-"


def temporary_name(name: str) -> str:
    """The hidden temporary name for the file `name`: `.<stem>.partial-<host>-<pid><suffix>`.

    It keeps the suffix (some writers, Keras, insist on it). When the whole would pass NAME_BYTES,
    the stem is shortened (the marker keeps it unique), so that any name the file system takes can
    be written.
    """
    stem, suffix = os.path.splitext(name)
    fixed = len(f".{_marker()}{suffix}".encode())
    if fixed + len(stem.encode()) > NAME_BYTES:
        stem = stem.encode()[: max(NAME_BYTES - fixed, 1)].decode(errors="ignore") or "_"
    return f".{stem}{_marker()}{suffix}"


def remove_leftovers(folder: Path, notice=None) -> list[Path]:
    """Delete the temporaries in `folder` that runs of this machine left when they were killed; return them.

    A temporary whose process no longer runs can never be finished. One whose process runs (or a
    process of another machine's) is left alone. A large one is removed with a one-line notice.
    """
    notice = notice or errors.notice
    marker = _host_marker()
    removed = []
    with contextlib.suppress(OSError):  # a folder that cannot be listed is reported by the write itself
        with os.scandir(folder) as entries:
            for entry in entries:
                pid = _leftover_pid(entry.name, marker)
                if pid is None or pid == os.getpid() or _running(pid):
                    continue
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                    os.unlink(entry.path)
                except OSError:
                    continue  # gone already (another run cleaned it), or not ours to delete
                removed.append(Path(entry.path))
                if size >= NOTICED_BYTES:
                    notice(f"{entry.path}: removed, {size / 1e6:.0f} MB that a stopped run (process {pid}) "
                           "left half-written")
    return removed


def _leftover_pid(name: str, marker: str) -> int | None:
    """The process id in a temporary's name made on this host, or None for any other name."""
    at = name.rfind(marker)
    if not name.startswith(".") or at < 1:
        return None
    rest = name[at + len(marker):]
    digits = rest.split(".", 1)[0]
    return int(digits) if digits.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # (another user's process: running)
    return True


def write_error(path, error: OSError, verb: str = "written",
                remedy: str = "check that its folder can be created and written to") -> DataError:
    """The one-line refusal for an OSError writing `path`: worded by its cause when it has a known one
    (`verb`: "written", "appended to"; `remedy`: for any other cause)."""
    if error.errno in WRITE_FAILURES:
        problem, remedy = WRITE_FAILURES[error.errno]
        return DataError(path, f"cannot be {verb}: {problem}", remedy)
    return DataError(path, f"cannot be {verb} ({error})", remedy)


MOST_INFLATION = 200  # an entry of a zip we read may inflate to this many times its stored size (weights: ~1x)


def read_zip_entry(archive, name: str) -> bytes:
    """One entry of an open zipfile.ZipFile, refused (ValueError) if it would inflate like a zip bomb.

    A real model's entries barely compress (weights are floats); an entry a thousand times its
    stored size is a file made to fill the memory of whoever opens it, refused before it is read.
    """
    entry = archive.getinfo(name)
    if entry.file_size > max(1 << 20, MOST_INFLATION * entry.compress_size):
        raise ValueError(f"its entry {name} would inflate from {entry.compress_size} to {entry.file_size} bytes")
    return archive.read(entry)


def same_file(first, second) -> bool:
    """Whether two paths name one file, however spelt: through links (symbolic or hard), `.` and `..`.

    Two existing paths are one file when they share a device and an inode; a path not yet made is
    the other one when both resolve to the same place.
    """
    try:
        one, other = os.stat(first), os.stat(second)
        if (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino):
            return True
    except OSError:
        pass  # (one does not exist yet)
    return Path(first).resolve() == Path(second).resolve()


def check_name_lengths(path, option: str, remedy: str = "give a shorter name") -> None:
    """Refuse, before any work, a path with a name in it longer than file systems allow."""
    too_long = next((part for part in Path(path).parts if len(part.encode()) > NAME_BYTES), None)
    if too_long is not None:
        raise ArgumentError(option, path, f"has a name of {len(too_long.encode())} bytes, longer than a file system "
                            f"allows ({NAME_BYTES})", remedy)


def writable_folder(path, option: str) -> Path:
    """`path` as a folder that can be made or written, checked before hours of training; nothing is created."""
    folder = Path(path)
    existing = folder
    check_name_lengths(path, option, "give another folder")
    while not existing.exists():  # the nearest existing ancestor is where the folder would be made
        existing = existing.parent
    if not existing.is_dir():
        raise ArgumentError(option, path, f"{existing} is a file, not a folder", "give another folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ArgumentError(option, path, f"{existing} cannot be written to", "give another folder")
    return folder
