"""The recurrent kind's ladder cell in Keras (fit.py --mode recurrent --cell ladder).

A ladder low-pass (Moog's, and JUCE's LadderFilter that pedalboard runs) is four one-pole stages in
a row, sharing one coefficient, with the last stage's output fed back, saturated, against the input.
Per sample, as JUCE writes it, with s = [a, b, c, d, e] the state:

    dx = g tanh(drive x + bias),  a = dx - 4 resonance (g2 tanh(drive2 e) - compensation dx),
    b = b1 a_prev + a1 b_prev + b0 a,  c = b1 b_prev + a1 c_prev + b0 b,  ... up to e,
    a1 = exp(-exp(rate)),  b0 = (1 - a1) split,  b1 = (1 - a1) (1 - split)

and the filter's output is a mix of the five (e alone for a 24 dB low-pass). This cell is `units`
such ladders side by side, every coefficient learned, each ladder starting at its own cutoff
(kinds/recurrent.py's LADDER_CUTOFFS): the read-out mixes their states, and the ladder whose cutoff
lies nearest the effect's takes over. The state-space cell holds the same function (its linear map
and two saturations), but has to find the cascade and the resonance among 8 x 8 free weights, and
runs of it land 8 dB apart on the resonant ladder; this cell has the structure by construction.
`bias` is 0 at the start; it is where the network's offset folds in (unit levels).

Keras saves the cell by this class's registered name, as state_space_cell's; gen.py never imports
it (ladder_loop.py renders it from its weights).
"""

import keras

# The weights, one value per ladder each, in ladder_loop's order of reading (kinds/recurrent.py's LadderCell)
WEIGHTS = ("rate", "input_gain", "input_drive", "input_bias", "resonance", "feedback_gain", "feedback_drive",
           "compensation", "split")
STAGES = 5  # the state values per ladder: the input stage a and the four one-poles b, c, d, e


@keras.saving.register_keras_serializable(package="neural_filter")
class LadderCell(keras.layers.Layer):
    """One step: the input (batch, 1) and the state (batch, 5 units, stage by stage: every ladder's a, then every
    ladder's b, ... e) -> the new state, also the output."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = STAGES * units
        self.output_size = STAGES * units

    def build(self, input_shape):
        for name in WEIGHTS:  # kinds/recurrent.py's start sets their values
            setattr(self, name, self.add_weight(shape=(self.units,), initializer="zeros", name=name))

    def call(self, inputs, states):
        ops = keras.ops
        a_prev, b_prev, c_prev, d_prev, e_prev = (states[0][:, k * self.units : (k + 1) * self.units]
                                                  for k in range(STAGES))
        a1 = ops.exp(-ops.exp(self.rate))
        b0, b1 = (1.0 - a1) * self.split, (1.0 - a1) * (1.0 - self.split)
        dx = self.input_gain * ops.tanh(self.input_drive * inputs + self.input_bias)  # (batch, units)
        feedback = self.feedback_gain * ops.tanh(self.feedback_drive * e_prev) - self.compensation * dx
        a = dx - 4.0 * self.resonance * feedback
        b = b1 * a_prev + a1 * b_prev + b0 * a
        c = b1 * b_prev + a1 * c_prev + b0 * b
        d = b1 * c_prev + a1 * d_prev + b0 * c
        e = b1 * d_prev + a1 * e_prev + b0 * d
        state = ops.concatenate([a, b, c, d, e], axis=-1)
        return state, [state]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
