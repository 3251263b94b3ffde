"""A sliding stack that reads its long linear path's output (format 4): its NumPy render against Keras's, in blocks
and in one pass, through Keras's fallback; and the path's length and the window notice judged after a curve of it."""

import dataclasses

import keras
import numpy as np
import pytest

from neural_filter import audio, kinds, linear_path, model_file, render, synth
from conftest import assert_keras_renders_what_numpy_does
from neural_filter.linear_path import LinearPath, taps_before
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec

RATE = 44100


def built_and_saved(tmp_path, spec: FilterSpec, seed: int = 3):
    """A sliding model beside a 300-tap path (longer than its window), every weight random; its file and its path."""
    rng = np.random.default_rng(seed)
    built = kinds.by_mode("sliding").build(spec, TrainSettings(layers=1, units=8, activation="tanh", linear_path=True))
    for layer in built.layers:
        if layer.weights:
            fan_in = int(np.prod(layer.weights[0].shape[:-1]))
            layer.set_weights([rng.normal(0, 1.5 / np.sqrt(fan_in), weight.shape).astype(np.float32)
                               for weight in layer.get_weights()])
    length = 300
    path = LinearPath((rng.standard_normal(length) / np.sqrt(length)).astype(np.float32), 0.05,
                      taps_before(length, spec.align))
    saved = model_file.save_model(built, tmp_path / "m.keras", {"format": model_file.FORMAT,
                                                               "spec": dataclasses.asdict(spec),
                                                               "linear_path": path.record()}, path)
    return built, saved, path


def keras_render(built, spec: FilterSpec, path: LinearPath, samples: np.ndarray) -> np.ndarray:
    """What fit.py's Keras model gives over the whole signal: the stack's output (from the network's levels) plus the
    path's."""
    linear = path.filter(samples)
    before, after = spec.padding
    padded = np.concatenate([np.zeros(before, np.float32), samples, np.zeros(after, np.float32)])
    stack = built.predict([spec.to_network(padded)[None, :, None], linear[None, :, None]], verbose=0).reshape(-1)
    return spec.from_network(stack) + linear


@pytest.mark.parametrize("align, levels", [
    ("causal", "signed"),  # the README's
    ("centre", "signed"),  # the path reads the future as much as the window
    ("causal", "unit"),  # the levels folded into the first layer, the path's output not
])
def test_the_numpy_render_is_keras_s_and_blocks_do_not_change_its_bytes(tmp_path, align, levels):
    spec = FilterSpec(mode="sliding", window=8, align=align, levels=levels)
    built, saved, path = built_and_saved(tmp_path, spec)
    network, loaded, record = model_file.load_network(saved)
    assert loaded == spec and network.reads_linear and network.long_path.record() == path.record()
    assert np.array_equal(network.long_path.taps, path.taps)
    assert network.from_linear.shape == (8,) and network.layers[0].activation == "tanh"
    samples = np.random.default_rng(7).uniform(-0.9, 0.9, 9000).astype(np.float32)
    whole = render.render(network, spec, samples)
    assert whole.dtype == np.float32 and whole.shape == samples.shape
    np.testing.assert_allclose(whole, keras_render(built, spec, path, samples), rtol=0, atol=2e-5)
    assert np.abs(whole - render.render(dataclasses.replace(network, from_linear=None), spec, samples)).max() > 0.05
    cuts = [0, 1, 4100, 4101, 8990, len(samples)]  # blocks of 1, 4099, 1, 4889 and 10 samples
    blocks = render.render_blocks(network, spec, [samples[start:end] for start, end in zip(cuts, cuts[1:])])
    assert np.concatenate(list(blocks)).tobytes() == whole.tobytes()


def test_an_activation_only_keras_knows_renders_through_keras_with_the_path_s_output(tmp_path, monkeypatch):
    spec = FilterSpec(mode="sliding", window=8, levels="signed")
    _, saved, _ = built_and_saved(tmp_path, spec, seed=5)
    samples = np.random.default_rng(8).uniform(-0.9, 0.9, 3000).astype(np.float32)
    assert_keras_renders_what_numpy_does(saved, samples, tmp_path, monkeypatch, RATE)


def test_the_old_window_long_path_reads_nothing():
    """--no-fir-start builds the window-long path inside the model, trained from zero: one input, as before."""
    spec = FilterSpec(mode="sliding", window=8)
    built = kinds.by_mode("sliding").build(spec, TrainSettings(layers=1, units=4, activation="tanh", linear_path=True,
                                                    fir_start=False))
    assert len(built.inputs) == 1 and "from_linear" not in [layer.name for layer in built.layers]
    assert isinstance(built.get_layer("hidden_0"), keras.layers.Conv1D)


def test_a_curve_after_a_slow_filter_gets_a_long_path_and_no_window_notice():
    """tanh after a 200 Hz 24 dB/octave low-pass: a stack that reads the path's output makes the curve at its own
    sample, so what counts is the filter's length. Judged against the curve (curve blind), the path stopped at 512
    taps, and its truncation read as a window of 1024 (fit.py's notice); judged after the best curve of its output,
    the path is 1024 long and the window of 64 holds what is left."""
    x = synth.white_noise(6.0, RATE, np.random.default_rng(1))
    x, y = (audio.decode(audio.encode(part.astype(np.float32), "s16le"), "s16le")
            for part in (x, np.tanh(3 * synth.audacity_lowpass(x, 200, 24, RATE))))
    blind = linear_path.fit(x, y, RATE, causal)
    assert blind.length == 512 and linear_path.stack_window(x, y, blind, RATE, 64, causal).length == 1024
    path = linear_path.fit(x, y, RATE, causal, curve=True)
    assert path.length == 1024 and linear_path.stack_window(x, y, path, RATE, 64, causal).length == 64


def causal(length):
    return length - 1


@pytest.mark.parametrize("recipe, level_said", [
    (["--cutoff", "600"], False),  # a linear filter: a song louder than the pair meets nothing the pair did not show
    (["--cutoff", "2000", "--rolloff", "24", "--drive", "10", "--noise", "pink"], True),  # a curve: it drives it further
])
def test_a_song_louder_than_the_pair_is_said_only_where_levels_matter(cwd, recipe, level_said):
    import make_data

    from neural_filter import fitting

    assert make_data.run(["--seconds", "3", "--song-seconds", "1", *recipe]) == 0
    tone = 0.99 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)  # held at -3 dB RMS: louder than any noise's 100 ms
    audio.write_audio("song.raw", tone, "u8", RATE)
    lines = []
    settings = TrainSettings(layers=1, units=4, batch_size=8, activation="tanh", epochs=1, linear_path=True)
    fitting.fit(fitting.FitRequest(settings=settings, mode="sliding", window=64, plot=False, song="song.raw"),
                inform=lines.append)
    said = [line for line in lines if line.startswith("the validation score is the pair's")]
    assert len(said) == level_said and (not said or "RMS over 100 ms" in said[0])
