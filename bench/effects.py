"""Real effects benchmark: our kinds of model against the best FIR, the 16-bit floor and neural-amp-modeler.

Effects nobody here wrote (JUCE's DSP through Spotify's pedalboard), learned as a user would: a
30 s pair of pink noise and tones at 16 bits (make_data.py --noise pink --tones, the README's advice
for a nonlinear effect: every other second chords of sines, which music holds and noise lacks; the dry
signal rounded to int16, played through the effect, the
result rounded to int16: rounded here, since libsndfile's own float-to-PCM_16 conversion leaves a
-0.5 LSB mean offset that a model learns), then scored on held-out real recordings through the same
effect (bench/recordings.py: speech, chimes and music from Debian packages). Every render is
rounded to 16 bits, as the user's output file is, and scored against the effect's float output by
its error-to-signal ratio (ESR, dB) on each recording; the worst recording counts, the range is
shown. Rows per effect:

- best FIR: the least-squares causal FIR of 1024 taps from the pair (what a linear filter can do);
- 16-bit floor: the target itself rounded to 16 bits (no 16-bit output beats it);
- each of our kinds (`--modes`): fit.py's own command line on the pair (README's command; a kind
  without an entry in COMMANDS gets the sliding command's positional arguments with its --mode);
- neural-amp-modeler 0.13's standard WaveNet and an LSTM (bench/nam_train.py, its own venv),
  trained on the same pair for the same CPU time as our slowest kind took, whole process.

One thread each: fit.py runs with TF_NUM_INTRAOP_THREADS=TF_NUM_INTEROP_THREADS=OMP_NUM_THREADS=1
and XLA held to one thread (the recurrent kind trains on JAX; its CPU seconds are the child's user +
system time), neural-amp-modeler with torch held to one thread and stopped by a callback when its
process's CPU time reaches ours; the two NAM models train side by side (one core each), after ours.

Set-up (Debian packages, then two virtual environments beside the project's .venv):

    apt-get install alsa-utils sound-theme-freedesktop fluidsynth fluid-soundfont-gm
    python3 -m venv .venv-effects && .venv-effects/bin/pip install -r requirements.txt -r bench/requirements-effects.txt
    python3 -m venv .venv-nam && .venv-nam/bin/pip install -r bench/requirements-nam.txt

Run (from the project's root, with the effects venv's Python):

    .venv-effects/bin/python bench/effects.py                      # every effect, sliding, NAM at equal time
    .venv-effects/bin/python bench/effects.py --modes sliding,tcn,recurrent
    .venv-effects/bin/python bench/effects.py --only tanh,comp --epochs 2 --nam-seconds 20   # a smoke run

It prints one Markdown table and writes it to bench/EFFECTS.md (--out) with the command line.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import signal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import recordings  # noqa: E402  (bench/, beside this script)
from neural_filter import audio, fir, metrics, synth  # noqa: E402

try:
    import pedalboard
except ImportError:  # one line, not a traceback: the bench needs its own environment
    pedalboard = None

RATE = recordings.RATE
FORMAT = "s16le"
PAIR_SECONDS = 30
# Measured 2026-12-05 (sliding, 40 epochs, one thread): tones took the worst recording from -13.8 to -16.8 dB
# (tanh drive), -12.6 to -15.5 (hard clip), -4.1 to -9.7 (compressor); bursts of levels took the tanh drive to
# -9.2 alone and -9.8 with tones: at equal training time, loud material counts more than a spread of levels.
TONES = True  # every other second of the pair tone bursts (synth.tone_bursts, make_data.py --tones)
ENVELOPE = "steady"  # the pair's noise: pink, at one level or in bursts (synth.bursts, make_data.py --envelope)
NOISE = "pink"  # the pair's noise (make_data.py --noise)
# Effects whose pair is another (make_data.py --noise and --envelope, the README's advice for them). A compressor acts
# on the level: the tones pair's 100 ms RMS spans only -15 to -3 dBFS, never its -20 dB threshold, where levels cross
# it (issue 21); and on the level of every band: chimes hold 48% of their energy above 6 kHz, pink noise 8% (measured
# 2026-12-05 on the worst recording at moving levels: the GRU -18.4 dB from white noise, -3.4 from pink; the gain
# read-out -10.6 and -4.2).
EFFECT_PAIRS = {"compressor": {"noise": "white", "envelope": "levels"}}
FIR_TAPS = 1024
GAP_SECONDS = 0.5  # silence between the recordings in the one song every model renders
NAM_PYTHON = ROOT / ".venv-nam" / "bin" / "python"
NAM_ARCHITECTURES = ("wavenet", "lstm")
COMMANDS = {  # kind -> fit.py's command line for it, as the README gives it
    "sliding": ["6", "32", "32", "tanh", "adam", "1", "64", "40", "--mode", "sliding"],
    "tcn": ["6", "16", "8", "tanh", "adam", "1", "64", "15", "--mode", "tcn"],
    "recurrent": ["1", "8", "16", "tanh", "adam", "1", "1025", "400", "--mode", "recurrent", "--learning-rate",
                  "0.003"],
}
# The README's command for a ladder (fit.py --cell ladder), driven or resonant
LADDER_COMMAND = ["1", "4", "8", "tanh", "adam", "1", "1025", "150", "--mode", "recurrent", "--cell", "ladder",
                  "--learning-rate", "0.01", "--carry-state"]
# Effects whose command for a kind is another than COMMANDS's, as the README gives it for them (effect -> kind -> line)
EFFECT_COMMANDS = {
    "compressor": {"recurrent": ["1", "8", "16", "relu", "adam", "1", "2048", "300", "--mode", "recurrent", "--cell",
                                 "follower", "--learning-rate", "0.01"]},
    "driven ladder": {"recurrent": LADDER_COMMAND},
    "resonant ladder, low cutoff": {"recurrent": LADDER_COMMAND},
}
EPOCHS_ARGUMENT = 7  # the positional index of epoches in every command above
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}  # JAX (recurrent)


# The linear effects learn from plain pink noise, as the README advises for a linear filter: tones, 9 dB louder
# than the noise over a tenth of a second, weigh a least-squares fit towards their few frequencies (measured: the
# 80 Hz high-pass's best FIR -73.3 dB on a tones pair against -78.0 on plain pink, floor -83.7).
LINEAR_EFFECTS = ("peak EQ + high shelf", "80 Hz high-pass")


def _effects() -> dict:
    """name -> (the settings in words, the chain): one table, the only place settings live."""
    board, mode = pedalboard, pedalboard.LadderFilter.Mode
    return {
        "tanh drive, then low-pass": ("Distortion 20 dB (tanh), LowpassFilter 2.5 kHz (1st order), Gain -3 dB",
                                      [board.Distortion(drive_db=20), board.LowpassFilter(2500), board.Gain(-3)]),
        "hard clip, then low-pass": ("Gain +12 dB, Clipping at -6 dBFS, LowpassFilter 4 kHz",
                                     [board.Gain(12), board.Clipping(-6), board.LowpassFilter(4000)]),
        "peak EQ + high shelf": ("Gain -6 dB, PeakFilter 800 Hz +8 dB Q 2, HighShelfFilter 5 kHz +6 dB Q 0.707",
                                 [board.Gain(-6), board.PeakFilter(800, 8, 2), board.HighShelfFilter(5000, 6, 0.707)]),
        "80 Hz high-pass": ("HighpassFilter 80 Hz (1st order)", [board.HighpassFilter(80)]),
        "driven ladder": ("LadderFilter LPF24 800 Hz, resonance 0.6, drive 4; Gain -3 dB",
                          [board.LadderFilter(mode.LPF24, 800, 0.6, 4), board.Gain(-3)]),
        # Gain -9 dB (was -6): a tone at the resonance drives it to 1.07 on the tones pair, which 16 bits clip
        "resonant ladder, low cutoff": ("LadderFilter LPF24 150 Hz, resonance 0.95, drive 1; Gain -9 dB",
                                        [board.LadderFilter(mode.LPF24, 150, 0.95, 1), board.Gain(-9)]),
        "compressor": ("Compressor -20 dB threshold, ratio 6, attack 2 ms, release 120 ms",
                       [board.Compressor(-20, 6, 2, 120)]),
    }


def sixteen_bits(samples: np.ndarray) -> np.ndarray:
    """What a 16-bit file holds of `samples`, read back as float."""
    return audio.decode(audio.encode(np.asarray(samples, np.float32), FORMAT), FORMAT).astype(np.float64)


class Song:
    """The recordings one after another (each model renders them in one go) and where each lies."""

    def __init__(self, pieces: dict[str, np.ndarray]):
        gap = np.zeros(int(GAP_SECONDS * RATE))
        self.spans, parts, start = {}, [], 0
        for name, samples in pieces.items():
            self.spans[name] = slice(start, start + len(samples))
            parts += [samples, gap]
            start += len(samples) + len(gap)
        self.samples = sixteen_bits(np.concatenate(parts))  # the user's 16-bit files

    def scores(self, output: np.ndarray, target: np.ndarray) -> dict[str, float]:
        """ESR in dB on each recording."""
        return recording_scores(self.spans, output, target)


def recording_scores(spans: dict[str, slice], output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """ESR in dB of `output` against `target` on each recording (name -> its span)."""
    return {name: metrics.decibels(metrics.esr(output[span], target[span])) for name, span in spans.items()}


def apply(chain: list, samples: np.ndarray) -> np.ndarray:
    return pedalboard.Pedalboard(chain)(np.asarray(samples, np.float32), RATE).astype(np.float64)


def write_s16(path: Path, samples: np.ndarray) -> None:
    audio.encode(np.asarray(samples, np.float32), FORMAT).tofile(path)


def best_fir(x: np.ndarray, y: np.ndarray, song: np.ndarray) -> np.ndarray:
    """The song through the pair's least-squares causal FIR of FIR_TAPS taps."""
    taps, bias = fir.least_squares_fir(x, y, FIR_TAPS, FIR_TAPS - 1)
    return signal.oaconvolve(song, taps[::-1].astype(np.float64))[: len(song)] + bias  # taps run oldest first


