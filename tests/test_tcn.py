"""The tcn kind (kinds/tcn.py): its dilations, its NumPy render against Keras, rendering in blocks,
and fit.py and gen.py with --mode tcn end to end (names, results.csv, resume, refusals).

The dilation and render tests need NumPy only; the Keras comparison builds a model with random
weights; the end-to-end tests run fit.py and gen.py in this process on the conftest pair.
"""

import csv
import json
import re

import numpy as np
import pytest

from conftest import one_line, split

import fit
import gen

from neural_filter import model_file, render, synth
from neural_filter.kinds import tcn
from neural_filter.network import Dense
from neural_filter.spec import FilterSpec

# --- the dilations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("window, layers, dilations", [
    (64, 6, [1, 2, 4, 8, 16, 32]),  # the README's window: doubling all the way
    (7, 6, [1, 1, 1, 1, 1, 1]),  # the shortest: one step a layer
    (9, 6, [1, 2, 2, 1, 1, 1]),  # fit.py's default window: doubling stops where the rest needs a step each
    (100, 7, [1, 2, 4, 8, 16, 32, 36]),  # the last layer takes what is left
    (2, 1, [1]),  # one layer of two taps
    (8192, 13, [2 ** layer for layer in range(13)]),  # a long filter's window
])
def test_the_dilations_make_the_window(window, layers, dilations):
    assert tcn.dilations(window, layers) == dilations


@pytest.mark.parametrize("layers", range(1, 10))
def test_every_window_the_layers_reach_is_made_without_a_gap(layers):
    for window in range(layers + 1, 2 ** layers + 1):
        chosen = tcn.dilations(window, layers)
        reachable = {0}  # the past offsets an output reads: every sum of a subset of the dilations
        for dilation in chosen:
            reachable |= {offset + dilation for offset in reachable}
        assert reachable == set(range(window)), (window, chosen)


@pytest.mark.parametrize("window, layers", [
    (65, 6),  # one past what 6 layers reach
    (6, 6),  # shorter than one step a layer
    (1, 1),
])
def test_a_window_the_layers_cannot_make_is_refused(window, layers):
    with pytest.raises(tcn.Unmakeable):
        tcn.dilations(window, layers)


# --- the NumPy render ------------------------------------------------------------------------------


def random_stack(window, layers, units, seed=3, linear_path=True, activation="tanh", curves=True) -> tcn.TcnStack:
    """A stack with random weights; with a linear path, its last layer reads the path's output too; with curves,
    the curve branch (three tanh curves and two relu hinges) beside it, and with both the after-branch."""
    rng = np.random.default_rng(seed)

    def dense(inputs, outputs, activation="linear"):
        return Dense(rng.normal(0, 1 / np.sqrt(inputs), (inputs, outputs)).astype(np.float32),
                     rng.normal(0, 0.1, outputs).astype(np.float32), activation)

    stack = tcn.TcnStack(dense(1, units), [dense(tcn.KERNEL * units, units, activation) for _ in range(layers)],
                         tcn.dilations(window, layers), [dense(units, units) for _ in range(layers - 1)],
                         [dense(units, 1) for _ in range(layers)], dense(window, 1) if linear_path else None,
                         rng.normal(0, 1, units).astype(np.float32) if linear_path else None)
    if not curves:
        return stack
    return tcn.TcnStack(*(getattr(stack, field) for field in ("rechannel", "hidden", "dilations", "mixes", "skips",
                                                              "linear_path", "from_linear")),
                        [dense(1, 3, "tanh"), dense(1, 2, "relu")], dense(window * 5, 1),
                        [dense(1, 2, "tanh"), dense(1, 3, "relu")] if linear_path else [],
                        dense(5, 1) if linear_path else None)


