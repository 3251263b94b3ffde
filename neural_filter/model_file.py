"""The model file's one owner: naming, saving, reading back (record and network), and resuming.

A saved model is `<name>.keras` (Keras's own format, plus `neural_filter.json` inside the zip with
the run's record, so gen.py needs no arguments to use it) and `<name>.json` beside it with the
same record for people: the format version, the spec, every hyperparameter, the data, the metrics,
the time taken, library versions, and the kind's own fields (a knob model's knob). A model with a
long linear path (linear_path.py; format 3) holds the stack in the Keras model, the path's taps as
the zip's `linear_path.npy`, and its length, alignment and bias in the record's "linear_path"; a
knob model's long bank (linear_bank.py; format 5), likewise, as `linear_bank.npy` and "linear_bank".

Reading needs no framework (gen.py reads with it): a `.keras` file is a zip of `config.json` and
`model.weights.h5`, so json and h5py read its layers in a fraction of a second, and the model's
kind (kinds/, from the record) makes its NumPy network of them. The original project's SavedModel
directories are read too (legacy.py). Saving and resuming import Keras when they are called.
"""

import dataclasses
import hashlib
import io
import json
import platform
import re
import zipfile
from pathlib import Path

import h5py
import numpy as np

from neural_filter import kinds, legacy, linear_bank, linear_path
from neural_filter.errors import ArgumentError, ModelFileError
from neural_filter.files import atomic_output, new_output, read_zip_entry
from neural_filter.network import Dense, DenseStack
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec

SPEC_ENTRY = "neural_filter.json"  # the record, stored inside the .keras zip
# The record's "format": 2 from issue 19 on. Files saved before have none and are format 1, which
# differs in nothing but that: both read the same way. 3 (issue 20): a sliding model's linear path
# is long, outside the Keras model (linear_path.ENTRY); formats 1 and 2 have it window-long inside.
# 4: a sliding stack beside a long path also reads its output (a second Keras input, the layers
# from_linear and activation_0: kinds/sliding.py); a reader of format 3 would render it without that.
# A tcn model of format 4 has its curve branches (curve, hinge, curve_fir; after_curve, after_hinge,
# after_mix), and the long path beside its window-long one (window_path; format 3's was linear_path).
# 5: a knob model's bank is long, outside the Keras model (linear_bank.ENTRY, taps x knots, and the
# record's "linear_bank"), and the Keras model is its stack alone; before, the bank was a window-long
# layer of it. Other kinds' files are as in format 4.
# 6: a recurrent model of state-space cells (RNN layers holding state_space_cell's cell), which a reader of
# format 5 would skip. 7: a state-space cell's transition is bounded (state_space_transition.py: two more weights,
# decay and rotation, and L's state rows the coupling), which a reader of format 6 would misread; files of format 6
# hold L free, and load and render as they did. 8: a recurrent model with a gain read-out (fit.py --cell
# state-space-gain or gru-gain: the layers gain_hidden and gain, and an output reading one value more), which a
# reader of format 7 would render without it. 9: a recurrent model of level followers (fit.py --cell follower: an
# RNN holding follower_cell's cell), which a reader of format 8 would not know. 10: one of ladders (fit.py --cell
# ladder: ladder_cell's cell), which a reader of format 9 would not know. A file says the format its kind needs
# (Kind.format_needed): 10 for ladders, 9 for followers, 8 for the gain read-out, 7 for other state-space cells, 5
# for the others.
FORMAT = 10
LONG_PATHS = (linear_path.LinearPath, linear_bank.LinearBank)  # what a model file may hold beside its Keras model


def model_name(typed: list[str], spec: FilterSpec, score: float, knob=None) -> str:
    """The original's name from the positional arguments as typed, then the kind's suffix and `_a<score>`.

    A sliding model says so (`_sliding`, `_sliding_centre`); a knob model (knob.Knob) adds its knob
    and range: `..._sliding_cutoff100-8000_a-37.0`.

    The score (metrics.score: the ESR in dB, lower is better) is written as fit.py prints it, with
    its sign and one decimal: `_a-32.3`, `_a-3.2`, `_a+1.5` (worse than silence). Models named
    before issue 23 carry -ESR without a sign (`_a32.3`); their names are theirs, and they load the same.
    """
    kind = kinds.kind_of(spec.mode, knob is not None)
    return f"{'_'.join(typed)}{kind.name_suffix(spec, knob)}_a{score + 0.0:+.1f}"