def run_ours(mode: str, folder: Path, epochs: int | None, effect: str) -> tuple[np.ndarray, dict]:
    """fit.py on the pair in `folder` (one thread) with `effect`'s command for `mode`; its 16-bit render of song.raw
    and its timings."""
    arguments = list(EFFECT_COMMANDS.get(effect, {}).get(mode) or COMMANDS.get(mode, COMMANDS["sliding"][:8]
                                                                                     + ["--mode", mode]))
    if epochs is not None:
        arguments[EPOCHS_ARGUMENT] = str(epochs)
    models = folder / f"models_{mode}"
    command = [*arguments, "--format", FORMAT, "--no-plot", "--quiet", "--models", models.name]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = subprocess.run([sys.executable, str(ROOT / "fit.py"), *command], cwd=folder, capture_output=True,
                              text=True, env=os.environ | ONE_THREAD)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode != 0:
        raise RuntimeError(f"fit.py {' '.join(command)} failed: {finished.stderr.strip().splitlines()[-1:]}")
    record_path = next(models.glob("*.json"))
    record = json.loads(record_path.read_text())
    rendered = audio.decode(np.fromfile(record_path.with_suffix(".raw"), audio.SAMPLE_FORMATS[FORMAT][0]), FORMAT)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return rendered.astype(np.float64), {
        "command": "fit.py " + " ".join([*arguments, "--format", FORMAT]),
        "training_seconds": record["training_seconds"], "cpu_seconds": cpu,
        "validation_db": record["metrics"].get("esr_db"),
        "note": f"best epoch {record['best_epoch']} of {arguments[EPOCHS_ARGUMENT]}"
                + ("; window notice" if "is too short for this filter" in finished.stdout else "")}


