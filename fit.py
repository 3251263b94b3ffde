"""fit.py: train a dense network to imitate a filter from a recording and its filtered copy.

Reads `train_x.raw` (the dry recording) and `train_y.raw` (the same recording filtered), both
unsigned 8-bit mono PCM without a header, trains the network, saves it in `models/` under a name
made of the arguments and its score, and renders `song.raw` through it beside the model.

    python3 fit.py                               # every default: 6 32 999 gelu adam 0 9 64
    python3 fit.py 6 32 999 tanh adam 1 9 32     # the original README's example
    python3 fit.py 6 32 32 tanh adam 1 64 40 --mode sliding
    python3 fit.py 6 32 32 tanh adam 1 64 40 --mode tcn     # a curve before or between filters too
    python3 fit.py 1 8 16 tanh adam 1 1025 400 --mode recurrent --learning-rate 0.003   # effects with memory
    python3 fit.py 6 32 32 tanh adam 1 1024 2 --pairs pairs.csv   # one model for every cutoff (a knob)

All arguments are positional and optional, in the original's order; anything new is an option.
"""

import sys
from pathlib import Path

from neural_filter import cli, fitting, kinds
from neural_filter.dataset import DataSettings
from neural_filter.errors import ArgumentError
from neural_filter.kinds import recurrent
from neural_filter.settings import DEFAULTS, TrainSettings
from neural_filter.spec import FilterSpec

POSITIONALS = (  # name, default, help: the original's order and defaults
    ("layers", DEFAULTS.layers, "hidden Dense layers after the first one (tcn mode: dilated convolution layers; "
     "recurrent: stacked cells)"),
    ("units", DEFAULTS.units, "units in every hidden layer"),
    ("batches", DEFAULTS.batch_size, "batch size: chunks per batch (sliding mode: segments per batch)"),
    ("activator", DEFAULTS.activation, "activation of every hidden layer: any Keras activation name"),
    ("optimiser", DEFAULTS.optimiser,
     "adam, sgd, momentum, nesterov, nadam, adagrad, rmsprop, adadelta, adamax or ftrl"),
    ("cpu_only", 0, "1 hides every GPU from the backend"),
    ("samples", FilterSpec.window, "window: samples in (and, in chunk mode, out of) the network; recurrent: "
     "burn-in + 1"),
    ("epoches", DEFAULTS.epochs, "training epochs"),
)
NUMERIC = {"layers": cli.whole_number, "units": cli.whole_number, "batches": cli.whole_number,
           "samples": cli.whole_number, "epoches": cli.whole_number, "cpu_only": cli.flag}
# the package's names of the positionals -> fit.py's (the original's) words for them, in error messages
SPELLING = {"layers": "layers", "units": "units", "batch_size": "batches", "activation": "activator",
            "optimiser": "optimiser", "window": "samples", "epochs": "epoches"}


