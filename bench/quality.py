"""Quality benchmark: how close each mode gets to the real filter, on music it never heard.

For each case (a low-pass, optionally followed by saturation, in a sample format), make_data.py's
recipe builds the training pair (30 s of noise and the same noise through Audacity's low-pass and
the saturation) and a held-out synthetic song (another seed). Each row trains with fit.py as a
user would (a subprocess, whole command line), renders the song in the pair's format, and scores
it against the exact target: the song through the recipe make_data.py noted, in float64:

- dry: the song itself (doing nothing);
- floor: the exact target rounded to the format (no output in that format can beat it);
- lstsq FIR: the linear least-squares FIR of the same window, learned from the noise pair;
- chunk: the original's design (README example arguments; the two original filters only);
- sliding: the sliding-window network (the README's command).

    python3 bench/quality.py            # every case, about 25 minutes on 2 cores
    python3 bench/quality.py --only u8  # the u8 cases (--only s16le, --only drive, ...: a word of the case name)
    python3 bench/quality.py --quick    # 2 epochs per run, for a smoke run
    python3 bench/quality.py --alternatives   # + sliding mode without each design choice
    python3 bench/quality.py --knob     # one knob model for every cutoff (fit.py --pairs), about 20 minutes
    python3 bench/quality.py --knob --alternatives   # + other ways from the cutoff to the taps

The knob benchmark trains one model per roll-off on 32 pairs from 100 Hz to 8 kHz (30 s each) and
scores it at cutoffs between the pairs, u8 and float output, next to the u8 floor and the
least-squares FIR solved at that very cutoff (the best linear filter of the window); for 6 dB/oct
also a sweep from 200 Hz to 5 kHz against the one-pole whose cutoff moves the same way. Its
alternatives replace the spline along the knob: straight lines between knots, the nearest knot,
and a small network from the cutoff to the taps, trained on the same 32 FIRs.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neural_filter import audio, effect, fir, metrics, render, synth  # noqa: E402
from neural_filter.linear_bank import LinearBank  # noqa: E402
from neural_filter.linear_path import LinearPath  # noqa: E402
from neural_filter.spec import FilterSpec  # noqa: E402

CASES = {  # name -> make_data.py options; the format is also fit.py's --format; drive pairs on pink noise at full
    # scale (white noise through a 2 kHz low-pass never reaches the levels the song does, where the drive bends most)
    "600 Hz 6 dB/oct, u8": ["--cutoff", "600", "--rolloff", "6"],  # the seed's two filters
    "2000 Hz 24 dB/oct, u8": ["--cutoff", "2000", "--rolloff", "24"],
    "2000 Hz 24 dB/oct + soft drive 10 dB, white noise, u8": ["--cutoff", "2000", "--rolloff", "24", "--drive", "10"],
    "2000 Hz 24 dB/oct + soft drive 10 dB, u8": ["--cutoff", "2000", "--rolloff", "24", "--drive", "10",
                                                 "--noise", "pink"],
    "2000 Hz 24 dB/oct + asymmetric drive 10 dB, u8": ["--cutoff", "2000", "--rolloff", "24", "--drive", "10",
                                                       "--shape", "asymmetric", "--noise", "pink"],
    "600 Hz 6 dB/oct, s16le": ["--cutoff", "600", "--rolloff", "6", "--format", "s16le"],
    "2000 Hz 24 dB/oct, s16le": ["--cutoff", "2000", "--rolloff", "24", "--format", "s16le"],
    "2000 Hz 24 dB/oct + soft drive 10 dB, s16le": ["--cutoff", "2000", "--rolloff", "24", "--drive", "10",
                                                    "--noise", "pink", "--format", "s16le"],
}
RUNS = {  # row name -> fit.py arguments
    "chunk": ["6", "32", "999", "tanh", "adam", "1", "9", "32"],
    "sliding": ["6", "32", "32", "tanh", "adam", "1", "64", "40", "--mode", "sliding"],
}
ALTERNATIVES = {  # the design choices sliding mode made, each undone (--alternatives): fit.py options, settings
    "sliding, old start: zero biases, constant Adam 1e-3": (RUNS["sliding"], {"bias_start": 0.0, "cosine": False}),
    "sliding, zero biases (cosine from 3e-3)": (RUNS["sliding"], {"bias_start": 0.0}),
    "sliding, constant Adam 1e-3 (biases +-0.5)": (RUNS["sliding"], {"cosine": False}),
    "sliding, linear path from zero": (RUNS["sliding"] + ["--no-fir-start"], {}),
    "sliding, no linear path": (RUNS["sliding"] + ["--no-fir-start", "--no-linear-path"], {}),
    "sliding, no linear path, unit levels": (RUNS["sliding"] + ["--no-fir-start", "--no-linear-path", "--levels", "unit"],
                                             {}),
}
RATE = 44100


def option(arguments: list[str], name: str, default: str) -> str:
    return arguments[arguments.index(name) + 1] if name in arguments else default


def exact_target(folder: Path, song: np.ndarray) -> np.ndarray:
    """The song through the recipe make_data.py noted in `folder`, in float64: what a perfect model outputs."""
    return effect.read_note(folder / "train_y.raw").recipe.apply(song, RATE)


def decibels(output: np.ndarray, target: np.ndarray) -> float:
    return metrics.decibels(metrics.esr(output, target))


def train(arguments: list[str], changes: dict, folder: Path) -> None:
    """fit.py with `arguments` in `folder`; with `changes` to its settings, through fitting.fit in this process."""
    if not changes:
        subprocess.run([sys.executable, str(ROOT / "fit.py"), *arguments], cwd=folder, check=True, capture_output=True)
        return
    import contextlib
    import dataclasses
    import io
    import os

    import fit
    from neural_filter import cli

    cli.quiet_frameworks(cpu_only=True)  # as fit.py 1 ...: no GPU, and none of TensorFlow's start-up logging
    from neural_filter import fitting

    request = fit.request_from(fit.parse_arguments(arguments))
    request = dataclasses.replace(request, settings=dataclasses.replace(request.settings, **changes))
    here = os.getcwd()
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(io.StringIO()):
            fitting.fit(dataclasses.replace(request, song="song.raw"), notice=lambda line: None)
    finally:
        os.chdir(here)


def bench_case(name: str, case: list[str], quick: bool, alternatives: bool) -> list[tuple[str, float, float]]:
    format = option(case, "--format", "u8")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        subprocess.run([sys.executable, str(ROOT / "make_data.py"), *case], cwd=folder, check=True, capture_output=True)
        song = audio.encode(synth.synthetic_song(30, RATE, np.random.default_rng(99)).astype(np.float32), format)
        song.tofile(folder / "song.raw")
        heard = audio.decode(song, format).astype(np.float64)  # what the model is given
        target = exact_target(folder, heard)
        rows.append(("dry", decibels(heard, target), 0.0))
        rows.append((f"{format} floor", decibels(audio.decode(audio.encode(target.astype(np.float32), format), format),
                                                 target), 0.0))

        x = audio.decode(np.fromfile(folder / "train_x.raw", audio.SAMPLE_FORMATS[format][0]), format)
        y = audio.decode(np.fromfile(folder / "train_y.raw", audio.SAMPLE_FORMATS[format][0]), format)
        started = time.perf_counter()
        taps, bias = fir.least_squares_fir(x, y, 64, 63)
        seconds = time.perf_counter() - started
        output = render.render(fir.fir_network(taps, bias), FilterSpec(mode="sliding", window=64, levels="signed"),
                               heard.astype(np.float32))
        rows.append(("lstsq FIR 64 (float out)", decibels(output, target), seconds))
        rows.append((f"lstsq FIR 64 ({format} out)", decibels(audio.decode(audio.encode(output, format), format), target),
                     seconds))

        runs = {row: (arguments, {}) for row, arguments in RUNS.items()
                if row == "sliding" or (format == "u8" and "drive" not in name)}
        for row, (arguments, changes) in {**runs, **(ALTERNATIVES if alternatives else {})}.items():
            arguments = list(arguments) + ["--no-plot", "--format", format]
            if quick:
                arguments[7] = "2"
            train(arguments, changes, folder)
            record_path = max((folder / "models").glob("*.json"), key=lambda p: p.stat().st_mtime)
            record = json.loads(record_path.read_text())
            rendered = audio.decode(np.fromfile(record_path.with_suffix(".raw"), audio.SAMPLE_FORMATS[format][0]), format)
            command = " ".join(arguments).replace(" --no-plot", "").replace(" --format u8", "")
            rows.append((f"{row}: fit.py {command} (best epoch {record['best_epoch']}, start "
                         f"{record['start'].get('esr_db', float('nan')):.1f} dB on validation)",
                         decibels(rendered, target), record["training_seconds"]))
            for cache in folder.glob("*.npy"):
                cache.unlink()
    return rows


KNOB_CASES = {"6 dB/oct": ["--rolloff", "6"], "24 dB/oct": ["--rolloff", "24"]}
KNOB_PAIRS = ["--cutoff", "100:8000", "--count", "32"]
KNOB_RUN = ["6", "32", "32", "tanh", "adam", "1", "1024", "2", "--pairs", "pairs.csv"]  # the README's command
KNOB_CUTOFFS = (150, 200, 450, 1000, 3000, 6500)  # none of them a pair's
SWEEP = (200.0, 5000.0)


def bench_knob(name: str, case: list[str], quick: bool, alternatives: bool) -> list[tuple]:
    """(cutoff, row, ESR dB, training s) rows for one roll-off's knob model."""
    from neural_filter.model_file import load_network

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        subprocess.run([sys.executable, str(ROOT / "make_data.py"), *KNOB_PAIRS, *case], cwd=folder, check=True,
                       capture_output=True)
        song = audio.encode(synth.synthetic_song(30, RATE, np.random.default_rng(99)).astype(np.float32), "u8")
        song.tofile(folder / "song.raw")
        heard = audio.decode(song, "u8")
        arguments = list(KNOB_RUN) + ["--no-plot"]
        if quick:
            arguments[7] = "1"
        subprocess.run([sys.executable, str(ROOT / "fit.py"), *arguments], cwd=folder, check=True, capture_output=True)
        model = next((folder / "models").glob("*.keras"))
        network, spec, record = load_network(model)
        rows.append(("all", f"training: fit.py {' '.join(KNOB_RUN)} (best epoch {record['best_epoch']})", float("nan"),
                     record["training_seconds"]))
        others = _knob_alternatives(network) if alternatives else {}
        recipe = effect.read_note(folder / "train_y_01.raw").recipe  # every pair's, but for the cutoff
        rng = np.random.default_rng(5)
        for cutoff in KNOB_CUTOFFS:
            target = recipe.at(cutoff).apply(heard, RATE)
            output = render.render(network.at(cutoff), spec, heard)
            x = synth.white_noise(30, RATE, rng)
            taps, bias = fir.least_squares_fir(x, recipe.at(cutoff).apply(x, RATE), spec.window, spec.padding[0])
            best_linear = render.render(fir.fir_network(taps, bias), spec, heard)
            rows += [(cutoff, "u8 floor", decibels(_u8(target), target), 0.0),
                     (cutoff, "knob model, u8 out", decibels(_u8(output), target), 0.0),
                     (cutoff, "knob model, float out", decibels(output, target), 0.0),
                     (cutoff, f"lstsq FIR {spec.window} solved at this cutoff, float out", decibels(best_linear, target),
                      0.0)]
            for row, taps_at in others.items():
                linear = LinearPath(*taps_at(cutoff), _bank_before(network, spec)).filter(heard)
                rows.append((cutoff, f"{row}, float out", decibels(linear, target), 0.0))
        if recipe.rolloff == 6:  # the swept one-pole: a reference for a moving cutoff, not a recipe make_data.py writes
            sweep = network.sweep(*SWEEP, len(heard))
            target = synth.swept_one_pole(heard, sweep.values(0, len(heard)), RATE)
            output = render.render(sweep, spec, heard)
            sweep_name = f"sweep {SWEEP[0]:g}:{SWEEP[1]:g}"
            rows += [(sweep_name, "u8 floor", decibels(_u8(target), target), 0.0),
                     (sweep_name, "knob model, u8 out", decibels(_u8(output), target), 0.0),
                     (sweep_name, "knob model, float out", decibels(output, target), 0.0)]
    return rows


