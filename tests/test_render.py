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


def stack_of(activation: str, units: int = 32, layers: int = 6, window: int = 9, outputs: int = 9) -> DenseStack:
    rng = np.random.default_rng(1)
    sizes = [window] + [units] * layers
    hidden = [Dense(rng.standard_normal((a, b), dtype=np.float32) / np.sqrt(a), rng.standard_normal(b, dtype=np.float32),
                    activation) for a, b in zip(sizes, sizes[1:])]
    return DenseStack(hidden + [Dense(rng.standard_normal((units, outputs), dtype=np.float32) / np.sqrt(units),
                                      np.zeros(outputs, np.float32))])


@pytest.mark.parametrize("activation, mode, window, seconds, engine", [
    ("tanh", "chunk", 9, 1, "numpy"),  # gen.py's start-up case: no llvmlite, no compiled loop
    ("tanh", "chunk", 9, 240, "numpy"),  # 4 minutes: 1.18 M rows x 192 tanh x 0.2 ns = 45 ms, under 50 ms
    ("tanh", "chunk", 9, 300, "compiled"),  # 56 ms
    ("gelu", "chunk", 9, 20, "numpy"),  # 98 k rows x 192 gelu x 2.2 ns = 41 ms
    ("gelu", "chunk", 9, 30, "compiled"),  # 62 ms
    ("gelu", "chunk", 9, 180, "compiled"),  # three minutes of gelu: 373 ms
    ("sigmoid", "chunk", 9, 60, "numpy"),  # measured by neither: 0.7 ns; 294 k rows: 40 ms
    ("sigmoid", "chunk", 9, 90, "compiled"),  # 59 ms
    ("tanh", "sliding", 64, 20, "numpy"),  # sliding: a row per sample, 882 k x 192 x 0.2 ns = 34 ms
    ("tanh", "sliding", 64, 40, "compiled"),  # 68 ms
])
def test_engine_is_chosen_by_the_work_alone(activation, mode, window, seconds, engine):
    spec = FilterSpec(mode=mode, window=window)
    stack = stack_of(activation, window=window, outputs=window if mode == "chunk" else 1)
    assert render.engine_for(stack, spec, seconds * 44100) == engine


@pytest.mark.parametrize("activation", ["tanh", "gelu", "sigmoid", "relu", "silu", "elu"])
def test_both_engines_render_alike(activation):
    """Not bit for bit (the compiled loop fuses multiply-adds), but far below any output format's step."""
    spec = FilterSpec(mode="chunk", window=9)
    stack = stack_of(activation)
    samples = np.random.default_rng(2).uniform(-1, 1, 10_001).astype(np.float32)
    compiled = render.render(stack, spec, samples)
    in_numpy = render.render(stack.with_engine("numpy"), spec, samples)
    if activation not in ("relu", "elu"):  # (those two: the same arithmetic in both)
        assert not np.array_equal(compiled, in_numpy)  # really two engines
    np.testing.assert_allclose(in_numpy, compiled, rtol=0, atol=2e-6)


def test_a_short_render_never_imports_numba(tmp_path):
    """gen.py's start-up: a one-second song renders with NumPy's engine; Numba and llvmlite stay out."""
    import subprocess
    import sys

    from conftest import ROOT
    from neural_filter import audio

    model = tmp_path / "m.keras"
    code = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
from neural_filter import model, model_file
from neural_filter.spec import FilterSpec
spec = FilterSpec(window=9)
model_file.save_model(model.build_model(spec, 2, 8, "tanh", False), __import__("pathlib").Path({str(model)!r}),
                      {{"spec": spec.__dict__}})
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    audio.write_audio(tmp_path / "song.raw", np.zeros(44100, np.float32), "u8", 44100)
    check = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
import gen
status = gen.run([{str(model)!r}, {str(tmp_path / 'song.raw')!r}, "--out", {str(tmp_path / 'out.raw')!r}, "--quiet"])
loaded = ("numba", "llvmlite", "soundfile", "soxr", "keras", "scipy")
print(status, sorted(name for name in loaded if name in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", check], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "0 []"
    assert (tmp_path / "out.raw").stat().st_size == 44100
