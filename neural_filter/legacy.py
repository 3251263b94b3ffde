"""Reads the original project's Keras 2 SavedModel directories without tf_keras.

The 2021 project saved its models as TensorFlow SavedModel directories written by Keras 2. On
TensorFlow 2.21 without the tf_keras package, `tf.saved_model.load` fails on them (it cannot
revive the Adam optimizer's slot variables), so we read the two parts we need directly: the
Keras config (layer order, activations) from `keras_metadata.pb`, and the weights from the
TensorFlow checkpoint under `variables/`. The model is always a Sequential of Dense layers.
"""

import json
import os

import numpy as np

from neural_filter.errors import ModelFileError

_REMEDY = "give a directory saved by the original fit.py (with keras_metadata.pb, variables/)"
_DAMAGED = "the files are damaged; copy the model directory again from its source"
_KEY = "layer_with_weights-{}/{}/.ATTRIBUTES/VARIABLE_VALUE"


def _fields(data: bytes) -> dict[int, list]:
    """Decode one protobuf message into {field number: [values]}.

    keras_metadata.pb is a tiny message (SavedMetadata: repeated SavedObject nodes = 1, each with
    node_id = 2, node_path = 3, identifier = 4, metadata = 5 as JSON). TensorFlow 2.21 ships its
    compiled proto only under a private module, so we read the wire format ourselves. These
    messages use varints and length-delimited fields only; anything else means a damaged file.
    """
    fields, pos = {}, 0

    def varint():
        nonlocal pos
        value = 0
        for shift in range(0, 64, 7):
            byte = data[pos]  # IndexError if the file ends mid-varint
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
        raise ValueError("varint longer than 64 bits")

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if number == 0 or wire not in (0, 2):
            raise ValueError(f"field {number} has wire type {wire}")
        if wire == 0:
            value = varint()
        else:
            size = varint()
            value, pos = data[pos:pos + size], pos + size
            if pos > len(data):
                raise ValueError("file ends inside a field")
        fields.setdefault(number, []).append(value)
    return fields


def _dense_configs(path: str) -> list[dict]:
    """The Dense layer configs, in order, from the root node of keras_metadata.pb."""
    try:
        with open(os.path.join(path, "keras_metadata.pb"), "rb") as f:
            nodes = [_fields(node) for node in _fields(f.read()).get(1, [])]
        root = next(n for n in nodes if n.get(3, [b""])[0] == b"root")
        metadata = json.loads(root[5][0].decode("utf-8"))
    except (OSError, ValueError, StopIteration, LookupError, TypeError, AttributeError) as error:
        problem = f"has an unreadable keras_metadata.pb ({type(error).__name__})"
        raise ModelFileError(path, problem, _DAMAGED) from None
    if not isinstance(metadata, dict) or metadata.get("class_name") != "Sequential":
        raise ModelFileError(path, "is not a Keras Sequential model", _REMEDY)
    config = metadata.get("config")
    # Old Keras stored a Sequential's config as the bare list of layers.
    layers = config.get("layers") if isinstance(config, dict) else config
    layers = [la for la in layers if isinstance(la, dict)] if isinstance(layers, list) else []
    kinds = [layer.get("class_name") for layer in layers]
    if "Dense" not in kinds or set(kinds) - {"Dense", "InputLayer"}:
        raise ModelFileError(path, f"is not a Sequential of Dense layers (has {kinds})", _REMEDY)
    return [layer.get("config") or {} for layer in layers if layer["class_name"] == "Dense"]


def _activation_name(activation) -> str:
    """Keras 2 writes activations by name; a serialized dict form names it inside."""
    if isinstance(activation, dict):
        inner = activation.get("config")
        name = inner.get("name") if isinstance(inner, dict) else inner
        activation = name or activation.get("class_name")
    return str(activation or "linear")


def load_legacy_model(path) -> tuple[list[tuple[np.ndarray, np.ndarray, str]], int]:
    """Return the Dense layers as [(kernel (in, out), bias (out,), activation)] and the window."""
    path = str(path)
    if not os.path.exists(path):
        raise ModelFileError(path, "does not exist", _REMEDY)
    if not os.path.isdir(path):
        raise ModelFileError(path, "is not a directory, so no Keras 2 SavedModel", _REMEDY)
    if not os.path.isfile(os.path.join(path, "keras_metadata.pb")):
        raise ModelFileError(path, "has no keras_metadata.pb, so is no Keras 2 SavedModel", _REMEDY)
    configs = _dense_configs(path)
    prefix = os.path.join(path, "variables", "variables")
    if not os.path.isfile(prefix + ".index"):
        raise ModelFileError(path, "has no variables/variables.index (no weights)", _REMEDY)

    import tensorflow as tf  # noqa: PLC0415 - 6-8 s to import; only this path needs it

    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_shape_map()
        count = 0  # the optimizer's slot variables live under other keys; count the kernels only
        while _KEY.format(count, "kernel") in names:
            count += 1
        if count != len(configs):
            problem = f"has {len(configs)} Dense layers in its config but {count} kernels"
            raise ModelFileError(path, problem, _DAMAGED)
        layers = []
        for k, config in enumerate(configs):
            kernel = reader.get_tensor(_KEY.format(k, "kernel")).astype(np.float32)
            bias = np.zeros(kernel.shape[-1:])  # a Dense layer with use_bias=False has none
            if config.get("use_bias", True):
                bias = reader.get_tensor(_KEY.format(k, "bias"))
            activation = _activation_name(config.get("activation"))
            layers.append((kernel, np.asarray(bias, np.float32), activation))
    except tf.errors.OpError as error:
        problem = "has unreadable weights in variables/: " + " ".join(error.message.split())[:200]
        raise ModelFileError(path, problem, _DAMAGED) from None

    # Each layer must take what the one before gives, starting and ending with the window.
    window = fan_in = layers[0][0].shape[0] if layers[0][0].ndim == 2 else None
    for k, (kernel, bias, _) in enumerate(layers):
        if kernel.ndim != 2 or kernel.shape[0] != fan_in or bias.shape != kernel.shape[1:]:
            problem = f"has layer {k} of kernel {kernel.shape}, bias {bias.shape} after {fan_in}"
            raise ModelFileError(path, problem, _DAMAGED)
        fan_in = kernel.shape[1]
    if fan_in != window:
        raise ModelFileError(path, f"outputs {fan_in} samples but takes {window}", _REMEDY)
    return layers, window
