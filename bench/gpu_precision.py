"""Does the GPU's reduced float32 precision cost quality? The s16 cases of bench/quality.py on the GPU.

On NVIDIA GPUs since Ampere, JAX (and TensorFlow) compute float32 matrix products and convolutions
in TF32 by default: 10 bits of mantissa, a relative error of about 1e-3, which is -60 dB: above
the 16-bit floor (-85 dB). This trains the s16 cases of bench/quality.py with the Keras JAX
backend on the GPU, once at the default precision and once at "highest" (true float32), and
scores each render of the held-out song as quality.py does.

    KERAS_BACKEND=jax python3 bench/gpu_precision.py           # on a GPU machine, about 3 minutes
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import CASES, RATE, decibels, exact_target  # noqa: E402

from neural_filter import audio, synth  # noqa: E402

ON_THE_GPU = ["6", "32", "32", "tanh", "adam", "0", "64", "40", "--mode", "sliding", "--no-plot"]  # cpu_only 0


def main() -> None:
    print("| case | JAX matmul precision | ESR on held-out song | s16 floor | training s |")
    print("|---|---|---|---|---|")
    for name, case in CASES.items():
        if "s16le" not in name:
            continue
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            subprocess.run([sys.executable, str(ROOT / "make_data.py"), *case], cwd=folder, check=True,
                           capture_output=True)
            song = audio.encode(synth.synthetic_song(30, RATE, np.random.default_rng(99)).astype(np.float32), "s16le")
            song.tofile(folder / "song.raw")
            heard = audio.decode(song, "s16le").astype(np.float64)
            target = exact_target(folder, heard)
            floor = decibels(audio.decode(audio.encode(target.astype(np.float32), "s16le"), "s16le"), target)
            for precision in ("default", "highest"):
                environment = {**os.environ, "JAX_DEFAULT_MATMUL_PRECISION": precision}
                models = folder / f"models_{precision}"
                subprocess.run([sys.executable, str(ROOT / "fit.py"), *ON_THE_GPU, "--format", "s16le", "--models",
                                str(models)], cwd=folder, check=True, capture_output=True, env=environment)
                record_path = next(models.glob("*.json"))
                record = json.loads(record_path.read_text())
                rendered = audio.decode(np.fromfile(record_path.with_suffix(".raw"), "<i2"), "s16le")
                print(f"| {name} | {precision} | {decibels(rendered, target):.1f} dB | {floor:.1f} dB | "
                      f"{record['training_seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
