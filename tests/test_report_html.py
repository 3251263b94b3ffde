"""report.py --html: a page to look at and listen to, checked as files and in a real headless Chromium.

One small sweep (make_data.py's pair, one second of noise and a two-second song; three tiny trials)
feeds every test here. The browser test loads the page from a file:// URL in Debian's chromium
(.ci/run installs it; skipped where it is absent) and checks that every picture and sound loads,
that each player reports its file's duration, and that a screenshot is not blank.
"""

import csv
import html.parser
import io
import json
import shutil
import urllib.parse
import wave
from pathlib import Path

import numpy as np
import pytest

from conftest import one_line

import make_data
import report
import sweep

from neural_filter import audio, model_file, synth

optuna = pytest.importorskip("optuna")


SWEEP_SEED = 3


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A folder after `make_data.py`, a three-trial sweep and `report.py --html`: its models folder."""
    import optuna

    folder = tmp_path_factory.mktemp("swept")
    create_study = optuna.create_study
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        # a seeded sampler whose three trials are three commands: an unseeded one drew one command twice (and
        # saved two models, where the tests need three) in about one run in five
        patch.setattr(optuna, "create_study",
                      lambda **options: create_study(sampler=optuna.samplers.RandomSampler(seed=SWEEP_SEED), **options))
        assert make_data.run(["--seconds", "1", "--song-seconds", "2", "--cutoff", "8000"]) == 0
        assert sweep.run(["--trials", "3", "--layers", "1", "--units", "2:6", "--batches", "8", "--samples", "8",
                          "--activator", "tanh", "--optimiser", "adam,nadam,rmsprop", "--epoches", "1"]) == 0
        assert report.run(["--html"]) == 0
    assert len(list((folder / "models").glob("*.json"))) == 3
    return folder / "models"


class Page(html.parser.HTMLParser):
    """Every src and href of a page, the audio elements' data-seconds, and the ranking's model names."""

    def __init__(self, text: str):
        super().__init__()
        self.sources, self.audio, self.links, self.headings = [], [], [], []
        self._in_heading = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "src" in attrs:
            self.sources.append((tag, attrs["src"]))
        if tag == "audio":
            self.audio.append((attrs["src"], float(attrs["data-seconds"])))
        if tag == "a":
            self.links.append(attrs["href"])
        self._in_heading = tag == "h3"

    def handle_data(self, data):
        if self._in_heading:
            self.headings.append(data)
            self._in_heading = False


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as file:
        return file.getnframes() / file.getframerate()


def test_every_picture_and_sound_is_a_relative_file_beside_the_page(swept):
    page = Page((swept / "report.html").read_text())
    assert page.sources
    for tag, source in page.sources:
        assert not urllib.parse.urlparse(source).scheme and not source.startswith("/")  # relative: moves with the folder
        assert (swept / urllib.parse.unquote(source)).is_file(), source
    for source, seconds in page.audio:
        assert wav_seconds(swept / urllib.parse.unquote(source)) == pytest.approx(seconds, abs=1e-6)
    assert all(link.startswith("#model-") for link in page.links)  # in-page anchors only
    with open(swept / "results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    ranked = [row["model"] for row in sorted(rows, key=lambda row: float(row["esr"]))]
    assert [heading.split(" ", 1)[1] for heading in page.headings] == ranked  # one card a model, best first
    sounds = [source for source, _ in page.audio]
    listen = ["report/song.wav", "report/reference_8000hz_6db.wav"]
    # the song and the reference at the top, then with each model's render on its card, to compare by ear
    assert sounds == listen + [sound for model in ranked for sound in (*listen, f"report/{model}.wav")]
    pictures = {source for tag, source in page.sources if tag == "img"}
    assert {"report/optuna_history.png", "report/optuna_importances.png"} <= pictures
    for model in ranked:
        assert {f"{model}_spectrum.png", f"{model}_loss.png"} <= pictures


def test_the_reference_is_the_song_through_the_real_filter_and_renders_are_their_raw_files(swept):
    song = audio.read_audio(swept.parent / "song.raw")
    reference = audio.read_audio(swept / "report" / "reference_8000hz_6db.wav")
    assert reference.format == "s16le" and reference.rate == 44100
    expected = np.clip(synth.audacity_lowpass(song.samples, 8000, 6, 44100), -1, 32767 / 32768)
    assert np.max(np.abs(reference.samples - expected)) <= 0.5 / 32768 + 1e-7  # to the 16-bit step
    for render in swept.glob("*.raw"):
        converted = audio.read_audio(swept / "report" / f"{render.stem}.wav")
        assert np.array_equal(converted.samples, audio.read_audio(render).samples)  # u8 steps are exact in 16 bits


def test_without_a_study_and_with_a_reference_file(swept, tmp_path, monkeypatch, capsys):
    models = tmp_path / "models"
    shutil.copytree(swept, models, ignore=shutil.ignore_patterns("study.db*", "report*"))
    monkeypatch.chdir(tmp_path)
    audio.write_audio(tmp_path / "mine.wav", np.zeros(4410, np.float32), "s16le", 44100)
    assert report.run(["--html", "--song", str(swept.parent / "song.raw"), "--reference", "mine.wav"]) == 0
    text = (models / "report.html").read_text()
    assert "Study" not in text and not (models / "report" / "optuna_history.png").exists()
    assert 'src="report/reference.wav" data-seconds="0.100000"' in text
    assert report.run(["--html", "--reference", "missing.wav"]) == 2
    assert one_line(capsys.readouterr().err) == "report.py: missing.wav: no such file; check the path, or create it first"


CHECK_PAGE = """
(async () => {
  const within = (promise, ms) => Promise.race([promise, new Promise(done => setTimeout(() => done('timeout'), ms))]);
  const images = await Promise.all([...document.images].map(async image => {
    await within(image.decode().catch(() => null), 20000);
    return {src: image.getAttribute('src'), width: image.naturalWidth, height: image.naturalHeight};
  }));
  const sounds = await Promise.all([...document.querySelectorAll('audio')].map(element => within(new Promise(done => {
    const answer = () => done({src: element.getAttribute('src'), duration: element.duration,
                               expected: parseFloat(element.dataset.seconds), error: element.error && element.error.code});
    if (element.readyState >= 1 || element.error) answer();
    element.addEventListener('loadedmetadata', answer);
    element.addEventListener('error', answer);
  }), 20000)));
  return {images, sounds, height: document.documentElement.scrollHeight};
})()
"""


def test_the_page_in_headless_chromium(swept):
    import chromium

    executable = chromium.find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    with chromium.Browser(executable) as browser:
        browser.open(chromium.file_url(swept / "report.html"))
        seen = browser.evaluate(CHECK_PAGE)
        picture = browser.screenshot()
    with open(swept / "results.csv", newline="") as file:
        models = len(list(csv.DictReader(file)))  # a trial that repeats a finished one's command trains nothing
    assert len(seen["images"]) == 2 + 3 * models  # Optuna's two, and three of each model's
    for image in seen["images"]:
        assert image["width"] > 100 and image["height"] > 100, image  # decoded: the file was found and is a PNG
    assert len(seen["sounds"]) == 2 + 3 * models  # the song and the reference, again on each card beside its render
    for sound in seen["sounds"]:
        assert sound != "timeout" and sound["error"] is None, sound
        assert sound["duration"] == pytest.approx(sound["expected"], abs=0.01), sound  # the player read the header
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(picture), format="png")[..., :3]
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    assert pixels.std() > 0.05  # not one colour: text, tables and pictures were drawn
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def card_sounds(text: str) -> dict:
    """Each card's model name -> the sounds its players play, in order."""
    import re

    cards = {}
    for section in text.split("<section class=model")[1:]:
        name = re.search(r"<h3>#\d+ ([^<]+)</h3>", section).group(1)
        cards[name] = re.findall(r'<audio controls preload=metadata src="([^"]+)"', section)
    return cards


