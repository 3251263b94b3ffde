"""Rendering: full-scale samples in, the network's full-scale samples out, exactly as many.

The signal is cut into rows of `window` samples (chunk mode: consecutive chunks, the last one padded
with silence; sliding mode: one window per output sample, a strided view, never copied whole) and
the rows go through the network in fixed blocks, so memory stays bounded and any caller that
renders the same samples gets the same numbers.
"""

import concurrent.futures
import os
import threading

import numpy as np
import threadpoolctl
from numpy.lib.stride_tricks import sliding_window_view

from neural_filter.network import DenseStack, FilterSpec

BLOCK_ROWS = 16384  # rows per network call: large enough for fast matrix products, small for memory


def render(network, spec: FilterSpec, samples: np.ndarray) -> np.ndarray:
    """Run full-scale `samples` through `network` (rows -> rows); return full-scale float32, same length."""
    return np.concatenate([np.empty(0, np.float32), *render_blocks(network, spec, [samples])])


def render_blocks(network, spec: FilterSpec, blocks):
    """Stream version of `render`: full-scale blocks in, full-scale blocks out, same total length.

    Rows reach the network in groups of BLOCK_ROWS counted from the start of the signal, whatever
    the input blocks are, so rendering in blocks gives the same bytes as rendering in one pass.
    """
    network = on_full_scale(network, spec)
    workspaces = threading.local()  # each thread's own, reused from block to block

    def workspace_for(rows: int):
        if not isinstance(network, DenseStack):
            return None
        if getattr(workspaces, "rows", None) != rows:
            workspaces.rows, workspaces.arrays = rows, network.workspace(rows)
        return workspaces.arrays
    window, chunked = spec.window, spec.mode == "chunk"
    before, after = (0, 0) if chunked else spec.padding
    pending = np.zeros(before, np.float32)  # input not yet turned into output, after the silence before it
    remaining = 0  # chunk mode: samples of pending that are real, for trimming the padded last chunk

    def flush(final: bool):
        nonlocal pending
        step = window if chunked else 1  # input samples consumed per row
        rows_ready = (len(pending) // window) if chunked else max(len(pending) - window + 1, 0)
        if not final:
            rows_ready -= rows_ready % BLOCK_ROWS
        if rows_ready == 0:
            return np.empty(0, np.float32)
        if chunked:
            rows = pending[: rows_ready * window].reshape(rows_ready, window)  # (chunks, window)
        else:
            rows = sliding_window_view(pending[: rows_ready + window - 1], window)  # (samples, window), a view
        outputs = np.empty((rows_ready, window if chunked else 1), np.float32)

        def apply(start):
            block = np.ascontiguousarray(rows[start : start + BLOCK_ROWS])
            outputs[start : start + BLOCK_ROWS] = network(block, workspace_for(len(block)))

        list(pool.map(apply, range(0, rows_ready, BLOCK_ROWS)))
        pending = pending[rows_ready * step :]
        return outputs.reshape(-1)

    # The activations, where most of the time goes, run on one core each: groups of rows in threads
    # use them all, each thread's matrix products then single-threaded (two thread pools competing
    # for the same cores ran at a third of the speed).
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, \
            threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        for block in blocks:
            remaining += len(block)
            pending = np.concatenate([pending, np.asarray(block, np.float32)])
            output = flush(final=False)
            remaining -= len(output)
            yield output
        silence = (-len(pending)) % window if chunked else after  # pad the last chunk, or the window's future
        pending = np.concatenate([pending, np.zeros(silence, np.float32)])
        yield flush(final=True)[:remaining]


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


READ_SAMPLES = 1 << 18  # samples read from the song at a time: a megabyte of float32
