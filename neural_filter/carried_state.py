"""Training a recurrent model on segments that start from the state the whole pair leaves there (fit.py
--carry-state).

A segment cut from the pair starts its cells at zero state, and a burn-in of window - 1 samples
lets the state settle before the loss reads it. An effect that rings longer than the burn-in
(the resonant ladder: 20 dB down after 9,200 samples) never settles there: the targets hold a
ringing the segment's start cannot know, and the burn-in, two thirds of each segment at a window
of 8193, is time spent on outputs nobody scores. Here each segment's cells start instead from the
state the model itself reaches at that point of the pair, run from zero over everything before it
(RecurrentStack.states_at, the compiled loop: a second for the 30 s pair) with the weights at the
end of the previous epoch. Training reads those states as inputs (the training model's
state_0, state_1, ...); the saved model has none and renders as any recurrent model does.
"""

import keras
import numpy as np


class CarriedSegments(keras.utils.PyDataset):
    """The training segments, shuffled anew each epoch, each with the state it starts from: ([audio, state_0, ...],
    targets) a batch; `states_of`, called with no arguments, gives the states (segments, layers * units), read again
    after every epoch by `refresh` (a callback: on JAX the model's weights are its own again only then)."""

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, batch_size: int, layers: int, states_of, seed: int):
        super().__init__()
        self.inputs, self.targets, self.batch_size, self.layers = inputs, targets, batch_size, layers
        self.states_of, self.rng = states_of, np.random.default_rng(seed)
        self.states = states_of()
        self.order = self.rng.permutation(len(targets))

    def __len__(self) -> int:
        return -(-len(self.targets) // self.batch_size)

    def __getitem__(self, index: int):
        chosen = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        states = np.split(self.states[chosen], self.layers, axis=1)
        return (self.inputs[chosen], *states), self.targets[chosen]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.targets))

    def refresh(self) -> keras.callbacks.Callback:
        """The callback reading the states again at the end of every epoch."""
        return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(self, "states",
                                                                                       self.states_of()))


def with_zero_states(arrays: tuple, layers: int, units: int) -> tuple:
    """(inputs, targets) for the model without state inputs as the training model takes them: every sequence starting
    at zero state (the validation part, read as one sequence after the training part's past)."""
    inputs, targets = arrays
    zeros = np.zeros((len(inputs), units), np.float32)
    return (inputs, *[zeros] * layers), targets
