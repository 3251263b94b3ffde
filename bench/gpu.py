"""Keras training and predict throughput of the product's models on whichever backend and device is at hand.

The backend is Keras's (KERAS_BACKEND=jax or tensorflow); the device is whatever that backend
finds (a GPU when there is one). Measures, each as the median of --repeats timed epochs or calls
after a warm-up that holds the compile:

- training, sliding mode: model.build_model(FilterSpec(mode="sliding", window=W, levels="signed"),
  6, 32, "tanh", linear_path=True) -- fit.py's `6 32 B tanh adam 1 W --mode sliding` -- on
  synthetic segments of 1024 output samples, Adam with train.py's cosine schedule, loss mse, fit()
  on NumPy arrays with shuffle as train.train calls it (no validation data, no callbacks but the
  clock): output samples per second, for W = 64 and 1024, batch 32 and 256;
- training, chunk mode: build_model(FilterSpec(window=9), 6, 32, "gelu") (7 Dense of 32, as
  fit.py 6 32 builds it), batch 999 and 8192: windows per second;
- predict: the sliding W=64 model on 3 minutes of 44.1 kHz audio as one sequence, as
  train._scored calls it (model.predict, batch_size=4096), and, beside it, the NumPy/Numba renderer
  gen.py uses (render.render, the engine gen.py would choose for that length) on the same song.

Each timed epoch's length is chosen from a short calibration epoch so that it lasts about
--epoch-seconds (at least 8 steps), which keeps the CPU runs short and the GPU ones long
enough to time. On TensorFlow, op determinism is switched on as train.train does.

    KERAS_BACKEND=jax python3 bench/gpu.py --json out.json            # GPU: about 2 minutes
    KERAS_BACKEND=tensorflow python3 bench/gpu.py --epoch-seconds 2   # this machine's 2 cores
    KERAS_BACKEND=jax python3 bench/gpu.py --quick                    # smoke test, seconds

bench/RESULTS.md holds the figures measured with it.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402

from neural_filter import model as model_module  # noqa: E402
from neural_filter.spec import FilterSpec  # noqa: E402

RATE = 44100
SEGMENT = 1024


def device_line() -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        precision = jax.config.jax_default_matmul_precision or "default"
        return (f"jax {jax.__version__} {jax.default_backend()} (matmul precision {precision}): "
                f"{', '.join(str(d) for d in jax.devices())}")
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"tensorflow {tf.__version__}: {', '.join(d.name for d in gpus) or 'CPU only'}"
    return backend


class Clock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):  # the epoch's logs are pulled to the host: the device has finished
        self.times.append(time.perf_counter() - self.started)


def time_training(model, make_arrays, batch: int, work_per_item: int, args) -> dict:
    """Warm-up epoch (compile), calibration epoch, then `repeats` timed epochs of about epoch_seconds."""
    warm_steps = 2 if args.quick else 4
    x, y = make_arrays(warm_steps * batch)
    total_steps_guess = 1000  # only sets the cosine schedule's length, not the speed
    model.compile(optimizer=model_module.make_optimiser("adam", 10, 64, steps=total_steps_guess), loss="mse")
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
    warm_up = time.perf_counter() - started
    clock = Clock()
    model.fit(x, y, batch_size=batch, epochs=2, shuffle=True, verbose=0, callbacks=[clock])
    per_step = clock.times[-1] / warm_steps
    steps = max(8, min(args.max_steps, int(args.epoch_seconds / per_step)))
    if args.quick:
        steps = 3
    x, y = make_arrays(steps * batch)
    clock = Clock()
    model.fit(x, y, batch_size=batch, epochs=args.repeats, shuffle=True, verbose=0, callbacks=[clock])
    epoch = statistics.median(clock.times)
    items = steps * batch
    return {"batch": batch, "steps_per_epoch": steps, "items_per_epoch": items,
            "work_per_epoch": items * work_per_item, "epoch_seconds": clock.times, "median_epoch_s": epoch,
            "step_ms": 1000 * epoch / steps, "per_second": items * work_per_item / epoch,
            "warm_up_s": warm_up}


def bench_sliding(window: int, batch: int, args) -> dict:
    spec = FilterSpec(mode="sliding", window=window, levels="signed")
    keras.utils.set_random_seed(1234)
    model = model_module.build_model(spec, 6, 32, "tanh", linear_path=True, bias_start=0.5)
    rng = np.random.default_rng(window)

    def make_arrays(segments):
        x = rng.uniform(-0.8, 0.8, (segments, SEGMENT + window - 1, 1)).astype(np.float32)
        y = (0.5 * x[:, window - 1:, :]).astype(np.float32)
        return x, y

    return time_training(model, make_arrays, batch, SEGMENT, args)


def bench_chunk(batch: int, args) -> dict:
    spec = FilterSpec(window=9)
    keras.utils.set_random_seed(1234)
    model = model_module.build_model(spec, 6, 32, "gelu")
    rng = np.random.default_rng(9)

    def make_arrays(windows):
        x = rng.uniform(0, 1, (windows, 9)).astype(np.float32)
        return x, (0.5 * x).astype(np.float32)

    return time_training(model, make_arrays, batch, 1, args)


def bench_predict(args) -> dict:
    """3 minutes of audio through the sliding W=64 model: Keras predict (one sequence) and gen.py's renderer."""
    from neural_filter import model_file, render
    from neural_filter.model_file import load_network

    spec = FilterSpec(mode="sliding", window=64, levels="signed")
    keras.utils.set_random_seed(1234)
    model = model_module.build_model(spec, 6, 32, "tanh", linear_path=True, bias_start=0.5)
    seconds_of_audio = 5 if args.quick else 180
    song = np.random.default_rng(3).uniform(-0.8, 0.8, seconds_of_audio * RATE).astype(np.float32)
    padded = spec.to_network(spec.pad(song))[None, :, None]
    keras_times = []
    for _ in range(args.repeats + 1):  # the first call compiles for this length
        started = time.perf_counter()
        out = np.asarray(model.predict(padded, batch_size=4096, verbose=0))
        keras_times.append(time.perf_counter() - started)
    assert out.shape == (1, len(song), 1), out.shape
    keras_median = statistics.median(keras_times[1:])
    result = {"audio_seconds": seconds_of_audio, "samples": len(song), "keras_predict_s": keras_times[1:],
              "keras_first_call_s": keras_times[0], "keras_median_s": keras_median,
              "keras_per_second": len(song) / keras_median, "cpu_threads": os.cpu_count()}
    try:  # gen.py's renderer: a failure here (Numba on another machine, say) must not lose the Keras figures
        import dataclasses

        with tempfile.TemporaryDirectory() as folder:
            path = model_file.save_model(model, Path(folder) / "m.keras", {"spec": dataclasses.asdict(spec)})
            network, loaded_spec, _ = load_network(path)
        engine = render.engine_for(network, loaded_spec, len(song))
        network = network.with_engine(engine)
        render.render(network, loaded_spec, song[:RATE])  # Numba's compile, when it is that engine
        numpy_times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            rendered = render.render(network, loaded_spec, song)
            numpy_times.append(time.perf_counter() - started)
        numpy_median = statistics.median(numpy_times)
        result.update(numpy_engine=engine, numpy_render_s=numpy_times, numpy_median_s=numpy_median,
                      numpy_per_second=len(song) / numpy_median,
                      max_abs_difference=float(np.max(np.abs(rendered - spec.from_network(out.ravel())))))
    except Exception as error:  # noqa: BLE001
        result["numpy_error"] = repr(error)
        print(f"  gen.py's renderer failed: {error!r}", flush=True)
    return result



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs or calls; the median is shown")
    parser.add_argument("--epoch-seconds", type=float, default=1.0, help="target length of a timed epoch")
    parser.add_argument("--max-steps", type=int, default=2000, help="most steps in a timed epoch")
    parser.add_argument("--windows", type=int, nargs="*", default=[64, 1024])
    parser.add_argument("--sliding-batches", type=int, nargs="*", default=[32, 256])
    parser.add_argument("--chunk-batches", type=int, nargs="*", default=[999, 8192])
    parser.add_argument("--skip", nargs="*", default=[], choices=["sliding", "chunk", "predict"])
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--precision", help="JAX only: jax_default_matmul_precision (e.g. highest: no TF32)")
    args = parser.parse_args()
    if args.precision:
        import jax

        jax.config.update("jax_default_matmul_precision", args.precision)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()  # as train.train does
    if args.quick:
        args.repeats = 2

    header = {"backend": keras.backend.backend(), "keras": keras.__version__, "device": device_line(),
              "python": platform.python_version(), "machine": platform.machine(), "cpu_threads": os.cpu_count(),
              "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    print(f"# backend {header['backend']}, keras {header['keras']}, {header['device']}, "
          f"{header['cpu_threads']} CPU threads", flush=True)
    results = {"header": header, "sliding": [], "chunk": [], "predict": None}

    def save():
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")

    rows = []

    def record(kind: str, row: dict, batch: int, unit: str) -> None:
        results[kind].append(row)
        rows.append((row["model"], batch, row, unit))
        print(f"  {row['model']}, batch {batch}: {row['per_second'] / 1e6:.3f} M {unit} ({row['step_ms']:.2f} ms/step, "
              f"{row['steps_per_epoch']} steps, warm-up {row['warm_up_s']:.1f} s)", flush=True)
        save()

    if "sliding" not in args.skip:
        for window in args.windows:
            for batch in args.sliding_batches:
                record("sliding", {"model": f"sliding W={window} 6x32 tanh + linear path", "window": window,
                                   **bench_sliding(window, batch, args)}, batch, "output samples/s")
    if "chunk" not in args.skip:
        for batch in args.chunk_batches:
            record("chunk", {"model": "chunk W=9 7x32 gelu (fit.py 6 32)", "window": 9, **bench_chunk(batch, args)},
                   batch, "windows/s")
    if "predict" not in args.skip:
        results["predict"] = bench_predict(args)
        save()

    print(f"\n| model ({header['backend']}, {header['device']}) | batch | per second | step | timed epoch |")
    print("|---|---|---|---|---|")
    for name, batch, row, unit in rows:
        print(f"| {name} | {batch} | {row['per_second'] / 1e6:.3f} M {unit} | {row['step_ms']:.2f} ms | "
              f"{row['median_epoch_s']:.2f} s ({row['steps_per_epoch']} steps) |")
    if results["predict"]:
        p = results["predict"]
        print(f"\nsliding W=64, {p['audio_seconds']} s of audio ({p['samples']} samples): Keras predict "
              f"{p['keras_median_s']:.3f} s ({p['keras_per_second'] / 1e6:.1f} M/s; first call {p['keras_first_call_s']:.2f} s)")
        if "numpy_median_s" in p:
            print(f"gen.py's renderer ({p['numpy_engine']}, {p['cpu_threads']} threads) {p['numpy_median_s']:.3f} s "
                  f"({p['numpy_per_second'] / 1e6:.1f} M/s); largest difference from Keras {p['max_abs_difference']:.2g}")
    save()


if __name__ == "__main__":
    main()
