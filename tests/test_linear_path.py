"""The long linear path: its FFT render against a direct sum, its least-squares solve, the length read off a pair,
its model file, and what fit.py says about the window and the song."""

import subprocess
import sys
import zipfile

import numpy as np
import pytest
from scipy import linalg, signal

from conftest import ROOT
from neural_filter import audio, coverage, fir, linear_path, synth
from neural_filter.linear_path import LinearPath

RATE = 44100


def direct(path: LinearPath, x: np.ndarray) -> np.ndarray:
    """output n = bias + sum_k taps[k] x[n - before + k], silence outside x: the definition, in float64."""
    padded = np.concatenate([np.zeros(path.before), x, np.zeros(path.after)])
    return np.convolve(padded, path.taps[::-1].astype(np.float64), "valid") + path.bias


@pytest.mark.parametrize("length, before", [
    (1, 0),  # a gain
    (5, 4),  # causal, shorter than any hop
    (64, 31),  # centred: reads 32 samples of the future
    (8192, 8191),  # causal, longer than the first blocks
    (3000, 0),  # all future (an anticausal path): the last outputs read the silence after the signal
])
def test_the_fft_render_is_the_sum_and_blocks_do_not_change_its_bytes(length, before):
    rng = np.random.default_rng(length)
    path = LinearPath(rng.standard_normal(length).astype(np.float32) / np.sqrt(length), 0.125, before)
    x = rng.uniform(-1, 1, 50_001).astype(np.float32)
    whole = path.filter(x)
    assert whole.dtype == np.float32 and whole.shape == x.shape
    np.testing.assert_allclose(whole, direct(path, x), rtol=0, atol=2e-6)
    cuts = [0, 7, 1000, 1001, 30_000, len(x)]  # blocks of 7, 993, 1, 28999 and 20001 samples
    blocks = np.concatenate(list(path.stream([x[start:end] for start, end in zip(cuts, cuts[1:])])))
    assert blocks.tobytes() == whole.tobytes()


def test_a_past_is_read_instead_of_silence():
    rng = np.random.default_rng(2)
    path = LinearPath(rng.standard_normal(700).astype(np.float32), 0.0, 699)
    past, x = rng.uniform(-1, 1, 2000).astype(np.float32), rng.uniform(-1, 1, 5000).astype(np.float32)
    np.testing.assert_allclose(path.filter(x, past=past), path.filter(np.concatenate([past, x]))[2000:], atol=1e-5)


def test_summed_adds_streams_cut_differently():
    first = [np.arange(3, dtype=np.float32), np.arange(3, 10, dtype=np.float32)]
    second = [np.ones(4, np.float32), np.ones(1, np.float32), np.ones(5, np.float32)]
    assert np.concatenate(list(linear_path.summed(first, second))).tolist() == list(np.arange(10) + 1.0)


def test_the_long_solve_agrees_with_levinson(monkeypatch):
    """Past LEVINSON_LARGEST taps CG solves; here both solve 2048 taps of a pink pair's normal equations."""
    x = synth.pink_noise(3, RATE, np.random.default_rng(4))
    y = signal.lfilter(*signal.butter(2, 80, "high", fs=RATE), x)
    autocorrelation, cross, _, _ = fir.correlations(x, y, 2048, 2047)
    monkeypatch.setattr(fir, "LEVINSON_LARGEST", 1024)
    np.testing.assert_allclose(fir.solve_toeplitz(autocorrelation, cross), linalg.solve_toeplitz(autocorrelation, cross),
                               rtol=0, atol=1e-8)


@pytest.mark.parametrize("length, before", [
    (7, 6),  # causal: the rows past the end are what the autocorrelation method adds
    (7, 3),  # centred: rows before the start too
    (7, 0),  # all future: rows before the start alone
    (40, 39),
])
def test_the_exact_least_squares_is_lstsq_over_the_pair_s_outputs(length, before):
    rng = np.random.default_rng(length + before)
    x = np.cumsum(rng.standard_normal(3000)) * 0.1 + rng.standard_normal(3000)  # coloured: ill-conditioned
    y = np.convolve(x, [0.5, -0.3, 0.2], "same") + 0.01 * rng.standard_normal(3000)
    taps, bias = fir.exact_least_squares_fir(x, y, length, before)
    centred = np.concatenate([np.zeros(before), x - x.mean(), np.zeros(length - 1 - before)])
    rows = np.lib.stride_tricks.sliding_window_view(centred, length)  # one row per output of the pair
    expected = np.linalg.lstsq(rows, y - y.mean(), rcond=None)[0]
    np.testing.assert_allclose(taps, expected, rtol=0, atol=1e-6)
    assert bias == pytest.approx(y.mean() - expected.sum() * x.mean(), abs=1e-6)