def _u8(samples):
    return audio.decode(audio.encode(np.asarray(samples, np.float32), "u8"), "u8")


def _knob_alternatives(network) -> dict:
    """Other ways from the cutoff to the linear path's taps, from the same per-knot FIRs: name -> cutoff -> (taps, bias)."""
    knots = np.log(np.asarray(network.knob.knots))
    long = isinstance(network.bank, LinearBank)  # format 5's long bank, or a window-long one (a Dense)
    bank = (network.bank.taps if long else network.bank.kernel).astype(np.float64)
    biases = (network.bank.biases if long else network.bank.bias).astype(np.float64)

    def straight(cutoff):
        index = int(np.clip(np.searchsorted(knots, np.log(cutoff)) - 1, 0, len(knots) - 2))
        share = (np.log(cutoff) - knots[index]) / (knots[index + 1] - knots[index])
        weights = np.zeros(len(knots))
        weights[index: index + 2] = 1 - share, share
        return (bank @ weights).astype(np.float32), float(biases @ weights)

    def nearest(cutoff):
        index = int(np.argmin(np.abs(knots - np.log(cutoff))))
        return bank[:, index].astype(np.float32), float(biases[index])

    return {"straight lines between knots": straight, "nearest knot": nearest,
            "a network from the cutoff to the taps": _taps_network(knots, bank, biases)}


