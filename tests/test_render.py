"""Rendering's parts on their own: framing (no threads), the one-ahead pipeline, per-thread workspaces."""

import threading

import numpy as np
import pytest

from neural_filter import render
from neural_filter.network import Dense, DenseStack
from neural_filter.spec import FilterSpec


def split(signal, sizes):
    blocks, start = [], 0
    for size in sizes:
        blocks.append(signal[start : start + size])
        start += size
    return blocks + [signal[start:]]


SIGNAL = np.arange(1, 24, dtype=np.float32)  # 23 samples: no multiple of 2, 4 or 5


@pytest.mark.parametrize("sizes", [[], [5], [5, 6], [1] * 22, [0, 23]])  # one block, several, empty ones
def test_chunk_frames_are_the_chunks_with_the_last_padded(sizes):
    spec = FilterSpec(mode="chunk", window=4)
    frames = list(render.frames(spec, split(SIGNAL, sizes), group_rows=2))
    rows = np.concatenate([rows for rows, _ in frames])
    np.testing.assert_array_equal(rows.ravel(), np.concatenate([SIGNAL, [0]]))  # 6 chunks, one sample of silence
    assert sum(keep for _, keep in frames) == len(SIGNAL)  # that silence's output is not kept
    assert all(len(rows) % 2 == 0 for rows, _ in frames[:-1])  # whole groups but the last


@pytest.mark.parametrize("align", ["causal", "centre"])
@pytest.mark.parametrize("sizes", [[], [7], [3, 3, 3], [1] * 22])
def test_sliding_frames_are_every_window_of_the_padded_signal(align, sizes):
    spec = FilterSpec(mode="sliding", window=5, align=align)
    frames = list(render.frames(spec, split(SIGNAL, sizes), group_rows=4))
    rows = np.concatenate([rows for rows, _ in frames])
    padded = spec.pad(SIGNAL)
    expected = np.stack([padded[start : start + 5] for start in range(len(SIGNAL))])
    np.testing.assert_array_equal(rows, expected)
    assert [keep for _, keep in frames] == [len(rows) for rows, _ in frames]
    assert all(len(rows) % 4 == 0 for rows, _ in frames[:-1])


def test_one_ahead_starts_the_next_item_before_finishing_the_last():
    calls = []
    results = render.one_ahead([1, 2, 3], lambda item: calls.append(f"start {item}") or item,
                               lambda item: calls.append(f"finish {item}") or item * 10)
    assert list(results) == [10, 20, 30]
    assert calls == ["start 1", "start 2", "finish 1", "start 3", "finish 2", "finish 3"]


def test_each_thread_has_its_own_workspace():
    rng = np.random.default_rng(0)
    stack = DenseStack([Dense(rng.standard_normal((4, 8), dtype=np.float32), np.zeros(8, np.float32), "relu"),
                        Dense(rng.standard_normal((8, 1), dtype=np.float32), np.zeros(1, np.float32))])
    inputs = [rng.standard_normal((64, 4), dtype=np.float32) for _ in range(2)]
    expected = [stack(rows).copy() for rows in inputs]
    results, barrier = [None, None], threading.Barrier(2)

    def work(index):
        result = stack(inputs[index])
        barrier.wait()  # both threads have computed before either reads: a shared array would be overwritten
        results[index] = result.copy()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, wanted in zip(results, expected):
        np.testing.assert_array_equal(got, wanted)
