"""Speed and memory benchmark: rendering, data preparation and training, against the compute floor.

Prints markdown tables (medians of --runs runs) for:
- render: gen.py on a 3-minute 44.1 kHz u8 song, whole process (wall time, peak memory) and
  render only (in this process), for chunk, sliding and tcn 6x32 models, recurrent GRU cells of 16 and 32
  units, state-space cells of 8 and 16, the compressor's GRU of 16 with the gain read-out and its 8
  followers, and 4 ladders (one core: the state runs sample by sample); the compute floor is the
  model's floating-point operations per sample over this machine's float32 matrix-multiply rate,
  measured in the same run, and "of floor" is our render-only throughput as a share of it;
- a 1-hour song through gen.py (streaming: peak memory must stay flat);
- fit.py's data preparation for a 10-minute pair: first run (no cache) and cached;
- training throughput (windows, or output samples, per second per epoch) for the README's
  configurations;
- a knob model (fit.py --pairs, window 1024, 32 knots) at a fixed cutoff and sweeping it, against
  an unconditioned sliding model of the same shape (`--knob`: these rows alone).

    python3 bench/speed.py             # about 3 minutes on 2 cores
    python3 bench/speed.py --runs 5 --skip-hour
    python3 bench/speed.py --tcn       # the song's render by the sliding and tcn models alone
    python3 bench/speed.py --recurrent # the same for the sliding and recurrent (one cell) models
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neural_filter import audio, render, synth  # noqa: E402
from neural_filter.model_file import load_network  # noqa: E402
from neural_filter.spec import FilterSpec  # noqa: E402

RATE = 44100
MODELS = {  # name -> (spec, layers, units, activation, linear path[, recurrent cell: fit.py --cell, default gru])
    "chunk 6x32 tanh, window 9": (FilterSpec(window=9), 6, 32, "tanh", False),
    "chunk 6x32 gelu, window 9": (FilterSpec(window=9), 6, 32, "gelu", False),
    "sliding 6x32 tanh, window 64": (FilterSpec(mode="sliding", window=64, levels="signed"), 6, 32, "tanh", True),
    # 6 dilated layers of 32 channels, dilations 1..32: the sliding model's shape as a convolution stack
    "tcn 6x32 tanh, window 64": (FilterSpec(mode="tcn", window=64, levels="signed"), 6, 32, "tanh", True),
    # one GRU cell (its state runs sample by sample, on one core), the README's 16 units and 32
    "recurrent 1x16 tanh, window 1024": (FilterSpec(mode="recurrent", window=1024, levels="signed"), 1, 16, "tanh",
                                         False),
    "recurrent 1x32 tanh, window 1024": (FilterSpec(mode="recurrent", window=1024, levels="signed"), 1, 32, "tanh",
                                         False),
    # one state-space cell (fit.py --cell state-space): the README's 8 units (16 hidden), and 16
    "recurrent state-space 1x8 tanh, window 1024": (FilterSpec(mode="recurrent", window=1024, levels="signed"), 1,
                                                    8, "tanh", False, "state-space"),
    "recurrent state-space 1x16 tanh, window 1024": (FilterSpec(mode="recurrent", window=1024, levels="signed"), 1,
                                                     16, "tanh", False, "state-space"),
    # the README's compressor: one GRU cell of 16 units with the gain read-out (fit.py --cell gru-gain), relu
    "recurrent gru-gain 1x16 relu, window 2048": (FilterSpec(mode="recurrent", window=2048, levels="signed"), 1, 16,
                                                  "relu", False, "gru-gain"),
    # the README's compressor now: 8 followers with the gain read-out (fit.py --cell follower), relu
    "recurrent follower 1x8 relu, window 2048": (FilterSpec(mode="recurrent", window=2048, levels="signed"), 1, 8,
                                                 "relu", False, "follower"),
    # the README's ladders: 4 ladder filters (fit.py --cell ladder), 20 state values
    "recurrent ladder 1x4, window 1025": (FilterSpec(mode="recurrent", window=1025, levels="signed"), 1, 4, "tanh",
                                          False, "ladder"),
}
ONLY_TCN = ("sliding 6x32 tanh, window 64", "tcn 6x32 tanh, window 64")  # --tcn: these rows alone
ONLY_RECURRENT = ("sliding 6x32 tanh, window 64", "recurrent 1x16 tanh, window 1024",
                  "recurrent 1x32 tanh, window 1024", "recurrent state-space 1x8 tanh, window 1024",
                  "recurrent state-space 1x16 tanh, window 1024",
                  "recurrent gru-gain 1x16 relu, window 2048",
                  "recurrent follower 1x8 relu, window 2048",
                  "recurrent ladder 1x4, window 1025")  # --recurrent: these rows alone
ORIGINAL_GEN_SECONDS = 140.0  # the original gen.py on a 3-minute song, measured on these machines (shared/NOTES.md)


def run_process(arguments, cwd) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one child process.

    The peak is the kernel's high-water mark (VmHWM) of the child's own program, polled while it
    runs; getrusage would count this benchmark's memory too, which the child holds until exec.
    """
    started = time.perf_counter()
    process = subprocess.Popen(arguments, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError):
            pass  # exiting between the poll and the read
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(f"{' '.join(map(str, arguments))} failed: {process.stderr.read().decode()}")
    return seconds, peak / 1024


