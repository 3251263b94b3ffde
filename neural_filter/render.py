"""Rendering: full-scale samples in, the network's full-scale samples out, exactly as many.

The signal is cut into rows of `window` samples (chunk mode: consecutive chunks, the last one padded
with silence; sliding mode: one window per output sample, a strided view, never copied whole) and
the rows go through the network in fixed blocks, so memory stays bounded and any caller that
renders the same samples gets the same numbers.
"""

import concurrent.futures
import contextlib
import os
import threading

import numpy as np
import threadpoolctl
from numpy.lib.stride_tricks import sliding_window_view

from neural_filter.network import DenseStack, FilterSpec

BLOCK_ROWS = 4096  # rows per network call: enough for fast matrix products, few enough that a layer fits in cache


def render(network, spec: FilterSpec, samples: np.ndarray) -> np.ndarray:
    """Run full-scale `samples` through `network` (rows -> rows); return full-scale float32, same length."""
    return np.concatenate([np.empty(0, np.float32), *render_blocks(network, spec, [samples])])


def render_blocks(network, spec: FilterSpec, blocks):
    """Stream version of `render`: full-scale blocks in, full-scale blocks out, same total length.

    Rows reach the network in groups of BLOCK_ROWS counted from the start of the signal, whatever
    the input blocks are, so rendering in blocks gives the same bytes as rendering in one pass.
    Each block's rows are handed to the worker threads before the previous block's output is
    given back, so the caller's reading, encoding and writing overlap the network's work.
    """
    network = on_full_scale(network, spec)
    window, chunked = spec.window, spec.mode == "chunk"
    step = window if chunked else 1  # input samples consumed per row
    before, after = (0, 0) if chunked else spec.padding
    pending = np.zeros(before, np.float32)  # input not yet turned into rows, after the silence before it
    workspaces = threading.local()  # each worker thread's own, reused from group to group

    def apply(rows, outputs, start):
        group = np.ascontiguousarray(rows[start : start + BLOCK_ROWS])
        workspace = None
        if isinstance(network, DenseStack):
            if getattr(workspaces, "rows", None) != len(group):
                workspaces.rows, workspaces.arrays = len(group), network.workspace(len(group))
            workspace = workspaces.arrays
        outputs[start : start + BLOCK_ROWS] = network(group, workspace)

    def submit(final: bool):
        """Hand the rows of `pending` that are ready to the workers: (outputs to be, their futures)."""
        nonlocal pending
        rows_ready = (len(pending) // window) if chunked else max(len(pending) - window + 1, 0)
        if not final:
            rows_ready -= rows_ready % BLOCK_ROWS
        outputs = np.empty((rows_ready, window if chunked else 1), np.float32)
        if rows_ready == 0:
            return outputs, []
        if chunked:
            rows = pending[: rows_ready * window].reshape(rows_ready, window)  # (chunks, window)
        else:
            rows = sliding_window_view(pending[: rows_ready + window - 1], window)  # (samples, window), a view
        futures = [pool.submit(apply, rows, outputs, start) for start in range(0, rows_ready, BLOCK_ROWS)]
        pending = pending[rows_ready * step :]  # a new view: the workers' rows stay as they are
        return outputs, futures

    def finished(job) -> np.ndarray:
        outputs, futures = job
        for future in futures:
            future.result()
        return outputs.reshape(-1)

    samples_in = 0

    def jobs():
        """Each block's ready rows handed to the workers, then the rest, padded with silence."""
        nonlocal pending, samples_in
        for block in blocks:
            samples_in += len(block)
            pending = np.concatenate([pending, np.asarray(block, np.float32)])
            yield submit(final=False)
        silence = (-len(pending)) % window if chunked else after  # pad the last chunk, or the window's future
        pending = np.concatenate([pending, np.zeros(silence, np.float32)])
        yield submit(final=True)

    # The activations, where most of the time goes, run on one core each: groups of rows in threads
    # use them all, each thread's matrix products then single-threaded (two thread pools competing
    # for the same cores ran at a third of the speed).
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, \
            threadpoolctl.threadpool_limits(limits=1, user_api="blas"), \
            contextlib.ExitStack() as on_early_exit:
        # A caller that stops reading (an error writing, Ctrl-C) should not wait for queued work.
        on_early_exit.callback(pool.shutdown, wait=False, cancel_futures=True)
        samples_out, previous = 0, None
        for job in jobs():  # the next block goes to the workers before the previous one is handed back
            if previous is not None:
                output = finished(previous)
                samples_out += len(output)
                yield output
            previous = job
        yield finished(previous)[: samples_in - samples_out]  # chunk mode: the padded last chunk's silence cut


def on_full_scale(network, spec: FilterSpec):
    """`network` as a function of full-scale rows, giving full-scale rows: the model's levels applied."""
    if isinstance(network, DenseStack):
        return network.on_full_scale(spec)  # folded into the weights: no passes over the audio
    scale, offset = (np.float32(value) for value in spec.scale_offset)
    return lambda rows, workspace=None: (network(rows * scale + offset) - offset) / scale


def keras_rows_function(model, spec: FilterSpec):
    """Rows -> rows through a Keras model: the fallback for activations NumPy does not know."""

    def apply(rows: np.ndarray) -> np.ndarray:
        inputs = rows if spec.mode == "chunk" else rows[:, :, None]  # (rows, window, 1) for Conv1D
        return np.asarray(model.predict(inputs, batch_size=4096, verbose=0)).reshape(len(rows), -1)

    return apply


def render_file(model_path, song_path, out_path, format: str | None = None, rate: int | None = None,
                window: int | None = None, reference=None, progress: bool = False) -> dict:
    """Render an audio file through a saved model into `out_path`, same kind and length as the song.

    Streams: the song is memory-mapped and rendered block by block straight into the output file,
    so memory stays flat however long the song. fit.py and gen.py both render through here, from
    the saved file, so their bytes agree. With `reference`, also scores the written output (after
    its own rounding) against that file.
    """
    import time

    from neural_filter.audio import audio_sink, decode, encode, open_audio
    from neural_filter.cli import progress_bar
    from neural_filter.errors import ArgumentError, DataError
    from neural_filter.network import load_network

    started = time.perf_counter()
    network, spec, _ = load_network(model_path)
    if window is not None and window != spec.window:
        raise ArgumentError(f"samples {window}: {model_path} was trained on windows of {spec.window}; "
                            f"drop the argument or give {spec.window}")
    song = open_audio(song_path, format, rate)
    target = open_audio(reference, format, rate) if reference else None
    if target is not None and len(target) != len(song):
        raise DataError(reference, f"has {len(target)} samples but {song_path} has {len(song)}",
                        "give the reference rendering of the same song")
    if not network.numpy_ready:
        import keras

        network = keras_rows_function(keras.models.load_model(model_path, compile=False), spec)

    error_energy = target_energy = 0.0
    with audio_sink(out_path, song.format, song.rate, len(song), song.container) as sink, \
            progress_bar(len(song), progress) as bar:
        position = 0
        for output in render_blocks(network, spec, song.blocks(READ_SAMPLES)):
            sink.write(output)
            if target is not None:
                heard = decode(encode(output, song.format), song.format).astype(np.float64)
                wanted = target.samples(position, len(output)).astype(np.float64)
                error_energy += float(np.dot(heard - wanted, heard - wanted))
                target_energy += float(np.dot(wanted, wanted))
            position += len(output)
            bar.update(len(output))
    seconds = time.perf_counter() - started
    stats = {"samples": len(song), "audio_seconds": song.seconds, "seconds": seconds,
             "realtime_factor": song.seconds / seconds if seconds else float("inf")}
    if target is not None:
        from neural_filter import metrics

        stats["reference_esr"] = error_energy / target_energy if target_energy else float("inf")
        stats["reference_esr_db"] = metrics.decibels(stats["reference_esr"])
    return stats


READ_SAMPLES = 1 << 20  # samples read from the song at a time: 4 MB of float32, many row groups for the threads
