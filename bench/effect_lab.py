"""One real effect's bench pair and recordings in a folder, to try fit.py commands on by hand, scored as
bench/effects.py scores them.

bench/effects.py trains each kind with its one command and throws the models away. Trying a change
(another cell, another pair, another epoch count) is quicker by hand: write the effect's pair, the
recordings (song.raw) and what the effect makes of them once, run any fit.py command there, and score
each run's render of song.raw, recording by recording. Run from the project's root with the effects
venv's Python (bench/effects.py's docstring sets it up):

    .venv-effects/bin/python bench/effect_lab.py make compressor /tmp/lab    # the effect whose name holds the word
    (cd /tmp/lab && ../path/to/fit.py 1 16 8 relu adam 1 2048 150 --mode recurrent --cell gru-gain \\
        --learning-rate 0.01 --format s16le --no-plot --models run_a)
    .venv-effects/bin/python bench/effect_lab.py score /tmp/lab run_a        # ESR per recording, the worst first

The pair is bench/effects.py's for that effect (pair_of, with its defaults), the 16-bit files fit.py reads.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import effects  # bench/, beside this script; it puts the project's root on the path
from neural_filter import audio

class LabError(Exception):
    """A one-line refusal (exit status 2)."""


TARGET = "target.npy"  # the effect's float output for song.raw, as bench/effects.py scores against
SPANS = "recordings.json"  # where each recording lies in song.raw: name -> [start, stop]


def make(word: str, folder: Path) -> str:
    """Write the effect's pair, song.raw, its target and the recordings' spans into `folder`; the effect's name."""
    names = [name for name in effects._effects() if word in name]
    if len(names) != 1:
        raise LabError(f"{word!r} names {len(names)} effects; give a word of one of: "
                         f"{', '.join(effects._effects())}")
    name = names[0]
    _settings, chain = effects._effects()[name]
    song = effects.Song(effects.recordings.recordings())
    x, y = effects.pair_of(effects.parse_arguments([]), name, chain)
    folder.mkdir(parents=True, exist_ok=True)
    for part, samples in (("train_x", x), ("train_y", y), ("song", song.samples)):
        effects.write_s16(folder / f"{part}.raw", samples)
    np.save(folder / TARGET, effects.apply(chain, song.samples))
    (folder / SPANS).write_text(json.dumps({key: [span.start, span.stop] for key, span in song.spans.items()}))
    return name


def score(folder: Path, models: str) -> dict[str, float]:
    """ESR in dB of the 16-bit render of song.raw in `folder`/`models` on each recording."""
    if not (folder / TARGET).exists() or not (folder / SPANS).exists():
        raise LabError(f"{folder} holds no {TARGET} and {SPANS}; write them first with effect_lab.py make EFFECT "
                       f"{folder}")
    renders = sorted((folder / models).glob("*.raw"))
    if len(renders) != 1:
        raise LabError(f"{folder / models} holds {len(renders)} renders (*.raw); give a models "
                         "folder of one fit.py run")
    rendered = audio.decode(np.fromfile(renders[0], "<i2"), "s16le").astype(np.float64)
    target = np.load(folder / TARGET)
    spans = {key: slice(*span) for key, span in json.loads((folder / SPANS).read_text()).items()}
    return effects.recording_scores(spans, rendered, target)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("make", help="write an effect's pair and recordings into a folder")
    made.add_argument("effect", help="a word of the effect's name (bench/effects.py's table)")
    made.add_argument("folder", type=Path)
    scored = commands.add_parser("score", help="score a fit.py run's render of song.raw, recording by recording")
    scored.add_argument("folder", type=Path)
    scored.add_argument("models", help="the run's --models folder, inside `folder`")
    args = parser.parse_args(argv)
    if effects.pedalboard is None:
        print("effect_lab.py needs pedalboard: run it with .venv-effects/bin/python", file=sys.stderr)
        return 2
    missing = effects.recordings.missing_packages() if args.command == "make" else []
    if missing:  # the recordings are made from them (bench/recordings.py)
        print(f"effect_lab.py needs the Debian packages {', '.join(missing)}: apt-get install {' '.join(missing)}",
              file=sys.stderr)
        return 2
    try:
        if args.command == "make":
            print(f"{make(args.effect, args.folder)}: pair, song.raw and its target written to {args.folder}")
            return 0
        scores = score(args.folder, args.models)
    except LabError as error:
        print(f"effect_lab.py: {error}", file=sys.stderr)
        return 2
    worst = max(scores, key=scores.get)
    print(f"{args.models}: worst {scores[worst]:.1f} dB ({worst}); "
          + ", ".join(f"{key} {value:.1f}" for key, value in scores.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