def matmul_rate(runs: int) -> float:
    """float32 GFLOP/s of a 2048 x 2048 product, the machine's best case for dense arithmetic."""
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    a @ a
    timings = []
    for _ in range(max(runs, 3)):
        started = time.perf_counter()
        a @ a
        timings.append(time.perf_counter() - started)
    return 2 * 2048**3 / statistics.median(timings) / 1e9


def flops_per_sample(network, spec: FilterSpec, samples: int) -> float:
    """Multiply-adds x 2 per output sample: every layer's kernel once a row, as many rows as the kind cuts
    (a chunk's work is shared by its samples; a tcn model's layers run once an output; a recurrent model's
    cells, every weight once a sample)."""
    per_row = sum(layer.kernel.size for layer in network.layers)
    per_row += sum(array.size for cell in getattr(network, "cells", []) for array in cell.packed())
    gain = getattr(network, "gain", None)  # a recurrent model's gain read-out, once a sample
    per_row += gain.hidden.kernel.size + gain.gain.kernel.size if gain is not None else 0
    linear = network.linear_path.kernel.size if getattr(network, "linear_path", None) is not None else 0
    return 2 * (per_row * spec.kind.row_count(samples, spec.window) / samples + linear)


def make_model(folder: Path, name: str, definition) -> Path:
    """Save a randomly initialised model (speed does not depend on training) with fit.py's saver."""
    code = f"""
import dataclasses, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from neural_filter import model_file
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec
spec = FilterSpec(**{json.dumps(definition[0].__dict__)})
keras_model = spec.kind.build(spec, TrainSettings(layers={definition[1]}, units={definition[2]},
                              activation={definition[3]!r}, linear_path={definition[4]}, fir_start={not definition[4]},
                              bias_start=0.0, cell={(definition[5:] or ("gru",))[0]!r}))
model_file.save_model(keras_model, Path({str(folder / name)!r}), {{"spec": dataclasses.asdict(spec)}})
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return folder / name


def bench_render(folder: Path, runs: int, rate: float, names=tuple(MODELS)) -> None:
    song = folder / "song.raw"
    audio.write_audio(song, synth.synthetic_song(180, RATE, np.random.default_rng(1)).astype(np.float32), "u8", RATE)
    samples = audio.read_audio(song).samples
    print(f"\n3-minute song ({len(samples)} samples); float32 matrix multiply here: {rate:.0f} GFLOP/s\n")
    print("| model | engine | gen.py whole process | peak memory | vs original 140 s | render only | samples/s | "
          "real-time factor | compute floor | of floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for index, name in enumerate(names):
        definition = MODELS[name]
        path = make_model(folder, f"model{index}.keras", definition)
        whole = [run_process([sys.executable, ROOT / "gen.py", path, song, "--out", folder / "out.raw", "--quiet"],
                             folder) for _ in range(runs)]
        seconds = statistics.median(run[0] for run in whole)
        memory = max(run[1] for run in whole)
        network, spec, _ = load_network(path)
        engine = render.engine_of(network, spec, len(samples))  # gen.py's choice for this song
        network = network.with_engine(engine)
        render.render(network, spec, samples[:RATE])  # the engine's start-up is the whole-process column's
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            render.render(network, spec, samples)
            timings.append(time.perf_counter() - started)
        render_seconds = statistics.median(timings)
        throughput = len(samples) / render_seconds
        floor = rate * 1e9 / flops_per_sample(network, spec, len(samples))
        print(f"| {name} | {engine} | {seconds:.2f} s | {memory:.0f} MB | {ORIGINAL_GEN_SECONDS / seconds:.0f}x faster | "
              f"{render_seconds:.2f} s | {throughput / 1e6:.1f} M | {throughput / RATE:.0f}x | "
              f"{floor / 1e6:.0f} M/s | {100 * throughput / floor:.0f}% |", flush=True)
    clip = folder / "clip.raw"  # what every run pays before the first sample: imports, models
    audio.write_audio(clip, samples[:RATE], "u8", RATE)
    start_up, bare = [], []
    for _ in range(runs):  # in turns, so that a busy moment of the machine weighs on both alike
        start_up.append(run_process([sys.executable, ROOT / "gen.py", folder / "model0.keras", clip, "--out",
                                     folder / "out.raw", "--quiet"], folder))
        bare.append(run_process([sys.executable, "-c", "import numpy, h5py"], folder))
    start, floor = (statistics.median(run[0] for run in runs_) for runs_ in (start_up, bare))
    print(f"\ngen.py on a 1-second song (start-up): {start:.2f} s, {max(run[1] for run in start_up):.0f} MB; "
          f"python3 -c 'import numpy, h5py': {floor:.2f} s; {start / floor:.1f}x", flush=True)


def bench_hour(folder: Path) -> None:
    song = folder / "hour.raw"
    rng = np.random.default_rng(2)
    with open(song, "wb") as file:  # an hour of quiet noise, written in minutes to keep this process small
        for _ in range(60):
            rng.integers(96, 160, 60 * RATE, dtype=np.uint8).tofile(file)
    print("\n1-hour song (158.8 M samples) through gen.py, streamed\n")
    print("| model | song | whole process | peak memory | real-time factor |")
    print("|---|---|---|---|---|")
    for index, name in enumerate(list(MODELS)[:2]):
        seconds, memory = run_process([sys.executable, ROOT / "gen.py", folder / f"model{index}.keras", song,
                                       "--out", folder / "hour_out.raw", "--quiet"], folder)
        print(f"| {name} | 44.1 kHz u8 raw | {seconds:.1f} s | {memory:.0f} MB | {3600 / seconds:.0f}x |", flush=True)
    song.unlink()
    for label, name, rate in (("44.1 kHz 16-bit FLAC", "hour.flac", RATE),
                              ("48 kHz 16-bit WAV, converted to 44.1 kHz and back", "hour.wav", 48000)):
        write_hour(folder / name, rate)
        seconds, memory = run_process([sys.executable, ROOT / "gen.py", folder / "model0.keras", folder / name,
                                       "--out", folder / f"out_{name}", "--quiet"], folder)
        print(f"| {list(MODELS)[0]} | {label} | {seconds:.1f} s | {memory:.0f} MB | {3600 / seconds:.0f}x |", flush=True)
        (folder / name).unlink()
        (folder / f"out_{name}").unlink()


def write_hour(path: Path, rate: int) -> None:
    """An hour of quiet noise at `rate`, written a minute at a time (this process stays small)."""
    rng = np.random.default_rng(2)
    with audio.audio_sink(path, "s16le", rate, 3600 * rate) as sink:
        for _ in range(60):
            sink.write(rng.uniform(-0.25, 0.25, 60 * rate).astype(np.float32))


def bench_preparation(folder: Path, runs: int) -> None:
    rng = np.random.default_rng(3)
    noise = synth.white_noise(600, RATE, rng)
    audio.write_audio(folder / "train_x.raw", noise.astype(np.float32), "u8", RATE)
    audio.write_audio(folder / "train_y.raw", synth.audacity_lowpass(noise, 600, 6, RATE).astype(np.float32), "u8", RATE)
    print("\nfit.py data preparation, 10-minute pair (26.5 M samples a file), window 9, chunk mode\n")
    print("| run | seconds | peak memory of the process |")
    print("|---|---|---|")
    code = f"""
