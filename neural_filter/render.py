"""Rendering: full-scale samples in, the network's full-scale samples out, exactly as many.

The signal is cut into rows of `window` samples (chunk mode: consecutive chunks, the last one padded
with silence; sliding mode: one window per output sample, a strided view, never copied whole) and
the rows go through the network in fixed blocks, so memory stays bounded and any caller that
renders the same samples gets the same numbers.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neural_filter.network import FilterSpec

BLOCK_ROWS = 16384  # rows per network call: large enough for fast matrix products, small for memory


def render(network, spec: FilterSpec, samples: np.ndarray) -> np.ndarray:
    """Run full-scale `samples` through `network` (rows -> rows); return full-scale float32, same length."""
    scale, offset = (np.float32(value) for value in spec.scale_offset)
    count = len(samples)
    rows = _rows(samples.astype(np.float32) * scale + offset, spec, offset)
    outputs = np.empty((len(rows), spec.window if spec.mode == "chunk" else 1), dtype=np.float32)
    for start in range(0, len(rows), BLOCK_ROWS):
        outputs[start : start + BLOCK_ROWS] = network(np.ascontiguousarray(rows[start : start + BLOCK_ROWS]))
    result = outputs.reshape(-1)[:count]
    return (result - offset) / scale


def _rows(signal: np.ndarray, spec: FilterSpec, silence: np.float32) -> np.ndarray:
    if spec.mode == "chunk":
        chunks = -(-len(signal) // spec.window)
        padded = np.full(chunks * spec.window, silence, dtype=np.float32)
        padded[: len(signal)] = signal
        return padded.reshape(chunks, spec.window)  # (chunks, window)
    before, after = spec.padding
    padded = np.concatenate([np.full(before, silence, np.float32), signal, np.full(after, silence, np.float32)])
    return sliding_window_view(padded, spec.window)  # (samples, window), a view


def keras_rows_function(model, spec: FilterSpec):
    """Rows -> rows through a Keras model: the fallback for activations NumPy does not know."""

    def apply(rows: np.ndarray) -> np.ndarray:
        inputs = rows if spec.mode == "chunk" else rows[:, :, None]  # (rows, window, 1) for Conv1D
        return np.asarray(model.predict(inputs, batch_size=4096, verbose=0)).reshape(len(rows), -1)

    return apply


def render_file(model_path, song_path, out_path, format: str | None = None, rate: int | None = None,
                window: int | None = None) -> dict:
    """Render an audio file through a saved model into `out_path`, same kind and length as the song.

    fit.py and gen.py both render through here, from the saved file, so their bytes agree.
    """
    import time

    from neural_filter.audio import read_audio, write_audio
    from neural_filter.errors import ArgumentError
    from neural_filter.network import load_network

    started = time.perf_counter()
    network, spec, _ = load_network(model_path)
    if window is not None and window != spec.window:
        raise ArgumentError(f"samples {window}: {model_path} was trained on windows of {spec.window}; "
                            f"drop the argument or give {spec.window}")
    song = read_audio(song_path, format, rate)
    if not network.numpy_ready:
        import keras

        network = keras_rows_function(keras.models.load_model(model_path, compile=False), spec)
    output = render(network, spec, song.samples)
    write_audio(out_path, output, song.format, song.rate, container=song.container)
    seconds = time.perf_counter() - started
    return {"samples": len(song.samples), "audio_seconds": song.seconds, "seconds": seconds,
            "realtime_factor": song.seconds / seconds if seconds else float("inf")}
