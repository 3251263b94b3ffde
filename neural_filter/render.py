"""Rendering: full-scale samples in, the network's full-scale samples out, exactly as many.

The signal is cut into rows of `window` samples as the model's kind says (chunk mode: consecutive
chunks, the last one padded with silence; sliding mode: one window per output sample, a strided
view, never copied whole) and the rows go through the network in fixed blocks, so memory stays
bounded and any caller that renders the same samples gets the same numbers. A network with a long
linear path (linear_path.py) has it run over the same signal by FFT, and the two outputs added.
"""

import concurrent.futures
import contextlib
import itertools
import os
import time

import numpy as np
import threadpoolctl

from neural_filter import kinds, linear_path
from neural_filter.audio import as_stored, audio_sink, open_audio, open_companion, output_container, stored_format
from neural_filter.console import progress_bar
from neural_filter.errors import ArgumentError, DataError
from neural_filter.model_file import load_network
from neural_filter.network import DenseStack
from neural_filter.resample import exact_length, refusal, resample_blocks
from neural_filter.spec import FilterSpec

BLOCK_ROWS = 4096  # rows per network call: enough for fast matrix products, few enough that a layer fits in cache


def render(network, spec: FilterSpec, samples: np.ndarray) -> np.ndarray:
    """Run full-scale `samples` through `network` (rows -> rows); return full-scale float32, same length."""
    return np.concatenate([np.empty(0, np.float32), *render_blocks(network, spec, [samples])])


def render_blocks(network, spec: FilterSpec, blocks):
    """Stream version of `render`: full-scale blocks in, full-scale blocks out, same total length.

    Each block's rows are handed to the worker threads before the previous block's output is
    given back, so the caller's reading, encoding and writing overlap the network's work.
    """
    long_path = getattr(network, "long_path", None)
    if long_path is None:
        yield from _rows_rendered(network, spec, blocks)
        return
    for_rows, for_path = itertools.tee(blocks)  # both read the song as it comes: tee holds a block or two
    path_outputs = long_path.stream(for_path)
    linear = None
    if getattr(network, "reads_linear", False):  # the stack reads the path's output at each row's sample too
        path_outputs, for_stack = itertools.tee(path_outputs)
        linear = linear_path.Taker(for_stack)
    yield from linear_path.summed(_rows_rendered(network, spec, for_rows, linear), path_outputs)


def _rows_rendered(network, spec: FilterSpec, blocks, linear=None):
    """The network's rows' outputs, as render_blocks gives them (without a long linear path); `linear`: a
    linear_path.Taker of the path's outputs, for a stack that reads them (one a row: sliding)."""
    network = on_full_scale(network, spec)
    outputs_per_row = spec.kind.outputs_per_row(spec.window)
    step = spec.kind.rows_per_call(spec.window, BLOCK_ROWS)
    with _worker_pool() as pool:

        def start(frame):
            rows, keep, position = frame
            outputs = np.empty((len(rows), outputs_per_row), np.float32)
            given = linear.take(len(rows)) if linear is not None else None
            futures = [pool.submit(_apply, network, rows, outputs, first, first + step, position, given)
                       for first in range(0, len(rows), step)]
            return outputs, keep, futures

        def finish(started) -> np.ndarray:
            outputs, keep, futures = started
            for future in futures:
                future.result()
            return outputs.reshape(-1)[:keep]

        yield from one_ahead(_numbered(frames(spec, blocks, step)), start, finish)


def _numbered(frames):
    """Each frame with the position of its first row in the signal (a knob's sweep needs it)."""
    position = 0
    for rows, keep in frames:
        yield rows, keep, position
        position += len(rows)