def pair(cutoff, rolloff, format="u8", seconds=3.0):
    x = synth.white_noise(seconds, RATE, np.random.default_rng(1))
    y = synth.audacity_lowpass(x, cutoff, rolloff, RATE)
    return [audio.decode(audio.encode(part.astype(np.float32), format), format) for part in (x, y)]


def causal(length):
    return length - 1


@pytest.mark.parametrize("cutoff, rolloff, format, start, length, capped", [
    (100, 6, "u8", 64, 256, False),  # a one-pole at 100 Hz decays over ~50 samples: 64 cut it off, 256 hold it
    (100, 6, "u8", 512, 512, False),
    (600, 6, "u8", 64, 64, False),  # the seed's filter: 64 taps hold it as well as u8 can tell
    (600, 6, "s16le", 64, 128, False),  # ... but 16 bits tell: 128
    (2000, 24, "u8", 16, 64, False),  # a short window cuts even a fast filter
    (100, 6, "s16le", 512, 1024, False),
    (5, 6, "s16le", 16, 8192, True),  # 5 Hz rings on past the longest 3 s of data can show (a sixteenth)
])
def test_the_length_is_read_off_the_pair(cutoff, rolloff, format, start, length, capped):
    x, y = pair(cutoff, rolloff, format)
    reading = linear_path.length_of(x, y, RATE, causal, start=start)
    assert (reading.length, reading.capped) == (length, capped)


def test_a_curve_after_a_short_filter_needs_no_longer_path_nor_window():
    """A nonlinear pair: a longer FIR gains only noise against what no linear filter removes."""
    x, _ = pair(600, 6, "s16le", seconds=6.0)
    y = audio.decode(audio.encode(np.tanh(3 * synth.audacity_lowpass(x, 2000, 24, RATE)), "s16le"), "s16le")
    assert linear_path.length_of(x, y, RATE, causal).length == 64
    path = linear_path.fit(x, y, RATE, causal)
    assert linear_path.stack_window(x, y, path, RATE, 64, causal).length == 64


def test_a_curve_before_a_slow_filter_needs_a_longer_window():
    """What the path leaves of tanh then a 100 Hz one-pole is the one-pole applied to the curve: hundreds of samples."""
    x, _ = pair(600, 6, "s16le", seconds=6.0)
    y = audio.decode(audio.encode(synth.audacity_lowpass(np.tanh(3 * x), 100, 6, RATE), "s16le"), "s16le")
    path = linear_path.fit(x, y, RATE, causal)
    assert linear_path.stack_window(x, y, path, RATE, 16, causal).length > 64


def test_the_model_file_keeps_the_taps_and_gen_renders_without_scipy_or_keras(tmp_path):
    """Format 3: the stack in the Keras model, the path's taps beside it; gen.py renders it with NumPy alone."""
    model = tmp_path / "m.keras"
    code = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
import numpy as np
from neural_filter import model, model_file
from neural_filter.linear_path import LinearPath
from neural_filter.spec import FilterSpec
spec = FilterSpec(mode="sliding", window=8, levels="signed")
built = model.build_model(spec, 1, 4, "tanh")
built.get_layer("output").set_weights([np.zeros((1, 4, 1), np.float32), np.zeros(1, np.float32)])
path = LinearPath(np.linspace(-1, 1, 5000).astype(np.float32) / 2000, 0.0, 4999)
model_file.save_model(built, __import__("pathlib").Path({str(model)!r}),
                      {{"format": 3, "spec": spec.__dict__, "linear_path": path.record()}}, path)
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    song = np.random.default_rng(5).uniform(-0.5, 0.5, 30_000).astype(np.float32)
    audio.write_audio(tmp_path / "song.raw", song, "f32le", RATE)
    check = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
import gen
status = gen.run([{str(model)!r}, {str(tmp_path / 'song.raw')!r}, "--format", "f32le", "--out",
                  {str(tmp_path / 'out.raw')!r}, "--quiet"])
