"""The training pair as arrays: read, checked, split, cut, shuffled, and cached.

The pair is `train_x` (the dry recording) and `train_y` (the same recording filtered). A contiguous
tail of both is held out for validation: neighbouring chunks of audio are nearly alike, so a random
split would score the model on data it has as good as seen. The model's kind then arranges the
parts (kinds/): chunk mode cuts each into non-overlapping chunks of `window` samples (trailing
samples that fill no chunk are dropped, as in the original) and shuffles the training chunks of x
and y in unison with a seeded generator; sliding mode keeps each part as one signal, and training
cuts segments from it.

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

from neural_filter import effect
from neural_filter.audio import Audio, check_readable, open_audio
from neural_filter.console import progress_bar
from neural_filter.errors import ArgumentError, DataError, LengthMismatchError
from neural_filter.files import atomic_output
from neural_filter.settings import DEFAULTS
from neural_filter.spec import FilterSpec

CACHE_VERSION = 2  # 2: full-scale arrays (the levels are the spec's, applied when training)


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """How the pair is read and split; everything but `progress` is part of the cache key."""

    validation: float = 0.1  # fraction of the pair, from its end, held out for validation
    seed: int = DEFAULTS.seed  # chunk mode: the shuffle of the training chunks
    format: str | None = None  # sample encoding of raw files (None: u8); WAV, FLAC, ... files name their own
    rate: int | None = None  # sample rate of raw files (None: audio.DEFAULT_RATE)
    progress: bool = False  # a progress bar while reading (on a terminal)

    def cache_key(self, x_path, y_path, spec: FilterSpec) -> str:
        def source(path):
            status = check_readable(path).stat()  # a missing file is the user's DataError, not a traceback
            return {"path": os.path.abspath(path), "size": status.st_size, "mtime_ns": status.st_mtime_ns}

        settings = {key: value for key, value in dataclasses.asdict(self).items() if key != "progress"}
        return json.dumps({"version": CACHE_VERSION, "sources": [source(x_path), source(y_path)],
                           "spec": {"mode": spec.mode, "window": spec.window}, **settings}, sort_keys=True)


@dataclasses.dataclass
class Prepared:
    """Full-scale float32 arrays: chunk mode (chunks, window) each, sliding mode 1-D signals."""

    train_x: np.ndarray
    train_y: np.ndarray
    validation_x: np.ndarray
    validation_y: np.ndarray
    rate: int
    from_cache: bool = False


def prepare(x_path, y_path, spec: FilterSpec, settings: DataSettings = DataSettings(), cache_dir=".",
            notice=None) -> Prepared:
    """The training arrays for `spec`, from the caches when they are current, else from the files."""
    notice = notice or (lambda message: print(message, file=sys.stderr))
    key = settings.cache_key(x_path, y_path, spec)
    caches = Path(cache_dir) / "train_x.npy", Path(cache_dir) / "train_y.npy"
    loaded = [_load_cache(path, key) for path in caches]
    if all(part is not None for part, _ in loaded):
        ((train_x, validation_x, data_rate), _), ((train_y, validation_y, _), _) = loaded
        return Prepared(train_x, train_y, validation_x, validation_y, data_rate, from_cache=True)

    prepared = _prepare_from_files(x_path, y_path, spec, settings)
    _save_cache(caches[0], key, prepared.train_x, prepared.validation_x, prepared.rate)
    _save_cache(caches[1], key, prepared.train_y, prepared.validation_y, prepared.rate)
    problems = [problem for _, problem in loaded if problem]
    if problems:  # one line for the pair, once it is done: a refusal above stays the only line on stderr
        notice(f"{problems[0]}; rebuilt {caches[0].name} and {caches[1].name}")
    return prepared


def prepare_pairs(pairs, spec: FilterSpec, settings: DataSettings = DataSettings()) -> list[Prepared]:
    """A knob's pairs (pairs.Pair, by cutoff), each read and split as `prepare` does; all at one rate.

    Not cached: reading a pair of raw files takes milliseconds, and one cache per set of pairs
    would only add files for clean.sh to find.
    """
    prepared = []
    with progress_bar(len(pairs), settings.progress, "pairs read") as bar:
        for pair in pairs:
            prepared.append(_prepare_from_files(pair.dry, pair.filtered, spec, settings))
            bar.update(1)
    for pair, part in zip(pairs, prepared):
        if part.rate != prepared[0].rate:
            raise DataError(pair.dry, f"is at {part.rate} Hz but {pairs[0].dry} is at {prepared[0].rate} Hz",
                            "make every pair of a knob at one rate")
    return prepared


def read_pair(x_path, y_path, settings: DataSettings = DataSettings()):
    """Both files of the pair as full-scale Audio, refused unless they line up sample for sample."""
    sources = open_audio(x_path, settings.format, settings.rate), open_audio(y_path, settings.format, settings.rate)
    with progress_bar(len(sources[0]) + len(sources[1]), settings.progress) as bar:
        x, y = (Audio(source.read(bar), source.rate, source.format, source.container) for source in sources)
    if x.rate != y.rate:
        raise DataError(y_path, f"is at {y.rate} Hz but {x_path} is at {x.rate} Hz", "resample one to match the other")
    if len(x.samples) != len(y.samples):
        raise LengthMismatchError(y_path, len(x.samples), len(y.samples), x_path, x.rate)
    return x, y


filter_note_path = effect.note_path  # where make_data.py notes which filter made a filtered file


def known_filter(y_path) -> dict | None:
    """The make_data.py recipe that made `y_path`, as a run record keeps it (effect.Note.target_filter), if noted.

    None without a note or when the note no longer fits the file; a note that is not make_data.py's is refused.
    """
    note = effect.read_note(y_path)
    return note.target_filter() if note else None


def _prepare_from_files(x_path, y_path, spec: FilterSpec, settings: DataSettings) -> Prepared:
    x, y = read_pair(x_path, y_path, settings)
    split, end = _split(len(x.samples), spec, settings.validation, x_path)
    parts = x.samples[:split], y.samples[:split], x.samples[split:end], y.samples[split:end]
    train_x, train_y, validation_x, validation_y = spec.kind.arrange(parts, spec.window, settings.seed)
    return Prepared(train_x, train_y, validation_x, validation_y, x.rate)


def _split(length: int, spec: FilterSpec, validation: float, x_path) -> tuple[int, int]:
    """Where training ends and validation begins, and where both end, for a pair of `length` samples.

    Both are whole multiples of the kind's unit (chunk mode: a chunk; the trailing samples that fill
    no chunk are dropped), and each holds at least the kind's smallest part.
    """
    unit, smallest = spec.kind.split_unit(spec.window), spec.kind.smallest_part(spec.window)
    units = length // unit
    held_out = round(units * validation)
    if validation > 0:
        held_out = max(held_out, smallest)
    needed = smallest + held_out
    if units < needed or spec.window > length:
        raise ArgumentError("window", None, f"window {spec.window} needs at least {needed * unit} samples with "
                            f"{validation:.0%} held out for validation, but {x_path} has {length}",
                            "use a smaller window or a longer training pair")
    return (units - held_out) * unit, units * unit


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
