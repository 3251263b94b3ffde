"""A report to look at and listen to: models/report.html, ranked models with their pictures and renders.

Choosing between audio models is done by ear as much as by number. `write_report` writes one HTML
page into the models folder and its sounds and study pictures into a folder beside it
(`report/`); every link is relative, so the models folder works from a file:// URL, on any
machine, moved anywhere. For each model shown: its spectrum, loss and waveform pictures (fit.py
wrote them beside the model) and its render of the song as a WAV file a browser plays (fit.py's
renders are often headerless u8). Above them, the dry song and the reference: the song through
the real filter, computed from make_data.py's note of it (the run record's target filter), or a
file the caller gives. A card plays its render beside the dry song and reference of the song that
render is of (the run record names it, with its bytes' digest): the given song's where it is that
song, else its own, read from where fit.py found it, else none; never another song's. With a study,
Optuna's optimisation history and parameter importances as pictures, and its trials.

The assets folder is the report's own: it is written whole under a temporary name and swapped in,
so an interrupted report leaves the last one intact and no sound of a model no longer shown.
"""

import dataclasses
import html
import json
import os
import shutil
import urllib.parse
import warnings
from pathlib import Path

import numpy as np

from neural_filter import audio, effect, model_file
from neural_filter.files import atomic_output
from neural_filter.study import trial_rows

ASSETS = "report"  # the folder beside report.html
WAV_FORMAT = "s16le"  # 16-bit PCM: every browser plays it, whatever the render's own encoding
PICTURES = (("spectrum", "spectrum"), ("loss", "loss per epoch"), ("waveform", "waveform, 20 ms"))


@dataclasses.dataclass
class Sound:
    label: str
    href: str  # relative to report.html
    seconds: float
    filter: effect.Recipe | None = None  # a computed reference: the recipe it applies; a card shows its own


@dataclasses.dataclass
class Shown:
    """One model's card: its results row, record, pictures and render."""

    rank: int
    row: dict
    record: dict | None
    pictures: list  # (caption, href)
    render: Sound | None
    trials: list  # numbers of the study's trials that chose this model
    sounds: list = dataclasses.field(default_factory=list)  # its song's dry and reference, beside its render
    song_note: str = ""  # why the card has no dry song beside its render, where it has none


def write_report(models, rows: list[dict], song=None, song_format=None, song_rate=None, reference=None,
                 study=None, top: int = 10, title: str = "neural_filter models") -> Path:
    """Write `models`/report.html for `rows` (results.csv rows, best first) and return its path.

    `song`: the dry song the models rendered (raw: `song_format`, `song_rate`); `reference`: a file
    of the song through the real filter (otherwise computed where the records know the filter);
    `study`: an Optuna study whose trials trained these models. The best `top` get a card.
    """
    models = Path(models)
    staging = models / f".{ASSETS}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        trial_rows = _study_rows(study)
        by_model = {}
        for trial in trial_rows:
            if trial["model"]:
                by_model.setdefault(trial["model"], []).append(trial["number"])
        shown = [_shown(models, staging, rank, row, by_model.get(row.get("model"), []))
                 for rank, row in enumerate(rows[:top], 1)]
        listening = _song_and_references(staging, shown, song, song_format, song_rate, reference)
        for card in shown:
            _songs_of(card, staging, song, listening)
        study_pictures = _study_pictures(staging, study) if study is not None else []
        page = _page(title, rows, shown, listening, study, trial_rows, study_pictures, by_model)
        _swap_in(staging, models / ASSETS)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = models / "report.html"
    with atomic_output(path) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return path


def _swap_in(staging: Path, assets: Path) -> None:
    """Put the new assets folder in the old one's place (the old one is deleted after)."""
    old = assets.with_name(f".{ASSETS}.old-{os.getpid()}")
    if assets.exists():
        os.replace(assets, old)
    os.replace(staging, assets)
    shutil.rmtree(old, ignore_errors=True)


def _href(*parts: str) -> str:
    """A relative URL from report.html: each part percent-encoded (model names may hold anything)."""
    return "/".join(urllib.parse.quote(part) for part in parts)


