"""The recurrent kind's level-follower cell in Keras (fit.py --mode recurrent --cell follower).

A compressor is its input times a gain read off a level, and the level is a peak follower: JUCE's
(pedalboard's Compressor) rectifies the input and runs it through a one-pole whose coefficient is
the attack's while the input rises above the level and the release's while it falls,

    u = |x|,  c = attack if u > e else release,  e' = u + c (e - u).

This cell is `units` such followers side by side, each with its own attack and release, learned.
Its state is each level in log form, s = log(1 + e / FLOOR), zero at silence; its output, which
the gain read-out reads (kinds/recurrent.py's GainReadout), is log(FLOOR + e) = s + log(FLOOR):
levels spread over 100 dB on one scale, where a compressor's gain is a straight line in log level
above its threshold, and near 0 where the loss lives, at loud levels. (The one-pole is the same in
w = 1 + e / FLOOR: w' = v + c (w - v), v = 1 + u / FLOOR.) With the read-out reading s instead,
fit.py's 300 epochs scored -7.8 dB on the worst recording (our reading: s is about 11.5 at loud
levels, so a step of the read-out's weights moves a loud level's gain 11.5 times as far).

Measured 2026-12-06 on the bench's compressor pair and recordings (README, "Peak followers"): 8
followers, 300 epochs at 1e-2, -44.7, -48.8 and -43.0 dB on the worst recording on three seeds in
151-166 CPU s, where the GRU with the gain read-out scored -24.8, -20.1 and -27.0 in 14 minutes; a
JAX prototype reading the levels in linear form, -26.0.

Each coefficient is exp(-exp(rate)): any rate gives a coefficient in (0, 1), a stable follower,
and a step of the rate changes the time constant by a ratio, alike at 0.1 ms and at a second.

`centre` is the network's level of a full-scale 0 (its offset): the cell rectifies about it. `floor`
(FLOOR above) is kinds/recurrent.py's FOLLOWER_FLOOR (1e-5: -100 dB, under a 16-bit pair's LSB), kept in
the cell's config so that gen.py reads it from the file.
Keras saves the cell by this class's registered name, as state_space_cell's; gen.py never imports
it (follower_loop.py renders it from its weights).
"""

import math

import keras


@keras.saving.register_keras_serializable(package="neural_filter")
class FollowerCell(keras.layers.Layer):
    """One step: the input (batch, 1) and the state (batch, units) -> the new state and the output, log(floor + e)."""

    def __init__(self, units: int, centre: float, floor: float, **kwargs):
        super().__init__(**kwargs)
        self.units, self.centre, self.floor = units, centre, floor
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        # follower_loop's order; kinds/recurrent.py's start sets time constants at the pair's rate
        self.attack = self.add_weight(shape=(self.units,), initializer="zeros", name="attack")
        self.release = self.add_weight(shape=(self.units,), initializer="zeros", name="release")

    def call(self, inputs, states):
        level = keras.ops.exp(states[0])  # (batch, units): 1 + e / floor
        rectified = 1.0 + keras.ops.abs(inputs - self.centre) / self.floor  # (batch, 1)
        attack, release = (keras.ops.exp(-keras.ops.exp(rate)) for rate in (self.attack, self.release))
        coefficient = keras.ops.where(rectified > level, attack, release)
        # log(v + c (w - v)) = s + log1p((1 - c)(v - w) / w): each step adds a small change to s, computed to its
        # own precision, where a log of the whole level rounds it afresh at every sample (TensorFlow's float32 log:
        # 1e-6 a step, which a release of 7,000 samples carried to 3e-3 in log level against float64)
        state = states[0] + keras.ops.log1p((1.0 - coefficient) * (rectified - level) / level)
        return state + math.log(self.floor), [state]  # log(floor + e)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "centre": self.centre, "floor": self.floor}
