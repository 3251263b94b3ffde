"""The knob model (fit.py --pairs): one sliding model for every cutoff, conditioned on it.

It is the sliding model with two more inputs to its weights (see neural_filter/knob.py for the
spline that carries the knob between the training pairs' cutoffs, its knots): the knob's features
(one per knot) add an offset to each hidden layer's biases and weigh a bank of linear paths, one
per pair, each its pair's least-squares FIR, fixed, as long as the longest filter of the pairs
(linear_bank.py; --linear-taps N gives the length), not the window. The first hidden layer also
reads the bank's output at this knob value (`from_linear`): a drive after the filter is then a
function of one input. The Keras model is the stack alone, given the bank's output as an input:
training fits it to what the bank leaves. A model file of this kind is a sliding model's (mode
"sliding"), its record holding the knob and the bank's length and biases, the bank's taps an entry
of its own (format 5; older files hold a window-long bank as a layer of the Keras model).
"""

from neural_filter import linear_bank, linear_path
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
        """Refuse what a knob model is not: another mode, unit levels, no linear path or no FIR start, a resume
        (--linear-taps gives its bank's length)."""
        settings = request.settings
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
        """The knob model's stack: inputs the audio, the knob's features and the bank's output at them; out what
        it adds to the bank's output.

        Layer names as the sliding model's, plus knob_<n> (the features -> hidden layer n's bias
        offset), activation_<n> (the hidden layers' activation, applied after the offset) and
        from_linear (the bank's output into the first hidden layer); `network_of` reads them so.
        The bank is long and fixed, outside the Keras model (linear_bank.py): training computes its
        output once per pair, rendering by FFT.
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

        audio = keras.Input(shape=(None, 1), name="audio")  # (batch, samples + window - 1, 1)
        features = keras.Input(shape=(knots,), name="knob_features")  # (batch, knots): one knob value per sequence
        linear = keras.Input(shape=(None, 1), name="linear")  # (batch, samples, 1): the bank's output, full scale
        hidden = keras.layers.Add()([hidden_layers[0](audio), from_linear(linear)])
        for index, (layer, offset, activate) in enumerate(zip(hidden_layers, offsets, activations)):
            if index:
                hidden = layer(hidden)
            hidden = activate(keras.layers.Add()([hidden, keras.layers.Reshape((1, units))(offset(features))]))
        return keras.Model([audio, features, linear], output(hidden), name="knob_stack")  # (batch, samples, 1)

    def fit_bank(self, pairs: list, spec, settings: TrainSettings, progress=None) -> linear_bank.LinearBank:
        """Each pair's least-squares FIR (`pairs`: dataset.Prepared per knot), as long as the longest filter of the
        pairs shows, or --linear-taps; judged as the stack will use it, which reads its output.

        Never shorter than the window: a pair read at its rounding floor (u8) names a bank that stops
        where the filter's tail sinks below that floor, and the stack, which sees the whole window,
        then fits the tail the bank left by gradient steps, knot by knot, and carries that fit to
        cutoffs between them (measured: 256 taps on 6 dB/oct u8 pairs, the held-out song 0.5 dB above
        the u8 floor and -43 to -46 dB in float; the window-long bank before it was at the floor).
        """

        def before(length):
            return linear_path.taps_before(length, spec.align)

        return linear_bank.fit([(pair.train_x, pair.train_y) for pair in pairs], pairs[0].rate, before,
                               settings.linear_taps, curve=self.stack_reads_path, progress=progress,
                               shortest=spec.window)

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
