"""Every command line the README and the scripts' help show: parsed by its script, against the files it names,
and the README's Quick start run as a newcomer pastes it, its printed lines checked against the README's.

A documented command that no longer parses, a model name the help shows that is neither shipped
nor made by the Quick start, or output in the README that fit.py no longer prints fails here.
"""

import importlib
import re
import shlex

import numpy as np
import pytest

from conftest import ROOT

import fit
import gen
import make_data

from neural_filter import audio, synth

SCRIPTS = ("fit", "gen", "make_data", "report", "sweep")
QUICK_START_MODEL = "models/tanh_adam_6_32_32_64_40_sliding_a-32.3.keras"  # what the Quick start's fit.py saves
CHUNK_EXAMPLE_MODEL = "models/tanh_adam_6_32_999_9_32_a-3.2.keras"  # what the original README's example saves


def readme_blocks(section: str | None = None) -> list[list[str]]:
    """The README's indented code blocks (of one `## ` section, when named), each as its lines, unindented."""
    text = (ROOT / "README.md").read_text()
    if section is not None:
        text = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks, current, previous = [], [], ""
    for line in text.splitlines():
        if line.startswith("    ") and (current or not previous.strip()):
            current.append(line[4:])
        elif current:
            blocks.append(current)
            current = []
        previous = line
    return blocks + ([current] if current else [])


def commands_in(lines) -> list[list[str]]:
    """The `python3 SCRIPT.py ...` commands of some lines (each part of an `&&` chain), as argv, comments dropped.

    Synopses (`[samples]`, `<model path>`) are not commands: a line with `[` is left out.
    """
    found = []
    for line in lines:
        for part in line.split("&&"):
            if not part.strip().startswith("python3 ") or "[" in part:
                continue
            words = shlex.split(part, comments=True)
            if words[1].endswith(".py"):
                found.append(words[1:])
    return found


def documented_commands() -> list[list[str]]:
    readme = commands_in(line for block in readme_blocks() for line in block)
    helps = commands_in(line.strip() for name in SCRIPTS for line in importlib.import_module(name).__doc__.splitlines())
    return readme + helps


def named_models(argv) -> list[str]:
    """The .keras models a command names (a `<score>` placeholder names none in particular)."""
    return [word for word in argv if word.endswith(".keras") and "<" not in word]


@pytest.mark.parametrize("argv", documented_commands(), ids=lambda argv: " ".join(argv)[:80])
def test_every_documented_command_parses_and_names_models_that_exist(argv):
    script = importlib.import_module(argv[0].removesuffix(".py"))
    script.parse_arguments(argv[1:])  # an option that no longer exists exits 2 here
    for model in named_models(argv):
        # a shipped model, or the one the Quick start trains (test_the_quick_start below makes it), or the
        # original README's chunk example (a minute of training; its name's shape: test_fit_gen)
        assert (ROOT / model).is_file() or model in (QUICK_START_MODEL, CHUNK_EXAMPLE_MODEL), model


def test_gen_help_names_the_shipped_models():
    shipped = [model for argv in commands_in(gen.__doc__.splitlines()) for model in named_models(argv)]
    assert shipped and all((ROOT / model).is_file() for model in shipped)


def test_the_quick_start_as_pasted(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    first, *rest = readme_blocks("Quick start")
    (install,) = first
    assert install.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt")
    (make, train) = commands_in(first)
    assert make == ["make_data.py"] and make_data.run(make[1:]) == 0
    capsys.readouterr()
    assert fit.run([*train[1:], "--no-plot"]) == 0
    printed = capsys.readouterr().out.splitlines()
    shown = [line for line in rest[0] if line.strip() != "..."]  # the README's "It ends:" block
    assert shown and all(line in printed for line in shown), (shown, printed)
    assert (tmp_path / QUICK_START_MODEL).is_file()
    # scoring one's own song: make_data.py --song, then gen.py --reference, as the section shows them
    song = synth.synthetic_song(3.0, 44100, np.random.default_rng(7)) * 0.9
    audio.write_audio(tmp_path / "my.wav", song.astype(np.float32), "s16le", 44100, container="wav")
    (with_song, score) = commands_in(rest[1])
    assert make_data.run(with_song[1:]) == 0 and gen.run([*score[1:], "--quiet"]) == 0
    esr_line = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"ESR against my_filtered\.wav: -\d+\.\d dB: \d+\.\d dB above the floor \(its floor "
                        r"-\d+\.\d dB; the model's training pair could show -32\.6 dB; lower is better\)", esr_line)
