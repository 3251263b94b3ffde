"""Sliding mode end to end: block rendering equals one-pass rendering bit for bit, the window's
alignment is where FilterSpec.padding says, the least-squares FIR recovers a known FIR exactly, and
fit.py trained on a pure FIR target reaches the 8-bit floor, with gen.py reproducing its render.

The rendering tests need NumPy only; the training tests run fit.py and gen.py in this process.
"""

import concurrent.futures
import dataclasses
import json
import os
import re
import threading

import numpy as np
import pytest
from scipy import signal

from conftest import one_line

import fit
import gen

from neural_filter import audio, fir, metrics, model_file, render, synth
from neural_filter.network import Dense, DenseStack
from neural_filter.spec import FilterSpec

RATE = 44100
ROWS = render.BLOCK_ROWS  # rows per network call


def random_stack(window, outputs, seed, linear_path):
    """A small tanh network with random weights (and a random FIR beside it)."""
    rng = np.random.default_rng(seed)

    def dense(inputs, units, activation):
        return Dense(rng.normal(0, 1 / np.sqrt(inputs), (inputs, units)).astype(np.float32),
                     rng.normal(0, 0.1, units).astype(np.float32), activation)

    layers = [dense(window, 8, "tanh"), dense(8, 8, "tanh"), dense(8, outputs, "linear")]
    return DenseStack(layers, dense(window, 1, "linear") if linear_path else None)


def noise(count, seed=2):
    return np.random.default_rng(seed).uniform(-1, 1, count).astype(np.float32)


def split(samples, sizes):
    """`samples` cut into blocks of the given sizes, repeated until it is used up."""
    blocks, start, index = [], 0, 0
    while start < len(samples):
        size = sizes[index % len(sizes)]
        blocks.append(samples[start : start + size])
        start, index = start + size, index + 1
    return blocks


# --- block rendering equals one-pass rendering --------------------------------------------------

