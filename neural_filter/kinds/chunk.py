"""Chunk mode, the original's network: a chunk of `window` samples in, the filtered chunk out.

`Dense(units, activation)` on the chunk, `layers` more of the same, and a linear `Dense(window)`
giving the filtered chunk. The signal is cut into consecutive chunks (the last one padded with
silence, its padding's outputs dropped), so a chunk needs no context around the signal. The
training pair is split on a chunk boundary, its trailing samples that fill no chunk dropped (as in
the original), and the training chunks of x and y are shuffled in unison with a seeded generator.
"""

import numpy as np

from neural_filter.kinds.base import Kind
from neural_filter.settings import TrainSettings


class ChunkKind(Kind):
    name = mode = "chunk"
    default_levels = "unit"  # the original's byte / 255
    sweep_defaults = {"batches": "64:999", "samples": "4:32"}  # chunks per batch; the window

    def padding(self, window: int, align: str) -> tuple[int, int]:
        return 0, 0

    def outputs_per_row(self, window: int) -> int:
        return window

    def rows(self, pending: np.ndarray, window: int, group_rows: int) -> tuple[np.ndarray, np.ndarray]:
        count = len(pending) // window
        count -= count % group_rows
        return pending[: count * window].reshape(count, window), pending[count * window :]

    def final_silence(self, pending: int, window: int, after: int) -> int:
        return (-pending) % window  # the last chunk's

    def row_count(self, samples: int, window: int) -> int:
        return -(-samples // window)

    def keras_inputs(self, rows: np.ndarray) -> np.ndarray:
        return rows  # (rows, window)

    def split_unit(self, window: int) -> int:
        return window

    def smallest_part(self, window: int) -> int:
        return 1

    def arrange(self, parts: tuple, window: int, seed: int) -> tuple:
        """Each part as its chunks, (chunks, window); the training chunks shuffled, x and y alike."""
        train_x, train_y, validation_x, validation_y = parts
        order = np.random.default_rng(seed).permutation(len(train_x) // window)
        return (train_x.reshape(-1, window)[order], train_y.reshape(-1, window)[order],
                validation_x.reshape(-1, window), validation_y.reshape(-1, window))

    def model_arrays(self, x: np.ndarray, y: np.ndarray, spec, segment: int | None, past=None) -> tuple:
        return spec.to_network(x), spec.to_network(y)  # the chunks as they are

    def dry(self, inputs: np.ndarray, spec) -> np.ndarray:
        return inputs

    def build(self, spec, settings: TrainSettings):
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.model import check_activation  # noqa: PLC0415 - imports Keras, as above

        check_activation(settings.activation)
        model = keras.Sequential(name="chunk_filter")
        model.add(keras.Input(shape=(spec.window,)))  # (batch, window)
        for index in range(settings.layers + 1):
            model.add(keras.layers.Dense(settings.units, activation=settings.activation, name=f"hidden_{index}"))
        model.add(keras.layers.Dense(spec.window, name="output"))  # (batch, window)
        return model