def test_each_card_plays_its_render_beside_its_own_songs_dry_and_reference(swept, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(swept, models, ignore=shutil.ignore_patterns("study.db*", "report*"))
    monkeypatch.chdir(tmp_path)
    shutil.copy(swept.parent / "song.raw", tmp_path / "song.raw")
    records = sorted(models.glob("*.json"))
    assert len(records) >= 3
    ranked = [record.stem for record in records]
    # the first model rendered another song (still as it was); the second one a song since replaced;
    # the third one the given song (its record names the swept folder's song.raw: the same bytes)
    other = tmp_path / "other.wav"
    audio.write_audio(other, np.sin(np.arange(22050) / 10).astype(np.float32) * 0.5, "s16le", 44100)
    edits = {ranked[0]: model_file.song_record(other), ranked[1]: {"path": str(tmp_path / "gone.raw"), "sha256": "0"}}
    for stem, song in edits.items():
        record = json.loads((models / f"{stem}.json").read_text())
        record["data"]["song"] = song
        (models / f"{stem}.json").write_text(json.dumps(record))
    assert report.run(["--html", "--song", "song.raw"]) == 0
    text = (models / "report.html").read_text()
    cards = card_sounds(text)
    label = edits[ranked[0]]["sha256"][:12]
    assert cards[ranked[0]] == [f"report/song_{label}.wav", f"report/reference_{label}_8000hz_6db.wav",
                                f"report/{ranked[0]}.wav"]  # its own song's dry and reference, never song.raw
    assert audio.read_audio(models / "report" / f"song_{label}.wav").seconds == pytest.approx(0.5)
    assert cards[ranked[1]] == [f"report/{ranked[1]}.wav"]  # its song is gone: its render alone, and why
    assert "gone.raw, which is not the song given and is no longer as it was rendered" in text
    assert cards[ranked[2]] == ["report/song.wav", "report/reference_8000hz_6db.wav", f"report/{ranked[2]}.wav"]


def test_a_replaced_song_is_not_played_beside_renders_of_the_old_one(swept, tmp_path, monkeypatch):
    # make_data.py --force wrote a new song.raw after the models rendered the old one
    models = tmp_path / "models"
    shutil.copytree(swept, models, ignore=shutil.ignore_patterns("study.db*", "report*"))
    monkeypatch.chdir(tmp_path)
    audio.write_audio(tmp_path / "song.raw", np.zeros(44100, np.float32), "u8", 44100)
    assert report.run(["--html", "--song", "song.raw"]) == 0
    label = model_file.song_record(swept.parent / "song.raw")["sha256"][:12]  # the old song, where fit.py found it
    for model, sounds in card_sounds((models / "report.html").read_text()).items():
        assert sounds == [f"report/song_{label}.wav", f"report/reference_{label}_8000hz_6db.wav", f"report/{model}.wav"]