import sys, time; sys.path.insert(0, {str(ROOT)!r})
from neural_filter import dataset; from neural_filter.spec import FilterSpec
started = time.perf_counter()
dataset.prepare("train_x.raw", "train_y.raw", FilterSpec(window=9), notice=lambda m: None)
print(time.perf_counter() - started)
"""
    for label, clear in (("first (no cache)", True), ("cached", False)):
        results = []
        for _ in range(runs):
            if clear:
                for cache in folder.glob("*.npy"):
                    cache.unlink()
            process = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, check=True)
            results.append(float(process.stdout))
        if clear:
            for cache in folder.glob("*.npy"):
                cache.unlink()
        _, memory = run_process([sys.executable, "-c", code], folder)
        print(f"| {label} | {statistics.median(results):.2f} s | {memory:.0f} MB |", flush=True)


def bench_training(folder: Path) -> None:
    # a driven pair: fit.py does not train a linear one whose start is at its floor (an epoch costs the same on either)
    make = [sys.executable, ROOT / "make_data.py", "--force", "--drive", "10", "--noise", "pink"]
    subprocess.run(make, cwd=folder, check=True, capture_output=True)
    print("\nTraining throughput, 30 s make_data.py --drive 10 --noise pink pair, median epoch "
          "(the first, which traces, left out)\n")
    print("| configuration | per epoch | windows or output samples per second |")
    print("|---|---|---|")
    code = f"""