def _shown(models: Path, staging: Path, rank: int, row: dict, trials: list) -> Shown:
    stem = row.get("model", "")
    record = None
    try:
        record = json.loads((models / f"{stem}.json").read_text())
    except (OSError, ValueError):
        pass  # a row whose model was moved: its numbers still rank
    pictures = [(caption, _href(f"{stem}_{kind}.png")) for kind, caption in PICTURES
                if (models / f"{stem}_{kind}.png").is_file()]
    return Shown(rank, row, record, pictures, _render(models, staging, stem, record), trials)


def _render(models: Path, staging: Path, stem: str, record: dict | None) -> Sound | None:
    """The model's render, of whatever kind fit.py wrote it in, as a 16-bit WAV (a raw one's encoding is the pair's)."""
    found = [models / f"{stem}{extension}" for kind in audio.KINDS.values() for extension in kind.extensions
             if (models / f"{stem}{extension}").is_file()]
    if not found:
        return None
    data = (record or {}).get("data", {})
    samples = audio.read_audio(found[0], data.get("format"), data.get("rate"), companion=True)
    out = staging / f"{stem}.wav"
    audio.write_audio(out, samples.samples, WAV_FORMAT, samples.rate, container="wav")
    return Sound("this model's render", _href(ASSETS, out.name), samples.seconds)


def _song_and_references(staging: Path, shown: list, song, song_format, song_rate, reference) -> list:
    """The dry song and the reference(s) to compare the renders with, as Sounds."""
    sounds = []
    dry = None
    if song is not None and Path(song).is_file():
        dry = audio.read_audio(song, song_format, song_rate)
        sounds.append(_write_sound(staging, "song.wav", f"dry song ({Path(song).name})", dry.samples, dry.rate))
    if reference is not None:
        given = audio.read_audio(reference, song_format, song_rate, companion=True)
        sounds.append(_write_sound(staging, "reference.wav", f"reference ({Path(reference).name})",
                                   given.samples, given.rate))
    elif dry is not None:
        for recipe in sorted({_recipe(card.record) for card in shown} - {None}):
            sound = _write_sound(staging, f"reference_{recipe.label()}.wav",
                                 f"reference: the song through the real filter ({recipe.words()})",
                                 recipe.apply(dry.samples, dry.rate), dry.rate)
            sound.filter = recipe
            sounds.append(sound)
    return sounds


def _songs_of(card: Shown, staging: Path, song, listening: list) -> None:
    """The dry song and reference(s) beside a card's render: those of the song it rendered, or none.

    The given song's, where the record names it (same bytes); else the song the record names, where
    it is still as fit.py rendered it; else none, and the card says why.
    """
    data = (card.record or {}).get("data") or {}
    noted, own = data.get("song"), _recipe(card.record)
    if card.render is None:
        return
    if song is not None and model_file.is_song(noted, song):
        card.sounds = [sound for sound in listening if sound.filter is None or sound.filter == own]
    elif noted and model_file.is_song(noted, noted.get("path", "")):
        card.sounds = _own_song(staging, Path(noted["path"]), noted["sha256"][:12], data, own)
    elif noted:
        card.song_note = (f"It rendered {Path(noted.get('path', '')).name}, which is not the song given and is no "
                          "longer as it was rendered: no dry song or reference to compare with.")
    else:
        card.song_note = "Its record does not name the song it rendered: no dry song or reference to compare with."


def _own_song(staging: Path, path: Path, label: str, data: dict, recipe: effect.Recipe | None) -> list:
    """A song other than the given one as Sounds: its dry, and its reference where the record knows the filter.

    `label` (its digest's start) names its files; cards that rendered the same song share them.
    """
    dry = audio.read_audio(path, data.get("format"), data.get("rate"), companion=True)
    sounds = [_write_sound(staging, f"song_{label}.wav", f"dry song ({path.name}, the song this model rendered)",
                           dry.samples, dry.rate)]
    if recipe is not None:
        sounds.append(_write_sound(staging, f"reference_{label}_{recipe.label()}.wav",
                                   f"reference: {path.name} through the real filter ({recipe.words()})",
                                   recipe.apply(dry.samples, dry.rate), dry.rate))
        sounds[-1].filter = recipe
    return sounds


