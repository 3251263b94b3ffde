"""fit.py: train a dense network to imitate a filter from a recording and its filtered copy.

Reads `train_x.raw` (the dry recording) and `train_y.raw` (the same recording filtered), both
unsigned 8-bit mono PCM without a header, trains the network, saves it in `models/` under a name
made of the arguments and its score, and renders `song.raw` through it beside the model.

    python3 fit.py                               # every default: 6 32 999 gelu adam 0 9 64
    python3 fit.py 6 32 999 tanh adam 1 9 32     # the original README's example
    python3 fit.py 6 32 32 tanh adam 1 64 40 --mode sliding

All arguments are positional and optional, in the original's order; anything new is an option.
"""

import sys
from pathlib import Path

from neural_filter import cli

POSITIONALS = (  # name, default, help: the original's order and defaults
    ("layers", "6", "hidden Dense layers after the first one"),
    ("units", "32", "units in every hidden layer"),
    ("batches", "999", "batch size: chunks per batch (sliding mode: segments per batch)"),
    ("activator", "gelu", "activation of every hidden layer: any Keras activation name"),
    ("optimiser", "adam", "adam, sgd, momentum, nesterov, nadam, adagrad, rmsprop, adadelta, adamax or ftrl"),
    ("cpu_only", "0", "1 hides every GPU from the backend"),
    ("samples", "9", "window: samples in (and, in chunk mode, out of) the network"),
    ("epoches", "64", "training epochs"),
)
NUMERIC = {"layers": cli.whole_number, "units": cli.whole_number, "batches": cli.whole_number,
           "samples": cli.whole_number, "epoches": cli.whole_number, "cpu_only": cli.flag}