def frames(spec: FilterSpec, blocks, group_rows: int = BLOCK_ROWS):
    """Framing: full-scale blocks in, (rows, keep) out: the network's input rows and how many of their outputs to keep.

    Chunk mode's rows are consecutive chunks, the last one padded with silence (its padding's
    outputs are not kept); sliding mode's are one window per output sample, a strided view over
    the signal with `spec.padding` samples of silence around it. Every frame but the last holds a
    whole number of groups of `group_rows` counted from the start of the signal, whatever the
    blocks are, so rendering in blocks gives the same bytes as rendering in one pass.
    """
    kind, window = spec.kind, spec.window
    before, after = spec.padding
    outputs_per_row = kind.outputs_per_row(window)  # a chunk row gives a chunk, a window one sample
    pending = np.zeros(before, np.float32)  # input not yet turned into rows
    samples_in = kept = 0
    for block in blocks:
        samples_in += len(block)
        pending = np.concatenate([pending, np.asarray(block, np.float32)])
        rows, pending = kind.rows(pending, window, group_rows)
        if len(rows):
            outputs = len(rows) * outputs_per_row
            kept += outputs
            yield rows, outputs
    silence = kind.final_silence(len(pending), window, after)  # the last chunk, or the future
    rows, _ = kind.rows(np.concatenate([pending, np.zeros(silence, np.float32)]), window, group_rows=1)
    yield rows, samples_in - kept


def one_ahead(items, start, finish):
    """start(item) for each item, and finish() of each one item behind: item n+1 works while n is handed back."""
    previous = None
    for item in items:
        started = start(item)
        if previous is not None:
            yield finish(previous)
        previous = started
    if previous is not None:
        yield finish(previous)


def _apply(network, rows: np.ndarray, outputs: np.ndarray, first: int, end: int, position: int,
           linear: np.ndarray | None = None) -> None:
    """One group of rows (the frame's from `first` to `end`; the frame starts at row `position` of the signal), on a
    worker thread; `linear`: the frame's rows' long path outputs, for a stack that reads them."""
    given = {} if linear is None else {"linear": linear[first:end]}
    outputs[first:end] = network(np.ascontiguousarray(rows[first:end]), position + first, **given)


@contextlib.contextmanager
def _worker_pool():
    """Threads for the row groups, one per core, each doing its matrix products single-threaded.

    The activations, where most of the time goes, run on one core each: groups of rows in threads
    use them all (two thread pools competing for the same cores ran at a third of the speed). A
    caller that stops reading (an error writing, Ctrl-C) does not wait for queued work.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, \
            threadpoolctl.threadpool_limits(limits=1, user_api="blas"), contextlib.ExitStack() as on_early_exit:
        on_early_exit.callback(pool.shutdown, wait=False, cancel_futures=True)
        yield pool


def on_full_scale(network, spec: FilterSpec):
    """`network` as a function of full-scale rows, giving full-scale rows: the model's levels applied."""
    if hasattr(network, "on_full_scale"):
        return network.on_full_scale(spec)  # folded into the weights: no passes over the audio
    return lambda rows, first_row=0, **linear: spec.from_network(network(spec.to_network(rows), first_row, **linear))


class KerasRows:
    """Rows -> rows through a Keras model: the fallback for activations NumPy does not know (the stack, in a file
    whose long linear path, `long_path`, is not in the Keras model)."""

    def __init__(self, model, spec: FilterSpec, long_path=None):
        self.model, self.spec, self.long_path = model, spec, long_path
        self.reads_linear = len(model.inputs) > 1  # a stack beside a long path that reads its output (format 4)

    def __call__(self, rows: np.ndarray, first_row: int = 0, linear: np.ndarray | None = None) -> np.ndarray:
        inputs = self.spec.kind.keras_inputs(rows)
        if self.reads_linear:  # each row is a sequence of one output: its sample of the path's output beside it
            inputs = [inputs, np.asarray(linear, np.float32)[:, None, None]]
        outputs = self.model.predict(inputs, batch_size=4096, verbose=0)
        return np.asarray(outputs).reshape(len(rows), -1)


