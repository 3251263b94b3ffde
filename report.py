"""report.py: rank the trained models recorded in models/results.csv, best first.

Every model fit.py saves adds a row to models/results.csv; this prints those rows as a table ranked
by error-to-signal ratio (ESR: lower is better, esr_db more negative is better), so that the runs
of a sweep can be compared at a glance. Runs without an ESR come last.

    python3 report.py                            # every run, best first
    python3 report.py --top 5                    # the five best
    python3 report.py --mode sliding --window 64 # only sliding models with a 64-sample window
    python3 report.py --results other/results.csv
    python3 report.py --html                     # models/report.html: pictures and players, file:// ready
    python3 report.py --html --reference song_filtered.wav --study big --storage postgresql://sweep@dbhost/sweeps

--html writes models/report.html (beside results.csv) and its sounds and pictures in models/report/:
the ranking, and for the best models (--top, default 10) their spectrum and loss pictures and a
player of their render; above them the dry song (song.raw, or --song) and the song through the real
filter (when make_data.py made the pair; or --reference FILE). With a sweep's study (the models
folder's study.db, or --storage), its trials and Optuna's optimisation history and parameter
importances.
"""

import math
import sys
from pathlib import Path

from neural_filter import audio, cli, kinds, results

SHOWN = (  # column, how a value is written, whether it is a number (numbers align right)
    ("model", "{}", False),
    ("mode", "{}", False),
    ("window", "{:.0f}", True),
    ("activation", "{}", False),
    ("optimiser", "{}", False),
    ("epochs_run", "{:.0f}", True),
    ("esr_db", "{:.2f}", True),  # hundredths: close runs of a sweep differ by less than a tenth
    ("training_seconds", "{:.1f}", True),
)


def parse_arguments(argv=None):
    parser = cli.Parser(prog="report.py", description=__doc__.split("\n\n")[0],
                        formatter_class=cli.argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--results", default="models/results.csv",
                        help="the results file fit.py appends to (default models/results.csv)")
    parser.add_argument("--mode", choices=tuple(kinds.MODES), default=None, help="only models trained in this mode")
    parser.add_argument("--window", type=cli.positive_int, default=None, help="only models with this window, in samples")
    parser.add_argument("--top", type=cli.positive_int, default=None,
                        help="only the best N (--html: cards for the best N, default 10)")
    parser.add_argument("--html", action="store_true", help="write report.html beside results.csv (see below)")
    parser.add_argument("--song", default=None, help="--html: the dry song the models rendered (default song.raw, if present)")
    parser.add_argument("--reference", default=None, help="--html: the song through the real filter, to compare by ear")
    parser.add_argument("--format", default=None, help="--html: encoding of raw songs: u8 (default), s8, s16le, f32le")
    parser.add_argument("--rate", type=cli.positive_int, default=None, help="--html: sample rate of raw songs (default 44100)")
    parser.add_argument("--storage", default=None, metavar="URL",
                        help="--html: the sweep's study database (default the models folder's study.db, if there is one)")
    parser.add_argument("--study", default=None, help="--html: the study's name (default the only one in the database)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    rows = results.read_results(args.results)
    chosen = [row for row in rows
              if (args.mode is None or row.get("mode") == args.mode)
              and (args.window is None or _number(row.get("window")) == args.window)]
    if not chosen:
        wanted = "" if not rows else " matching" + "".join(
            f" --{name} {value}" for name, value in (("mode", args.mode), ("window", args.window)) if value is not None)
        print(f"no runs{wanted} in {args.results}")
        return
    chosen.sort(key=_esr)  # stable: equal ESRs keep the order they were trained in
    if args.html:
        _write_html(args, chosen)
        return
    print(table(chosen[: args.top]))


def _write_html(args, chosen: list[dict]) -> None:
    # Optuna (0.3 s, and its database drivers) only for the HTML page: the plain table never loads it (a test checks)
    from neural_filter import listening  # noqa: PLC0415

    models = Path(args.results).parent
    song = args.song or ("song.raw" if Path("song.raw").is_file() else None)
    audio.check_format(args.format)
    for path in (song, args.reference):
        if path is not None:
            audio.check_readable(path)
    the_study = _study(args, models)
    path = listening.write_report(models, chosen, song=song, song_format=args.format, song_rate=args.rate,
                                  reference=args.reference, study=the_study, top=args.top or 10)
    print(f"wrote {path} ({len(chosen)} models; open file://{path.resolve()})")


def _study(args, models: Path):
    """The sweep's study, when there is one: --storage, or the models folder's study.db."""
    from neural_filter import study  # noqa: PLC0415 - Optuna: see _write_html

    storage = args.storage
    if storage is None:
        if not (models / study.DEFAULT_DATABASE).is_file():
            return None
        storage = study.default_storage(models)
    return study.open_study(storage, args.study, create=False)


def _number(text) -> float:
    """A value of the file as a number; blank or not a number is NaN."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _esr(row: dict) -> float:
    """The sort key: the ESR, else the one esr_db implies, else infinity (last)."""
    ratio = _number(row.get("esr"))
    if math.isnan(ratio):
        ratio = 10 ** (_number(row.get("esr_db")) / 10)
    return math.inf if math.isnan(ratio) else ratio


def table(rows: list[dict]) -> str:
    """Rows as aligned text under a header, with a rank column; numbers right-aligned."""
    header = ["#", *(column for column, _, _ in SHOWN)]
    body = [[str(rank), *(_cell(row.get(column), form, numeric) for column, form, numeric in SHOWN)]
            for rank, row in enumerate(rows, 1)]
    widths = [max(len(line[index]) for line in [header, *body]) for index in range(len(header))]
    right = [True, *(numeric for _, _, numeric in SHOWN)]
    lines = ["  ".join(cell.rjust(width) if align else cell.ljust(width)
                       for cell, width, align in zip(line, widths, right)).rstrip()
             for line in [header, *body]]
    return "\n".join(lines)


def _cell(text, form: str, numeric: bool) -> str:
    if not numeric:
        return text or ""
    value = _number(text)
    return (text or "") if math.isnan(value) else form.format(value)


def run(argv=None) -> int:
    return cli.run(main, "report.py", argv)


if __name__ == "__main__":
    sys.exit(run())