import sys, time, statistics, keras; sys.path.insert(0, {str(ROOT)!r})
from neural_filter import dataset, train; from neural_filter.spec import FilterSpec
from neural_filter.settings import TrainSettings
spec = FilterSpec(**eval(sys.argv[1])); settings = TrainSettings(**eval(sys.argv[2]))
prepared = dataset.prepare("train_x.raw", "train_y.raw", spec, notice=lambda m: None)
times = []
class Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None): self.started = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): times.append(time.perf_counter() - self.started)
original = keras.Model.fit
keras.Model.fit = lambda self, *a, **k: original(self, *a, **{{**k, "verbose": 0}})
train.train(prepared, spec, settings, callbacks=[Clock()])
work = spec.kind.row_count(prepared.train_x.size, spec.window)
print(statistics.median(times[1:]), work)
"""
    configurations = {
        "chunk: fit.py 6 32 999 tanh adam 1 9 4": ({"window": 9}, {"activation": "tanh", "epochs": 4}),
        "sliding: fit.py 6 32 32 tanh adam 1 64 4 --mode sliding": (
            {"mode": "sliding", "window": 64, "levels": "signed"},
            {"activation": "tanh", "epochs": 4, "batch_size": 32, "linear_path": True}),
    }
    for name, (spec, settings) in configurations.items():
        for cache in folder.glob("*.npy"):
            cache.unlink()
        process = subprocess.run([sys.executable, "-c", code, repr(spec), repr(settings)], cwd=folder,
                                 capture_output=True, text=True, check=True,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        epoch, work = (float(value) for value in process.stdout.split()[-2:])
        print(f"| {name} | {epoch:.2f} s | {work / epoch / 1e6:.2f} M |", flush=True)


def make_knob_model(folder: Path, name: str, window: int, knots: int, taps: int = 2048) -> Path:
    """A randomly initialised knob model (kinds.KNOB.build: its stack) saved with its knob and a random long bank of
    `taps` taps, as fit.py --pairs saves one."""
    code = f"""
