"""report.py: rank the trained models recorded in models/results.csv, best first.

Every model fit.py saves adds a row to models/results.csv; this prints those rows as a table ranked
by error-to-signal ratio (ESR: lower is better, esr_db more negative is better), so that the runs
of a sweep can be compared at a glance. Runs without an ESR come last.

    python3 report.py                            # every run, best first
    python3 report.py --top 5                    # the five best
    python3 report.py --mode sliding --window 64 # only sliding models with a 64-sample window
    python3 report.py --results other/results.csv
"""

import math
import sys

from neural_filter import cli, results

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
    parser.add_argument("--mode", choices=("chunk", "sliding"), default=None, help="only models trained in this mode")
    parser.add_argument("--window", type=cli.positive_int, default=None, help="only models with this window, in samples")
    parser.add_argument("--top", type=cli.positive_int, default=None, help="only the best N")
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
    print(table(chosen[: args.top]))


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
