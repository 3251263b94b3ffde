"""The recurrent kind's state-space cell in Keras (fit.py --mode recurrent --cell state-space).

After Parker, Esqueda and Bergner (DAFx 2019): the state moves by a linear map of the state and the
input plus a small dense layer of both,

    z = [x; s],  h = activation(z K + b),  s' = z L + h M,  output s'

with `units` state values, HIDDEN_PER_UNIT * units hidden values, K (inputs + units, hidden), b
(hidden), L (inputs + units, units) and M (hidden, units). L's rows for the state (the transition) are
built by state_space_transition.py from the weights decay, rotation and the coupling, so that its poles
stay inside the unit circle ("bounded", every new cell); a cell saved before (format 6) has no
transition in its config and holds L as one free weight ("free"), as it was trained.

A ladder filter is exactly this: its four one-pole stages are the linear map (their cascade the
coupling), and its two saturations (of the input, and of the last stage's state fed back) two hidden
values (kinds/recurrent.py's docstring). A GRU gates its state instead, and has to build a resonance
out of sigmoids.

Keras saves the cell in the model's config by this class's registered name, so a model holding it
loads (fit.py --resume) wherever this module was imported: model_file.load_for_resume imports it
through the kind. Importing it imports Keras: gen.py never does (recurrent_loop.py renders the
cell from its saved weights).
"""

import keras

from neural_filter import state_space_transition

# Hidden values per state value. A ladder needs 2 for its 5 states; measured 2026-12-05 (a JAX prototype, the
# resonant ladder's pair, 60 CPU s): 8 units with 16 hidden -17.2 dB on the worst recording, 16 with 32 -17.8.
HIDDEN_PER_UNIT = 2


@keras.saving.register_keras_serializable(package="neural_filter")
class StateSpaceCell(keras.layers.Layer):
    """One step: the input (batch, inputs) and the state (batch, units) -> the new state, also the output."""

    def __init__(self, units: int, hidden: int, activation: str = "tanh", transition: str = "free", **kwargs):
        super().__init__(**kwargs)
        self.units, self.hidden, self.transition = units, hidden, transition
        self.activation = keras.activations.get(activation)
        self.activation_name = activation
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        inputs = input_shape[-1]
        width = inputs + self.units
        # weights in recurrent_loop's order; kinds/recurrent.py's start sets the pair's values
        self.kernel = self.add_weight(shape=(width, self.hidden), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.hidden,), initializer="zeros", name="bias")
        self.linear = self.add_weight(shape=(width, self.units), initializer="zeros", name="linear")
        self.mix = self.add_weight(shape=(self.hidden, self.units), initializer="zeros", name="mix")
        if self.transition == "bounded":  # `linear`'s state rows are then the coupling (state_space_transition)
            self.decay = self.add_weight(shape=(self.units,), initializer="zeros", name="decay")
            self.rotation = self.add_weight(shape=(self.units // 2,), initializer="zeros", name="rotation")
            self.fixed = state_space_transition.constants(self.units)
        self.input_count = inputs

    def linear_map(self):
        """L (inputs + units, units): the weight itself, or its input rows above the bounded transition."""
        if self.transition != "bounded":
            return self.linear
        state = state_space_transition.transition(self.decay, self.rotation, self.linear[self.input_count :], keras.ops,
                                                  self.fixed)
        return keras.ops.concatenate([self.linear[: self.input_count], state], axis=0)

    def call(self, inputs, states):
        both = keras.ops.concatenate([inputs, states[0]], axis=-1)  # (batch, inputs + units)
        hidden = self.activation(keras.ops.matmul(both, self.kernel) + self.bias)  # (batch, hidden)
        state = keras.ops.matmul(both, self.linear_map()) + keras.ops.matmul(hidden, self.mix)  # (batch, units)
        return state, [state]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "hidden": self.hidden,
                "activation": self.activation_name, "transition": self.transition}


@keras.saving.register_keras_serializable(package="neural_filter")
class Gained(keras.layers.Layer):
    """The input weighed by a gain: audio * exp(min(gain, limit)), sample by sample (kinds/recurrent.py's
    gain read-out, whose GAIN_LIMIT is `limit`). No weights: gen.py reads the gain's Dense layers and computes it
    itself."""

    def __init__(self, limit: float, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def call(self, audio, gain):
        return audio * keras.ops.exp(keras.ops.minimum(gain, self.limit))

    def get_config(self) -> dict:
        return {**super().get_config(), "limit": self.limit}

