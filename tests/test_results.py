"""Tests of neural_filter.results (the CSV every run appends to) and report.py (its ranked table)."""

import csv
import multiprocessing

import pytest

import report
from neural_filter import results
from neural_filter.errors import DataError

# One run as fit.py would record it; the tests vary what they need.
RUN = {"model": "gelu_adam_6_32_999_9_64_a-20.0", "mode": "chunk", "window": 9, "align": "causal", "layers": 6,
       "units": 32, "batch_size": 999, "activation": "gelu", "optimiser": "adam", "epochs": 64, "epochs_run": 64,
       "seed": 1234, "val_mse": 1.234567891e-05, "esr": 0.0123456789, "esr_db": -19.0848, "training_seconds": 12.3456}


def test_header_once_then_rows(tmp_path):
    path = tmp_path / "models" / "results.csv"  # the folder is made on first use
    results.append_result(path, RUN)
    results.append_result(path, {**RUN, "model": "second", "esr": 0.5})
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(results.COLUMNS)
    assert len(lines) == 3
    rows = results.read_results(path)
    assert [row["model"] for row in rows] == [RUN["model"], "second"]
    assert rows[0]["window"] == "9"
    assert rows[0]["esr"] == "0.0123457"  # six significant digits
    assert rows[0]["val_mse"] == "1.23457e-05"
    assert rows[1]["esr"] == "0.5"


def test_missing_columns_are_blank_and_time_defaults_to_now(tmp_path):
    path = tmp_path / "results.csv"
    results.append_result(path, {"model": "bare"})
    (row,) = results.read_results(path)
    assert row["model"] == "bare"
    assert row["esr"] == "" and row["training_seconds"] == ""
    assert len(row["time"]) == 25 and row["time"][10] == "T"  # 2025-01-02T03:04:05+00:00: ISO, to the second


def test_a_given_time_is_kept(tmp_path):
    path = tmp_path / "results.csv"
    results.append_result(path, {"time": "2025-01-02T03:04:05+00:00", "model": "dated"})
    assert results.read_results(path)[0]["time"] == "2025-01-02T03:04:05+00:00"


