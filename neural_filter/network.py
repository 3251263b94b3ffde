"""A trained filter as plain NumPy: its forward pass, read from a model file without a framework.

Rendering needs no gradients and no framework: a `.keras` file is a zip of `config.json` and
`model.weights.h5`, so NumPy, json and h5py read it in a fraction of a second, where importing
Keras alone takes seconds. Both model shapes reduce to one dense stack applied to rows of `window`
input samples: a chunk model maps each chunk to a chunk, a sliding model maps each window to the
one output sample it ends at (or is centred on), plus an optional linear path (an FIR filter).
"""

import dataclasses
import io
import json
import threading
import zipfile
from pathlib import Path

import numpy as np

from neural_filter.errors import ModelFileError
from neural_filter.files import read_zip_entry
from neural_filter.model_file import read_record
from neural_filter.spec import FilterSpec


@dataclasses.dataclass
class Dense:
    """One layer as NumPy arrays: kernel (inputs, outputs), bias (outputs,), activation name."""

    kernel: np.ndarray
    bias: np.ndarray
    activation: str = "linear"

    def __call__(self, columns: np.ndarray, out: np.ndarray | None = None, engine: str = "compiled") -> np.ndarray:
        """(inputs, rows) -> (outputs, rows), into `out` (outputs, rows) when given."""
        product = np.matmul(self.kernel.T, columns, out=out)
        return activations_of(engine)[self.activation](product, self.bias)  # in place where it can: the product is ours


ENGINES = ("compiled", "numpy")  # how the activations are computed: the compiled loop, or NumPy's passes


def activations_of(engine: str) -> dict:
    """The activation table of an engine, imported on first use: the compiled one loads llvmlite and its loop."""
    if engine == "numpy":
        from neural_filter.numpy_activations import ACTIVATIONS
    else:
        from neural_filter.activations import ACTIVATIONS
    return ACTIVATIONS


@dataclasses.dataclass
class DenseStack:
    """The network: dense layers applied in turn to each row, plus an optional linear path.

    Rows in, rows out; inside, one column per row, so that each unit's values lie in one long
    contiguous run, which the activation loops vectorise however few units a layer has.
    """

    layers: list
    linear_path: Dense | None = None
    engine: str = "compiled"  # see ENGINES; render.engine_for chooses one per song
    # each thread's reused output arrays; see _workspace
    _workspaces: threading.local = dataclasses.field(default_factory=threading.local, repr=False, compare=False)

    def __call__(self, rows: np.ndarray, first_row: int = 0) -> np.ndarray:
        """(rows, window) -> (rows, outputs): a view into this thread's workspace, valid until its next call.

        `first_row` says where the rows are in the signal: a network that changes along it (a
        knob's sweep, knob.Sweep) needs it; this one is the same everywhere.
        """
        outs = self._workspace(len(rows))
        result = rows.T  # a view: the matrix products read it in place
        for layer, out in zip(self.layers, outs):
            result = layer(result, out, self.engine)
        if self.linear_path is not None:
            linear = self.linear_path(rows.T, outs[len(self.layers)], self.engine)
            if self.layers:
                linear += result
            result = linear
        return result.T

    def _workspace(self, rows: int) -> list:
        """This thread's arrays for every layer's output, for `rows` rows at a time.

        Reused from call to call, they spare the page faults of fresh arrays, which cost a quarter
        of the time of a block (the allocator hands memory this size back to the system on free).
        The layers take turns between two arrays, each reading the one the layer before wrote, so
        that a core's working set stays in its own cache. Each thread has its own: render runs row
        groups on several threads at once.
        """
        cached = self._workspaces
        if getattr(cached, "rows", None) != rows:
            widest = max((layer.kernel.shape[1] for layer in self.layers), default=0)
            pair = [np.empty((widest, rows), np.float32) for _ in range(2)]
            cached.arrays = [pair[index % 2][: layer.kernel.shape[1]] for index, layer in enumerate(self.layers)]
            if self.linear_path is not None:
                cached.arrays.append(np.empty((self.linear_path.kernel.shape[1], rows), np.float32))
            cached.rows = rows
        return cached.arrays

    def on_full_scale(self, spec: FilterSpec) -> "DenseStack":
        """The same network taking and giving full-scale samples: its levels folded into its weights.

        The network sees `sample * scale + offset` and its output means `(y - offset) / scale`. Both
        maps are affine, so the layers that read the input take the first (W -> scale W, b -> b +
        offset * sum of W's rows) and the linear layers that write the output the second, and
        rendering makes no passes over the audio for them. The output layer must be linear
        (load_network refuses other models).
        """
        scale, offset = (np.float32(value) for value in spec.scale_offset)
        if self.layers and self.layers[-1].activation != "linear":
            raise ValueError(f"the output layer is {self.layers[-1].activation}: only a linear one can take the levels")

        def folded(layer: Dense, reads_input: bool, writes_output: bool, subtract_offset: bool) -> Dense:
            kernel, bias = layer.kernel, layer.bias
            if reads_input:
                bias = bias + offset * kernel.sum(axis=0)
            if writes_output:
                bias = (bias - offset if subtract_offset else bias) / scale
            if reads_input != writes_output:  # a layer that does both keeps its kernel: the scales cancel
                kernel = kernel * scale if reads_input else kernel / scale
            return Dense(kernel, bias, layer.activation)

        last = len(self.layers) - 1
        layers = [folded(layer, index == 0, index == last, subtract_offset=self.linear_path is None)
                  for index, layer in enumerate(self.layers)]
        linear_path = self.linear_path and folded(self.linear_path, True, True, subtract_offset=True)
        return DenseStack(layers, linear_path, self.engine)

    def with_engine(self, engine: str) -> "DenseStack":
        """The same network, its activations computed by `engine` (one of ENGINES)."""
        return DenseStack(self.layers, self.linear_path, engine)

    @property
    def numpy_ready(self) -> bool:
        """Whether every activation is one we compute (both engines know the same names); else Keras renders."""
        from neural_filter.numpy_activations import ACTIVATIONS  # not the compiled engine: llvmlite only when used

        return all(layer.activation in ACTIVATIONS for layer in self.layers)


