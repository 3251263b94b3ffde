"""Probe of sliding-mode training on one pair (issue #11): held-out ESR, against the LS FIR and the floor.

Builds the pair as make_data.py does (30 s of `--noise` at `--amplitude`, seed 0, through an
effect.Recipe: low-pass, then saturation) in the chosen format, and the held-out song as bench/quality.py does (synthetic song, seed 99, 30 s,
encoded in the same format); the score is the ESR of the model's output, encoded, against the exact
float64 target of the decoded song. Training is train.train with the README's sliding arguments
(6 32 32 tanh adam, window 64, 40 epochs) unless a variant replaces a piece of it.

    python3 bench/train_probe.py --cutoff 2000 --rolloff 24 --drive 10 --variants base nofir
    python3 bench/train_probe.py --fit ...   # fit.py as a subprocess, the README's command exactly
    python3 bench/train_probe.py --noise pink --amplitude 1 --shape asymmetric --fit   # issue #11's drive pairs
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

from neural_filter import audio, effect, fir, metrics, synth  # noqa: E402

RATE = 44100
LOWPASSED = {}  # the song before saturation, and the training noise's peak there
SLIDING = ["6", "32", "32", "tanh", "adam", "1", "64", "40", "--mode", "sliding"]


def make_pair(folder: Path, cutoff, rolloff, drive, shape, fmt, kind="white", amplitude=0.8):
    """Write the pair in `fmt`; return (decoded song, exact target of it)."""
    recipe = effect.Recipe(cutoff, rolloff, drive, shape)
    rng = np.random.default_rng(0)
    noise = synth.noise(kind, 30, RATE, rng, amplitude)
    filtered = recipe.apply(noise, RATE)
    for name, samples in (("train_x.raw", noise), ("train_y.raw", filtered)):
        audio.write_audio(folder / name, samples.astype(np.float32), fmt, RATE, container="raw")
    song = synth.synthetic_song(30, RATE, np.random.default_rng(99))
    stored = audio.encode(song.astype(np.float32), fmt)
    stored.tofile(folder / "song.raw")
    heard = audio.decode(stored, fmt).astype(np.float64)
    LOWPASSED.update(song=synth.audacity_lowpass(heard, cutoff, rolloff, RATE),
                     noise_peak=np.abs(synth.audacity_lowpass(noise, cutoff, rolloff, RATE)).max())
    return heard, recipe.apply(heard, RATE)


def score(output, target, fmt) -> float:
    return metrics.decibels(metrics.esr(audio.decode(audio.encode(np.asarray(output, np.float32), fmt), fmt), target))


def references(folder: Path, heard, target, fmt) -> dict:
    x = audio.decode(np.fromfile(folder / "train_x.raw", audio.SAMPLE_FORMATS[fmt][0]), fmt)
    y = audio.decode(np.fromfile(folder / "train_y.raw", audio.SAMPLE_FORMATS[fmt][0]), fmt)
    taps, bias = fir.least_squares_fir(x, y, 64, 63)
    from neural_filter import render
    from neural_filter.spec import FilterSpec
    output = render.render(fir.fir_network(taps, bias), FilterSpec(mode="sliding", window=64, levels="signed"),
                           heard.astype(np.float32))
    return {"floor": score(target, target, fmt), "fir": score(output, target, fmt),
            "dry": metrics.decibels(metrics.esr(heard, target))}


def run_variant(folder: Path, heard, target, fmt, variant: str, epochs: int, seconds_limit: float) -> dict:
    import keras

    from neural_filter import dataset, train
    from neural_filter.spec import FilterSpec

    spec = FilterSpec(mode="sliding", window=64, levels="signed")
    for cache in folder.glob("*.npy"):
        cache.unlink()
    prepared = dataset.prepare(folder / "train_x.raw", folder / "train_y.raw", spec, 0.1, 1234, fmt, RATE,
                               cache_dir=folder)
    spec.rate = prepared.rate
    settings = train.TrainSettings(layers=6, units=32, batch_size=32, activation="tanh", optimiser="adam",
                                   epochs=epochs, linear_path=True, fir_start="nofir" not in variant.split(","),
                                   seed=int(dict(t.split(":") for t in variant.split(",") if ":" in t).get("seed", 1234)))
    limit = TimeLimit(seconds_limit)
    saved = train.StopOnCtrlC, train._start_from_fir, train.make_optimiser, keras.Model.compile
    train.StopOnCtrlC = lambda: limit  # the probe's wall-clock limit rides in the Ctrl-C callback's place
    patch(variant, train, keras, prepared)
    try:
        result = train.train(prepared, spec, settings)
    finally:
        train.StopOnCtrlC, train._start_from_fir, train.make_optimiser, keras.Model.compile = saved
    padded = np.concatenate([np.zeros(63, np.float32), heard.astype(np.float32)])
    output = np.asarray(result.model.predict(padded[None, :, None], verbose=0)).ravel()
    val = result.history.get("val_loss", [])
    decoded = audio.decode(audio.encode(output.astype(np.float32), fmt), fmt)
    error = (decoded - target) ** 2
    past = np.abs(LOWPASSED["song"]) > LOWPASSED["noise_peak"]  # the song past any filtered noise sample
    print(f"   song: {past.mean():.1%} of samples past the filtered noise's peak ({LOWPASSED['noise_peak']:.2f}) carry {error[past].sum() / error.sum():.1%}"
          f" of the error; ESR without them {metrics.decibels(error[~past].sum() / np.dot(target, target)):.1f} dB")
    spectrum = np.abs(np.fft.rfft(decoded - target)) ** 2
    hz = np.fft.rfftfreq(len(target), 1 / RATE)
    bands = [(0, 20), (20, 150), (150, 2000), (2000, RATE / 2 + 1)]
    print("   song error by band: " + ", ".join(f"{lo:g}-{hi:g} Hz {spectrum[(hz >= lo) & (hz < hi)].sum() / spectrum.sum():.0%}"
                                             for lo, hi in bands))
    return {"variant": variant, "esr": score(output, target, fmt), "val_esr": result.metrics["esr_db"],
            "best_epoch": result.best_epoch, "epochs_run": len(val), "seconds": result.seconds,
            "val_loss": [float(f"{v:.4g}") for v in val]}


def patch(variant: str, train, keras, prepared) -> None:
    """Variant tokens, comma-separated: fir:freeze | firlr:F | out:glorot | out:small | lr:R | cos:R | warm:N |
    eps:E | loss:esr | k0:S | seed:N | nofir | base."""
    tokens = dict(token.split(":") if ":" in token else (token, "") for token in variant.split(","))
    start = train._start_from_fir

    def start_from_fir(model, prepared, spec):
        built.append(model)
        start(model, prepared, spec)
        output = model.get_layer("output")
        if tokens.get("out") == "glorot":
            output.set_weights([keras.initializers.GlorotUniform(seed=7)(output.kernel.shape).numpy(),
                                np.zeros(1, np.float32)])
        elif tokens.get("out") == "small":
            output.set_weights([0.1 * keras.initializers.GlorotUniform(seed=7)(output.kernel.shape).numpy(),
                                np.zeros(1, np.float32)])
        if "k0" in tokens:  # hidden_0's kernel times this
            first = model.get_layer("hidden_0")
            kernel, bias = first.get_weights()
            first.set_weights([kernel * float(tokens["k0"]), bias])
        if "b" in tokens:  # every hidden layer's bias uniform on +-S
            rng = np.random.default_rng(5)
            for layer in model.layers:
                if layer.name.startswith("hidden_"):
                    kernel, bias = layer.get_weights()
                    layer.set_weights([kernel, rng.uniform(-float(tokens["b"]), float(tokens["b"]), bias.shape)
                                       .astype(np.float32)])
        if tokens.get("fir") == "freeze":
            model.get_layer("linear_path").trainable = False

    train._start_from_fir = start_from_fir
    fir_keys, built = set(), []
    if "old" in tokens:  # before issue #11: constant Adam 1e-3, zero biases
        tokens.setdefault("lr", "1e-3")
        tokens.setdefault("b", "0")
    fir_scale = float(tokens.get("firlr", 1))
    epsilon = float(tokens.get("eps", 1e-7))

    class Adam(keras.optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):
            if fir_scale != 1 and self._var_key(variable) in fir_keys:
                learning_rate = learning_rate * fir_scale
            return super().update_step(gradient, variable, learning_rate)

    def make_optimiser(name, epochs, window, learning_rate=None, steps=None):
        rate = float(tokens.get("lr", tokens.get("cos", 1e-3)))  # "old": the constant 1e-3 before issue #11
        steps = epochs * (len(prepared.train_y) // 1024 // 32)
        if "cos" in tokens:
            warm = int(tokens.get("warm", 0)) * (len(prepared.train_y) // 1024 // 32)
            rate = keras.optimizers.schedules.CosineDecay(rate if not warm else 0.0, steps - warm,
                                                          warmup_target=rate if warm else None, warmup_steps=warm)
        optimiser = Adam(learning_rate=rate, epsilon=epsilon)
        fir_keys.update(optimiser._var_key(v) for v in built[0].get_layer("linear_path").trainable_variables)
        return optimiser

    if {"lr", "cos", "eps", "firlr"} & tokens.keys():  # otherwise train.py's own optimiser
        train.make_optimiser = make_optimiser
    compile = keras.Model.compile
    power = float(np.mean(prepared.train_y.astype(np.float64) ** 2))

    def compile_with(self, optimizer=None, loss=None, **kwargs):
        if tokens.get("loss") == "esr":
            loss = lambda y, p: keras.ops.mean(keras.ops.square(y - p)) / power  # noqa: E731
        return compile(self, optimizer=optimizer, loss=loss, **kwargs)

    keras.Model.compile = compile_with


class TimeLimit:
    """Stands in for train.StopOnCtrlC: stops training after `seconds` (the probe's budget)."""

    def __new__(cls, seconds):
        import contextlib

        import keras

        class Limit(keras.callbacks.Callback):
            interrupted = False

            def catching(self):
                return contextlib.nullcontext()

            def on_train_begin(self, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                if time.perf_counter() - self.started > seconds:
                    self.model.stop_training = True

        return Limit()


def run_fit(folder: Path, heard, target, fmt, extra: list[str]) -> dict:
    arguments = SLIDING + ["--no-plot", "--format", fmt, *extra]
    subprocess.run([sys.executable, str(ROOT / "fit.py"), *arguments], cwd=folder, check=True, capture_output=True)
    record_path = max((folder / "models").glob("*.json"), key=lambda p: p.stat().st_mtime)
    record = json.loads(record_path.read_text())
    rendered = np.fromfile(record_path.with_suffix(".raw"), audio.SAMPLE_FORMATS[fmt][0])
    record_path.unlink()
    return {"variant": "fit.py " + " ".join(arguments), "esr": score(audio.decode(rendered, fmt), target, fmt),
            "val_esr": record["metrics"]["esr_db"], "best_epoch": record["best_epoch"],
            "epochs_run": record["epochs_run"], "seconds": record["training_seconds"],
            "val_loss": [float(f"{v:.4g}") for v in record["history"].get("val_loss", [])]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cutoff", type=float, default=2000)
    parser.add_argument("--rolloff", type=int, default=24)
    parser.add_argument("--drive", type=float, default=10)
    parser.add_argument("--shape", default="soft")
    parser.add_argument("--format", default="u8")
    parser.add_argument("--noise", default="white")
    parser.add_argument("--amplitude", type=float, default=0.8)
    parser.add_argument("--train-seed", type=int, default=None, help="fit.py --seed (default: fit.py's)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=180, help="stop training after this many seconds")
    parser.add_argument("--variants", nargs="*", default=["base"])
    parser.add_argument("--fit", nargs="*", default=None, help="run fit.py (README command) with these extra options")
    args = parser.parse_args()
    pair = f"{args.noise} {args.amplitude:g}, {args.cutoff:g} Hz {args.rolloff} dB/oct, {args.shape} drive {args.drive:g} dB, {args.format}"
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        heard, target = make_pair(folder, args.cutoff, args.rolloff, args.drive, args.shape, args.format,
                                  args.noise, args.amplitude)
        refs = references(folder, heard, target, args.format)
        print(f"# {pair}: floor {refs['floor']:.1f} dB, LS FIR 64 {refs['fir']:.1f} dB, dry {refs['dry']:.1f} dB",
              flush=True)
        extra = (args.fit or []) + ([] if args.train_seed is None else ["--seed", str(args.train_seed)])
        runs = ([lambda: run_fit(folder, heard, target, args.format, extra)] if args.fit is not None else
                [lambda v=v: run_variant(folder, heard, target, args.format, v, args.epochs, args.seconds)
                 for v in args.variants])
        for run in runs:
            row = run()
            print(f"| {pair} | {row['variant']} | {row['esr']:.1f} | {refs['fir']:.1f} | {refs['floor']:.1f} | "
                  f"{row['best_epoch']}/{row['epochs_run']} | {row['seconds']:.0f} | val {row['val_esr']:.1f} |",
                  flush=True)
            print("   val_loss", row["val_loss"], flush=True)


if __name__ == "__main__":
    main()
