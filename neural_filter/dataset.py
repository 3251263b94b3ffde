"""The training pair as arrays: read, checked, split, cut, shuffled, and cached.

The pair is `train_x` (the dry recording) and `train_y` (the same recording filtered). A contiguous
tail of both is held out for validation: neighbouring chunks of audio are nearly alike, so a random
split would score the model on data it has as good as seen. Chunk mode then cuts each part into
non-overlapping chunks of `window` samples (trailing samples that fill no chunk are dropped, as in
the original) and shuffles the training chunks of x and y in unison with a seeded generator.
Sliding mode keeps each part as one signal; training cuts segments from it.

The result is cached as `train_x.npy` and `train_y.npy`, the original's names, so `clean.sh`
still clears them. Unlike the original, each cache records what it was made from (the source
files' paths, sizes and modification times, and every setting) and is used only when all of it
matches; a stale or unreadable cache is rebuilt with a one-line notice. (Each cache is an `.npz`
archive under the `.npy` name: an `.npy` file has no room for that record.)
"""

import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

from neural_filter.audio import Audio, check_readable, open_audio
from neural_filter.errors import ArgumentError, DataError, LengthMismatchError
from neural_filter.files import atomic_output
from neural_filter.network import FilterSpec

CACHE_VERSION = 1


@dataclasses.dataclass
class Prepared:
    """Network-scale float32 arrays: chunk mode (chunks, window) each, sliding mode 1-D signals."""

    train_x: np.ndarray
    train_y: np.ndarray
    validation_x: np.ndarray
    validation_y: np.ndarray
    rate: int
    from_cache: bool = False


def prepare(x_path, y_path, spec: FilterSpec, validation: float, seed: int, format: str | None = None,
            rate: int | None = None, cache_dir=".", notice=None, progress: bool = False) -> Prepared:
    """The training arrays for `spec`, from the caches when they are current, else from the files."""
    notice = notice or (lambda message: print(message, file=sys.stderr))
    key = _cache_key(x_path, y_path, spec, validation, seed, format, rate)
    caches = Path(cache_dir) / "train_x.npy", Path(cache_dir) / "train_y.npy"
    loaded = [_load_cache(path, key) for path in caches]
    if all(part is not None for part, _ in loaded):
        ((train_x, validation_x, data_rate), _), ((train_y, validation_y, _), _) = loaded
        return Prepared(train_x, train_y, validation_x, validation_y, data_rate, from_cache=True)

    prepared = _prepare_from_files(x_path, y_path, spec, validation, seed, format, rate, progress)
    _save_cache(caches[0], key, prepared.train_x, prepared.validation_x, prepared.rate)
    _save_cache(caches[1], key, prepared.train_y, prepared.validation_y, prepared.rate)
    problems = [problem for _, problem in loaded if problem]
    if problems:  # one line for the pair, once it is done: a refusal above stays the only line on stderr
        notice(f"{problems[0]}; rebuilt {caches[0].name} and {caches[1].name}")
    return prepared


def read_pair(x_path, y_path, format: str | None = None, rate: int | None = None, progress: bool = False):
    """Both files of the pair as full-scale Audio, refused unless they line up sample for sample."""
    from neural_filter.cli import progress_bar

    sources = open_audio(x_path, format, rate), open_audio(y_path, format, rate)
    with progress_bar(len(sources[0]) + len(sources[1]), progress) as bar:
        x, y = (Audio(source.read(bar), source.rate, source.format, source.container) for source in sources)
    if x.rate != y.rate:
        raise DataError(y_path, f"is at {y.rate} Hz but {x_path} is at {x.rate} Hz", "resample one to match the other")
    if len(x.samples) != len(y.samples):
        raise LengthMismatchError(y_path, len(x.samples), len(y.samples), x_path, x.rate)
    return x, y


def filter_note_path(y_path) -> Path:
    """Where make_data.py notes which filter made `y_path`: `train_y.json` beside `train_y.raw`."""
    return Path(y_path).with_suffix(".json")


def known_filter(y_path) -> dict | None:
    """The make_data.py filter that made `y_path` ({cutoff, rolloff, rate}), if its note still fits the file."""
    try:
        note = json.loads(filter_note_path(y_path).read_text())
        if note["bytes"] == Path(y_path).stat().st_size:
            return {key: note[key] for key in ("cutoff", "rolloff", "rate")}
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no note, or not ours: the target is simply unknown
    return None


def _prepare_from_files(x_path, y_path, spec, validation, seed, format, rate, progress) -> Prepared:
    x, y = read_pair(x_path, y_path, format, rate, progress)
    scale, offset = (np.float32(value) for value in spec.scale_offset)
    x_signal = x.samples * scale + offset
    y_signal = y.samples * scale + offset

    unit = spec.window if spec.mode == "chunk" else 1  # split on a chunk boundary in chunk mode
    units = len(x_signal) // unit
    held_out = round(units * validation)
    if validation > 0:
        held_out = max(held_out, 1 if spec.mode == "chunk" else spec.window)
    needed = (1 if spec.mode == "chunk" else spec.window) + held_out
    if units < needed or spec.window > len(x_signal):
        raise ArgumentError(
            f"samples: window {spec.window} needs at least {needed * unit} samples with --val {validation}, "
            f"but {x_path} has {len(x_signal)}; use a smaller window or a longer training pair"
        )
    split = (units - held_out) * unit
    end = units * unit  # trailing samples that fill no chunk are dropped
    train_x, validation_x = x_signal[:split], x_signal[split:end]
    train_y, validation_y = y_signal[:split], y_signal[split:end]
    if spec.mode == "chunk":
        order = np.random.default_rng(seed).permutation(split // spec.window)
        train_x = train_x.reshape(-1, spec.window)[order]
        train_y = train_y.reshape(-1, spec.window)[order]
        validation_x = validation_x.reshape(-1, spec.window)
        validation_y = validation_y.reshape(-1, spec.window)
    return Prepared(train_x, train_y, validation_x, validation_y, x.rate)


def _cache_key(x_path, y_path, spec, validation, seed, format, rate) -> str:
    def source(path):
        status = check_readable(path).stat()  # a missing file is the user's DataError, not a traceback
        return {"path": os.path.abspath(path), "size": status.st_size, "mtime_ns": status.st_mtime_ns}

    return json.dumps({
        "version": CACHE_VERSION,
        "sources": [source(x_path), source(y_path)],
        "spec": {"mode": spec.mode, "window": spec.window, "levels": spec.levels},
        "validation": validation, "seed": seed, "format": format, "rate": rate,
    }, sort_keys=True)


def _load_cache(path: Path, key: str):
    """(train, validation, rate) from a current cache, else None; and why it is unusable, if it exists."""
    if not path.exists():
        return None, None
    try:
        with np.load(path, allow_pickle=False) as archive:
            if str(archive["key"]) != key:
                return None, f"{path}: cache made from other files or settings"
            return (archive["train"], archive["validation"], int(archive["rate"])), None
    except Exception as error:  # any unreadable cache is rebuilt, whatever broke in it
        return None, f"{path}: cache unreadable ({type(error).__name__})"


def _save_cache(path: Path, key: str, train: np.ndarray, validation: np.ndarray, rate: int) -> None:
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as file:  # a file object stops numpy adding ".npz" to the name
            np.savez(file, key=np.array(key), train=train, validation=validation, rate=np.array(rate))
