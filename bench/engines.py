"""Where the two render engines break even: the numbers behind render.COMPILED_START_UP_NS and NUMPY_EXTRA_NS.

The compiled engine costs a fixed start-up (llvmlite imported, the cached loop loaded) and then
less per activation than NumPy's passes. This prints, on this machine:
- the compiled engine's start-up, in a fresh process each time (median of --runs);
- NumPy's extra cost per activation over the compiled loop's, for tanh and gelu, from renders of a
  3-minute song through chunk 6x32 models (fastest of --runs each, both engines in turns);
- beside each, the figure render.py uses.

    python3 bench/engines.py --runs 5
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from speed import MODELS, RATE, make_model  # noqa: E402

from neural_filter import render, synth  # noqa: E402
from neural_filter.model_file import load_network  # noqa: E402

START_UP = f"""
import sys, time; sys.path.insert(0, {str(ROOT)!r})
import numpy as np
started = time.perf_counter()
from neural_filter.activations import ACTIVATIONS
ACTIVATIONS["tanh"](np.ones((2, 8), np.float32), np.zeros(2, np.float32))
print(time.perf_counter() - started)
"""


def start_up(runs: int) -> float:
    subprocess.run([sys.executable, "-c", START_UP], check=True, capture_output=True)  # compiles, the first time
    return statistics.median(float(subprocess.run([sys.executable, "-c", START_UP], check=True, capture_output=True,
                                                  text=True).stdout) for _ in range(runs))


def extra_per_activation(model: Path, name: str, samples: np.ndarray, runs: int) -> float:
    """NumPy's render time minus the compiled loop's, per activation (fastest of `runs` each)."""
    network, spec, _ = load_network(make_model(model.parent, model.name, MODELS[name]))
    engines = {engine: network.with_engine(engine) for engine in ("numpy", "compiled")}
    best = dict.fromkeys(engines, float("inf"))
    for engine in engines.values():
        render.render(engine, spec, samples[:RATE])
    for _ in range(runs):
        for engine, stack in engines.items():
            started = time.perf_counter()
            render.render(stack, spec, samples)
            best[engine] = min(best[engine], time.perf_counter() - started)
    activations = -(-len(samples) // spec.window) * sum(layer.kernel.shape[1] for layer in network.layers
                                                       if layer.activation != "linear")
    print(f"{name}: NumPy {best['numpy']:.3f} s, compiled {best['compiled']:.3f} s for {activations / 1e6:.0f} M "
          f"activations", flush=True)
    return (best["numpy"] - best["compiled"]) / activations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    args = parser.parse_args()
    samples = synth.synthetic_song(180, RATE, np.random.default_rng(1)).astype(np.float32)
    fixed = start_up(args.runs)
    print(f"compiled engine's start-up: {1000 * fixed:.0f} ms", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        tanh, gelu = (extra_per_activation(Path(folder) / f"{activation}.keras", f"chunk 6x32 {activation}, window 9",
                                           samples, args.runs) for activation in ("tanh", "gelu"))
    print(f"NumPy's extra cost per activation: tanh {tanh * 1e9:.2f} ns, gelu {gelu * 1e9:.2f} ns "
          f"(render.py: tanh {render.NUMPY_EXTRA_NS['tanh']} ns, gelu {render.NUMPY_EXTRA_NS['gelu']} ns; "
          f"start-up {render.COMPILED_START_UP_NS / 1e6:.0f} ms)")


if __name__ == "__main__":
    main()
