"""Quality benchmark: how close each mode gets to the real filter, on music it never heard.

For each target filter, make_data.py's recipe builds the training pair (30 s of u8 noise and the
same noise through Audacity's low-pass) and a held-out synthetic song (another seed). Each row
trains with fit.py as a user would (a subprocess, whole command line), renders the song to u8,
and scores it against the exact filter applied to the song in float64:

- dry: the song itself (doing nothing);
- u8 floor: the exact target rounded to u8 (no u8 output can beat it);
- lstsq FIR: the linear least-squares FIR of the same window, learned from the noise pair;
- chunk: the original's design (README example arguments);
- sliding: the sliding-window network (documented arguments).

    python3 bench/quality.py            # both filters, about 5 minutes on 2 cores
    python3 bench/quality.py --quick    # fewer epochs, for a smoke run
    python3 bench/quality.py --alternatives   # + sliding mode without each design choice (20 minutes)
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

from neural_filter import audio, fir, metrics, render, synth  # noqa: E402
from neural_filter.spec import FilterSpec  # noqa: E402

FILTERS = ((600, 6), (2000, 24))  # (cutoff Hz, roll-off dB/octave), the seed's two filters
RUNS = {  # row name -> fit.py arguments
    "chunk": ["6", "32", "999", "tanh", "adam", "1", "9", "32"],
    "sliding": ["6", "32", "32", "tanh", "adam", "1", "64", "40", "--mode", "sliding"],
}
ALTERNATIVES = {  # the design choices sliding mode made, each undone (--alternatives)
    "sliding, linear path from zero": RUNS["sliding"] + ["--no-fir-start"],
    "sliding, no linear path": RUNS["sliding"] + ["--no-fir-start", "--no-linear-path"],
    "sliding, no linear path, unit levels": RUNS["sliding"] + ["--no-fir-start", "--no-linear-path", "--levels", "unit"],
}
RATE = 44100


def score(rendered_u8: np.ndarray, target: np.ndarray) -> float:
    return metrics.decibels(metrics.esr(audio.decode(rendered_u8, "u8"), target))


def bench_filter(cutoff: int, rolloff: int, quick: bool, alternatives: bool) -> list[tuple[str, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        subprocess.run([sys.executable, str(ROOT / "make_data.py"), "--cutoff", str(cutoff), "--rolloff", str(rolloff)],
                       cwd=folder, check=True, capture_output=True)
        song = synth.synthetic_song(30, RATE, np.random.default_rng(99))
        song_u8 = audio.encode(song.astype(np.float32), "u8")
        song_u8.tofile(folder / "song.raw")
        heard = audio.decode(song_u8, "u8").astype(np.float64)  # what the model is given
        target = synth.audacity_lowpass(heard, cutoff, rolloff, RATE)
        rows.append(("dry", metrics.decibels(metrics.esr(heard, target)), 0.0))
        rows.append(("u8 floor", score(audio.encode(target.astype(np.float32), "u8"), target), 0.0))

        x = audio.decode(np.fromfile(folder / "train_x.raw", np.uint8), "u8")
        y = audio.decode(np.fromfile(folder / "train_y.raw", np.uint8), "u8")
        started = time.perf_counter()
        taps, bias = fir.least_squares_fir(x, y, 64, 63)
        seconds = time.perf_counter() - started
        output = render.render(fir.fir_network(taps, bias), FilterSpec(mode="sliding", window=64, levels="signed"),
                               heard.astype(np.float32))
        rows.append(("lstsq FIR 64 (float out)", metrics.decibels(metrics.esr(output, target)), seconds))
        rows.append(("lstsq FIR 64 (u8 out)", score(audio.encode(output, "u8"), target), seconds))

        for name, arguments in {**RUNS, **(ALTERNATIVES if alternatives else {})}.items():
            arguments = list(arguments) + ["--no-plot"]
            if quick:
                arguments[7] = "2"
            subprocess.run([sys.executable, str(ROOT / "fit.py"), *arguments], cwd=folder, check=True,
                           capture_output=True)
            record_path = max((folder / "models").glob("*.json"), key=lambda p: p.stat().st_mtime)
            record = json.loads(record_path.read_text())
            rendered = np.fromfile(record_path.with_suffix(".raw"), np.uint8)
            rows.append((f"{name}: fit.py {' '.join(arguments)}", score(rendered, target), record["training_seconds"]))
            for cache in folder.glob("*.npy"):
                cache.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs per run")
    parser.add_argument("--alternatives", action="store_true",
                        help="also train sliding mode with each of its design choices undone")
    args = parser.parse_args()
    print("| filter | row | ESR on held-out song | training s |")
    print("|---|---|---|---|")
    for cutoff, rolloff in FILTERS:
        for name, decibels, seconds in bench_filter(cutoff, rolloff, args.quick, args.alternatives):
            print(f"| {cutoff} Hz {rolloff} dB/oct | {name} | {decibels:.1f} dB | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