def run_record(result, spec: FilterSpec, settings: TrainSettings, data: dict, knob=None) -> dict:
    """Everything worth knowing about a run (a train.TrainResult): stored in the .keras file and as .json.

    A knob model's record holds its knob (knob.Knob.record: name, unit, range, knots), which gen.py reads.
    """
    start = result.start_metrics or {}
    long_path = getattr(result, "linear_path", None)
    kind = kinds.kind_of(spec.mode, knob is not None)
    return {"format": kind.format_needed(settings), **kind.record_fields(knob), "spec": dataclasses.asdict(spec),
            "settings": dataclasses.asdict(settings), "data": data, "metrics": result.metrics,
            "start": {key: start[key] for key in ("esr", "esr_db") if key in start}, "history": result.history,
            **({long_path.record_key: long_path.record()} if long_path is not None else {}),
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history.get("loss", [])), "interrupted": result.interrupted,
            "training_seconds": result.seconds, "versions": versions()}


def song_record(path) -> dict:
    """The song fit.py renders beside the model, as the record's data names it: its full path and its bytes'
    SHA-256, so that report.py plays a render beside its own song only, and knows when the file was replaced."""
    return {"path": str(Path(path).resolve()), "sha256": _sha256(path)}


def is_song(noted: dict | None, path) -> bool:
    """Whether `path` holds the song a record's `song_record` names, byte for byte (False for a record without one)."""
    if not isinstance(noted, dict) or not Path(path).is_file():
        return False
    return noted.get("sha256") == _sha256(path)


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model, path: Path, record: dict, long_path=None) -> Path:
    """Write `path` (.keras with the record inside, and `long_path`'s taps where there is one: one of
    LONG_PATHS) and the record as `.json` beside it; return the path taken.

    A model the user has is never overwritten: when `path` exists, the next free name (`_2`, `_3`,
    ...) is taken, atomically, also against other runs finishing at the same moment.
    """
    claimed = []
    with new_output(path, claimed) as temporary:
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(SPEC_ENTRY, json.dumps(record, indent=2))
            if long_path is not None:
                archive.writestr(long_path.entry_name, long_path.entry())
    with atomic_output(claimed[0].with_suffix(".json")) as temporary:
        temporary.write_text(json.dumps(record, indent=2) + "\n")
    return claimed[0]


def read_record(path) -> dict:
    """The record stored inside one of our .keras files; refused when its format is newer than this code reads."""
    if not Path(path).is_file():  # a device (/dev/zero) or a pipe would be read without end
        raise ModelFileError(path, "is not a regular file", "give a .keras file made by fit.py")
    try:
        with zipfile.ZipFile(path) as archive:
            record = json.loads(read_zip_entry(archive, SPEC_ENTRY))
    except KeyError:
        raise ModelFileError(path, "is a Keras model but not one made by fit.py (no neural_filter.json inside)",
                             "render it with a model trained by fit.py") from None
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelFileError(path, f"is not a readable .keras model file ({error})", "retrain it with fit.py") from None
    version = record.get("format", 1) if isinstance(record, dict) else None
    if not isinstance(version, int) or version > FORMAT:
        raise ModelFileError(path, f"has a record in format {version!r}, which this neural_filter (format {FORMAT}) "
                             "cannot read", "render it with the neural_filter that made it, or update this one")
    return record


