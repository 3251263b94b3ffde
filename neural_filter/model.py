"""What every Keras model fit.py trains shares: its optimiser, and the check of its activation.

Each kind of model builds its own network (kinds/: chunk, sliding, knob); `build_model` asks the
spec's kind. Keras is imported here (with train.py and the kinds' builders), never by gen.py.
"""

import keras

from neural_filter.errors import ArgumentError
from neural_filter.settings import TrainSettings

# name -> (Keras class, settings) as the original project chose them; sgd's schedule is built below
OPTIMISERS = {
    "adam": (keras.optimizers.Adam, {"learning_rate": 0.001}),
    "sgd": (keras.optimizers.SGD, {}),
    "momentum": (keras.optimizers.SGD, {"learning_rate": 0.01, "momentum": 0.9}),
    "nesterov": (keras.optimizers.SGD, {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    "nadam": (keras.optimizers.Nadam, {"learning_rate": 0.001}),
    "adagrad": (keras.optimizers.Adagrad, {"learning_rate": 0.001}),
    "rmsprop": (keras.optimizers.RMSprop, {"learning_rate": 0.001}),
    "adadelta": (keras.optimizers.Adadelta, {"learning_rate": 0.001}),
    "adamax": (keras.optimizers.Adamax, {"learning_rate": 0.001}),
    "ftrl": (keras.optimizers.Ftrl, {"learning_rate": 0.001}),
}


# sliding mode's starting rates under the cosine schedule, where they differ from the original's
# (measured on issue #11's drive pairs: a higher start leaves the least-squares start sooner)
SLIDING_RATES = {"adam": 3e-3}


def check_activation(name: str) -> str:
    """Refuse a name Keras does not know, before any data is read."""
    try:
        keras.activations.get(name)
    except (ValueError, TypeError):
        raise ArgumentError("activation", repr(name), "not a Keras activation",
                            "use one of tanh, gelu, relu, elu, selu, sigmoid, softsign, swish "
                            "(any name in keras.activations)") from None
    return name


def check_optimiser(name: str) -> str:
    if name not in OPTIMISERS:
        raise ArgumentError("optimiser", repr(name), "unknown", f"use one of {', '.join(OPTIMISERS)}")
    return name


def make_optimiser(name: str, epochs: int, window: int, learning_rate: float | None = None, steps: int | None = None,
                   clip: float | None = None):
    """The original's optimiser for `name`; `learning_rate` (when given) replaces its rate; `clip` (when given)
    scales every step's gradients down to that global norm at most (the kind's: Kind.gradient_clip).

    `steps` (sliding mode: the run's training steps) decays the rate to zero along a cosine over the
    run, from SLIDING_RATES' rate for `name` unless `learning_rate` is given: a higher start leaves
    the FIR start's plateau quickly, and the decay lets the last epochs settle near the u8 floor.
    """
    cls, settings = OPTIMISERS[check_optimiser(name)]
    settings = dict(settings)
    if name == "sgd":  # the original decayed plain SGD from 0.3 by 10x over epochs * window steps
        settings["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=0.3, decay_steps=epochs * window, decay_rate=0.1
        )
    if steps is not None and name in SLIDING_RATES:
        settings["learning_rate"] = SLIDING_RATES[name]
    if learning_rate is not None:
        settings["learning_rate"] = learning_rate
    if steps is not None and not isinstance(settings["learning_rate"], keras.optimizers.schedules.LearningRateSchedule):
        settings["learning_rate"] = keras.optimizers.schedules.CosineDecay(settings["learning_rate"], max(steps, 1))
    if clip is None:
        return cls(**settings)
    settings["global_clipnorm"] = clip
    return SkipNonFinite(cls(**settings), initial_scale=1.0, dynamic_growth_steps=2**31 - 1)


@keras.saving.register_keras_serializable(package="neural_filter")
class SkipNonFinite(keras.optimizers.LossScaleOptimizer):
    """An optimiser that skips a step whose gradients are not finite and applies every other one unchanged.

    Back through thousands of samples of a state-space cell's dense layer the gradients can overflow while its
    state stays bounded (kinds/recurrent.py's STATE_SPACE_CLIP). Keras's loss-scale wrapper skips such a step,
    but also halves its scale each time, for good (growth is off here): after some 150 skips the scale is 0,
    the next gradients are 0 / 0 and every weight becomes NaN. Here the scale stays 1.
    """

    def _stateless_handle_non_finite_grads(self, optimizer_variables, trainable_variables):
        return trainable_variables, list(optimizer_variables)

    def _stateful_handle_non_finite_grads(self):
        return None


def build_model(spec, layers: int, units: int, activation: str, linear_path: bool = False,
                bias_start: float = 0.0) -> keras.Model:
    """The Keras network of `spec`'s kind (kinds/), with these hyperparameters and the rest TrainSettings' defaults.

    `linear_path`: the window-long linear path inside the Keras model (a long one lives beside it:
    linear_path.py), as --no-fir-start builds it.
    """
    return spec.kind.build(spec, TrainSettings(layers=layers, units=units, activation=activation,
                                               linear_path=linear_path, fir_start=not linear_path,
                                               bias_start=bias_start))