def reference(stack: tcn.TcnStack, samples: np.ndarray) -> np.ndarray:
    """The stack as written in the module's docstring, in float64, one output at a time over the padded signal."""
    padded = np.concatenate([np.zeros(stack.window - 1), samples]).astype(np.float64)
    units = stack.rechannel.kernel.shape[1]
    signal = np.outer(padded, stack.rechannel.kernel[0]) + stack.rechannel.bias  # (time, units)
    output = np.zeros(len(samples))
    linear = np.zeros(len(samples))
    if stack.linear_path is not None:
        windows = np.lib.stride_tricks.sliding_window_view(padded, stack.window)
        linear = windows @ stack.linear_path.kernel[:, 0] + stack.linear_path.bias[0]
    for index, (layer, dilation) in enumerate(zip(stack.hidden, stack.dilations)):
        width = len(signal) - dilation
        before = signal[:width] @ layer.kernel[:units] + signal[dilation:] @ layer.kernel[units:] + layer.bias
        if stack.from_linear is not None and index == len(stack.hidden) - 1:
            before += np.outer(linear, stack.from_linear)  # the last layer reads the linear path's output
        hidden = np.tanh(before)
        output += (hidden @ stack.skips[index].kernel)[width - len(samples):, 0] + stack.skips[index].bias[0]
        if index < len(stack.mixes):
            signal = signal[dilation:] + hidden @ stack.mixes[index].kernel + stack.mixes[index].bias
    def curves_of(signal, layers):  # (time, curves)
        return np.concatenate([{"tanh": np.tanh, "relu": lambda value: np.maximum(value, 0)}[layer.activation](
            np.outer(signal, layer.kernel[0]) + layer.bias) for layer in layers], axis=1)

    if stack.after_curves:  # curves of the linear path's output, mixed
        output += (curves_of(linear, stack.after_curves) @ stack.after_mix.kernel)[:, 0] + stack.after_mix.bias[0]
    if stack.curves:  # each curve of every sample, through its own FIR (tap k of curve c: row k * curves + c)
        curves = curves_of(padded, stack.curves)
        windows = np.lib.stride_tricks.sliding_window_view(curves, stack.window, axis=0)  # (outputs, curves, window)
        taps = stack.curve_fir.kernel[:, 0].reshape(stack.window, -1)  # (window, curves)
        output += np.einsum("ocw,wc->o", windows, taps) + stack.curve_fir.bias[0]
    return output + linear


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
@pytest.mark.parametrize("window, layers, linear_path, curves", [
    (64, 6, False, True),  # the README's shape, the curve branch beside it (format 4)
    (64, 6, True, False),  # format 3's: the window-long FIR beside it, read by the last layer
    (9, 6, False, False),  # dilations that do not double all the way; the stack alone
    (3, 2, True, True),
])
def test_the_render_is_the_stack_on_every_output(engine, window, layers, linear_path, curves):
    stack = random_stack(window, layers, 8, linear_path=linear_path, curves=curves).with_engine(engine)
    samples = np.random.default_rng(5).uniform(-1, 1, 5000).astype(np.float32)
    spec = FilterSpec(mode="tcn", window=window, levels="signed")
    rendered = render.render(stack, spec, samples)
    assert rendered.dtype == np.float32 and rendered.shape == samples.shape
    np.testing.assert_allclose(rendered, reference(stack, samples), rtol=0, atol=2e-5)


SEGMENT = tcn.segment_length(64)


@pytest.mark.parametrize("length, sizes", [
    (0, [1]),  # nothing
    (1, [1]),  # one sample: shorter than the window
    (63, [5, 2]),  # shorter than the window, in uneven blocks
    (SEGMENT, [SEGMENT]),  # exactly one segment
    (SEGMENT + 1, [1]),  # sample by sample, one past a segment
    (3 * SEGMENT + 17, [SEGMENT - 1, 0, SEGMENT + 63]),  # blocks just off the segments, an empty one among them
    (5 * SEGMENT + 5, [12345, 7]),
])
def test_blocks_give_the_same_bytes_as_one_pass(length, sizes):
    stack = random_stack(64, 6, 8).with_engine("numpy")
    spec = FilterSpec(mode="tcn", window=64, levels="signed")
    samples = np.random.default_rng(2).uniform(-1, 1, length).astype(np.float32)
    whole = render.render(stack, spec, samples)
    blocks = list(render.render_blocks(stack, spec, split(samples, sizes)))
    assert len(whole) == length
    assert np.concatenate([np.empty(0, np.float32), *blocks]).tobytes() == whole.tobytes()