def _recipe(record: dict | None) -> effect.Recipe | None:
    """The make_data.py recipe a model was trained on, or None when unknown."""
    return effect.Recipe.from_record(((record or {}).get("data") or {}).get("target_filter"))


def _write_sound(staging: Path, name: str, label: str, samples: np.ndarray, rate: int) -> Sound:
    if not (staging / name).is_file():  # another card's song: the same samples, written once
        audio.write_audio(staging / name, np.asarray(samples, np.float32), WAV_FORMAT, rate, container="wav")
    return Sound(label, _href(ASSETS, name), len(samples) / rate)


def _study_rows(study) -> list:
    if study is None:
        return []
    return trial_rows(study)


def _study_pictures(staging: Path, study) -> list:
    """Optuna's optimisation history and parameter importances as PNGs, where the study has enough for them."""
    # matplotlib (1 s) and Optuna's plots only for a study's pictures; matplotlib is optional (plots.available)
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")  # files, never a window (Optuna draws with pyplot)
    import matplotlib.pyplot as pyplot  # noqa: PLC0415 - after matplotlib.use: files, never a window
    from optuna.visualization import matplotlib as optuna_plots  # noqa: PLC0415

    pictures = []
    for name, caption, draw in (("optuna_history.png", "optimisation history", optuna_plots.plot_optimization_history),
                                ("optuna_importances.png", "parameter importances", optuna_plots.plot_param_importances)):
        try:
            with warnings.catch_warnings():  # experimental, and "importances will be equal" for a tiny study
                warnings.simplefilter("ignore")
                axes = draw(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue  # too few finished trials, or nothing varied: this picture has nothing to show
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(9, 4.8)
        figure.savefig(staging / name, format="png", dpi=100, bbox_inches="tight")
        pyplot.close(figure)
        pictures.append((caption, _href(ASSETS, name)))
    return pictures


# The page: plain HTML and a little CSS, no script; everything it names is beside it.

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
section.model { border-top: 2px solid #888; margin-top: 2em; }
figure { display: inline-block; margin: 0.5em 0.5em 0.5em 0; }
figure img { width: 520px; height: auto; border: 1px solid #ccc; }
.sound { display: flex; align-items: center; gap: 1em; margin: 0.4em 0; } .sound span { min-width: 30em; }
code { background: #f4f4f4; padding: 1px 4px; }
"""
COLUMNS = (("model", "model"), ("mode", "mode"), ("window", "window"), ("layers", "layers"), ("units", "units"),
           ("batch_size", "batch"), ("activation", "activation"), ("optimiser", "optimiser"),
           ("epochs_run", "epochs"), ("esr_db", "ESR dB"), ("training_seconds", "training s"))
NUMERIC = {"window", "layers", "units", "batch_size", "epochs_run", "esr_db", "training_seconds"}


def _page(title, rows, shown, listening, study, trial_rows, study_pictures, by_model) -> str:
    e = html.escape
    parts = [f"<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>{e(title)}</title>"
             f"<style>{STYLE}</style></head><body>", f"<h1>{e(title)}</h1>",
             f"<p>{len(rows)} model{'s' * (len(rows) != 1)} from <code>results.csv</code>, ranked by validation "
             "ESR. Scores: ESR in dB against the target, lower is better (the error-to-signal ratio; -30 dB means "
             "the error carries a thousandth of the target's energy; the floor is what the target's own rounding "
             "leaves)." + (f" The best {len(shown)} have a card below." if len(shown) > 1 else
                                    " Its card is below." if shown else "") + "</p>"]
    if listening:
        parts.append("<h2>Listen: the song and the reference</h2>")
        parts += [_player(sound) for sound in listening]
    parts.append("<h2>Ranking</h2><table><tr><th>#</th>" + "".join(f"<th>{e(label)}</th>" for _, label in COLUMNS)
                 + ("<th>trial</th>" if study is not None else "") + "</tr>")
    for rank, row in enumerate(rows, 1):
        cells = []
        for column, _ in COLUMNS:
            value = row.get(column) or ""
            if column == "model" and rank <= len(shown):
                cells.append(f'<td><a href="#model-{rank}">{e(value)}</a></td>')
            elif column in NUMERIC:
                cells.append(f'<td class=number>{e(_number(value, column))}</td>')
            else:
                cells.append(f"<td>{e(value)}</td>")
        trials = ", ".join(str(number) for number in by_model.get(row.get("model"), []))
        parts.append(f"<tr><td class=number>{rank}</td>{''.join(cells)}"
                     + (f"<td>{e(trials)}</td>" if study is not None else "") + "</tr>")
    parts.append("</table>")
    for card in shown:
        parts.append(_card(card))
    if study is not None:
        parts.append(_study_section(study, trial_rows, study_pictures))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _number(text: str, column: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    return f"{value:+.2f}" if column == "esr_db" else f"{value:.1f}" if column == "training_seconds" else f"{value:g}"


def _player(sound: Sound) -> str:
    return (f'<div class=sound><span>{html.escape(sound.label)} ({sound.seconds:.2f} s)</span> '
            f'<audio controls preload=metadata src="{html.escape(sound.href)}" data-seconds="{sound.seconds:.6f}">'
            f'</audio></div>')


def _card(card: Shown) -> str:
    """A model's card: its numbers, players of the song, its reference and its render side by side, its pictures."""
    e, row = html.escape, card.row
    record = card.record or {}
    metrics = record.get("metrics", {})
    lines = [f'<section class=model id="model-{card.rank}"><h3>#{card.rank} {e(row.get("model", ""))}</h3>']
    facts = [f"ESR {_number(row.get('esr_db', ''), 'esr_db')} dB"]
    if "floor_db" in metrics:
        facts[0] += f": {metrics['verdict']} (the pair's floor {metrics['floor_db']:+.2f} dB)"
    if "dry_esr_db" in metrics:
        facts.append(f"doing nothing {metrics['dry_esr_db']:+.2f} dB")
    if "best_epoch" in record:
        facts.append(f"best epoch {record['best_epoch']} of {record.get('epochs_run')}")
    if card.trials:
        facts.append("study trial " + ", ".join(str(number) for number in card.trials))
    lines.append(f"<p>{e('; '.join(facts))}</p>")
    if card.render:
        lines += [_player(sound) for sound in card.sounds]
        lines.append(_player(card.render))
        if card.song_note:
            lines.append(f"<p>{e(card.song_note)}</p>")
    for caption, href in card.pictures:
        lines.append(f'<figure><img src="{e(href)}" alt="{e(caption)}">'
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    lines.append("</section>")
    return "\n".join(lines)


def _study_section(study, trial_rows, pictures) -> str:
    e = html.escape
    tally = {}
    for trial in trial_rows:
        tally[trial["state"]] = tally.get(trial["state"], 0) + 1
    lines = [f"<section id=study><h2>Study {e(study.study_name)}</h2>",
             "<p>" + e(", ".join(f"{count} {state.lower()}" for state, count in sorted(tally.items()))) + " trials; "
             "the value is the validation ESR in dB.</p>"]
    for caption, href in pictures:
        lines.append(f'<figure><img src="{e(href)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>')
    lines.append("<table><tr><th>trial</th><th>state</th><th>ESR dB</th><th>model</th><th>parameters</th></tr>")
    for trial in trial_rows:
        value = "" if trial["value"] is None else f"{trial['value']:.2f}"
        params = ", ".join(f"{name} {value}" for name, value in trial["params"].items())
        lines.append(f"<tr><td class=number>{trial['number']}</td><td>{e(trial['state'].lower())}</td>"
                     f"<td class=number>{value}</td><td>{e(trial['model'] or '')}</td><td>{e(params)}</td></tr>")
    lines.append("</table></section>")
    return "\n".join(lines)
