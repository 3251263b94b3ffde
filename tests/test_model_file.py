"""The model file's one owner: files saved before the record's format version still load and render
byte for byte as they did, new records carry the version, and a newer version is refused."""

import contextlib
import io
import json
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gen
from neural_filter import audio, kinds, model_file
from neural_filter.knob import KnobStack
from neural_filter.network import DenseStack
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec
from tests.conftest import one_line
from tests.fixtures.saved_before_format import expected_renders

FIXTURES = Path(expected_renders.__file__).parent
KNOB_MODEL = expected_renders.MODELS["knob"]


def test_files_saved_before_the_format_version_render_as_they_did():
    """The shipped models and a knob model saved by the code before issue 19, at fixed settings and sweeps, a
    sliding model with a long linear path (format 3), a state-space model (format 6) and a gru-gain model (format 8,
    with the gain read-out), with both engines: the SHA-256 of every float32 render is the one recorded
    when each was saved."""
    expected = json.loads((FIXTURES / "expected_renders.json").read_text())
    assert expected_renders.renders() == expected


@pytest.mark.parametrize("name, network_class", [
    ("lowpass_600hz_6db", DenseStack),  # a sliding model with a linear path
    ("knob", KnobStack),  # a knob model: its record's knob makes it one
])
def test_files_saved_before_have_no_format_and_read_as_their_kind(name, network_class):
    record = model_file.read_record(expected_renders.MODELS[name])
    assert "format" not in record  # format 1: saved before the field
    network, spec, loaded = model_file.load_network(expected_renders.MODELS[name])
    assert isinstance(network, network_class) and loaded == record and spec == FilterSpec(**record["spec"])


def test_a_new_record_carries_the_format_first():
    result = types.SimpleNamespace(start_metrics=None, metrics={}, history={"loss": [1.0]}, best_epoch=1,
                                   interrupted=False, seconds=1.0)
    record = model_file.run_record(result, FilterSpec(mode="sliding", window=8), TrainSettings(), data={})
    # every kind's file says 5 but a recurrent model of state-space cells (6, test_recurrent)
    assert list(record)[:2] == ["format", "spec"] and record["format"] == 5 and model_file.FORMAT == 10
    assert "linear_path" not in record  # a model without a long linear path (test_sliding: one with it)


def with_record(source: Path, target: Path, change) -> Path:
    """A copy of a .keras file whose record `change` has edited (a zip's entry cannot be replaced in place)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename == model_file.SPEC_ENTRY:
                record = json.loads(data)
                change(record)
                data = json.dumps(record).encode()
            copy.writestr(entry, data)
    return target


@pytest.mark.parametrize("version, readable", [
    (1, True),  # written out: the same as none
    (model_file.FORMAT, True),
    (model_file.FORMAT + 1, False),  # a newer neural_filter's file
    ("2", False),  # not a number
])
def test_the_format_version_is_checked(tmp_path, version, readable):
    path = with_record(KNOB_MODEL, tmp_path / "model.keras", lambda record: record.update(format=version))
    if readable:
        assert model_file.read_record(path)["format"] == version
        return
    song = tmp_path / "song.raw"
    audio.write_audio(song, np.zeros(100, np.float32), "u8", 44100)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = gen.run([str(path), str(song), "--cutoff", "1000", "--out", str(tmp_path / "out.raw")])
    assert status == 2 and not (tmp_path / "out.raw").exists()
    assert one_line(err.getvalue()) == (
        f"gen.py: {path}: has a record in format {version!r}, which this neural_filter (format {model_file.FORMAT}) "
        "cannot read; render it with the neural_filter that made it, or update this one")


def test_a_record_of_no_known_kind_is_refused(tmp_path):
    path = with_record(KNOB_MODEL, tmp_path / "model.keras", lambda record: record["spec"].update(mode="spiral"))
    with pytest.raises(model_file.ModelFileError) as caught:
        model_file.load_network(path)
    assert str(caught.value) == (f"{path}: is a model of a kind this neural_filter does not know (mode 'spiral'); "
                                 "render it with the neural_filter that made it, or update this one")


def test_the_record_names_the_kind():
    knob_record = model_file.read_record(KNOB_MODEL)
    assert kinds.of_model("sliding", knob_record) is kinds.KNOB
    assert kinds.of_model("sliding", {}) is kinds.MODES["sliding"]
    assert kinds.of_model("chunk", {}) is kinds.MODES["chunk"]  # the original project's SavedModel: no record

