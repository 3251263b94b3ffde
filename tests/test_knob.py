"""The knob in NumPy (knob.py): its features, a model folded at one cutoff, and a sweep."""

import numpy as np
import pytest

from neural_filter import fir, linear_bank, render, synth
from neural_filter.errors import ArgumentError
from neural_filter.knob import Knob, KnobStack
from neural_filter.linear_path import taps_before
from neural_filter.network import Dense
from neural_filter.spec import FilterSpec

RATE = 44100
KNOTS = (200.0, 400.0, 900.0, 2000.0, 5000.0)
SPEC = FilterSpec(mode="sliding", window=256, levels="signed")


def test_features_are_one_at_their_knot_and_sum_to_one_between():
    knob = Knob(KNOTS)
    np.testing.assert_allclose(knob.features(KNOTS), np.eye(len(KNOTS)), atol=1e-6)
    between = knob.features(np.geomspace(200, 5000, 101))
    np.testing.assert_allclose(between.sum(axis=1), 1.0, atol=1e-6)  # a constant weight stays constant


def test_features_follow_a_line_in_log_frequency_exactly():
    knob = Knob(KNOTS)
    values = np.geomspace(200, 5000, 57)
    weights = np.log(KNOTS)  # one weight per knot, a line in the knot's ln: a natural spline keeps it
    np.testing.assert_allclose(knob.features(values) @ weights, np.log(values), rtol=1e-6)


@pytest.mark.parametrize("value", [199.0, 5001.0, float("nan"), float("inf")])
def test_a_value_outside_the_range_is_refused_with_the_range(value):
    with pytest.raises(ArgumentError, match=r"outside the range the model was trained on \(200 to 5000 Hz\)") as error:
        Knob(KNOTS).check(value)
    assert error.value.option == "cutoff"