def test_unit_levels_render_through_the_levels_map():
    stack, spec = random_stack(16, 4, 8).with_engine("numpy"), FilterSpec(mode="tcn", window=16, levels="unit")
    samples = np.random.default_rng(4).uniform(-1, 1, 3000).astype(np.float32)
    # the network sees sample * scale + offset, the past's silence at the offset too
    direct = spec.from_network(stack.segment(spec.to_network(spec.pad(samples))))
    np.testing.assert_allclose(render.render(stack, spec, samples), direct, rtol=0, atol=1e-5)


def test_a_tcn_model_saved_in_format_3_renders_as_it_did():
    """A model saved before the curve branch and the long linear path (its linear path window-long, inside the
    Keras model, read by its last layer): the SHA-256 of its float32 render with each engine, recorded then."""
    from tests.fixtures.tcn_format_3 import expected_renders

    assert model_file.read_record(expected_renders.MODEL)["format"] == 3
    assert expected_renders.renders() == json.loads((expected_renders.HERE / "expected_renders.json").read_text())


# --- against Keras ---------------------------------------------------------------------------------


def test_a_saved_model_renders_as_keras_predicts(tmp_path):
    from neural_filter.settings import TrainSettings

    spec = FilterSpec(mode="tcn", window=64, levels="signed")
    keras_model = spec.kind.build(spec, TrainSettings(layers=6, units=8, activation="tanh", linear_path=True))
    rng = np.random.default_rng(1)
    keras_model.set_weights([rng.normal(0, 0.3, weight.shape).astype(np.float32)
                             for weight in keras_model.get_weights()])
    path = model_file.save_model(keras_model, tmp_path / "tcn.keras", {"spec": {"mode": "tcn", "window": 64,
                                                                                "align": "causal", "levels": "signed",
                                                                                "rate": 44100}})
    network, loaded_spec, _ = model_file.load_network(path)
    assert (loaded_spec, network.window, network.dilations) == (spec, 64, [1, 2, 4, 8, 16, 32])
    samples = rng.uniform(-1, 1, 10000).astype(np.float32)
    predicted = np.asarray(keras_model.predict(spec.pad(samples)[None, :, None], verbose=0)).ravel()
    for engine in ("numpy", "compiled"):
        rendered = render.render(network.with_engine(engine), spec, samples)
        np.testing.assert_allclose(rendered, predicted, rtol=0, atol=1e-5 * np.abs(predicted).max())


# --- fit.py and gen.py -----------------------------------------------------------------------------

FIT = ["2", "8", "16", "tanh", "adam", "1", "4", "2", "--mode", "tcn", "--no-plot"]  # window 4: dilations 1, 2


def test_fit_trains_names_records_and_renders_a_tcn_model_gen_renders_the_same(workdir, capsys):
    assert fit.run(FIT) == 0
    out, err = capsys.readouterr()
    assert err == ""
    path = workdir / re.search(r"^saved (\S+\.keras)$", out, re.MULTILINE).group(1)
    record = json.loads(path.with_suffix(".json").read_text())
    assert path.name == f"tanh_adam_2_8_16_4_2_tcn_a{record['metrics']['score']:+.1f}.keras"
    assert record["spec"]["mode"] == "tcn" and record["settings"]["linear_path"] is True
    assert record["metrics"]["esr"] < record["metrics"]["dry_esr"]  # it learned something
    with open(workdir / "models" / "results.csv", newline="") as file:
        assert [row["model"] for row in csv.DictReader(file)] == [path.stem]

    assert gen.run([str(path), "song.raw", "--out", "again.raw"]) == 0
    assert capsys.readouterr().err == ""
    assert (workdir / "again.raw").read_bytes() == path.with_suffix(".raw").read_bytes()

    # resumed: the same kind, and what was typed must describe it
    assert fit.run([*FIT[:7], "1", "--mode", "tcn", "--no-plot", "--resume", str(path)]) == 0
    assert "saved" in capsys.readouterr().out
    assert fit.run([*FIT[:7], "1", "--mode", "sliding", "--no-plot", "--resume", str(path)]) == 2
    assert one_line(capsys.readouterr().err) == (f"fit.py: --mode sliding: the model to resume, {path}, has tcn; "
                                                 "give the arguments it was trained with")


