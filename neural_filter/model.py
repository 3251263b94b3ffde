"""The Keras models and optimisers fit.py trains.

Chunk mode is the original's network: `Dense(units, activation)` on a chunk of `window` samples,
`layers` more of the same, and a linear `Dense(window)` giving the filtered chunk.

Sliding mode applies exactly that stack at every position of the signal: a first Conv1D whose
kernel is the window, then 1x1 Conv1Ds (a Dense applied at each position), then a linear 1x1
Conv1D to one output sample. No window is ever materialised; a segment of n + window - 1 input
samples gives n outputs. A linear path (one Conv1D of the window, no activation) runs beside the
stack and is added to its output: the filter we imitate is linear, and this path is an FIR filter
the stack only has to correct.

A knob model (one model for every cutoff, knob.py) is the sliding model with two more inputs to
its weights: the knob's features (one per training pair) add an offset to each hidden layer's
biases, and weigh a bank of linear paths, one per pair. Its stack can also be built alone, with the
same layers: training fits the stack to what the bank leaves (model.build_knob_model).

Keras is imported here and only here (with train.py), so that gen.py never pays for it.
"""

import keras

from neural_filter.errors import ArgumentError
from neural_filter.spec import FilterSpec

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


def make_optimiser(name: str, epochs: int, window: int, learning_rate: float | None = None, steps: int | None = None):
    """The original's optimiser for `name`; `learning_rate` (when given) replaces its rate.

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
    return cls(**settings)


def build_model(spec: FilterSpec, layers: int, units: int, activation: str, linear_path: bool = False,
                bias_start: float = 0.0) -> keras.Model:
    """The network for `spec.mode`, layers named hidden_0.., output, linear_path (network.py reads them so)."""
    check_activation(activation)
    if spec.mode == "chunk":
        model = keras.Sequential(name="chunk_filter")
        model.add(keras.Input(shape=(spec.window,)))  # (batch, window)
        for index in range(layers + 1):
            model.add(keras.layers.Dense(units, activation=activation, name=f"hidden_{index}"))
        model.add(keras.layers.Dense(spec.window, name="output"))  # (batch, window)
        return model

    inputs = keras.Input(shape=(None, 1))  # (batch, samples + window - 1, 1)
    def biases():  # one initializer per layer: a reused one gives every layer the same draw
        return keras.initializers.RandomUniform(-bias_start, bias_start) if bias_start else "zeros"

    hidden = keras.layers.Conv1D(units, spec.window, activation=activation, bias_initializer=biases(),
                                 name="hidden_0")(inputs)
    for index in range(1, layers + 1):  # (batch, samples, units)
        hidden = keras.layers.Conv1D(units, 1, activation=activation, bias_initializer=biases(),
                                     name=f"hidden_{index}")(hidden)
    outputs = keras.layers.Conv1D(1, 1, name="output")(hidden)  # (batch, samples, 1)
    if linear_path:
        fir = keras.layers.Conv1D(1, spec.window, name="linear_path")(inputs)
        outputs = keras.layers.Add(name="sum")([outputs, fir])
    return keras.Model(inputs, outputs, name="sliding_filter")


def build_knob_model(spec: FilterSpec, layers: int, units: int, activation: str, knots: int,
                     bias_start: float = 0.0) -> tuple[keras.Model, keras.Model]:
    """A knob model (inputs: audio, and the knob's features) and its stack alone, sharing its layers.

    Layer names as build_model's, plus knob_<n> (the features -> hidden layer n's bias offset),
    activation_<n> (the hidden layers' activation, applied after the offset), linear_bank (one
    linear path per knot, weighed by the features) and from_linear (the linear path's output, at
    this knob value, into the first hidden layer: a drive after the filter is then a function of
    one input); network.py reads them so. The stack alone takes the linear path's output as a third
    input, so that training need not compute the bank.
    """
    check_activation(activation)
    hidden_layers = [keras.layers.Conv1D(units, spec.window if index == 0 else 1, name=f"hidden_{index}",
                                         bias_initializer=keras.initializers.RandomUniform(-bias_start, bias_start)
                                         if bias_start else "zeros") for index in range(layers + 1)]
    offsets = [keras.layers.Dense(units, use_bias=False, kernel_initializer="zeros", name=f"knob_{index}")
               for index in range(layers + 1)]
    activations = [keras.layers.Activation(activation, name=f"activation_{index}") for index in range(layers + 1)]
    from_linear = keras.layers.Conv1D(units, 1, use_bias=False, kernel_initializer="zeros", name="from_linear")
    output = keras.layers.Conv1D(1, 1, kernel_initializer="zeros", name="output")

    def stack(audio, features, linear):  # (batch, samples + window - 1, 1), (batch, knots), (batch, samples, 1)
        hidden = keras.layers.Add()([hidden_layers[0](audio), from_linear(linear)])
        for index, (layer, offset, activate) in enumerate(zip(hidden_layers, offsets, activations)):
            if index:
                hidden = layer(hidden)
            hidden = activate(keras.layers.Add()([hidden, keras.layers.Reshape((1, units))(offset(features))]))
        return output(hidden)  # (batch, samples, 1)

    audio = keras.Input(shape=(None, 1), name="audio")
    features = keras.Input(shape=(knots,), name="knob_features")  # one knob value per sequence
    bank = keras.layers.Conv1D(knots, spec.window, name="linear_bank")(audio)  # (batch, samples, knots)
    linear = keras.layers.Reshape((-1, 1))(keras.layers.Dot(axes=(2, 1))([bank, features]))
    full = keras.Model([audio, features], keras.layers.Add(name="sum")([stack(audio, features, linear), linear]),
                       name="knob_filter")
    linear_input = keras.Input(shape=(None, 1), name="linear")
    return full, keras.Model([audio, features, linear_input], stack(audio, features, linear_input), name="knob_stack")