SPECS = [
    FilterSpec(mode="chunk", window=9, levels="unit"),  # the original's chunks
    FilterSpec(mode="sliding", window=16, align="causal", levels="signed"),  # 15 samples of past
    FilterSpec(mode="sliding", window=16, align="centre", levels="signed"),  # 7 of past, 8 of future
    FilterSpec(mode="sliding", window=9, align="centre", levels="unit"),  # 4 and 4, silence at 128/255
]
SPEC_IDS = ["chunk9", "causal16", "centre16", "centre9-unit"]


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("length, sizes", [
    (0, [1]),  # nothing: no blocks at all, or one empty block
    (1, [1]),  # one sample: shorter than any window
    (5, [2, 1]),  # shorter than the window, in uneven blocks
    (9, [4]),  # exactly one chunk of 9
    (16, [16]),  # exactly one sliding window
    (100, [1]),  # sample by sample; 100 is no multiple of 9 or 16
    (1001, [7, 0, 300]),  # odd blocks, an empty one among them
    (2 * ROWS + 123, [ROWS - 1, ROWS + 3]),  # sliding: blocks just off the network's row groups
    (2 * ROWS + 123, [5000, 1, 12345]),
    (9 * ROWS + 40, [65537, 9 * 1001]),  # chunk: more rows than one network call
])
def test_blocks_give_the_same_bytes_as_one_pass(spec, length, sizes):
    stack = random_stack(spec.window, spec.window if spec.mode == "chunk" else 1, seed=4,
                         linear_path=spec.mode == "sliding")
    samples = noise(length)
    whole = render.render(stack, spec, samples)
    streamed = list(render.render_blocks(stack, spec, split(samples, sizes)))
    assert whole.dtype == np.float32 and whole.shape == (length,)
    assert sum(len(block) for block in streamed) == length
    joined = np.concatenate(streamed)
    assert joined.dtype == np.float32 and joined.tobytes() == whole.tobytes()


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("length", [1, 5, 9, 16, 17, 1001])
def test_one_pass_is_the_network_on_each_padded_window(spec, length):
    """What render promises, computed here the plain way: every row through the network at once."""
    chunked = spec.mode == "chunk"
    stack = random_stack(spec.window, spec.window if chunked else 1, seed=5, linear_path=not chunked)
    samples = noise(length, seed=length)
    scale, offset = spec.scale_offset
    if chunked:
        chunks = -(-length // spec.window)
        padded = np.full(chunks * spec.window, offset, np.float32)  # the last chunk filled with silence
        padded[:length] = samples * scale + offset
        expected = stack(padded.reshape(chunks, spec.window)).reshape(-1)[:length]
    else:
        before, after = spec.padding
        padded = np.concatenate([np.full(before, offset), samples * scale + offset, np.full(after, offset)])
        rows = np.lib.stride_tricks.sliding_window_view(padded.astype(np.float32), spec.window)
        assert rows.shape == (length, spec.window)
        expected = stack(np.ascontiguousarray(rows)).reshape(-1)
    np.testing.assert_allclose(render.render(stack, spec, samples), (expected - offset) / scale, rtol=0, atol=1e-6)


def test_streaming_emits_output_as_rows_fill_up():
    """Memory stays bounded: full groups of rows come out as blocks complete them, one block behind
    (the workers compute a block while the caller writes the one before), the rest at the end."""
    spec = FilterSpec(mode="sliding", window=16, levels="signed")
    stack = random_stack(16, 1, seed=6, linear_path=True)
    events = []

    def song():
        for block in split(noise(3 * (ROWS + 1000)), [ROWS + 1000]):
            events.append("in")
            yield block

    for output in render.render_blocks(stack, spec, song()):
        events.append(len(output))
    # 15 samples of silence + ROWS + 1000 give ROWS + 1000 rows: one group out, 1000 rows kept for
    # the next block (ROWS + 2000 rows: one group again, and again), and the last 3000 at the end
    assert events == ["in", "in", ROWS, "in", ROWS, ROWS, 3000]


def test_a_caller_that_stops_reading_leaves_no_queued_work_behind(monkeypatch):
    """gen.py failing to write, or a Ctrl-C, must not wait for every queued row group to finish.

    The second block's groups wait at a gate that opens only once the render has cancelled what
    was queued, so that only the groups a worker had taken by then run at all: what the test counts
    does not depend on how fast the machine is, or how loaded.
    """
    groups = 30 + 2 * (os.cpu_count() or 1)  # a block's groups: more than twice the workers, on any machine
    second_block = groups * ROWS
    gate, lock, calls, workers = threading.Event(), threading.Lock(), {"first": 0, "second": 0}, []

    class GatedPool(concurrent.futures.ThreadPoolExecutor):
        def __init__(self, max_workers=None, **options):
            workers.append(max_workers)
            super().__init__(max_workers, **options)

        def shutdown(self, wait=True, *, cancel_futures=False):
            super().shutdown(wait=False, cancel_futures=cancel_futures)
            gate.set()  # what was queued is cancelled: the groups held at the gate may finish
            super().shutdown(wait=wait)

    def gated_network(rows, first_row=0):  # a rows function; render passes where the rows are
        block = "first" if first_row < second_block else "second"
        with lock:
            calls[block] += 1
        if block == "second":
            gate.wait()
        return rows

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", GatedPool)
    spec = FilterSpec(mode="chunk", window=1, levels="signed")
    blocks = render.render_blocks(gated_network, spec, split(noise(2 * second_block), [second_block]))
    assert len(next(blocks)) == second_block  # the first block out; the second's groups queued behind it
    blocks.close()
    assert calls["first"] == groups
    assert calls["second"] <= workers[0] < groups  # at most one a worker: those it held when the caller stopped


# --- alignment: a pure delay shifts exactly as FilterSpec.padding says -------------------------


def delay_network(window, tap):
    """A sliding network with no layers and an FIR that takes the input at one position of the window."""
    taps = np.zeros(window, np.float32)
    taps[tap] = 1.0
    return fir.fir_network(taps, 0.0)


@pytest.mark.parametrize("window, align, before", [
    (16, "causal", 15),  # the output is the window's last sample
    (16, "centre", 7),  # an even window: one more sample of future than of past
    (9, "causal", 8),
    (9, "centre", 4),  # an odd window: the true centre
    (1, "causal", 0),  # a window of one sample: no padding at all
])
@pytest.mark.parametrize("levels", ["signed", "unit"])  # unit: silence is 128/255, and must decode back to 0
def test_impulse_comes_out_where_padding_says(window, align, before, levels):
    spec = FilterSpec(mode="sliding", window=window, align=align, levels=levels)
    assert spec.padding == (before, window - 1 - before)
    length = 50
    for tap in range(window):  # tap k weighs the input (before - k) samples before the output
        stack = delay_network(window, tap)
        assert stack.layers == [] and stack.linear_path is not None
        for where in (0, 20, length - 1):  # at the very start, inside, at the very end
            impulse = np.zeros(length, np.float32)
            impulse[where] = 0.5
            out = render.render(stack, spec, impulse)
            assert out.shape == (length,)
            expected = np.zeros(length, np.float32)
            if 0 <= where + before - tap < length:  # shifted past an end: gone
                expected[where + before - tap] = 0.5
            np.testing.assert_allclose(out, expected, rtol=0, atol=1e-7, err_msg=f"tap {tap}, impulse at {where}")


def test_causal_window_never_looks_ahead():
    """Causal: whatever the taps, changing a sample changes no output before it."""
    spec = FilterSpec(mode="sliding", window=16, align="causal", levels="signed")
    stack = random_stack(16, 1, seed=8, linear_path=True)
    samples = noise(200)
    changed = samples.copy()
    changed[120] += 0.5
    first, second = render.render(stack, spec, samples), render.render(stack, spec, changed)
    np.testing.assert_array_equal(first[:120], second[:120])
    assert np.all(first[120:136] != second[120:136])  # and the window's 16 outputs all see it


# --- the least-squares FIR -----------------------------------------------------------------------


def fir_target(taps, before, count, seed):
    """x and y = sum_k taps[k] x[t - before + k], built with lfilter; x is silent for a window at
    both ends and has zero mean, so the normal equations hold exactly (no edge, no mean terms)."""
    window = len(taps)
    rng = np.random.default_rng(seed)
    inner = rng.uniform(-0.8, 0.8, count)
    x = np.concatenate([np.zeros(window), inner - inner.mean(), np.zeros(window)])
    causal = signal.lfilter(taps[::-1], 1, x)  # output at the window's last sample
    return x, np.roll(causal, -(window - 1 - before))  # earlier by the window's future; wraps only silence


KNOWN_TAPS = [
    np.array([0.3, -0.2, 0.05, 0.9, -0.4, 0.1, 0.0, 0.25, -0.6, 0.15, 0.2, 0.0, -0.05, 0.33, 0.7, -0.1]),  # uneven
    np.concatenate([np.zeros(8), signal.firwin(8, 0.2)]),  # the window's first half unused: exact zeros
]


@pytest.mark.parametrize("taps", KNOWN_TAPS, ids=["random-16", "lowpass-8-in-16"])
@pytest.mark.parametrize("align", ["causal", "centre"])
def test_least_squares_fir_recovers_known_taps(taps, align):
    before = FilterSpec(mode="sliding", window=16, align=align).padding[0]
    x, y = fir_target(taps, before, 40000, seed=3)
    found, bias = fir.least_squares_fir(x, y, 16, before)
    assert found.dtype == np.float32 and found.shape == (16,)
    np.testing.assert_allclose(found, taps, rtol=0, atol=1e-5)
    assert abs(bias) < 1e-5


@pytest.mark.parametrize("align", ["causal", "centre"])
def test_least_squares_fir_agrees_with_the_renderer(align):
    """The FIR start's convention is render's: render a known FIR, solve, get the taps back."""
    spec = FilterSpec(mode="sliding", window=16, align=align, levels="signed")
    taps = KNOWN_TAPS[0].astype(np.float32)
    x = np.concatenate([np.zeros(16, np.float32), noise(30000, seed=9), np.zeros(16, np.float32)])
    x[16:-16] -= x[16:-16].mean()
    y = render.render(fir.fir_network(taps, 0.0), spec, x)
    found, bias = fir.least_squares_fir(x, y, 16, spec.padding[0])
    np.testing.assert_allclose(found, taps, rtol=0, atol=1e-5)
    assert abs(bias) < 1e-5


def test_least_squares_fir_on_plain_noise_is_close():
    """Real data has edges and a mean: the Toeplitz solution is then near, not exact."""
    taps = KNOWN_TAPS[0]
    rng = np.random.default_rng(4)
    x = rng.uniform(-0.8, 0.8, 44100) + 0.01  # a little DC, as u8 data has
    y = signal.lfilter(taps[::-1], 1, x) + 0.002
    found, bias = fir.least_squares_fir(x, y, 16, 15)
    np.testing.assert_allclose(found, taps, rtol=0, atol=1e-3)
    assert bias == pytest.approx(0.002, abs=1e-3)


# --- fit.py on a pure FIR target, and gen.py after it --------------------------------------------

TARGET_TAPS = signal.firwin(8, 0.2)  # a causal 8-tap low-pass: inside both a causal and a centred window of 16
SONG_SAMPLES = 3001  # not a multiple of 16
FIT = ["1", "8", "16", "tanh", "adam", "0", "16", "3", "--mode", "sliding", "--no-plot"]


@pytest.fixture(scope="module")
def fir_pair(tmp_path_factory):
    """One second of u8 noise and the same noise through an 8-tap FIR, rounded to u8; a u8 song."""
    directory = tmp_path_factory.mktemp("fir")
    rng = np.random.default_rng(11)
    dry = audio.decode(audio.encode(rng.uniform(-0.8, 0.8, RATE), "u8"), "u8").astype(np.float64)
    exact = signal.lfilter(TARGET_TAPS, 1, dry)
    audio.write_audio(directory / "train_x.raw", dry, "u8", RATE)
    audio.write_audio(directory / "train_y.raw", exact, "u8", RATE)
    audio.write_audio(directory / "song.raw", rng.uniform(-0.6, 0.6, SONG_SAMPLES), "u8", RATE)
    target = audio.decode(np.fromfile(directory / "train_y.raw", np.uint8), "u8")
    validation = slice(RATE - round(RATE * 0.1), RATE)  # fit.py's default --val 0.1: the last tenth
    floor = metrics.esr(exact[validation], target[validation])  # the u8 rounding of the target itself
    return directory, floor


def fit_in(directory, argv, monkeypatch, capsys):
    """fit.py in `directory`: (its record, the model's path, stdout)."""
    monkeypatch.chdir(directory)
    status = fit.run(argv)
    out, err = capsys.readouterr()
    assert (status, err) == (0, ""), err
    saved = re.search(r"^saved (\S+\.keras)$", out, re.MULTILINE)
    path = directory / saved.group(1)
    return json.loads(path.with_suffix(".json").read_text()), path, out


@pytest.mark.parametrize("align, suffix", [
    ("causal", "_sliding"),  # the window ends at the output
    ("centre", "_sliding_centre"),  # half the window is future, unused by this target
])
def test_fit_on_a_fir_target_reaches_the_u8_floor(fir_pair, monkeypatch, capsys, tmp_path, align, suffix):
    directory, floor = fir_pair
    record, path, out = fit_in(directory, [*FIT, "--align", align], monkeypatch, capsys)
    assert path.stem == f"tanh_adam_1_8_16_16_3{suffix}_a{record['metrics']['score']:+.1f}"  # the ESR in dB, as printed
    assert 1e-4 < floor < 1.2e-4  # u8 rounding: (1/128)^2 / 12 over the target's power
    # the least-squares FIR start is (nearly) the target; training keeps it unless it finds better
    esr = record["metrics"]["esr"]
    assert esr < 1.5 * floor and esr < 2.5e-4, (esr, floor)  # was 2e-3 while validation started from silence
    assert record["metrics"]["dry_esr"] > 5  # doing nothing is far off: the FIR delays and low-passes
    assert record["spec"] == {"mode": "sliding", "window": 16, "align": align, "levels": "signed", "rate": RATE}

    # gen.py reads the spec from the model alone and renders fit.py's bytes, as long as the song
    stack, spec, _ = model_file.load_network(path)
    assert (spec.mode, spec.window, spec.align, spec.levels) == ("sliding", 16, align, "signed")
    assert len(stack.layers) == 3  # hidden_0, hidden_1, output
    # the linear path is the long one, read off the pair: this FIR fits in the shortest tried; the stack reads its
    # output, and a window-long correction trains beside it (format 4)
    assert stack.long_path.length == 64 == record["linear_path"]["taps"] and stack.linear_path.kernel.shape == (16, 1)
    assert stack.reads_linear and stack.from_linear.shape == (8,) and stack.layers[0].activation == "tanh"
    assert record["linear_path"]["before"] == (63 if align == "causal" else 31) and record["format"] == 5  # as 4
    monkeypatch.chdir(tmp_path)
    status = gen.run([str(path), str(directory / "song.raw"), "--out", "out.raw"])
    assert (status, capsys.readouterr().err) == (0, "")
    rendered = (tmp_path / "out.raw").read_bytes()
    assert len(rendered) == SONG_SAMPLES
    assert rendered == path.with_suffix(".raw").read_bytes()
    # and the render is the filter: within two u8 steps of the exact FIR of the song everywhere
    song = audio.decode(np.fromfile(directory / "song.raw", np.uint8), "u8").astype(np.float64)
    exact = signal.lfilter(TARGET_TAPS, 1, song)
    assert np.abs(audio.decode(np.frombuffer(rendered, np.uint8), "u8") - exact).max() < 2 / 128

    # the window given to gen.py must be the model's
    status = gen.run([str(path), str(directory / "song.raw"), "9", "--out", "nine.raw"])
    assert status == 2
    assert one_line(capsys.readouterr().err) == (f"gen.py: samples 9: {path} was trained on windows of 16; "
                                                 "drop the argument or give 16")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.raw"]


def test_fit_without_the_fir_start_still_learns(fir_pair, monkeypatch, capsys):
    directory, _ = fir_pair
    record, _, _ = fit_in(directory, [*FIT, "--no-fir-start", "--learning-rate", "0.01"], monkeypatch, capsys)
    metrics_ = record["metrics"]
    assert metrics_["improvement_db"] > 10  # three epochs from zero: about 14 dB better than doing nothing
    assert metrics_["esr"] > 0.01  # yet far from the FIR start's floor: the flag was obeyed
    losses = record["history"]["val_loss"]
    assert len(losses) == 3 and losses[-1] < losses[0] / 2  # the rate decays along a cosine: the last epoch is slow


def test_no_fir_start_starts_the_linear_path_at_zero(fir_pair, monkeypatch, capsys):
    """fit.py --help: "start the linear path at zero, not at the least-squares FIR" (it started at random)."""
    directory, _ = fir_pair
    frozen = ["1", "8", "16", "tanh", "adam", "0", "16", "1", "--mode", "sliding", "--no-plot", "--learning-rate", "0"]
    record, path, _ = fit_in(directory, [*frozen, "--no-fir-start"], monkeypatch, capsys)
    assert record["best_epoch"] == 0  # nothing moved: the saved weights are the starting ones
    stack, _, _ = model_file.load_network(path)
    assert stack.linear_path.kernel.shape == (16, 1)
    assert not stack.linear_path.kernel.any() and not stack.linear_path.bias.any()
    assert stack.layers[-1].kernel.any()  # the stack keeps its random start: it is what learns


def test_with_nothing_held_out_training_never_hands_back_worse_than_its_start():
    """--val 0: the training data judge the start against the last epoch (here a rate that only does harm)."""
    from neural_filter import dataset, train
    from neural_filter.settings import TrainSettings

    rng = np.random.default_rng(3)
    x = synth.white_noise(1, RATE, rng).astype(np.float32)
    y = synth.audacity_lowpass(x, 2000, 6, RATE).astype(np.float32)
    prepared = dataset.Prepared(x, y, x[:0], y[:0], RATE)
    spec = FilterSpec(mode="sliding", window=32, levels="signed")
    settings = TrainSettings(layers=1, units=8, batch_size=8, activation="tanh", epochs=2, linear_path=True,
                             learning_rate=0.3, cosine=False)
    result = train.train(prepared, spec, settings)
    assert result.best_epoch == 0
    assert result.metrics["esr"] == pytest.approx(result.start_metrics["esr"], rel=1e-6)


def test_a_start_that_gives_nan_is_refused_not_called_at_the_floor(monkeypatch):
    """A start whose outputs are NaN scored -inf dB, "at the floor", and was saved untrained (a relu
    state-space cell over a long burn-in did it): now training refuses it before it begins."""
    from neural_filter import dataset, train
    from neural_filter.errors import TrainingDivergedError
    from neural_filter.settings import TrainSettings

    rng = np.random.default_rng(3)
    x = synth.white_noise(1, RATE, rng).astype(np.float32)
    y = synth.audacity_lowpass(x, 2000, 6, RATE).astype(np.float32)
    prepared = dataset.Prepared(x, y, x[:0], y[:0], RATE)
    spec = FilterSpec(mode="sliding", window=32, levels="signed")
    settings = TrainSettings(layers=1, units=8, batch_size=8, activation="tanh", epochs=2, linear_path=True)
    start = spec.kind.start

    def blown_up(model, *arguments):
        start(model, *arguments)
        last = model.trainable_weights[-1]
        last.assign(np.full(last.shape, np.nan, np.float32))

    monkeypatch.setattr(type(spec.kind), "start", lambda self, model, *arguments: blown_up(model, *arguments))
    with pytest.raises(TrainingDivergedError) as refused:
        train.train(prepared, spec, settings)
    assert refused.value.epoch == 0
    assert str(refused.value).startswith("training diverged before it began: the model's start gives NaN")
    resumed = spec.kind.build(spec, dataclasses.replace(settings, linear_path=False))  # a broken file's model
    blown_up(resumed, prepared, spec, dataclasses.replace(settings, linear_path=False))
    with pytest.raises(TrainingDivergedError, match="the model to resume gives NaN.*train a new model instead"):
        train.train(prepared, spec, settings, model=resumed)