def _stack(seed: int = 0, output_scale: float = 0.0, long: bool = False) -> KnobStack:
    """A knob model whose linear path at each knot is that knot's least-squares FIR, from short noise pairs:
    window-long (format 4 and before), or `long` (format 5: 2048 taps, beside the stack)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for cutoff in KNOTS:
        x = synth.white_noise(2, RATE, rng)
        pairs.append((x, synth.audacity_lowpass(x, cutoff, 6, RATE)))
    if long:
        bank = linear_bank.fit(pairs, RATE, lambda length: taps_before(length, SPEC.align), taps=2048)
    else:
        firs = [fir.least_squares_fir(x, y, SPEC.window, SPEC.padding[0]) for x, y in pairs]
        bank = Dense(np.stack([taps for taps, _ in firs], axis=1), np.array([bias for _, bias in firs], np.float32))
    hidden = Dense(rng.normal(0, 0.1, (SPEC.window, 8)).astype(np.float32), rng.uniform(-0.5, 0.5, 8).astype(np.float32),
                   "tanh")
    output = Dense((rng.normal(0, 1, (8, 1)) * output_scale).astype(np.float32), np.zeros(1, np.float32))
    offsets = [rng.normal(0, 0.3, (len(KNOTS), 8)).astype(np.float32)]
    from_linear = rng.normal(0, 0.5, 8).astype(np.float32)
    return KnobStack(Knob(KNOTS), [hidden, output], offsets, bank, from_linear, engine="numpy")


def test_at_a_knot_the_model_is_that_knots_own():
    stack = _stack(output_scale=1.0)
    folded = stack.at(KNOTS[2])
    np.testing.assert_allclose(folded.linear_path.kernel[:, 0], stack.bank.kernel[:, 2], atol=1e-6)
    np.testing.assert_allclose(folded.layers[0].bias, stack.layers[0].bias + stack.offsets[0][2]
                               + stack.bank.bias[2] * stack.from_linear, atol=1e-6)
    np.testing.assert_allclose(folded.layers[0].kernel, stack.layers[0].kernel
                               + np.outer(stack.bank.kernel[:, 2], stack.from_linear), atol=1e-6)


def test_a_long_bank_at_a_knot_is_that_knots_fir_beside_the_stack():
    stack = _stack(output_scale=1.0, long=True)
    folded = stack.at(KNOTS[2])
    assert folded.linear_path is None and folded.reads_linear  # the stack reads the bank's output, not folded in
    np.testing.assert_allclose(folded.long_path.taps, stack.bank.taps[:, 2], atol=1e-6)
    assert folded.long_path.bias == pytest.approx(float(stack.bank.biases[2]), abs=1e-7)
    np.testing.assert_allclose(folded.layers[0].bias, stack.layers[0].bias + stack.offsets[0][2], atol=1e-6)
    assert np.array_equal(folded.layers[0].kernel, stack.layers[0].kernel)


@pytest.mark.parametrize("long", [False, True])
def test_a_sweep_that_stands_still_is_the_fixed_cutoff(long):
    stack = _stack(output_scale=1.0, long=long)  # the stack's biases follow the knob too
    song = synth.synthetic_song(0.5, RATE, np.random.default_rng(1)).astype(np.float32)
    swept = render.render(stack.sweep(700.0, 700.0, len(song)), SPEC, song)
    np.testing.assert_allclose(swept, render.render(stack.at(700.0), SPEC, song), atol=1e-5)  # a third of an s16 step


@pytest.mark.parametrize("long", [False, True])
@pytest.mark.parametrize("start, end", [(200.0, 5000.0), (5000.0, 300.0)])
def test_a_sweep_gives_the_same_bytes_in_any_blocks(start, end, long):
    stack = _stack(output_scale=1.0, long=long)
    song = synth.synthetic_song(0.5, RATE, np.random.default_rng(1)).astype(np.float32)
    for network in (stack.sweep(start, end, len(song)), stack.at(start)):
        whole = render.render(network, SPEC, song)
        pieces = np.concatenate(list(render.render_blocks(network, SPEC, np.array_split(song, 7))))
        assert np.array_equal(whole, pieces)


def test_a_sweep_runs_from_its_start_to_its_end():
    sweep = _stack().sweep(200.0, 5000.0, 1001)
    values = sweep.values(0, 1001)
    assert values[0] == pytest.approx(200.0) and values[-1] == pytest.approx(5000.0)
    assert np.allclose(np.diff(np.log(values)), np.log(25) / 1000)  # evenly in log frequency


@pytest.mark.parametrize("long", [False, True])  # both -47 dB: the knots an octave apart, not the length, limit it
def test_a_sweep_follows_the_one_pole_whose_cutoff_moves_with_it_and_adds_no_steps(long):
    song = synth.synthetic_song(2, RATE, np.random.default_rng(2)).astype(np.float32)
    sweep = _stack(long=long).sweep(200.0, 5000.0, len(song))  # the stack's output layer is zero: the bank alone
    target = synth.swept_one_pole(song, sweep.values(0, len(song)), RATE)
    output = render.render(sweep, SPEC, song)
    assert 10 * np.log10(np.sum((output - target) ** 2) / np.sum(target**2)) < -40
    # where the renderer's row groups meet, the output steps no more than the target does, plus one u8 step
    boundaries = np.arange(render.BLOCK_ROWS, len(song), render.BLOCK_ROWS)
    steps = np.abs(output[boundaries] - output[boundaries - 1])
    target_steps = np.abs(target[boundaries] - target[boundaries - 1])
    assert np.all(steps <= target_steps + 1 / 128)
    assert np.max(np.abs(np.diff(output))) <= np.max(np.abs(np.diff(target))) + 1 / 128  # no click anywhere


@pytest.mark.parametrize("knots, middle", [((100.0, 8000.0), 894.0), ((300.0, 3000.0), 949.0),
                                           ((1004.0, 1006.0), 1005.0)])  # 3 digits would leave the range
def test_the_middle_is_in_the_range_to_three_digits_where_it_can_be(knots, middle):
    assert Knob(knots).middle == middle


def test_an_end_typed_as_printed_is_the_end():
    knob = Knob((1234.5649, 5000.0))
    assert knob.check(1234.56) == 1234.5649  # "%g" printed it as 1234.56 (in the model's name and messages)
    with pytest.raises(ArgumentError, match="outside"):
        knob.check(1234.5)


@pytest.mark.parametrize("knots", [KNOTS, (300.0, 3000.0), (100.0, 150.0, 4000.0), tuple(np.geomspace(100, 8000, 32))])
def test_the_spline_table_is_scipys_natural_cubic_spline(knots):
    from scipy.interpolate import CubicSpline

    expected = CubicSpline(np.log(knots), np.eye(len(knots)), bc_type="natural").c
    np.testing.assert_allclose(Knob(knots).table(), expected, atol=1e-9)
