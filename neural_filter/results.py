"""The results table: one CSV row per trained model, so that runs of a sweep can be compared.

Owns `models/results.csv`, its fixed columns, and appending to it safely while other runs append
too: a sweep may train several models at once, and two rows must never interleave nor the header be
written twice. Each append takes an exclusive lock on the file (fcntl.flock), decides under the lock
whether the header is needed, and writes the header and row in one write call. Values are written
as text; reading gives text back, and the reader decides what is a number.
"""

import csv
import datetime
import fcntl
import io
from pathlib import Path

from neural_filter.errors import DataError, LineError, notice
from neural_filter.files import write_error

COLUMNS = (
    "time",  # when the run finished, ISO 8601 local time with its offset, to the second
    "model",  # the model's file name without .keras
    "mode",  # chunk or sliding
    "window",  # samples in the network's window
    "align",  # causal or centre
    "layers",  # hidden Dense layers after the first one
    "units",  # units in every hidden layer
    "batch_size",
    "activation",
    "optimiser",
    "epochs",  # asked for
    "epochs_run",  # done: fewer when training stopped early
    "seed",
    "val_mse",  # mean squared error on validation data, full scale (-1..1)
    "esr",  # error-to-signal ratio, full scale (metrics.esr)
    "esr_db",
    "training_seconds",
)
FLOAT_DIGITS = 6  # significant digits of float values: enough to rank runs, short enough to read


def append_result(csv_path, row: dict) -> None:
    """Append `row` to the CSV at `csv_path`, writing the header first when the file is new or empty.

    Keys must be COLUMNS (a misspelt key is a bug, so it raises ValueError); missing ones are left
    blank, except `time`, which defaults to now. Safe while other processes append to the same file.
    """
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown result columns {sorted(unknown)}; the columns are {', '.join(COLUMNS)}")
    row = {"time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), **row}
    path = Path(csv_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # "a+": every write lands at the end whatever the position, yet the header can be read back;
        # unbuffered, so the header and row go out in the single write below.
        with open(path, "a+b", buffering=0) as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes
            file.seek(0)
            existing = file.readline().decode("utf-8", errors="replace")
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")  # Unix lines, for grep and sort
            if not existing.strip():  # new, empty, or only a blank line
                writer.writerow(COLUMNS)
            elif next(csv.reader([existing])) != list(COLUMNS):
                raise DataError(path, f"has other columns than {', '.join(COLUMNS)}",
                                "move it aside and a new one will be started")
            writer.writerow([_text(row.get(column, "")) for column in COLUMNS])
            data = text.getvalue().encode("utf-8")
            if file.write(data) != len(data):
                raise OSError("the disk took only part of the row")
    except OSError as error:
        raise write_error(path, error, "appended to", "check that its folder can be written to") from None


NUMBERS = ("window", "layers", "units", "batch_size", "epochs", "epochs_run", "seed", "val_mse", "esr", "esr_db",
           "training_seconds")  # the columns that hold a number, or nothing


def read_results(csv_path, skip=None) -> list[dict]:
    """Every sound row of the CSV at `csv_path`, as dicts of text keyed by column; a missing file is a DataError.

    A damaged row (cut short by a crash or a full disk, edited by hand) is left out, and `skip`
    (default: a notice on stderr) is given a LineError naming its line and what is wrong with it.
    A file whose header is not ours is refused whole: its rows cannot be read as ours.
    """
    path = Path(csv_path)
    skip = skip or (lambda error: notice(f"{error}; skipped"))
    try:
        with open(path, newline="", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_SH)  # never read a row while it is being appended
            reader = csv.reader(file)
            header = next(reader, None)
            if header is None:
                return []
            if header != list(COLUMNS):
                raise DataError(path, f"has other columns than {', '.join(COLUMNS)}",
                                "move it aside and a new one will be started")
            rows = []
            for values in reader:
                if not values:
                    continue  # a blank line
                problem = _damage(values)
                if problem:
                    skip(LineError(path, reader.line_num, problem))
                else:
                    rows.append(dict(zip(COLUMNS, values)))
            return rows
    except FileNotFoundError:
        raise DataError(path, "does not exist", "train a model with fit.py first; each run adds a row") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(path, f"cannot be read ({error})") from None


def _damage(values: list[str]) -> str | None:
    """What is wrong with one row's values, or None for a sound row."""
    if len(values) != len(COLUMNS):
        return f"has {len(values)} values, not one for each of the {len(COLUMNS)} columns (a row cut short?)"
    row = dict(zip(COLUMNS, values))
    if not row["model"]:
        return "names no model"
    for column in NUMBERS:
        try:
            float(row[column] or 0)
        except ValueError:
            return f"its {column}, {row[column]!r}, is not a number"
    return None


def results_row(path, record: dict) -> dict:
    """A run's record (model_file.run_record) as one row of models/results.csv."""
    spec, settings, scores = record["spec"], record["settings"], record["metrics"]
    return {"model": Path(path).stem, "mode": spec["mode"], "window": spec["window"], "align": spec["align"],
            "layers": settings["layers"], "units": settings["units"], "batch_size": settings["batch_size"],
            "activation": settings["activation"], "optimiser": settings["optimiser"], "epochs": settings["epochs"],
            "epochs_run": record["epochs_run"], "seed": settings["seed"], "val_mse": scores["mse"],
            "esr": scores["esr"], "esr_db": scores["esr_db"], "training_seconds": record["training_seconds"]}


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.{FLOAT_DIGITS}g}"
    return str(value)