@pytest.mark.parametrize("argv, line", [
    (["6", "8", "16", "tanh", "adam", "1", "128", "1", "--mode", "tcn"],
     "fit.py: samples 128: is longer than 6 dilated layers of 2 taps reach (64 samples; a tcn model's window is its "
     "receptive field); give at least 7 layers, or a window from 7 to 64"),
    (["6", "8", "16", "tanh", "adam", "1", "5", "1", "--mode", "tcn"],
     "fit.py: samples 5: is shorter than 6 dilated layers of 2 taps reach (7 samples at least; a tcn model's window "
     "is its receptive field); give a window from 7 to 64, or fewer layers"),
    (["2", "8", "16", "tanh", "adam", "1", "4", "1", "--mode", "tcn", "--align", "centre"],
     "fit.py: --align centre: is not for a tcn model: its convolutions are causal; drop it, or train with --mode "
     "sliding"),
    (["2", "8", "16", "tanh", "adam", "1", "4", "1", "--mode", "tcn", "--no-fir-start", "--linear-taps", "300"],
     "fit.py: --no-fir-start: gives the window-long linear path trained from zero, not the long one --linear-taps is "
     "the length of; drop one of the two"),
    (["2", "8", "16", "tanh", "adam", "1", "4", "1", "--mode", "tcn", "--pairs", "pairs.csv"],  # the knob is sliding
     "fit.py: --mode tcn: is not for a knob model (--pairs): one is a sliding model at signed levels whose linear "
     "path starts at each pair's least-squares FIR, trained anew; drop it, or train on one pair"),
])
def test_what_a_tcn_model_is_not_is_one_line_and_exit_status_2_with_nothing_written(workdir, capsys, argv, line):
    before = sorted(path.name for path in workdir.iterdir())
    assert fit.run(argv) == 2
    assert one_line(capsys.readouterr().err) == line
    assert sorted(path.name for path in workdir.iterdir()) == before


def test_a_tcn_model_has_the_long_linear_path_its_length_as_given_and_resumed_with_it(workdir, capsys):
    assert fit.run([*FIT, "--linear-taps", "300", "--quiet"]) == 0
    assert "  linear path: 300 taps (6.8 ms), as --linear-taps gave\n" in capsys.readouterr().out
    (path,) = (workdir / "models").glob("*.keras")
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["format"] == 5 and record["linear_path"]["taps"] == 300 and record["linear_path"]["before"] == 299
    stack, _, _ = model_file.load_network(path)
    assert stack.long_path.length == 300 and stack.linear_path.kernel.shape == (4, 1)  # the long path; the window's
    assert [layer.activation for layer in stack.curves] == ["tanh", "relu"] and stack.curve_fir is not None
    assert gen.run([str(path), "song.raw", "--out", "again.raw", "--quiet"]) == 0
    assert (workdir / "again.raw").read_bytes() == path.with_suffix(".raw").read_bytes()

    assert fit.run([*FIT[:7], "1", "--mode", "tcn", "--no-plot", "--quiet", "--resume", str(path)]) == 0
    (resumed,) = set((workdir / "models").glob("*.keras")) - {path}
    assert json.loads(resumed.with_suffix(".json").read_text())["linear_path"] == record["linear_path"]


# --- a curve before the filter ---------------------------------------------------------------------