import dataclasses, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
import numpy as np
from neural_filter import kinds, model_file
from neural_filter.knob import Knob
from neural_filter.linear_bank import LinearBank
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec
spec = FilterSpec(mode="sliding", window={window}, levels="signed")
stack = kinds.KNOB.build(spec, TrainSettings(layers=6, units=32, activation="tanh", bias_start=0.5), {knots})
knob = Knob(tuple(np.geomspace(100, 8000, {knots})))
rng = np.random.default_rng(0)
bank = LinearBank((rng.standard_normal(({taps}, {knots})) / {taps} ** 0.5).astype(np.float32),
                  np.zeros({knots}, np.float32), {taps} - 1)
model_file.save_model(stack, Path({str(folder / name)!r}), {{"spec": dataclasses.asdict(spec), "knob": knob.record(),
                                                            "linear_bank": bank.record()}}, bank)
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return folder / name


def bench_knob(folder: Path, runs: int) -> None:
    """gen.py, whole process, on the 3-minute song: unconditioned, a knob at a fixed cutoff, and a sweep; in turns."""
    window = 1024
    song = folder / "knob_song.raw"  # its own: the other benchmarks leave other songs under other names in the folder
    audio.write_audio(song, synth.synthetic_song(180, RATE, np.random.default_rng(1)).astype(np.float32), "u8", RATE)
    plain = make_model(folder, "plain.keras", (FilterSpec(mode="sliding", window=window, levels="signed"), 6, 32, "tanh",
                                               True))
    knob = make_knob_model(folder, "knob.keras", window, 32)
    rows = {"unconditioned sliding 6x32 tanh, window 1024": [plain],
            "knob model, same shape, 32 knots, --cutoff 1000": [knob, "--cutoff", "1000"],
            "knob model, sweeping --cutoff 200:5000": [knob, "--cutoff", "200:5000"]}
    timings = {row: [] for row in rows}
    for _ in range(runs):
        for row, arguments in rows.items():
            timings[row].append(run_process([sys.executable, ROOT / "gen.py", arguments[0], song, *arguments[1:],
                                             "--out", folder / "out.raw", "--quiet"], folder))
    print("\nknob models: gen.py on the 3-minute song, whole process (medians, runs in turns)\n")
    print("| model | gen.py whole process | peak memory | vs unconditioned |")
    print("|---|---|---|---|")
    baseline = statistics.median(run[0] for run in timings[next(iter(rows))])
    for row, runs_of_row in timings.items():
        seconds = statistics.median(run[0] for run in runs_of_row)
        print(f"| {row} | {seconds:.2f} s | {max(run[1] for run in runs_of_row):.0f} MB | {seconds / baseline:.2f}x |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is shown (default 3)")
    parser.add_argument("--skip-hour", action="store_true", help="leave out the 1-hour song")
    parser.add_argument("--knob", action="store_true", help="only the knob models' rows")
    parser.add_argument("--tcn", action="store_true", help="only the sliding and tcn rows of the song's render")
    parser.add_argument("--recurrent", action="store_true",
                        help="only the sliding and recurrent rows of the song's render")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if args.knob:
            bench_knob(folder, args.runs)
            return
        if args.tcn or args.recurrent:
            bench_render(folder, args.runs, matmul_rate(args.runs), ONLY_TCN if args.tcn else ONLY_RECURRENT)
            return
        bench_render(folder, args.runs, matmul_rate(args.runs))
        if not args.skip_hour:
            bench_hour(folder)
        bench_preparation(folder, args.runs)
        bench_training(folder)
        bench_knob(folder, args.runs)


if __name__ == "__main__":
    main()