def run_nam(folder: Path, cpu_seconds: float) -> dict[str, tuple[np.ndarray, dict]]:
    """neural-amp-modeler's models on the pair in `folder`, side by side, each within `cpu_seconds`."""
    started = {architecture: subprocess.Popen(
        [str(NAM_PYTHON), str(ROOT / "bench" / "nam_train.py"), architecture, str(folder),
         "--cpu-seconds", f"{cpu_seconds:.1f}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | ONE_THREAD) for architecture in NAM_ARCHITECTURES}
    results = {}
    for architecture, process in started.items():
        out, error = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"nam_train.py {architecture} failed: {error.strip().splitlines()[-1:]}")
        record = json.loads(out.strip().splitlines()[-1])
        rendered = np.fromfile(folder / f"nam_{architecture}.f32", np.float32)
        results[f"NAM {architecture}"] = (sixteen_bits(rendered), {
            "training_seconds": record["training_seconds"], "cpu_seconds": record["cpu_seconds"],
            "validation_db": metrics.decibels(record["best_val_loss"]) if record["best_val_loss"] else None,
            "note": f"{record['epochs']} epochs"})
    return results


def pair_of(args, name: str, chain: list) -> tuple[np.ndarray, np.ndarray]:
    """The pair effect `name` learns from, both sides as the user's 16-bit files hold them: its noise and envelope
    (pair_option), tones unless it is linear, drawn from seed 0 (every effect's pair from the same draws)."""
    tones = args.tones and name not in LINEAR_EFFECTS
    x = sixteen_bits(synth.noise(pair_option(args, name, "noise"), PAIR_SECONDS, RATE, np.random.default_rng(0), 1.0,
                                 pair_option(args, name, "envelope"), tones))
    return x, sixteen_bits(apply(chain, x))


def bench_effect(name: str, chain: list, song: Song, modes: list[str], epochs: int | None, nam_seconds: float | None,
                 x: np.ndarray, y: np.ndarray) -> list[dict]:
    """The rows of one effect learning from the pair x, y: FIR and floor first, then each model."""
    target = apply(chain, song.samples)
    rows = [{"kind": "best FIR (1024 taps)", "scores": song.scores(sixteen_bits(best_fir(x, y, song.samples)), target)},
            {"kind": "16-bit floor", "scores": song.scores(sixteen_bits(target), target)}]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for part, samples in (("train_x", x), ("train_y", y), ("song", song.samples)):
            write_s16(folder / f"{part}.raw", samples)
        for mode in modes:
            rendered, timing = run_ours(mode, folder, epochs, name)
            rows.append({"kind": mode, "scores": song.scores(rendered, target), **timing})
        if nam_seconds is not None:
            budget = nam_seconds or max(row["cpu_seconds"] for row in rows if "cpu_seconds" in row)
            for kind, (rendered, timing) in run_nam(folder, budget).items():
                rows.append({"kind": kind, "scores": song.scores(rendered, target), **timing})
    return rows


def _decibels(value) -> str:
    return "" if value is None else f"{value:.1f}"


def table(results: dict[str, list[dict]]) -> str:
    """One Markdown table: a line per effect and kind; FIR and floor as columns of every line."""
    lines = ["| effect | kind | ESR, worst recording (dB) | range (dB) | validation on noise (dB) | training s | "
             "CPU s | best FIR, worst (dB) | 16-bit floor, worst (dB) | notes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for effect, rows in results.items():
        reference = {row["kind"]: max(row["scores"].values()) for row in rows[:2]}
        for row in rows[2:]:
            scores = row["scores"].values()
            worst = max(row["scores"], key=row["scores"].get)
            lines.append(f"| {effect} | {row['kind']} | {max(scores):.1f} | {min(scores):.1f} to {max(scores):.1f} | "
                         f"{_decibels(row.get('validation_db'))} | {row['training_seconds']:.0f} | "
                         f"{row['cpu_seconds']:.0f} | {reference['best FIR (1024 taps)']:.1f} | "
                         f"{reference['16-bit floor']:.1f} | {row.get('note', '')}; worst: {worst} |")
    return "\n".join(lines)


METHOD = ("Each effect learned from a 30 s pair at 16 bits ({pair}); scored on the recordings through the same "
          "effect, every render rounded to 16 bits; ESR in dB, the worst recording counts. Training s: wall seconds of "
          "training; CPU s: the whole process's CPU time (fit.py: start-up, training and render; neural-amp-modeler: "
          "start-up and training, stopped by a callback at our CPU time), one thread each.")


def write_document(out: Path, command: str, note: str, settings: dict[str, str], song: Song,
                   results: dict[str, list[dict]], pair: str) -> None:
    """The table with what made it, rewritten after every effect (a run stopped early keeps what it measured)."""
    parts = ["# Real effects", f"`{command}`" + (f"\n\n{note}" if note else ""), METHOD.format(pair=pair),
             "| effect | settings (pedalboard 0.9.26) |\n|---|---|\n"
             + "\n".join(f"| {name} | {words} |" for name, words in settings.items()),
             "Our kinds: " + ("; ".join(sorted({f"`{row['command']}`" for rows in results.values() for row in rows
                                                 if "command" in row})) or "none (neural-amp-modeler alone)") + ".",
             "Recordings: " + ", ".join(f"{name} {(span.stop - span.start) / RATE:.1f} s"
                                        for name, span in song.spans.items()) + ".",
             table(results)]
    temporary = out.with_name(out.name + ".partial")
    temporary.write_text("\n\n".join(parts) + "\n")
    temporary.replace(out)  # never half-written


def pair_option(args, effect: str, option: str) -> str:
    """The pair's `option` ("noise" or "envelope") for `effect`: as given, else the effect's own, else the default."""
    return getattr(args, option) or EFFECT_PAIRS.get(effect, {}).get(option) or {"noise": NOISE,
                                                                                "envelope": ENVELOPE}[option]


def pair_words(args, effects) -> str:
    """The pair's signal in make_data.py's options (`effects`: the names benched)."""
    envelope = args.envelope or ENVELOPE
    words = " ".join([f"make_data.py --noise {args.noise or NOISE}", *(["--tones"] if args.tones else []),
                      *([f"--envelope {envelope}"] if envelope != "steady" else [])])
    own = [f"the {name} " + " ".join(f"--{option} {pair_option(args, name, option)}" for option in pair)
           for name, pair in EFFECT_PAIRS.items() if name in effects]
    return words + "".join(f"; {words}" for words in own) + (
        "; the linear effects without --tones" if args.tones and set(effects) & set(LINEAR_EFFECTS) else "")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="sliding", help="our kinds, comma-separated (sliding)")
    parser.add_argument("--only", default="", help="only effects whose name holds one of these words (comma-separated)")
    parser.add_argument("--epochs", type=int, default=None, help="replace the commands' epochs (short smoke runs)")
    parser.add_argument("--nam-seconds", type=float, default=0.0,
                        help="NAM's CPU seconds (default 0: the CPU time our slowest kind took)")
    parser.add_argument("--no-nam", action="store_true", help="leave neural-amp-modeler out")
    parser.add_argument("--envelope", choices=synth.ENVELOPES, default=None,
                        help=f"the pair's level: make_data.py --envelope (default {ENVELOPE}, but see EFFECT_PAIRS)")
    parser.add_argument("--noise", choices=synth.NOISES, default=None,
                        help=f"the pair's noise: make_data.py --noise (default {NOISE}, but see EFFECT_PAIRS)")
    parser.add_argument("--tones", action=argparse.BooleanOptionalAction, default=TONES,
                        help=f"every other second of the pair tone bursts: make_data.py --tones (default {TONES})")
    parser.add_argument("--note", default="", help="a line on how the run was made (the machine, its load)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "EFFECTS.md"), help="where the table goes")
    return parser.parse_args(argv)


def refusal(args) -> str | None:
    """One line saying what the bench needs and lacks, or None."""
    if pedalboard is None:
        return "bench/effects.py needs pedalboard: run it with .venv-effects/bin/python (see its docstring)"
    missing = recordings.missing_packages()
    if missing:
        return f"bench/effects.py needs the Debian packages {', '.join(missing)}: apt-get install {' '.join(missing)}"
    if not args.no_nam and not NAM_PYTHON.exists():
        return f"bench/effects.py needs {NAM_PYTHON.relative_to(ROOT)} for neural-amp-modeler (see its docstring), " \
               "or --no-nam"
    if not [mode for mode in args.modes.split(",") if mode] and not args.no_nam and not args.nam_seconds:
        return "bench/effects.py: --modes is empty, so give neural-amp-modeler its time with --nam-seconds S"
    return None


def main(argv=None) -> int:
    args = parse_arguments(argv)
    problem = refusal(args)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    words = [word for word in args.only.split(",") if word]
    effects = {name: effect for name, effect in _effects().items() if not words or any(w in name for w in words)}
    modes = [mode for mode in args.modes.split(",") if mode]
    song = Song(recordings.recordings())
    command = " ".join(["bench/effects.py", *(argv if argv is not None else sys.argv[1:])])
    results = {}
    started = time.perf_counter()
    for name, (settings, chain) in effects.items():
        results[name] = bench_effect(name, chain, song, modes, args.epochs, None if args.no_nam else args.nam_seconds,
                                     *pair_of(args, name, chain))
        print(f"{name}: done after {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        write_document(Path(args.out), command, args.note, {name: effects[name][0] for name in results}, song,
                       results, pair_words(args, results))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