def render_file(model_path, song_path, out_path, format: str | None = None, rate: int | None = None,
                window: int | None = None, reference=None, progress: bool = False, resample: bool = True,
                companion: bool = False, knob=None) -> dict:
    """Render an audio file through a saved model into `out_path`, as long as the song, at its rate.

    The output's kind follows `out_path`'s extension, or the song's kind; its sample format is the
    song's, where that kind stores it. Streams: the song is read block by block and rendered
    straight into the output file, so memory stays flat however long the song. A song at another
    rate than the model's is converted to the model's rate, rendered and converted back (unless
    `resample` is False: then it is refused). fit.py and gen.py both render through here, from
    the saved file, so their bytes agree. With `reference`, also scores the written output (after
    its own rounding) against that file. `knob`: a knob model's value, or (start, end) to sweep it
    across the song (see knob.py); a knob model needs it, and any other model refuses it.
    """
    started = time.perf_counter()
    network, spec, record = load_network(model_path)
    if window is not None and window != spec.window:
        raise ArgumentError("window", window, f"{model_path} was trained on windows of {spec.window}",
                            f"drop the argument or give {spec.window}")
    song = (open_companion if companion else open_audio)(song_path, format, rate)  # companion: beside a raw pair
    if song.rate != spec.rate and not resample:
        raise refusal(song_path, song.rate, f"{model_path} was trained at", spec.rate)
    target = open_companion(reference, format, rate) if reference else None
    if target is not None and len(target) != len(song):
        raise DataError(reference, f"has {len(target)} samples but {song_path} has {len(song)}",
                        "give the reference rendering of the same song")
    samples = round(len(song) * spec.rate / song.rate)  # at the model's rate
    network = kinds.of_model(spec.mode, record).turned(network, knob, model_path, samples)  # a knob model's setting
    network = _engine(network, spec, model_path, samples)

    container = output_container(out_path, song.container)
    out_format = stored_format(container, song.format)
    score = _ReferenceScore(target, container, out_format) if target is not None else None
    with audio_sink(out_path, out_format, song.rate, len(song), container) as sink, \
            progress_bar(len(song), progress) as bar:
        for output in _render_at_model_rate(network, spec, song):
            sink.write(output)
            if score is not None:
                score.add(output)
            bar.update(len(output))
    seconds = time.perf_counter() - started
    stats = {"samples": len(song), "audio_seconds": song.seconds, "seconds": seconds,
             "realtime_factor": song.seconds / seconds if seconds else float("inf"),
             "rate": song.rate, "model_rate": spec.rate, "resampled": song.rate != spec.rate,
             "container": container, "format": out_format, "engine": getattr(network, "engine", "keras")}
    if score is not None:
        from neural_filter import metrics  # noqa: PLC0415 - SciPy's signal, 1 s: only gen.py --reference pays it

        stats["reference_esr"], stats["reference_esr_db"] = score.esr()
        stats["reference_floor_db"] = score.floor_db()
        stats["reference_verdict"] = metrics.verdict(stats["reference_esr_db"], stats["reference_floor_db"])
        stats["training_floor_db"] = (record.get("metrics") or {}).get("floor_db")  # None: saved before issue 23
    return stats


# The compiled engine costs a fixed start-up (importing llvmlite and loading the cached loop), then
# less than NumPy per activation; NumPy's extra cost per activation, in ns, is measured by
# `bench/engines.py` (fastest of 5 renders of a 3-minute song each, on the 2-core development
# machine, 2026-11-26). NumPy's own float32 tanh is vectorised, so a tanh costs NumPy hardly more
# than the loop; gelu takes many passes. Activations measured by neither cost what exp-based passes
# cost (tanh's, before it was NumPy's own). Below the start-up a song renders sooner with NumPy
# alone: a chunk 6x32 tanh model up to about 4 minutes of 44.1 kHz audio, gelu about 20 s, a
# sliding 6x32 tanh model about 25 s (7 hidden layers of 32, as fit.py 6 32). (The tanh figure
# varies from run to run, 0.07 to 0.21 ns: the larger is taken.) It also spares
# short songs the compiled engine's memory (llvmlite's 55 MB) and, on the first run after
# installing, the loop's compilation (2 s).
COMPILED_START_UP_NS = 50e6
NUMPY_EXTRA_NS = {"tanh": 0.2, "gelu": 2.2, "linear": 0.0}
OTHER_NUMPY_EXTRA_NS = 0.7


