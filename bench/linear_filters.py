"""Linear filters whose response outlasts the window: do they reach their 16-bit floor with the README's command?

Two effects as biquads (RBJ's Audio EQ Cookbook, applied by scipy.signal.lfilter): an 80 Hz
high-pass (Butterworth, Q 0.707: rings for thousands of samples) and an EQ, a peak (+9 dB at
800 Hz, Q 2) then a high shelf (-6 dB at 5 kHz). Each is a 16-bit pair of 30 s of pink noise, as
the README advises, trained with the README's sliding command, then scored with gen.py
--reference on held-out audio: a synthetic song (synth.synthetic_song, 20 s) and 10 s of pink noise
of another seed, each filtered exactly and written at 16 bits. The floor is what the reference's
own rounding carries: (1/32768)^2 / 12 over its power (fir.rounding_share); an output that is the
exact filter rounded independently lands 3 dB above it.

    python3 bench/linear_filters.py                 # the README's command, 40 epochs
    python3 bench/linear_filters.py --epochs 8      # shorter
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import signal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neural_filter import audio, fir, metrics, synth  # noqa: E402

RATE = 44100
COMMAND = ["6", "32", "32", "tanh", "adam", "1", "64"]  # the README's sliding command, before its epochs


def biquad(kind: str, frequency: float, q: float, gain_db: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """RBJ's cookbook biquad (b, a), normalised: "highpass", "peak" or "highshelf"."""
    w = 2 * np.pi * frequency / RATE
    alpha, cos, amplitude = np.sin(w) / (2 * q), np.cos(w), 10 ** (gain_db / 40)
    if kind == "highpass":
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        a = [1 + alpha, -2 * cos, 1 - alpha]
    elif kind == "peak":
        b = [1 + alpha * amplitude, -2 * cos, 1 - alpha * amplitude]
        a = [1 + alpha / amplitude, -2 * cos, 1 - alpha / amplitude]
    else:  # highshelf
        root = 2 * np.sqrt(amplitude) * alpha
        b = [amplitude * ((amplitude + 1) + (amplitude - 1) * cos + root), -2 * amplitude * ((amplitude - 1) + (amplitude + 1) * cos),
             amplitude * ((amplitude + 1) + (amplitude - 1) * cos - root)]
        a = [(amplitude + 1) - (amplitude - 1) * cos + root, 2 * ((amplitude - 1) - (amplitude + 1) * cos),
             (amplitude + 1) - (amplitude - 1) * cos - root]
    return np.asarray(b) / a[0], np.asarray(a) / a[0]


EFFECTS = {
    "highpass 80 Hz": [biquad("highpass", 80, 0.707)],
    "EQ: peak +9 dB 800 Hz Q 2, shelf -6 dB 5 kHz": [biquad("peak", 800, 2, 9), biquad("highshelf", 5000, 0.707, -6)],
}


def filtered(samples: np.ndarray, sections) -> np.ndarray:
    for b, a in sections:
        samples = signal.lfilter(b, a, samples)
    return samples


def sixteen_bits(samples: np.ndarray) -> np.ndarray:
    return audio.decode(audio.encode(samples, "s16le"), "s16le").astype(np.float64)


def write_pair(folder: Path, name: str, dry: np.ndarray, sections) -> tuple[Path, Path, float]:
    """dry and its filtered copy as 16-bit WAVs (the dry peak lowered until the filtered one fits); the floor."""
    wet = filtered(dry, sections)
    dry = sixteen_bits(dry * min(1.0, 0.9 / np.abs(wet).max()))
    wet = sixteen_bits(filtered(dry, sections))
    paths = folder / f"{name}_x.wav", folder / f"{name}_y.wav"
    for path, samples in zip(paths, (dry, wet)):
        audio.write_audio(path, samples, "s16le", RATE, "wav")
    return *paths, fir.rounding_share(wet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--folder", default=None, help="keep the pairs and models here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(args.folder or temporary)
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(2026)
        training = synth.pink_noise(30, RATE, rng, amplitude=1.0)
        held_out = {"song": synth.synthetic_song(20, RATE, rng), "pink noise": synth.pink_noise(10, RATE, rng, 1.0)}
        print(f"fit.py {' '.join(COMMAND)} {args.epochs} --mode sliding, 16-bit pairs of 30 s of pink noise")
        for index, (effect, sections) in enumerate(EFFECTS.items()):
            x, y, _ = write_pair(folder, f"pair{index}", training, sections)
            started = time.perf_counter()
            fitted = subprocess.run([sys.executable, str(ROOT / "fit.py"), *COMMAND, str(args.epochs), "--mode", "sliding",
                                     "--train-x", str(x), "--train-y", str(y), "--models", str(folder / f"models{index}"),
                                     "--no-plot", "--quiet"], capture_output=True, text=True, cwd=folder)
            seconds = time.perf_counter() - started
            if fitted.returncode:
                raise SystemExit(fitted.stderr)
            model = re.search(r"^saved (\S+)$", fitted.stdout, re.MULTILINE).group(1)
            summary = [line.strip() for line in fitted.stdout.splitlines() if "ESR" in line or "linear path" in line
                       or "window" in line]
            print(f"\n{effect}: {seconds:.0f} s in all; " + " | ".join(summary))
            for name, song in held_out.items():
                song_x, song_y, floor = write_pair(folder, f"held{index}_{name.replace(' ', '_')}", song, sections)
                rendered = subprocess.run([sys.executable, str(ROOT / "gen.py"), model, str(song_x), "--out",
                                           str(folder / "out.wav"), "--reference", str(song_y), "--quiet"],
                                          capture_output=True, text=True, cwd=folder)
                esr_db = float(re.search(r"^ESR against \S+: ([-+\d.]+) dB", rendered.stdout, re.MULTILINE).group(1))
                print(f"  held-out {name:10s}: {esr_db:6.1f} dB, 16-bit floor {metrics.decibels(floor):6.1f} dB "
                      f"(one rounding; a render that misses the reference's rounding adds its own: +3 dB), "
                      f"{esr_db - metrics.decibels(floor):4.1f} dB above it")


if __name__ == "__main__":
    main()
