"""sweep.py: search fit.py's hyperparameters with Optuna; many workers, on many machines, can share one study.

Each hyperparameter is a flag named as fit.py's positional argument, plus --mode: one value fixes
it, A:B is a range of whole numbers, a,b,c a choice; a flag left out searches a sensible range
(sliding mode; layers 1:6, units 8:64, batches 8:64, tanh/gelu/relu, adam/nadam/rmsprop, window
16:128, 40 epochs). Every trial is an ordinary fit run (model, JSON, PNGs, a results.csv row), its
objective the validation ESR in dB; a pruner stops trials that cannot catch up. The study stops at
--trials finished or pruned trials in all, however many workers run it; Ctrl-C marks the running
trial failed, and running the same command again continues the study.

    python3 sweep.py --trials 20                                  # the study models/study.db
    python3 sweep.py --trials 40 --layers 2:6 --activator tanh,gelu --epoches 20
    python3 sweep.py --trials 100 --study big --storage postgresql://sweep@dbhost/sweeps   # on each machine
    python3 report.py --html                                      # rank, look and listen
"""

import sys
from pathlib import Path

import fit
from neural_filter import audio, cli, files, kinds, study
from neural_filter.dataset import DataSettings
from neural_filter.errors import ArgumentError
from neural_filter.settings import DEFAULTS

HELP = {  # the hyperparameter flags: what each is (fit.py's words)
    "mode": " or ".join(kinds.MODES),
    "layers": "hidden Dense layers after the first one",
    "units": "units in every hidden layer",
    "batches": "batch size (sliding mode: segments of 1024 samples)",
    "activator": "activation of the hidden layers",
    "optimiser": "fit.py's optimiser names",
    "samples": "the window, in samples",
    "epoches": "training epochs",
}


def parse_arguments(argv=None):
    parser = cli.Parser(prog="sweep.py", description=__doc__.split("\n\n")[0],
                        formatter_class=cli.argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    for name in study.HYPERPARAMETERS:
        parser.add_argument(f"--{name}", default=None, metavar="V|A:B|a,b",
                            help=f"{HELP[name]} (default {study.default_text(name)})")
    parser.add_argument("--trials", type=cli.positive_int, default=20,
                        help="finished or pruned trials the study stops at, all workers together (default 20)")
    parser.add_argument("--study", default=study.DEFAULT_STUDY, help=f"the study's name (default {study.DEFAULT_STUDY})")
    parser.add_argument("--storage", default=None, metavar="URL",
                        help=f"database URL shared by the workers (default sqlite:///MODELS/{study.DEFAULT_DATABASE})")
    parser.add_argument("--train-x", default="train_x.raw", help="the dry recording (default train_x.raw)")
    parser.add_argument("--train-y", default="train_y.raw", help="the filtered recording (default train_y.raw)")
    parser.add_argument("--song", default=None, help="audio each trial renders (default song.raw, if present)")
    parser.add_argument("--format", default=None, help="encoding of raw files: u8 (default), s8, s16le, f32le")
    parser.add_argument("--rate", type=cli.positive_int, default=None, help="sample rate of raw files (default 44100)")
    parser.add_argument("--models", default="models", help="folder for models, renders and the study (default models)")
    parser.add_argument("--val", type=cli.fraction, default=DataSettings.validation,
                        help="fraction held out for validation, which the study scores (default 0.1; not 0)")
    parser.add_argument("--seed", type=cli.seed, default=DEFAULTS.seed, help=f"every trial's fit.py --seed (default {DEFAULTS.seed})")
    parser.add_argument("--plot", action=cli.argparse.BooleanOptionalAction, default=True,
                        help="each trial writes fit.py's PNGs (default on)")
    parser.add_argument("--cpu-only", action="store_true", help="hide every GPU from the backend")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    space = study.Space.from_flags({name: getattr(args, name) for name in study.HYPERPARAMETERS})
    if args.val == 0:
        raise ArgumentError("val", "0", "leaves no validation data, which a sweep scores", "give a fraction such as 0.1")
    _check_files(args)
    storage = args.storage or study.default_storage(args.models)
    cli.quiet_frameworks(args.cpu_only)
    space.check()  # imports Keras: a misspelt activation is refused before the study is touched
    if args.storage is None:
        Path(args.models).mkdir(parents=True, exist_ok=True)  # SQLite makes its file, not its folder
    the_study = study.open_study(storage, args.study)
    print(f"study {args.study} in {storage}: up to {args.trials} finished or pruned trials; {space.describe()}")
    summary = study.run_worker(the_study, space, args.trials, _fit_options(args),
                               lambda arguments: fit.request_from(fit.parse_arguments(arguments)))
    tally = ", ".join(f"{count} {state.lower()}" for state, count in sorted(summary.counts.items()))
    print(f"this worker ran {len(summary.ran)} trials; the study has {tally}")
    if summary.best is not None:
        print(f"best: trial {summary.best.number}, {summary.best.value:.2f} dB, {summary.best.user_attrs.get('model')}")


def _check_files(args) -> None:
    """The pair readable and the models folder writable, before any trial is taken."""
    for path in (args.train_x, args.train_y, *([args.song] if args.song else [])):
        audio.check_readable(path)
    files.writable_folder(args.models, "models")


def _fit_options(args) -> list[str]:
    """The fit.py options every trial gets: the sweep's data, models folder and seed."""
    options = ["--train-x", args.train_x, "--train-y", args.train_y, "--models", args.models,
               "--val", str(args.val), "--seed", str(args.seed), "--quiet"]
    for flag, value in (("--song", args.song), ("--format", args.format), ("--rate", args.rate)):
        if value is not None:
            options += [flag, str(value)]
    return options + ([] if args.plot else ["--no-plot"])


def run(argv=None) -> int:
    return cli.run(main, "sweep.py", argv)


if __name__ == "__main__":
    sys.exit(run())
