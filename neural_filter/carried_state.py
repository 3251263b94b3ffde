"""Training a recurrent model on segments that start from the state the whole pair leaves there (fit.py
--carry-state).

A segment cut from the pair starts its cells at zero state, and a burn-in of window - 1 samples
lets the state settle before the loss reads it. An effect that rings longer than the burn-in
(the resonant ladder: 20 dB down after 9,200 samples) never settles there: the targets hold a
ringing the segment's start cannot know, and the burn-in, two thirds of each segment at a window
of 8193, is time spent on outputs nobody scores. Here each segment's cells start instead from the
state the model itself reaches at that point of the pair, run from zero over everything before it
(RecurrentStack.states_at, the compiled loop: a fraction of a second for the 30 s pair) with the
weights at the end of the previous epoch; the validation part, read as one sequence after the
training part, starts from the state the whole training part leaves. Training reads those states as
inputs (the training model's state_0, state_1, ...); the saved model has none and renders as any
recurrent model does, from silence.
"""

import keras
import numpy as np


class CarriedSegments(keras.utils.PyDataset):
    """The training segments, shuffled anew each epoch, each with the state it starts from: ((audio, state_0, ...),
    targets) a batch. `states_of`, called with no arguments, gives the states (segments, layers * units), and after
    them the validation part's (one more row) where there is one; they are read again after every epoch by
    `refresh` (a callback: on JAX the model's weights are its own again only then) and before any score (`scored`)."""

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, batch_size: int, layers: int, states_of, seed: int):
        super().__init__()
        self.inputs, self.targets, self.batch_size, self.layers = inputs, targets, batch_size, layers
        self.states_of, self.rng = states_of, np.random.default_rng(seed)
        self.read()
        self.order = self.rng.permutation(len(targets))

    def read(self) -> None:
        states = self.states_of()
        self.states, self.validation_state = states[: len(self.targets)], states[len(self.targets) :]

    def __len__(self) -> int:
        return -(-len(self.targets) // self.batch_size)

    def __getitem__(self, index: int):
        chosen = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        return (self.inputs[chosen], *self.split(self.states[chosen])), self.targets[chosen]

    def split(self, states: np.ndarray) -> list:
        return np.split(states, self.layers, axis=1)

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.targets))

    def refresh(self) -> keras.callbacks.Callback:
        """The callback reading the states again at the end of every epoch but the last (`scored` reads them)."""
        return _Refresh(self)

    def scored(self, validation: "CarriedValidation | None") -> tuple:
        """(inputs, targets) for a score of the model as it is now: the validation part's (all of it in one sequence)
        where there is one, else every training segment's, each from its state read now."""
        self.read()
        if validation is not None:
            return validation[0]
        return (self.inputs, *self.split(self.states)), self.targets


class CarriedValidation(keras.utils.PyDataset):
    """The validation part as one sequence, its cells starting from the state the training part leaves (`segments`'
    validation_state, read with the training segments' states)."""

    def __init__(self, segments: CarriedSegments, arrays: tuple):
        super().__init__()
        self.segments, (self.inputs, self.targets) = segments, arrays

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int):
        return (self.inputs, *self.segments.split(self.segments.validation_state)), self.targets


class _Refresh(keras.callbacks.Callback):
    """Reads the segments' states again after each epoch that another follows: not after the last one, nor once
    training is told to stop (Ctrl-C, early stopping), where the pass would only keep the user waiting."""

    def __init__(self, segments: CarriedSegments):
        super().__init__()
        self.segments = segments

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 < self.params.get("epochs", 0) and not self.model.stop_training:
            self.segments.read()