print(status, sorted(name for name in ("keras", "scipy") if name in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", check], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "0 []"
    rendered = np.fromfile(tmp_path / "out.raw", np.float32)
    expected = direct(LinearPath(np.linspace(-1, 1, 5000).astype(np.float32) / 2000, 0.0, 4999), song)
    np.testing.assert_allclose(rendered, expected, rtol=0, atol=1e-6)  # the stack is silent: the path alone


@pytest.mark.parametrize("highpass, song, said", [
    # the pair's pink noise peaks at 0.5: a song at 0.9 drives the target where training never went
    (None, lambda rng: synth.pink_noise(2, RATE, rng, 0.9), ["peaks at -0.9 dBFS, above the pair's -6.0 dBFS",
                                                             "holds -11.6 dB RMS over 100 ms, above the pair's loudest "
                                                             "-15.9 dB"]),
    (None, lambda rng: synth.pink_noise(2, RATE, rng, 0.5), []),  # the same noise: nothing to say
    # a 30 Hz hum, and a pair high-passed at 200 Hz: energy where the pair has next to none
    (200, lambda rng: 0.15 * np.sin(2 * np.pi * 30 * np.arange(2 * RATE) / RATE),
     ["has energy at 20-40 Hz, where the pair has next to none"]),
    (None, lambda rng: 0.15 * np.sin(2 * np.pi * 30 * np.arange(2 * RATE) / RATE), []),  # pink noise has it
    # a tone below the pair's peak, held louder than noise of that peak ever is (the chimes of bench/effects.py)
    (None, lambda rng: 0.4 * np.sin(2 * np.pi * 440 * np.arange(2 * RATE) / RATE),
     ["holds -11.0 dB RMS over 100 ms, above the pair's loudest -15.9 dB"]),
])
def test_coverage_names_what_the_song_holds_and_the_pair_does_not(highpass, song, said):
    rng = np.random.default_rng(6)
    dry = synth.pink_noise(4, RATE, rng)
    if highpass:
        dry = signal.sosfilt(signal.butter(8, highpass, "high", fs=RATE, output="sos"), dry)
    dry = 0.5 * dry / np.abs(dry).max()
    assert coverage.gaps(dry, RATE, song(rng), RATE) == said


FIT = ["1", "4", "8", "tanh", "adam", "0", "8", "1", "--no-plot", "--quiet"]


@pytest.mark.parametrize("extra, line", [
    (["--mode", "chunk"], "fit.py: --linear-taps 300: chunk models have no linear path; drop --linear-taps, or train "
                          "a sliding model"),
    (["--mode", "sliding", "--no-linear-path"], "fit.py: --no-linear-path: leaves out the linear path --linear-taps "
                                                "is the length of; drop one of the two"),
    (["--mode", "sliding", "--no-fir-start"], "fit.py: --no-fir-start: gives the window-long linear path trained from "
                                              "zero, not the long one --linear-taps is the length of; drop one of the two"),
])
def test_linear_taps_where_no_long_path_is_fitted_is_refused(workdir, capsys, extra, line):
    import fit
    from conftest import one_line

    before = sorted(entry.name for entry in workdir.iterdir())
    assert fit.run([*FIT, *extra, "--linear-taps", "300"]) == 2
    assert one_line(capsys.readouterr().err) == line
    assert sorted(entry.name for entry in workdir.iterdir()) == before


def test_linear_taps_sets_the_length_and_the_record_says_so(workdir, capsys):
    import json

    import fit
    from neural_filter import model_file

    assert fit.run([*FIT, "--mode", "sliding", "--linear-taps", "300"]) == 0
    out = capsys.readouterr().out
    assert "  linear path: 300 taps (6.8 ms), as --linear-taps gave\n" in out
    (path,) = (workdir / "models").glob("*.keras")
    record = json.loads(path.with_suffix(".json").read_text())
    assert {key: record["linear_path"][key] for key in ("taps", "before", "length_from")} == \
        {"taps": 300, "before": 299, "length_from": "given"}
    stack, _, _ = model_file.load_network(path)
    assert stack.long_path.length == 300 and stack.long_path.bias == record["linear_path"]["bias"]
    assert path.with_suffix(".raw").read_bytes() == _rendered_again(path, workdir, capsys)


def _rendered_again(path, workdir, capsys) -> bytes:
    import gen

    assert gen.run([str(path), "song.raw", "--out", "again.raw", "--quiet"]) == 0
    capsys.readouterr()
    return (workdir / "again.raw").read_bytes()


def test_a_resumed_model_keeps_its_linear_path(workdir, capsys):
    import json

    import fit

    assert fit.run([*FIT, "--mode", "sliding", "--linear-taps", "300"]) == 0
    (first,) = (workdir / "models").glob("*.keras")
    capsys.readouterr()
    assert fit.run([*FIT, "--mode", "sliding", "--resume", str(first)]) == 0
    (second,) = set((workdir / "models").glob("*.keras")) - {first}
    records = [json.loads(path.with_suffix(".json").read_text()) for path in (first, second)]
    assert records[1]["linear_path"] == records[0]["linear_path"]
    with zipfile.ZipFile(first) as one, zipfile.ZipFile(second) as other:
        assert one.read(linear_path.ENTRY) == other.read(linear_path.ENTRY)
