"""fitting.fit: one training run as a function, the way fit.py, sweeps and benchmarks call it."""

import csv
import json

import pytest

keras = pytest.importorskip("keras")

from neural_filter import fitting, model_file
from neural_filter.dataset import DataSettings
from neural_filter.errors import DataError
from neural_filter.settings import TrainSettings


class EpochLog(keras.callbacks.Callback):
    """What a sweep's callback sees: every epoch's validation loss, as it happens."""

    def __init__(self):
        super().__init__()
        self.val_losses = []

    def on_epoch_end(self, epoch, logs=None):
        self.val_losses.append(logs["val_loss"])


def request(**changes):
    settings = TrainSettings(layers=1, units=4, batch_size=8, activation="tanh", epochs=3, linear_path=True)
    return fitting.FitRequest(**{"settings": settings, "mode": "sliding", "window": 8, "plot": False,
                                 "song": "song.raw", **changes})


def test_fit_returns_what_it_saved_and_a_callback_sees_every_epoch(workdir):
    log = EpochLog()
    outcome = fitting.fit(request(), callbacks=[log])
    assert len(log.val_losses) == 3 == outcome.record["epochs_run"]
    assert log.val_losses == pytest.approx(outcome.result.history["val_loss"])  # the same epochs, in order
    assert outcome.path.name == f"tanh_adam_1_4_8_8_3_sliding_a{outcome.record['metrics']['score']:+.1f}.keras"
    assert json.loads(outcome.path.with_suffix(".json").read_text()) == model_file.read_record(outcome.path)
    assert model_file.read_record(outcome.path) == json.loads(json.dumps(outcome.record))
    with open(workdir / "models" / "results.csv") as file:
        (row,) = csv.DictReader(file)
    assert row["model"] == outcome.path.stem and float(row["esr"]) == pytest.approx(outcome.record["metrics"]["esr"])
    assert outcome.rendered == outcome.path.with_suffix(".raw")
    assert len(outcome.rendered.read_bytes()) == len((workdir / "song.raw").read_bytes())
    assert outcome.plots == []


def test_typed_arguments_name_the_model(workdir):
    outcome = fitting.fit(request(typed=("tanh", "adam", "01", "4", "8", "8", "3"), song=None))
    assert outcome.path.name.startswith("tanh_adam_01_4_8_8_3_sliding_a") and outcome.rendered is None


@pytest.mark.parametrize("changes, path", [
    ({"train_x": "missing.raw"}, "missing.raw"),
    ({"song": "nosong.raw"}, "nosong.raw"),
    ({"data": DataSettings(format="s16le"), "train_x": "odd.raw", "song": None}, "odd.raw"),  # 3 bytes: no s16 sample
    # the song is opened before training, not after it: 1001 bytes are no whole number of s16 samples
    ({"data": DataSettings(format="s16le"), "train_x": "odd.raw", "train_y": "odd.raw"}, "song.raw"),
])
def test_a_bad_request_is_refused_before_anything_is_written(workdir, changes, path):
    (workdir / "odd.raw").write_bytes(b"abc")
    before = sorted(entry.name for entry in workdir.iterdir())
    with pytest.raises(DataError) as caught:
        fitting.fit(request(**changes))
    assert caught.value.path == path
    assert sorted(entry.name for entry in workdir.iterdir()) == before


@pytest.mark.parametrize("cutoff, said", [
    (100.0, ["window 8 is too short for this filter: its least-squares FIR still carries energy in its oldest "
             "taps; a window of 256 samples would hold the response"]),
    (8000.0, []),  # the fixture's gentle filter fits in 8 samples: nothing to say
])
def test_a_window_too_short_for_the_filter_is_said_before_training(workdir, cutoff, said):
    from neural_filter import audio, synth

    dry = audio.read_audio("train_x.raw").samples
    audio.write_audio("train_y.raw", synth.audacity_lowpass(dry, cutoff, 6, 44100), "u8", 44100)
    lines = []
    outcome = fitting.fit(request(song=None), inform=lines.append)
    assert lines == said
    # the record keeps the start's score beside the model's, and training never hands back worse than its start
    assert outcome.record["metrics"]["esr"] <= outcome.record["start"]["esr"] * (1 + 1e-6)


@pytest.mark.parametrize("recipe, skipped", [
    (["--cutoff", "600"], True),  # a linear u8 pair: the least-squares start is at its floor, no epoch runs
    (["--cutoff", "2000", "--rolloff", "24", "--drive", "10", "--noise", "pink"], False),  # driven: the full course
])
def test_training_is_skipped_when_the_start_is_at_the_pairs_floor(tmp_path, monkeypatch, capsys, recipe, skipped):
    import fit
    import make_data

    monkeypatch.chdir(tmp_path)
    assert make_data.run(["--seconds", "3", "--song-seconds", "1", *recipe]) == 0
    capsys.readouterr()
    assert fit.run(["1", "8", "32", "tanh", "adam", "0", "64", "3", "--mode", "sliding", "--no-plot"]) == 0
    out = capsys.readouterr().out
    (record,) = (json.loads(path.read_text()) for path in (tmp_path / "models").glob("*.json"))
    lines = out.splitlines()
    summary = lines[lines.index(fit.SCORES):]  # said once, at the top of the summary
    assert lines.count(fit.SCORES) == 1 and summary[1 + skipped].startswith("saved models/")
    assert (fit.SKIPPED in lines) is skipped
    assert record["epochs_run"] == (0 if skipped else 3)
    assert record["metrics"]["esr_db"] - record["metrics"]["floor_db"] <= (0.5 if skipped else float("inf"))
    assert not skipped or record["metrics"]["verdict"] == "at the floor"
    models = tmp_path / "models"
    assert (models / "results.csv").is_file() and list(models.glob("*.raw"))  # saved and rendered as ever
    assert ("no response table: the target" in out) is not skipped  # the driven pair says why it has none