def _engine(network: DenseStack, spec: FilterSpec, model_path, samples: int):
    """The network as it will render `samples` samples: NumPy or the compiled loop, or Keras for what they lack."""
    if network.numpy_ready:
        return network.with_engine(engine_for(network, spec, samples))
    import keras  # noqa: PLC0415 - 6-8 s, for the rare activation NumPy lacks: never on gen.py's common path

    return KerasRows(keras.models.load_model(model_path, compile=False), spec, getattr(network, "long_path", None))


def engine_for(network: DenseStack, spec: FilterSpec, samples: int) -> str:
    """The engine to render `samples` samples (at the model's rate) with: NumPy for little work, else the compiled loop.

    A function of the model and the length alone, so that every render of the same song through
    the same model (fit.py's and gen.py's) takes the same engine and gives the same bytes.
    """
    rows = spec.kind.row_count(samples, spec.window)
    per_row = sum(layer.kernel.shape[1] * NUMPY_EXTRA_NS.get(layer.activation, OTHER_NUMPY_EXTRA_NS)
                  for layer in network.layers)
    return "numpy" if rows * per_row <= COMPILED_START_UP_NS else "compiled"


def _render_at_model_rate(network, spec: FilterSpec, song):
    """The song's blocks through the network at the model's rate: converted there and back if the song's differs.

    The conversion is streamed too; its output is trimmed (or, by a sample, padded with silence)
    to exactly the song's length.
    """
    blocks = song.blocks(READ_SAMPLES)
    if song.rate == spec.rate:
        yield from render_blocks(network, spec, blocks)
        return
    at_model_rate = resample_blocks(blocks, song.rate, spec.rate)
    back = resample_blocks(render_blocks(network, spec, at_model_rate), spec.rate, song.rate)
    yield from exact_length(back, len(song))


class _ReferenceScore:
    """The ESR of the output as written (after its own rounding) against a reference file, block by block,
    and the reference's floor (its own rounding's share of its power, as fir.rounding_share reads it)."""

    def __init__(self, target, container: str, format: str):
        self.target, self.container, self.format = target, container, format
        self.position = 0
        self.error_energy = self.target_energy = self.target_sum = 0.0
        self.step = float("inf")

    def add(self, output: np.ndarray) -> None:
        from neural_filter.fir import smallest_step  # noqa: PLC0415 - SciPy, 1 s: only gen.py --reference pays it

        heard = as_stored(output, self.container, self.format).astype(np.float64)  # a lossy kind: before its encoder
        wanted = self.target.samples(self.position, len(output)).astype(np.float64)
        self.error_energy += float(np.dot(heard - wanted, heard - wanted))
        self.target_energy += float(np.dot(wanted, wanted))
        self.target_sum += float(wanted.sum())
        self.step = min(self.step, smallest_step(wanted) or float("inf"))
        self.position += len(output)

    def floor_db(self) -> float:
        from neural_filter import metrics  # noqa: PLC0415 - SciPy's signal, 1 s: only gen.py --reference pays it
        from neural_filter.fir import share_of_step  # noqa: PLC0415 - the same

        mean = self.target_sum / self.position if self.position else 0.0
        power = self.target_energy / self.position - mean**2 if self.position else 0.0
        return metrics.decibels(share_of_step(self.step if self.step < float("inf") else 0.0, power))

    def esr(self) -> tuple[float, float]:
        from neural_filter import metrics  # noqa: PLC0415 - SciPy's signal, 1 s: only gen.py --reference pays it

        ratio = self.error_energy / self.target_energy if self.target_energy else float("inf")
        return ratio, metrics.decibels(ratio)


READ_SAMPLES = 1 << 20  # samples read from the song at a time: 4 MB of float32, many row groups for the threads