def parse_arguments(argv=None):
    parser = cli.Parser(prog="fit.py", description=__doc__.split("\n\n")[0],
                        formatter_class=cli.argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    for name, default, help in POSITIONALS:
        parser.add_argument(name, nargs="?", default=default, type=NUMERIC.get(name, str),
                            help=f"{help} (default {default})")
    parser.add_argument("--mode", choices=("chunk", "sliding"), default="chunk",
                        help="chunk: the original's non-overlapping chunks; sliding: one output per window (default chunk)")
    parser.add_argument("--align", choices=("causal", "centre"), default=None,
                        help="sliding mode: output at the window's last sample or its centre (default causal)")
    parser.add_argument("--levels", choices=("unit", "signed"), default=None,
                        help="network scale: unit = 0..1 as the original (byte/255), signed = -1..1 "
                             "(default unit in chunk mode, signed in sliding mode)")
    parser.add_argument("--val", type=cli.fraction, default=0.1,
                        help="fraction of the data, from its end, held out for validation; 0 trains on all (default 0.1)")
    parser.add_argument("--seed", type=int, default=1234, help="seed for shuffling and initial weights (default 1234)")
    parser.add_argument("--learning-rate", type=float, default=None, help="replace the optimiser's original rate")
    parser.add_argument("--no-linear-path", action="store_true",
                        help="sliding mode: no linear FIR path beside the stack (on by default)")
    parser.add_argument("--no-fir-start", action="store_true",
                        help="sliding mode: start the linear path at zero, not at the least-squares FIR")
    parser.add_argument("--patience", type=int, default=0,
                        help="stop after this many epochs without a better validation loss (default 0: never)")
    parser.add_argument("--resume", default=None, metavar="MODEL",
                        help="continue training a .keras model made by fit.py (same window and layers)")
    parser.add_argument("--plot", action=cli.argparse.BooleanOptionalAction, default=True,
                        help="write spectrum, loss and waveform PNGs beside the model (default on, if matplotlib is installed)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (they show only on a terminal anyway)")
    parser.add_argument("--train-x", default="train_x.raw", help="the dry recording (default train_x.raw)")
    parser.add_argument("--train-y", default="train_y.raw", help="the filtered recording (default train_y.raw)")
    parser.add_argument("--song", default=None, help="audio rendered after training (default song.raw, if present)")
    parser.add_argument("--format", default=None, help="encoding of raw files: u8 (default), s8, s16le, f32le")
    parser.add_argument("--rate", type=cli.positive_int, default=None, help="sample rate of raw files (default 44100)")
    parser.add_argument("--models", default="models", help="folder for models and renders (default models)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    cli.quiet_frameworks(args.cpu_only == "1")

    from neural_filter import audio

    # Everything that can be checked without Keras is checked first: a mistake costs no start-up.
    audio.check_format(args.format)
    for path in (args.train_x, args.train_y):
        audio.check_readable(path)
        audio.container_of(path, args.format)  # --format with a WAV file of the pair: refused before Keras starts
    song = args.song or "song.raw"
    if args.song is not None or Path(song).exists():
        audio.check_readable(song)
    else:
        song = None
    if args.resume and not Path(args.resume).is_file():
        from neural_filter.errors import ModelFileError

        problem = "is a directory, not a .keras model" if Path(args.resume).is_dir() else "no such model"
        raise ModelFileError(args.resume, problem, "give --resume a .keras file made by fit.py")
    models = cli.writable_folder(args.models, "--models")

    from neural_filter import dataset, model, network, render, results, train  # imports Keras: seconds

    model.check_activation(args.activator)
    model.check_optimiser(args.optimiser)
    mode = args.mode
    spec = network.FilterSpec(mode=mode, window=int(args.samples), align=args.align or "causal",
                              levels=args.levels or ("unit" if mode == "chunk" else "signed"))
    settings = train.TrainSettings(
        layers=int(args.layers), units=int(args.units), batch_size=int(args.batches), activation=args.activator,
        optimiser=args.optimiser, epochs=int(args.epoches), seed=args.seed, learning_rate=args.learning_rate,
        linear_path=mode == "sliding" and not args.no_linear_path, fir_start=not args.no_fir_start,
        patience=args.patience,
    )
    resumed = None
    if args.resume:
        resumed, spec = train.load_for_resume(args.resume, spec, settings,
                                              typed={"--align": args.align, "--levels": args.levels})
    prepared = dataset.prepare(args.train_x, args.train_y, spec, args.val, args.seed, args.format, args.rate,
                               progress=not args.quiet)
    spec.rate = prepared.rate
    result = train.train(prepared, spec, settings, model=resumed)

    typed = [args.activator, args.optimiser, args.layers, args.units, args.batches, args.samples, args.epoches]
    path = _unused(models / f"{train.model_name(typed, spec, result.metrics['score'])}.keras")
    target_filter = dataset.known_filter(args.train_y)
    if target_filter:
        result.metrics["response"] = _response(result, target_filter, prepared.rate)
    record = train.run_record(result, spec, settings, data={
        "train_x": args.train_x, "train_y": args.train_y, "format": args.format or "u8", "validation": args.val,
        "rate": prepared.rate, "target_filter": target_filter, "resumed_from": args.resume})
    train.save_model(result.model, path, record)
    results.append_result(models / "results.csv", train.results_row(path, record))
    _print_report(path, result, scored_on="validation" if args.val else "training")
    if args.plot:
        from neural_filter import metrics, plots

        if plots.available():
            title = f"{path.stem}: ESR {metrics.decibels(result.metrics['esr']):.1f} dB"
            written = plots.write_plots(path.with_suffix(""), title, prepared.rate, result.scored["input"],
                                        result.scored["target"], result.scored["prediction"], result.history)
            print("plots: " + ", ".join(str(plot) for plot in written))
    if song is not None:
        song_is_wav = audio.container_of(song) == "wav"
        out = path.with_suffix(".wav" if song_is_wav else ".raw")
        # --format and --rate describe raw files (the pair's): a WAV song names its own
        render.render_file(path, song, out, None if song_is_wav else args.format, None if song_is_wav else args.rate,
                           progress=not args.quiet)
        print(f"rendered {song} -> {out}")
    if result.interrupted:
        print("training was interrupted: the model above is the best one reached before Ctrl-C")


def _response(result, target_filter: dict, rate: int) -> list:
    from neural_filter import metrics

    return metrics.response_table(result.scored["input"], result.scored["prediction"],
                                  target_filter["cutoff"], target_filter["rolloff"], rate)


def _print_report(path: Path, result, scored_on: str) -> None:
    m = result.metrics
    print(f"saved {path}")
    print(f"  {scored_on} MSE {m['mse']:.3g}, ESR {m['esr']:.5f} ({m['esr_db']:.1f} dB): {m['verdict']}; "
          f"doing nothing scores {m['dry_esr']:.4f} ({m['dry_esr_db']:.1f} dB), {m['improvement_db']:.1f} dB better")
    print(f"  best epoch {result.best_epoch} of {len(result.history.get('loss', []))}, "
          f"{result.seconds:.1f} s of training")
    for row in m.get("response", []):
        print(f"  response at {row['hz']:7.0f} Hz: learned {row['learned_db']:6.1f} dB, "
              f"target {row['target_db']:6.1f} dB")


def _unused(path: Path) -> Path:
    """Never overwrite a model the user has: a second run with the same name gets a number."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
    return candidate


if __name__ == "__main__":
    sys.exit(cli.run(main, "fit.py"))
