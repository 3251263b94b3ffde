"""The knob model (fit.py --pairs): one sliding model for every cutoff, conditioned on it.

It is the sliding model with two more inputs to its weights (see neural_filter/knob.py for the
spline that carries the knob between the training pairs' cutoffs, its knots): the knob's features
(one per knot) add an offset to each hidden layer's biases and weigh a bank of linear paths, one
per pair, each starting (and staying) at its pair's least-squares FIR. The first hidden layer also
reads the linear path's output at this knob value (`from_linear`): a drive after the filter is then
a function of one input. Its stack can be built alone, with the same layers: training fits the
stack to what the bank leaves. A model file of this kind is a sliding model's (mode "sliding"),
its record holding the knob.
"""

import numpy as np

from neural_filter.errors import ArgumentError
from neural_filter.kinds.base import bias_initializer, hidden_names, layer_order
from neural_filter.kinds.sliding import SlidingKind
from neural_filter.knob import Knob, KnobStack
from neural_filter.network import Dense
from neural_filter.numpy_activations import ACTIVATIONS
from neural_filter.settings import TrainSettings


class KnobKind(SlidingKind):
    name = "knob"
    record_key = "knob"  # the record's field holding the knob (knob.Knob.record), which gen.py reads

    def check_request(self, request) -> None:
        """Refuse what a knob model is not: a linear path's length (its linear paths are window-long, each at its
        pair's FIR), another mode, unit levels, no linear path or no FIR start, a resume."""
        settings = request.settings
        if settings.linear_taps is not None:  # a long bank: each pair's long FIR, and a sweep of them (not yet)
            raise ArgumentError("linear_taps", settings.linear_taps, "is not for a knob model (--pairs): its linear "
                                "paths are window-long, one per pair at its least-squares FIR",
                                "give a window as long as the filter's response, or train on one pair")
        for option, value, wrong in (("mode", request.mode, request.mode != self.mode),
                                     ("levels", request.levels, request.levels not in (None, self.default_levels)),
                                     ("no_linear_path", None, not settings.linear_path),
                                     ("no_fir_start", None, not settings.fir_start),
                                     ("resume", request.resume, request.resume is not None)):
            if wrong:
                raise ArgumentError(option, value, "is not for a knob model (--pairs): one is a sliding model at "
                                    "signed levels whose linear path starts at each pair's least-squares FIR, trained "
                                    "anew", "drop it, or train on one pair")
        if settings.activation not in ACTIVATIONS:
            raise ArgumentError("activation", settings.activation, "is one only Keras computes, and gen.py renders a "
                                "knob model without Keras", f"use one of {', '.join(sorted(ACTIVATIONS))}")

    def build(self, spec, settings: TrainSettings, knots: int = 2):
        """The knob model (inputs: audio, and the knob's features) and its stack alone, sharing its layers.

        Layer names as the sliding model's, plus knob_<n> (the features -> hidden layer n's bias
        offset), activation_<n> (the hidden layers' activation, applied after the offset),
        linear_bank (one linear path per knot, weighed by the features) and from_linear (the linear
        path's output into the first hidden layer); `network_of` reads them so. The stack alone
        takes the linear path's output as a third input, so that training need not compute the bank.
        """
        import keras  # noqa: PLC0415 - 6-8 s: when a model is built, never when gen.py imports the kind

        from neural_filter.model import check_activation  # noqa: PLC0415 - imports Keras, as above

        check_activation(settings.activation)
        units = settings.units
        hidden_layers = [keras.layers.Conv1D(units, spec.window if index == 0 else 1, name=f"hidden_{index}",
                                             bias_initializer=bias_initializer(settings.bias_start))
                         for index in range(settings.layers + 1)]
        offsets = [keras.layers.Dense(units, use_bias=False, kernel_initializer="zeros", name=f"knob_{index}")
                   for index in range(settings.layers + 1)]
        activations = [keras.layers.Activation(settings.activation, name=f"activation_{index}")
                       for index in range(settings.layers + 1)]
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
        return full, keras.Model([audio, features, linear_input], stack(audio, features, linear_input),
                                 name="knob_stack")

    def start_bank(self, full, firs: list) -> None:
        """Each knot's linear path at its pair's least-squares FIR (`firs`: (taps, bias) per knot, full scale)."""
        full.get_layer("linear_bank").set_weights([np.stack([taps for taps, _ in firs], axis=1)[:, None, :],
                                                   np.array([bias for _, bias in firs], np.float32)])

    def network_of(self, layers: dict, record: dict) -> KnobStack:
        """Its activations are layers of their own, after the bias offsets."""
        names = hidden_names(layers)
        hidden = [Dense(layers[name].kernel, layers[name].bias, layers[f"activation_{layer_order(name)}"])
                  for name in names]
        offsets = [layers[f"knob_{layer_order(name)}"].kernel for name in names]
        return KnobStack(Knob.from_record(record[self.record_key]), hidden + [layers["output"]], offsets,
                         layers["linear_bank"], layers["from_linear"].kernel[0])

    def turned(self, network: KnobStack, knob, model_path, rows: int):
        """At the knob's value, or sweeping it over `rows` rows; refused without one."""
        knob_name, low, high, unit = network.knob.name, network.knob.low, network.knob.high, network.knob.unit
        # (the only knob fit.py makes is the cutoff, so the option is named "cutoff")
        if knob is None:
            raise ArgumentError("cutoff", None, f"{model_path} was trained for every {knob_name} from {low:g} to "
                                f"{high:g} {unit}",
                                f"give {{cutoff}} {unit}, or A:B to sweep it from A to B over the song")
        if not network.numpy_ready:
            raise ArgumentError("cutoff", None, f"{model_path} has an activation that only Keras computes, and a knob "
                                "model renders without Keras",
                                "train it with tanh, gelu, relu or another common activation")
        return network.sweep(*knob, rows) if isinstance(knob, tuple) else network.at(knob)

    def name_suffix(self, spec, knob=None) -> str:
        return super().name_suffix(spec) + f"_{knob.name}{knob.low:g}-{knob.high:g}"

    def record_fields(self, knob=None) -> dict:
        return {self.record_key: knob.record()}