def parse_arguments(argv=None):
    parser = cli.Parser(prog="fit.py", description=__doc__.split("\n\n")[0],
                        formatter_class=cli.argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    for name, default, help in POSITIONALS:
        parser.add_argument(name, nargs="?", default=str(default), type=NUMERIC.get(name, str),
                            help=f"{help} (default {default})")
    parser.add_argument("--mode", choices=tuple(kinds.MODES), default=None,
                        help="chunk: the original's non-overlapping chunks; sliding: one output per window; "
                             "tcn: LAYERS causal dilated convolutions of UNITS channels (2 taps each, residual sums, "
                             "the skips summed to the output) whose receptive field is the window: the dilations "
                             "double from 1 while every sample stays reachable and the last layer takes the rest "
                             "(6 layers: windows 7 to 64; 64 is 1,2,4,8,16,32); recurrent: LAYERS stacked cells "
                             "of UNITS state (--cell; the activator is the cells'), for effects with memory (a drive "
                             "inside a filter's feedback, a compressor), trained on segments of 4096 samples, each "
                             "after a burn-in of window - 1 samples the loss skips; it trains on JAX where installed "
                             "(default chunk; sliding with --pairs)")
    parser.add_argument("--cell", choices=recurrent.CELLS, default=None,
                        help="recurrent mode: state-space, a linear state update plus a dense layer of 2 x UNITS "
                             "(Parker et al.), its own linear map and no linear path beside it; gru, Keras's GRU "
                             "beside the long linear path; state-space-gain, the state-space cell whose read-out also "
                             "weighs the input by a gain read off its state; gru-gain, the GRU with that gain read-out "
                             "and no linear path; follower, UNITS peak followers of the input with learned attacks and "
                             "releases, read by that gain read-out alone (for a compressor; LAYERS 1); ladder, UNITS "
                             "ladder filters (four one-poles, a saturated feedback), every coefficient learned (for "
                             "a driven or resonant ladder; LAYERS 1; the activator is not used, but must be one "
                             "gen.py renders) "
                             f"(default {DEFAULTS.cell})")
    parser.add_argument("--carry-state", action="store_true",
                        help="recurrent mode: each training segment starts from the state the model reaches there "
                             "over the whole pair (read again every epoch), not from zero; the window is then the "
                             "burn-in after that state (for effects that ring longer than a burn-in from zero)")
    parser.add_argument("--pairs", default=None, metavar="CSV",
                        help="train one sliding model for every cutoff, a knob, on the pairs this list names "
                             "(make_data.py --cutoff LO:HI writes one), instead of train_x.raw and train_y.raw")
    parser.add_argument("--align", choices=("causal", "centre"), default=None,
                        help="sliding mode: output at the window's last sample or its centre (default causal)")
    parser.add_argument("--levels", choices=("unit", "signed"), default=None,
                        help="network scale: unit = 0..1 as the original (byte/255), signed = -1..1 "
                             "(default unit in chunk mode, signed in sliding mode)")
    parser.add_argument("--val", type=cli.fraction, default=DataSettings.validation,
                        help="fraction of the data, from its end, held out for validation; 0 trains on all "
                             "(default 0.1)")
    parser.add_argument("--seed", type=cli.seed, default=DEFAULTS.seed,
                        help=f"seed for shuffling and initial weights (default {DEFAULTS.seed})")
    parser.add_argument("--learning-rate", type=float, default=None, help="replace the optimiser's original rate")
    parser.add_argument("--no-linear-path", action="store_true",
                        help="sliding mode: no linear FIR path beside the stack (on by default)")
    parser.add_argument("--no-fir-start", action="store_true",
                        help="sliding mode: a window-long linear path trained from zero, "
                             "not the long least-squares FIR")
    parser.add_argument("--linear-taps", type=cli.positive_int, default=None, metavar="N",
                        help="sliding mode: the linear path's length in samples (default: as long as the pair shows "
                             "the filter's response, up to 1.5 s)")
    parser.add_argument("--patience", type=int, default=DEFAULTS.patience,
                        help="stop after this many epochs without a better validation loss (default 0: never)")
    parser.add_argument("--resume", default=None, metavar="MODEL",
                        help="continue training a .keras model made by fit.py (same window and layers)")
    parser.add_argument("--plot", action=cli.argparse.BooleanOptionalAction, default=True,
                        help="write spectrum, loss and waveform PNGs beside the model "
                             "(default on, if matplotlib is installed)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (they show only on a terminal anyway)")
    parser.add_argument("--train-x", default="train_x.raw", help="the dry recording (default train_x.raw)")
    parser.add_argument("--train-y", default="train_y.raw", help="the filtered recording (default train_y.raw)")
    parser.add_argument("--song", default=None, help="audio rendered after training (default song.raw, if present)")
    parser.add_argument("--no-resample", action="store_true",
                        help="refuse a song at another rate than the pair's, instead of converting it there and back")
    parser.add_argument("--format", default=None, help="encoding of raw files: u8 (default), s8, s16le, f32le")
    parser.add_argument("--rate", type=cli.positive_int, default=None, help="sample rate of raw files (default 44100)")
    parser.add_argument("--models", default="models", help="folder for models and renders (default models)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    cli.quiet_frameworks(args.cpu_only == "1")
    request = request_from(args)
    cli.prefer_backend(request.kind().backend)
    _print_report(request, fitting.fit(request), scored_on="validation" if args.val else "training")


def request_from(args):
    """The command line as a fitting.FitRequest: the positionals as typed name the model."""
    song = args.song or ("song.raw" if Path("song.raw").exists() else None)
    mode = args.mode or kinds.default_mode(conditioned=bool(args.pairs))
    if args.pairs and (args.train_x, args.train_y) != ("train_x.raw", "train_y.raw"):
        raise ArgumentError("pairs", args.pairs, "names the training pairs, and so do --train-x and --train-y",
                            "give one or the other")
    kind = kinds.kind_of(mode, bool(args.pairs))
    if args.cell is not None and args.cell not in kind.cells:
        raise ArgumentError("cell", args.cell, f"is a recurrent model's cell, and this is a {kind.name} model",
                            "drop it, or give --mode recurrent")
    if args.carry_state and not kind.cells:  # a kind without recurrent cells has no state to carry
        raise ArgumentError("carry_state", None, f"is for a recurrent model's cells, and this is a {kind.name} model",
                            "drop it, or give --mode recurrent")
    cell = args.cell or DEFAULTS.cell
    settings = TrainSettings(
        layers=int(args.layers), units=int(args.units), batch_size=int(args.batches), activation=args.activator,
        optimiser=args.optimiser, epochs=int(args.epoches), seed=args.seed, learning_rate=args.learning_rate,
        linear_path=kind.linear_path_with(cell) and not args.no_linear_path,
        fir_start=not args.no_fir_start, linear_taps=args.linear_taps,
        patience=args.patience, cell=cell, carry_state=args.carry_state)
    data = DataSettings(validation=args.val, seed=args.seed, format=args.format, rate=args.rate,
                        progress=not args.quiet)
    typed = (args.activator, args.optimiser, args.layers, args.units, args.batches, args.samples, args.epoches)
    return fitting.FitRequest(settings=settings, mode=mode, pairs=args.pairs, window=int(args.samples),
                              align=args.align, levels=args.levels, data=data, train_x=args.train_x,
                              train_y=args.train_y, song=song, resample=not args.no_resample,
                              models=args.models, resume=args.resume, plot=args.plot, typed=typed)


SCORES = "scores: ESR in dB against the target, lower is better; the floor is what the target's own rounding leaves"
SKIPPED = "a linear filter: the least-squares start is at the pair's floor; no training needed"


def _print_report(request, outcome, scored_on: str) -> None:
    # after training, which has loaded SciPy anyway; fit.py's --help and refusals never pay it
    from neural_filter import effect  # noqa: PLC0415
    from neural_filter.metrics import signed_db  # noqa: PLC0415

    result, m = outcome.result, outcome.result.metrics
    print(SCORES)
    if result.skipped:
        print(SKIPPED)
    print(f"saved {outcome.path}")
    print(f"  {scored_on} ESR {signed_db(m['esr_db'])}: {m['verdict']} (the pair's floor {signed_db(m['floor_db'])}); "
          f"doing nothing scores {signed_db(m['dry_esr_db'])}; MSE {m['mse']:.3g}")
    if not result.skipped:
        print(f"  best epoch {result.best_epoch} of {len(result.history.get('loss', []))}, "
              f"{result.seconds:.1f} s of training")
    start = outcome.record["start"]
    if start and not result.skipped:
        settings = request.settings
        kind = request.kind()
        what = (f"{kind.fitted_start} it started from" if request.resume is None and settings.linear_path
                and settings.fir_start and kind.has_linear_path else "its starting weights")
        if request.pairs:
            what = "each pair's least-squares FIR alone (its start)"
        print(f"  {what} scored {signed_db(start['esr_db'])}: training added {start['esr_db'] - m['esr_db']:.1f} dB")
    path = outcome.record.get("linear_path") or outcome.record.get("linear_bank")  # a knob's: one FIR per pair
    if path:
        length = {"given": "as --linear-taps gave",
                  "window": "as long as the window (no pair shows a longer response)"}.get(path["length_from"]) or \
            ("as long as the pair shows the response" if "knots" not in path else
             "as long as the longest response the pairs show")
        what = "linear path" if "knots" not in path else "linear bank, one FIR per pair"
        print(f"  {what}: {path['taps']} taps ({path['taps'] / outcome.record['data']['rate'] * 1000:.1f} ms), "
              f"{length}")
    for row in m.get("by_knob", []):  # a knob model: each pair's held-out part
        print(f"  pair at {row['cutoff']:7.1f} Hz: ESR {row['esr_db']:+6.1f} dB "
              f"(its least-squares FIR alone: {row['start_esr_db']:+6.1f} dB)")
    for row in m.get("response", []):
        print(f"  response at {row['hz']:7.0f} Hz: learned {row['learned_db']:6.1f} dB, "
              f"target {row['target_db']:6.1f} dB")
    recipe = effect.Recipe.from_record((outcome.record.get("data") or {}).get("target_filter"))
    if recipe and not recipe.linear:
        print(f"  no response table: the target ({recipe.words()}) is driven into saturation, so its gain "
              "depends on the level, not on the frequency alone")
    if outcome.plots:
        print("plots: " + ", ".join(str(plot) for plot in outcome.plots))
    if outcome.rendered:
        knob = outcome.record.get("knob")
        at = (f" at cutoff {outcome.render['knob']:g} Hz, the middle of the trained {knob['low']:g} to "
              f"{knob['high']:g} Hz in log frequency (gen.py --cutoff renders any other)") if knob else ""
        print(f"rendered {request.song} -> {outcome.rendered}{at}")
        if outcome.render["resampled"]:
            print(f"  resampled {request.song} from {outcome.render['rate']} Hz to the model's "
                  f"{outcome.render['model_rate']} Hz and back")
    if result.interrupted:
        print("training was interrupted: the model above is the best one reached before Ctrl-C")


def run(argv=None) -> int:
    return cli.run(main, "fit.py", argv, SPELLING)


if __name__ == "__main__":
    sys.exit(run())