def test_an_empty_file_gets_the_header(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("")  # `touch models/results.csv`, or a file truncated by hand
    results.append_result(path, RUN)
    assert path.read_text().splitlines()[0] == ",".join(results.COLUMNS)


def test_unknown_key_is_refused_and_nothing_written(tmp_path):
    path = tmp_path / "results.csv"
    with pytest.raises(ValueError, match="optimizer"):
        results.append_result(path, {**RUN, "optimizer": "adam"})  # American spelling: not a column
    assert not path.exists()


def test_other_columns_are_refused(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("name,score\nold,1\n")  # a file from some other tool
    with pytest.raises(DataError, match="other columns"):
        results.append_result(path, RUN)
    assert path.read_text() == "name,score\nold,1\n"


def test_reading_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        results.read_results(tmp_path / "results.csv")


def _append_many(path, writer, count, barrier):
    barrier.wait()  # both writers start together, so their appends really interleave
    for number in range(count):
        results.append_result(path, {**RUN, "model": f"writer{writer}_{number:03d}", "seed": writer})


def test_two_processes_appending_at_once(tmp_path):
    path = tmp_path / "results.csv"
    context = multiprocessing.get_context("spawn")  # no fork of a threaded test process
    barrier = context.Barrier(2)
    writers = [context.Process(target=_append_many, args=(path, writer, 200, barrier)) for writer in (1, 2)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0
    with open(path, newline="") as file:
        lines = list(csv.reader(file))
    assert lines[0] == list(results.COLUMNS)
    assert len(lines) == 401
    assert all(len(line) == len(results.COLUMNS) for line in lines)  # nothing torn or merged
    models = [line[1] for line in lines[1:]]
    assert sorted(models) == sorted(f"writer{writer}_{number:03d}" for writer in (1, 2) for number in range(200))
    assert models.count("model") == 0  # the header appears once, at the top


# report.py: the table of results, ranked.

def write_sweep(path):
    """Five runs in training order; by ESR the order is relu, nadam, tanh, sliding, one without an ESR."""
    runs = [
        {"model": "tanh_run", "activation": "tanh", "esr": 0.02, "esr_db": -16.99, "training_seconds": 10.0},
        {"model": "relu_run", "activation": "relu", "esr": 0.001, "esr_db": -30.0, "training_seconds": 9.5},
        {"model": "no_esr_run", "activation": "gelu", "esr": "", "esr_db": ""},  # recorded without a score
        {"model": "sliding_run", "mode": "sliding", "window": 64, "esr": 0.05, "esr_db": -13.01},
        {"model": "nadam_run", "optimiser": "nadam", "esr": 0.01, "esr_db": -20.0, "training_seconds": 123.45},
    ]
    for run in runs:
        results.append_result(path, {**RUN, **run})


def run_report(capsys, *argv):
    status = report.run(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def models_listed(out):
    return [line.split()[1] for line in out.splitlines()[1:]]


@pytest.mark.parametrize("options, expected", [
    ([], ["relu_run", "nadam_run", "tanh_run", "sliding_run", "no_esr_run"]),  # best first, unscored last
    (["--top", "2"], ["relu_run", "nadam_run"]),
    (["--top", "99"], ["relu_run", "nadam_run", "tanh_run", "sliding_run", "no_esr_run"]),  # more than there are
    (["--mode", "sliding"], ["sliding_run"]),
    (["--mode", "chunk", "--top", "1"], ["relu_run"]),
    (["--window", "9"], ["relu_run", "nadam_run", "tanh_run", "no_esr_run"]),
    (["--window", "64", "--mode", "sliding"], ["sliding_run"]),
])
def test_report_ranks_and_filters(tmp_path, capsys, options, expected):
    path = tmp_path / "results.csv"
    write_sweep(path)
    status, out, err = run_report(capsys, "--results", str(path), *options)
    assert (status, err) == (0, "")
    assert out.splitlines()[0].split() == ["#", "model", "mode", "window", "activation", "optimiser", "epochs_run",
                                           "esr_db", "training_seconds"]
    assert models_listed(out) == expected


def test_report_table_is_aligned(tmp_path, capsys):
    path = tmp_path / "results.csv"
    write_sweep(path)
    _, out, _ = run_report(capsys, "--results", str(path))
    header, *lines = out.splitlines()
    # text is left-aligned: each activation starts under its heading
    assert {line.index(f"  {line.split()[4]} ") + 2 for line in lines} == {header.index("activation")}
    # numbers are right-aligned: each esr_db ends under the end of its heading, with two decimals
    end = header.index("esr_db") + len("esr_db")
    assert [line[end - 6 : end] for line in lines] == ["-30.00", "-20.00", "-16.99", "-13.01", "      "]
    assert [line.split()[-1] for line in lines] == ["9.5", "123.5", "10.0", "12.3", "12.3"]  # seconds, one decimal


def test_report_without_matches(tmp_path, capsys):
    path = tmp_path / "results.csv"
    write_sweep(path)
    status, out, _ = run_report(capsys, "--results", str(path), "--window", "3")
    assert status == 0
    assert out == f"no runs matching --window 3 in {path}\n"


def test_report_of_a_missing_file_is_one_line_and_status_2(tmp_path, capsys):
    status, out, err = run_report(capsys, "--results", str(tmp_path / "results.csv"))
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and "results.csv: does not exist" in err


@pytest.mark.parametrize("options", [
    ["--top", "0"],         # not a positive whole number
    ["--mode", "rolling"],  # not a mode
    ["--window", "nine"],
])
def test_report_refuses_bad_options(capsys, options):
    with pytest.raises(SystemExit) as exit:
        report.main(options)
    assert exit.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
