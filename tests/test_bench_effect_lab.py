"""bench/effect_lab.py's scoring (the README's hand-made compressor table rests on it) and its refusals."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))  # effect_lab imports effects beside it

import effect_lab  # noqa: E402

from neural_filter import audio  # noqa: E402


def lab(folder: Path, rendered: np.ndarray, target: np.ndarray, spans: dict) -> None:
    """A folder as effect_lab.py make leaves it, and one run's 16-bit render in run_a."""
    np.save(folder / effect_lab.TARGET, target)
    (folder / effect_lab.SPANS).write_text(json.dumps(spans))
    (folder / "run_a").mkdir()
    audio.encode(rendered.astype(np.float32), "s16le").tofile(folder / "run_a" / "render.raw")


def test_each_recording_is_scored_by_its_own_span_against_the_target(tmp_path):
    target = np.random.default_rng(1).uniform(-0.5, 0.5, 3000)
    rendered = target.copy()
    rendered[:1000] *= 1.1  # the first recording's error 10% of it: ESR -20 dB
    rendered[1000:3000] *= 1.01  # the second's 1%: -40 dB, then a gap it does not count
    lab(tmp_path, rendered, target, {"first": [0, 1000], "second": [1000, 2000]})
    scores = effect_lab.score(tmp_path, "run_a")
    assert list(scores) == ["first", "second"]
    # 16 bits round the render: within 0.05 dB of -20 and 0.5 of -40
    assert scores["first"] == pytest.approx(-20.0, abs=0.05) and scores["second"] == pytest.approx(-40.0, abs=0.5)


@pytest.mark.parametrize("argv, line", [
    (["make", "nothing", "{folder}"], "effect_lab.py: 'nothing' names 0 effects; give a word of one of: "),
    (["score", "{folder}", "run_a"], "effect_lab.py: {folder} holds no target.npy and recordings.json; write them "
                                     "first with effect_lab.py make EFFECT {folder}"),
])
def test_a_wrong_word_or_folder_is_one_line_and_exit_status_2(tmp_path, capsys, monkeypatch, argv, line):
    monkeypatch.setattr(effect_lab.effects, "pedalboard", object())  # past the venv check, whatever this venv holds
    monkeypatch.setattr(effect_lab.effects.recordings, "missing_packages", lambda: [])  # whatever this machine has
    monkeypatch.setattr(effect_lab.effects, "_effects", lambda: {"compressor": ("", [])})
    assert effect_lab.main([word.format(folder=tmp_path) for word in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(line.format(folder=tmp_path))
    assert not any(tmp_path.iterdir())  # nothing written


def test_make_without_the_recordings_packages_names_them_in_one_line_and_writes_nothing(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.setattr(effect_lab.effects, "pedalboard", object())
    monkeypatch.setattr(effect_lab.effects.recordings, "missing_packages", lambda: ["fluidsynth", "alsa-utils"])
    assert effect_lab.main(["make", "compressor", str(tmp_path / "lab")]) == 2
    assert capsys.readouterr().err == ("effect_lab.py needs the Debian packages fluidsynth, alsa-utils: apt-get install "
                                       "fluidsynth alsa-utils\n")
    assert not (tmp_path / "lab").exists()