def load_network(path) -> tuple[object, FilterSpec, dict]:
    """The NumPy network (network.DenseStack, or knob.KnobStack), spec and record of a model made by fit.py
    (.keras) or by the original project (SavedModel directory)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(path, "no such model", "give a .keras file from models/ or a SavedModel directory")
    if path.is_dir():
        layers, window = legacy.load_legacy_model(path)
        stack = DenseStack([Dense(kernel, bias, activation) for kernel, bias, activation in layers])
        spec, record = FilterSpec(window=window), {}  # the original's: chunk mode at unit levels
    else:
        record = read_record(path)
        kind = _kind_of(path, record)
        try:
            spec = FilterSpec(**record["spec"])
            with zipfile.ZipFile(path) as archive:
                config = json.loads(read_zip_entry(archive, "config.json"))
                weights = read_zip_entry(archive, "model.weights.h5")
                layers = _layers_of_keras_file(config, weights)
                for long in LONG_PATHS:
                    if long.record_key in record:
                        layers[long.record_key] = long.from_entry(read_zip_entry(archive, long.entry_name),
                                                                  record[long.record_key])
            stack = kind.network_of(layers, record)
            if stack.window != spec.window:
                raise ValueError(f"the network reads {stack.window} samples, spec says {spec.window}")
        except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as error:
            raise ModelFileError(path, f"has unreadable weights ({error})", "retrain it with fit.py") from None
    if stack.layers and stack.layers[-1].activation != "linear":  # both projects' models end in a linear layer
        raise ModelFileError(path, f"ends in a {stack.layers[-1].activation} layer, not a linear one",
                             "render a model trained by fit.py")
    return stack, spec, record


def _kind_of(path, record: dict) -> kinds.Kind:
    """The kind of model the record describes; refused where it names none this code knows."""
    mode = record.get("spec", {}).get("mode") if isinstance(record.get("spec"), dict) else None
    try:
        return kinds.of_model(mode, record)
    except (KeyError, TypeError):
        raise ModelFileError(path, f"is a model of a kind this neural_filter does not know (mode {mode!r})",
                             "render it with the neural_filter that made it, or update this one") from None


def _layers_of_keras_file(config: dict, weights_file: bytes) -> dict:
    """Each named Dense or Conv1D layer as a network.Dense, each Activation layer's activation, and each recurrent
    layer's CellWeights, by layer name.

    Keras 3 stores each layer's weights under a group named after its class, in config order.
    """
    seen: dict[str, int] = {}
    layers = {}
    with h5py.File(io.BytesIO(weights_file), "r") as weights:
        for layer in config["config"]["layers"]:
            group = _snake_case(layer["class_name"])
            count = seen.get(group, 0)
            seen[group] = count + 1
            if layer["class_name"] == "Activation":
                layers[layer["config"]["name"]] = layer["config"]["activation"]
            if layer["class_name"] in RECURRENT_LAYERS:  # its cell's weights, for the kind to read (kinds/recurrent.py)
                variables = weights[f"layers/{group}{f'_{count}' if count else ''}/cell/vars"]
                arrays = [np.asarray(variables[str(index)], dtype=np.float32) for index in range(len(variables))]
                layers[layer["config"]["name"]] = CellWeights(arrays, layer["config"])
            if layer["class_name"] not in ("Dense", "Conv1D"):
                continue
            variables = weights[f"layers/{group}{f'_{count}' if count else ''}/vars"]
            kernel = np.asarray(variables["0"], dtype=np.float32)
            kernel = kernel.reshape(-1, kernel.shape[-1])  # Conv1D (width, 1 or units, units) -> 2-D
            bias = (np.asarray(variables["1"], dtype=np.float32) if "1" in variables
                    else np.zeros(kernel.shape[1], np.float32))
            layers[layer["config"]["name"]] = Dense(kernel, bias, layer["config"].get("activation") or "linear")
    return layers


RECURRENT_LAYERS = ("GRU", "RNN")  # Keras layers whose weights are their cell's (RNN: a state-space cell)


@dataclasses.dataclass(frozen=True)
class CellWeights:
    """A recurrent layer as saved: its cell's variables in Keras's order, and the layer's config."""

    arrays: list
    config: dict


def _snake_case(name: str) -> str:
    """Keras 3's own rule (keras.src.utils.naming.to_snake_case): "Conv1D" -> "conv1d"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def check_resumable(path) -> Path:
    """Refuse, before any framework starts, a --resume path that cannot be a model made by fit.py."""
    path = Path(path)
    if not path.is_file():
        problem = "is a directory, not a .keras model" if path.is_dir() else "no such model"
        raise ModelFileError(path, problem, "give {resume} a .keras file made by fit.py")
    return path


def load_for_resume(path, spec: FilterSpec, settings: TrainSettings, typed: dict | None = None):
    """The Keras model to continue training, its spec and its long linear path (None where it has none);
    refused unless the arguments describe it.

    `typed` holds the spec options with defaults of their own ("align", "levels"): None where the
    user did not type them, so the model's own values are taken.
    """
    import keras  # noqa: PLC0415 - 6-8 s: resuming trains anyway; reading a record (gen.py) must not pay it

    saved = read_record(check_resumable(path))
    saved_spec, saved_settings = FilterSpec(**saved["spec"]), saved["settings"]
    checks = [("window", spec.window, saved_spec.window), ("mode", spec.mode, saved_spec.mode),
              ("layers", settings.layers, saved_settings["layers"]),
              ("units", settings.units, saved_settings["units"]),
              ("activation", settings.activation, saved_settings["activation"])]
    checks += kinds.by_mode(saved_spec.mode).resume_checks(settings, saved_settings)
    checks += [(option, given, getattr(saved_spec, option))
               for option, given in (typed or {}).items() if given is not None]
    for option, given, wanted in checks:
        if given != wanted:
            raise ArgumentError(option, given, f"the model to resume, {path}, has {wanted}",
                                "give the arguments it was trained with")
    try:
        model = keras.models.load_model(path, compile=False,
                                        custom_objects=kinds.by_mode(saved_spec.mode).keras_objects())
    except Exception as error:  # Keras raises many kinds for a damaged file
        raise ModelFileError(path, f"cannot be loaded by Keras ({type(error).__name__})", "retrain it") from None
    return model, saved_spec, _long_path_of(path, saved)


def _long_path_of(path, record: dict):
    """The model file's long linear path (linear_path.LinearPath), or None where it has none."""
    if "linear_path" not in record:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            return linear_path.LinearPath.from_entry(archive.read(linear_path.ENTRY), record["linear_path"])
    except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as error:
        raise ModelFileError(path, f"has an unreadable linear path ({error})", "retrain it with fit.py") from None


def versions() -> dict:
    import keras  # noqa: PLC0415 - Keras and SciPy: only fit.py's record names them, once trained (gen.py never)
    import scipy  # noqa: PLC0415

    return {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
            "numpy": np.__version__, "scipy": scipy.__version__}