def load_network(path) -> tuple[DenseStack, FilterSpec, dict]:
    """Read a model made by fit.py (.keras) or by the original project (SavedModel directory)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(path, "no such model", "give a .keras file from models/ or a SavedModel directory")
    if path.is_dir():
        from neural_filter import legacy

        layers, window = legacy.load_legacy_model(path)
        stack = DenseStack([Dense(kernel, bias, activation) for kernel, bias, activation in layers])
        spec, metadata = FilterSpec(mode="chunk", window=window), {}
    else:
        metadata = read_record(path)
        spec = FilterSpec(**metadata["spec"])
        try:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(read_zip_entry(archive, "config.json"))
                weights = read_zip_entry(archive, "model.weights.h5")
            layers = _layers_of_keras_file(config, weights)
            stack = _knob_stack(layers, metadata["knob"]) if "knob" in metadata else _stack(layers)
            if stack.layers[0].kernel.shape[0] != spec.window:
                raise ValueError(f"first layer takes {stack.layers[0].kernel.shape[0]} samples, spec says {spec.window}")
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
            raise ModelFileError(path, f"has unreadable weights ({error})", "retrain it with fit.py") from None
    if stack.layers and stack.layers[-1].activation != "linear":  # both projects' models end in a linear layer
        raise ModelFileError(path, f"ends in a {stack.layers[-1].activation} layer, not a linear one",
                             "render a model trained by fit.py")
    return stack, spec, metadata


def _layers_of_keras_file(config: dict, weights_file: bytes) -> dict:
    """Each named Dense or Conv1D layer as a Dense, and each Activation layer's activation, by layer name.

    Keras 3 stores each layer's weights under a group named after its class, in config order.
    """
    import h5py

    seen: dict[str, int] = {}
    layers = {}
    with h5py.File(io.BytesIO(weights_file), "r") as weights:
        for layer in config["config"]["layers"]:
            group = _snake_case(layer["class_name"])
            count = seen.get(group, 0)
            seen[group] = count + 1
            if layer["class_name"] == "Activation":
                layers[layer["config"]["name"]] = layer["config"]["activation"]
            if layer["class_name"] not in ("Dense", "Conv1D"):
                continue
            variables = weights[f"layers/{group}{f'_{count}' if count else ''}/vars"]
            kernel = np.asarray(variables["0"], dtype=np.float32)
            kernel = kernel.reshape(-1, kernel.shape[-1])  # Conv1D (width, 1 or units, units) -> 2-D
            bias = np.asarray(variables["1"], dtype=np.float32) if "1" in variables else np.zeros(kernel.shape[1], np.float32)
            layers[layer["config"]["name"]] = Dense(kernel, bias, layer["config"].get("activation") or "linear")
    return layers


def _hidden_names(layers: dict) -> list:
    return sorted((name for name in layers if name.startswith("hidden_")), key=_layer_order)


def _stack(layers: dict) -> DenseStack:
    hidden = [layers[name] for name in _hidden_names(layers)]
    return DenseStack(hidden + [layers["output"]], layers.get("linear_path"))


def _knob_stack(layers: dict, knob_record: dict):
    """A knob model (model.build_knob_model): its activations are layers of their own, after the bias offsets."""
    from neural_filter.knob import Knob, KnobStack

    names = _hidden_names(layers)
    hidden = [Dense(layers[name].kernel, layers[name].bias, layers[f"activation_{_layer_order(name)}"])
              for name in names]
    offsets = [layers[f"knob_{_layer_order(name)}"].kernel for name in names]
    return KnobStack(Knob.from_record(knob_record), hidden + [layers["output"]], offsets, layers["linear_bank"],
                     layers["from_linear"].kernel[0])


def _layer_order(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


def _snake_case(name: str) -> str:
    """Keras 3's own rule (keras.src.utils.naming.to_snake_case): "Conv1D" -> "conv1d"."""
    import re

    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