def curve_then_lowpass(directory, seconds=2.0, drive=10.0, cutoff=2000.0, rate=44100, seed=11, format="u8",
                       rolloff=24):
    """A pair whose effect is a tanh curve on every input sample, then a low-pass (24 dB/octave): the shape the
    sliding stack cannot make with few units (issue 20). Writes train_x.raw and train_y.raw."""
    from neural_filter import audio

    dry = synth.pink_noise(seconds, rate, np.random.default_rng(seed))
    gain = 10 ** (drive / 20)
    wet = synth.audacity_lowpass(np.tanh(gain * dry) / np.tanh(gain), cutoff, rolloff, rate)
    audio.write_audio(directory / "train_x.raw", dry.astype(np.float32), format, rate)
    audio.write_audio(directory / "train_y.raw", (0.9 * wet / np.abs(wet).max()).astype(np.float32), format, rate)


def test_a_curve_before_the_filter_is_a_pair_no_linear_filter_makes(tmp_path):
    """(The pair the README's tcn figures were measured on, 30 s of it: the training takes minutes, not a test's.)"""
    from neural_filter import audio, fir, metrics

    curve_then_lowpass(tmp_path)
    x, y = (audio.read_audio(tmp_path / name).samples for name in ("train_x.raw", "train_y.raw"))
    taps, bias = fir.least_squares_fir(x, y, 64, 63)
    linear = render.render(fir.fir_network(taps, bias), FilterSpec(mode="sliding", window=64, levels="signed"), x)
    floor = (1 / 128) ** 2 / 12 / np.var(y)  # u8 rounding against the target's power
    assert metrics.decibels(metrics.esr(linear, y)) > metrics.decibels(floor) + 15


def test_the_curve_branch_starts_at_the_curve_then_filter_pair_s_floor(tmp_path, monkeypatch, capsys):
    """A tanh curve, then a 6 dB/octave low-pass (its response within the window), at 16 bits: the branch's
    least-squares start alone scores within 3 dB of the pair's floor (the epoch run is kept only if better).
    (With the 24 dB/octave low-pass, whose response outlasts the window, it starts at -66 dB.)"""
    curve_then_lowpass(tmp_path, seconds=3.0, format="s16le", rolloff=6)
    (tmp_path / "song.raw").write_bytes((tmp_path / "train_x.raw").read_bytes()[: 2 * 4410])
    monkeypatch.chdir(tmp_path)
    assert fit.run(["6", "8", "16", "tanh", "adam", "1", "64", "1", "--mode", "tcn", "--format", "s16le",
                    "--no-plot", "--quiet"]) == 0
    capsys.readouterr()
    (path,) = (tmp_path / "models").glob("*.keras")
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["start"]["esr_db"] < record["metrics"]["floor_db"] + 3, record["metrics"]
    assert record["metrics"]["esr_db"] < -80


def test_a_sweep_over_sliding_and_tcn_prunes_the_windows_tcn_layers_cannot_make(workdir, capsys):
    import sweep
    from neural_filter import study

    status = sweep.run(["--trials", "4", "--mode", "sliding,tcn", "--layers", "2", "--units", "4", "--batches", "8",
                        "--samples", "3,8", "--activator", "tanh", "--optimiser", "adam", "--epoches", "1",
                        "--no-plot"])
    out = capsys.readouterr().out
    assert status == 0, out
    the_study = study.open_study(study.default_storage("models"), study.DEFAULT_STUDY, create=False)
    assert len(the_study.trials) == 4
    for trial in the_study.trials:
        unmakeable = trial.params["mode"] == "tcn" and int(trial.params["samples"]) == 8  # 2 layers reach 4
        assert trial.state.name == ("PRUNED" if unmakeable else "COMPLETE"), (trial.params, out)
        if unmakeable:
            assert (f"trial {trial.number}: pruned (window 8: is longer than 2 dilated layers of 2 taps reach "
                    "(4 samples; a tcn model's window is its receptive field); give at least 3 layers, or a window "
                    "from 3 to 4)") in out
        else:
            assert f"_{trial.params['mode']}_a" in trial.user_attrs["model"]  # ..._sliding_a.. or ..._tcn_a..
