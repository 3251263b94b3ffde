"""A saved model and its record: naming, saving, reading back, and the checks before resuming one.

A saved model is `<name>.keras` (Keras's own format, plus `neural_filter.json` inside the zip with
the run's record, so gen.py needs no arguments to use it) and `<name>.json` beside it with the
same record for people: the spec, every hyperparameter, the data, the metrics, the time taken,
library versions. Reading a record needs no framework (gen.py reads it); saving and resuming
import Keras when they are called.
"""

import dataclasses
import json
import platform
import zipfile
from pathlib import Path

from neural_filter.errors import ArgumentError, ModelFileError
from neural_filter.files import atomic_output, new_output, read_zip_entry
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec

SPEC_ENTRY = "neural_filter.json"  # the record, stored inside the .keras zip


def model_name(typed: list[str], spec: FilterSpec, score: float, knob=None) -> str:
    """The original's name from the positional arguments as typed, then `_a<score>`; sliding and knob models say so.

    A knob model (knob.Knob) adds its knob and range: `..._sliding_cutoff100-8000_a37.0`.

    The score (metrics.score: -ESR in dB) is written with one decimal and zero-padded to four
    characters, `_a07.9` to `_a99.9`, so that names sort by quality in a listing.
    """
    name = "_".join(typed)
    if spec.mode == "sliding":
        name += "_sliding" + ("_centre" if spec.align == "centre" else "")
    if knob is not None:
        name += f"_{knob.name}{knob.low:g}-{knob.high:g}"
    return f"{name}_a{score:04.1f}"


def run_record(result, spec: FilterSpec, settings: TrainSettings, data: dict, knob=None) -> dict:
    """Everything worth knowing about a run (a train.TrainResult): stored in the .keras file and as .json.

    A knob model's record holds its knob (knob.Knob.record: name, unit, range, knots), which gen.py reads.
    """
    start = result.start_metrics or {}
    return {**({"knob": knob.record()} if knob is not None else {}), "spec": dataclasses.asdict(spec), "settings": dataclasses.asdict(settings), "data": data,
            "metrics": result.metrics, "start": {key: start[key] for key in ("esr", "esr_db") if key in start}, "history": result.history, "best_epoch": result.best_epoch,
            "epochs_run": len(result.history.get("loss", [])), "interrupted": result.interrupted,
            "training_seconds": result.seconds, "versions": versions()}


def save_model(model, path: Path, record: dict) -> Path:
    """Write `path` (.keras with the record inside) and the record as `.json` beside it; return the path taken.

    A model the user has is never overwritten: when `path` exists, the next free name (`_2`, `_3`,
    ...) is taken, atomically, also against other runs finishing at the same moment.
    """
    claimed = []
    with new_output(path, claimed) as temporary:
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(SPEC_ENTRY, json.dumps(record, indent=2))
    with atomic_output(claimed[0].with_suffix(".json")) as temporary:
        temporary.write_text(json.dumps(record, indent=2) + "\n")
    return claimed[0]


def read_record(path) -> dict:
    """The record stored inside one of our .keras files."""
    if not Path(path).is_file():  # a device (/dev/zero) or a pipe would be read without end
        raise ModelFileError(path, "is not a regular file", "give a .keras file made by fit.py")
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(read_zip_entry(archive, SPEC_ENTRY))
    except KeyError:
        raise ModelFileError(path, "is a Keras model but not one made by fit.py (no neural_filter.json inside)",
                             "render it with a model trained by fit.py") from None
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelFileError(path, f"is not a readable .keras model file ({error})", "retrain it with fit.py") from None


def check_resumable(path) -> Path:
    """Refuse, before any framework starts, a --resume path that cannot be a model made by fit.py."""
    path = Path(path)
    if not path.is_file():
        problem = "is a directory, not a .keras model" if path.is_dir() else "no such model"
        raise ModelFileError(path, problem, "give {resume} a .keras file made by fit.py")
    return path


def load_for_resume(path, spec: FilterSpec, settings: TrainSettings, typed: dict | None = None):
    """The Keras model to continue training, and its spec; refused unless the arguments describe it.

    `typed` holds the spec options with defaults of their own ("align", "levels"): None where the
    user did not type them, so the model's own values are taken.
    """
    import keras

    saved = read_record(check_resumable(path))
    saved_spec, saved_settings = FilterSpec(**saved["spec"]), saved["settings"]
    checks = [("window", spec.window, saved_spec.window), ("mode", spec.mode, saved_spec.mode),
              ("layers", settings.layers, saved_settings["layers"]),
              ("units", settings.units, saved_settings["units"]),
              ("activation", settings.activation, saved_settings["activation"])]
    checks += [(option, given, getattr(saved_spec, option)) for option, given in (typed or {}).items() if given is not None]
    for option, given, wanted in checks:
        if given != wanted:
            raise ArgumentError(option, given, f"the model to resume, {path}, has {wanted}",
                                "give the arguments it was trained with")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a damaged file
        raise ModelFileError(path, f"cannot be loaded by Keras ({type(error).__name__})", "retrain it") from None
    return model, saved_spec


def versions() -> dict:
    import keras
    import numpy
    import scipy

    return {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
            "numpy": numpy.__version__, "scipy": scipy.__version__}