def _bank_before(network, spec) -> int:
    """The taps before the output of the knob's bank: the long bank's own, or the window's."""
    return network.bank.before if isinstance(network.bank, LinearBank) else spec.padding[0]


def _taps_network(knots, bank, biases):
    """A hypernetwork: ln cutoff -> 2 hidden tanh layers of 64 -> 32 -> the taps and bias, fitted to the knots' FIRs.

    Each FIR is divided by its own size (interpolated along the knob by a spline, as a helping
    hand), so every knot counts alike: Adam, cosine from 3e-3 over 20000 full-batch steps.
    """
    import keras
    from scipy.interpolate import CubicSpline

    targets = np.concatenate([bank.T, biases[:, None]], axis=1)
    sizes = np.linalg.norm(targets, axis=1)
    size_along = CubicSpline(knots, np.log(sizes))
    keras.utils.set_random_seed(1)
    inputs = keras.Input((1,))
    hidden = keras.layers.Dense(64, "tanh")(inputs)
    hidden = keras.layers.Dense(64, "tanh")(hidden)
    hidden = keras.layers.Dense(32, "tanh")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(targets.shape[1])(hidden))
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, 20000)), "mse")

    def scaled(logs):
        return (2 * (np.asarray(logs) - knots[0]) / (knots[-1] - knots[0]) - 1).astype(np.float32)[:, None]

    inputs, outputs = scaled(knots), (targets / sizes[:, None]).astype(np.float32)
    for _ in range(20000):  # full-batch steps (fit's epochs would each cost Keras's per-epoch set-up)
        model.train_on_batch(inputs, outputs)

    def taps_at(cutoff):
        row = model.predict(scaled([np.log(cutoff)]), verbose=0)[0] * np.exp(size_along(np.log(cutoff)))
        return row[:-1].astype(np.float32), float(row[-1])

    return taps_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs per run")
    parser.add_argument("--only", default="", help="only the cases whose name holds this text")
    parser.add_argument("--alternatives", action="store_true",
                        help="also train sliding mode with each of its design choices undone")
    parser.add_argument("--knob", action="store_true", help="the knob models (fit.py --pairs) instead of the cases")
    args = parser.parse_args()
    if args.knob:
        print("| roll-off | cutoff | row | ESR on held-out song | training s |")
        print("|---|---|---|---|---|")
        for name, case in KNOB_CASES.items():
            if args.only in name:
                for cutoff, row, value, seconds in bench_knob(name, case, args.quick, args.alternatives):
                    print(f"| {name} | {cutoff} | {row} | {value:.1f} dB | {seconds:.1f} |", flush=True)
        return
    print("| case | row | ESR on held-out song | training s |")
    print("|---|---|---|---|")
    for name, case in CASES.items():
        if args.only in name:
            for row, value, seconds in bench_case(name, case, args.quick, args.alternatives):
                print(f"| {name} | {row} | {value:.1f} dB | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
