"""Does the stack earn its place in a knob model? A low-pass with a drive after it, at every cutoff.

A linear low-pass is the knob's FIRs alone (bench/quality.py --knob: best epoch 0). Here each pair
is a 24 dB/octave low-pass followed by a soft 10 dB drive, on pink noise (make_data.py --drive 10
--noise pink), so there is something no linear filter can do. The knob model is trained as the
README's command does, with more epochs, and its render of a held-out song at cutoffs between the
pairs is scored against the exact target, beside the same model with its stack silenced (the
knob's FIRs alone, where training started) and the u8 floor.

    python3 bench/knob_drive.py --epochs 20      # a GPU machine: KERAS_BACKEND=jax, about 3 minutes
"""

import argparse
import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neural_filter import audio, effect, metrics, render, synth  # noqa: E402
from neural_filter.model_file import load_network  # noqa: E402
from neural_filter.network import Dense  # noqa: E402

RATE = 44100
PAIRS = ["--cutoff", "100:8000", "--count", "32", "--rolloff", "24", "--drive", "10", "--noise", "pink"]
CUTOFFS = (150, 450, 1000, 3000, 6500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", default="20")
    parser.add_argument("--cpu-only", default="0", help="fit.py's cpu_only (0 uses a GPU where there is one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        subprocess.run([sys.executable, str(ROOT / "make_data.py"), *PAIRS], cwd=folder, check=True, capture_output=True)
        fitted = subprocess.run([sys.executable, str(ROOT / "fit.py"), "6", "32", "32", "tanh", "adam", args.cpu_only,
                                 "1024", args.epochs, "--pairs", "pairs.csv", "--no-plot"], cwd=folder, check=True,
                                capture_output=True, text=True)
        print("\n".join(line for line in fitted.stdout.splitlines() if "pair at" not in line))
        network, spec, _ = load_network(next((folder / "models").glob("*.keras")))
        song = audio.decode(audio.encode(synth.synthetic_song(30, RATE, np.random.default_rng(99)).astype(np.float32),
                                         "u8"), "u8")
        print("\n| cutoff | u8 floor | knob model, u8 out | knob model, float out | its FIRs alone (the start), float out |")
        print("|---|---|---|---|---|")
        recipe = effect.read_note(folder / "train_y_01.raw").recipe  # every pair's, but for the cutoff
        for cutoff in CUTOFFS:
            target = recipe.at(cutoff).apply(song, RATE)
            folded = network.at(cutoff)
            output = render.render(folded, spec, song)
            last = folded.layers[-1]
            silenced = dataclasses.replace(folded, layers=folded.layers[:-1] + [Dense(last.kernel * 0, last.bias * 0)])
            firs = render.render(silenced, spec, song)

            def db(samples):
                return metrics.decibels(metrics.esr(samples, target))

            def u8(samples):
                return audio.decode(audio.encode(np.asarray(samples, np.float32), "u8"), "u8")

            print(f"| {cutoff} Hz | {db(u8(target)):.1f} dB | {db(u8(output)):.1f} dB | {db(output):.1f} dB | "
                  f"{db(firs):.1f} dB |", flush=True)


if __name__ == "__main__":
    main()
