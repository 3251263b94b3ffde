"""sweep.py: an Optuna study over fit.py's hyperparameters, on SQLite here and on a real PostgreSQL server.

Trials are tiny (a one-second pair, one or two epochs, 1 layer of 2-5 units). The SQLite sweeps run
in this process through cli.run; Ctrl-C and the two concurrent workers on PostgreSQL are real
processes. The PostgreSQL test starts a throwaway cluster of its own (Debian's postgresql package;
.ci/run installs it) listening only on a Unix socket in a temporary folder, and skips where the
server's programs are absent.
"""

import contextlib
import csv
import glob
import math
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT, leftovers, one_line

import sweep

from neural_filter import kinds, study
from neural_filter.errors import ArgumentError

optuna = pytest.importorskip("optuna")
TINY = ["--layers", "1", "--batches", "8", "--samples", "8", "--activator", "tanh", "--no-plot"]


def results_models(models: Path) -> list[str]:
    """The model column of models/results.csv, in order."""
    with open(models / "results.csv", newline="") as file:
        return [row["model"] for row in csv.DictReader(file)]


def check_study_matches_disk(the_study, models: Path, trials: int) -> list:
    """The study has exactly `trials` finished or pruned trials, and each finished one's model is on disk, once."""
    finished = the_study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    pruned = the_study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    assert len(finished) + len(pruned) == trials
    assert not the_study.get_trials(states=(optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING))
    trained = [trial for trial in finished if "duplicate_of" not in trial.user_attrs]  # the rest reuse one of these
    rows = results_models(models) if trained else []
    assert sorted(rows) == sorted(trial.user_attrs["model"] for trial in trained)  # each trained model: one row
    assert len(set(rows)) == len(rows)  # no model trained twice
    for trial in finished:
        assert (models / f"{trial.user_attrs['model']}.keras").is_file()
        assert (models / f"{trial.user_attrs['model']}.json").is_file()
        assert math.isfinite(trial.value)
    return finished


def test_a_sqlite_sweep_runs_exactly_the_trials_asked_and_honours_a_fixed_value(workdir, capsys):
    status = sweep.run(["--trials", "3", "--units", "2:5", "--optimiser", "adam,nadam", "--epoches", "1", *TINY])
    out = capsys.readouterr().out
    assert status == 0, out
    the_study = study.open_study(study.default_storage("models"), study.DEFAULT_STUDY, create=False)
    finished = check_study_matches_disk(the_study, workdir / "models", 3)
    for trial in the_study.trials:
        assert "layers" not in trial.params and set(trial.params) <= {"units", "optimiser"}  # fixed: not searched
        assert trial.user_attrs["fit_command"].startswith("python3 fit.py 1 ")  # layers 1, as given
        assert trial.user_attrs["fit_command"].split()[5] == "tanh"
    for trial in finished:
        assert trial.user_attrs["model"].startswith(f"tanh_{trial.params['optimiser']}_1_{trial.params['units']}_8_8_1_")
        assert (workdir / "models" / f"{trial.user_attrs['model']}.raw").is_file()  # song.raw rendered, as fit.py does
    assert "this worker ran 3 trials; the study has 3 complete" in out

    # the same command again: the study is already complete, so nothing more is trained
    assert sweep.run(["--trials", "3", "--units", "2:5", "--optimiser", "adam,nadam", "--epoches", "1", *TINY]) == 0
    assert "this worker ran 0 trials" in capsys.readouterr().out
    # asking for more continues the same study
    assert sweep.run(["--trials", "4", "--units", "2:5", "--optimiser", "adam,nadam", "--epoches", "1", *TINY]) == 0
    assert "this worker ran 1 trials; the study has 4 complete" in capsys.readouterr().out
    check_study_matches_disk(the_study, workdir / "models", 4)
    # other choices than the study searched: refused before any trial, the study untouched
    assert sweep.run(["--trials", "5", "--units", "2:5", "--optimiser", "adam,sgd", "--epoches", "1", *TINY]) == 2
    assert one_line(capsys.readouterr().err) == ("sweep.py: --optimiser adam,sgd: differs from what study neural_filter "
                                                 "searched (adam,nadam); give the same choices, or a new --study")
    assert len(the_study.trials) == 4


@pytest.mark.parametrize("argv, line", [
    # a range of words
    (["--activator", "tanh:gelu"], "sweep.py: --activator tanh:gelu: is a range, but this takes words; give one word or a,b,c"),
    # a range that is not two numbers, or runs backwards
    (["--layers", "3:x"], "sweep.py: --layers 3:x: is not a range of two positive whole numbers, low:high, "
                          "low below high; for example 1:6"),
    (["--units", "9:3"], "sweep.py: --units 9:3: is not a range of two positive whole numbers, low:high, "
                         "low below high; for example 1:6"),
    # a word where a number belongs
    (["--epoches", "ten"], "sweep.py: --epoches ten: is not a positive whole number, a,b,c of them or low:high; "
                           "for example 32"),
    (["--mode", "chunk,linear"], "sweep.py: --mode chunk,linear: is not one of " + ", ".join(kinds.MODES)),
    (["--batches", "8,,16"], "sweep.py: --batches 8,,16: has an empty value; give one value, a,b,c or low:high"),
    (["--val", "0"], "sweep.py: --val 0: leaves no validation data, which a sweep scores; give a fraction such as 0.1"),
    (["--train-x", "missing.raw"], None),  # the file's own one-line error
    (["--activator", "tanh,nosuch"], None),  # Keras does not know it
    (["--storage", "nosuchdb://x"], None),  # no such database
    (["--trials", "0"], None),  # argparse's own line
])
def test_a_bad_flag_is_one_line_and_exit_status_2_with_nothing_written(workdir, capsys, argv, line):
    before = sorted(entry.name for entry in workdir.iterdir())
    assert sweep.run(argv) == 2
    captured = capsys.readouterr()
    written = one_line(captured.err)
    assert written == line if line else written.startswith("sweep.py: ")
    assert sorted(entry.name for entry in workdir.iterdir()) == before


@pytest.mark.parametrize("text, expected", [
    ("3", study.Values("layers", choices=("3",))),  # one value: fixed
    ("2:6", study.Values("layers", low=2, high=6)),  # a range, both ends included
    ("2,4,8", study.Values("layers", choices=("2", "4", "8"))),  # a choice
    (" 2 , 4 ", study.Values("layers", choices=("2", "4"))),  # spaces around values are forgiven
])
def test_flag_values(text, expected):
    assert study.parse_values("layers", text) == expected


def test_left_out_flags_search_the_mode_s_own_ranges():
    space = study.Space.from_flags({"mode": "chunk,sliding", "layers": "2"})
    assert str(space.values("samples", "chunk")) == "4:32" and str(space.values("samples", "sliding")) == "16:128"
    assert space.values("layers", "chunk").fixed == "2" and space.values("epoches", "sliding").fixed == "40"
    with pytest.raises(ArgumentError):
        study.parse_values("mode", "linear")


def test_the_pruner_stops_a_trial_before_anything_is_written(workdir):
    from neural_filter import fitting, trials
    from neural_filter.settings import TrainSettings

    class Trial:  # what ReportEpochs asks of an Optuna trial: this one is always hopeless
        reports = []

        def report(self, value, step):
            self.reports.append((step, value))

        def should_prune(self):
            return True

    settings = TrainSettings(layers=1, units=2, batch_size=8, activation="tanh", epochs=3, linear_path=True)
    request = fitting.FitRequest(settings=settings, mode="sliding", window=8, plot=False, song="song.raw")
    with trials.CtrlC() as ctrl_c, pytest.raises(optuna.TrialPruned):
        trials.run_trial(Trial(), request, ctrl_c)
    assert [step for step, _ in Trial.reports] == [1]  # pruned after the first epoch
    assert not (workdir / "models").exists()


def test_each_epoch_reports_the_validation_esr_in_decibels(workdir):
    """The per-epoch report and the saved model's ESR are the same number for the best epoch (unit levels)."""
    from neural_filter import dataset, fitting, model_file, trials
    from neural_filter.settings import TrainSettings

    class Trial:
        reports = []

        def report(self, value, step):
            self.reports.append(value)

        def should_prune(self):
            return False

    settings = TrainSettings(layers=1, units=4, batch_size=64, activation="tanh", epochs=2, learning_rate=0.01)
    request = fitting.FitRequest(settings=settings, mode="chunk", window=9, plot=False)  # levels unit: 0..1
    with trials.CtrlC() as ctrl_c:
        value, model = trials.run_trial(Trial(), request, ctrl_c)
    record = model_file.read_record(workdir / "models" / f"{model}.keras")
    assert record["best_epoch"] >= 1
    assert value == pytest.approx(record["metrics"]["esr_db"])
    assert Trial.reports[-1] == pytest.approx(value, abs=0.01)  # the best so far is the kept epoch
    assert Trial.reports == sorted(Trial.reports, reverse=True)  # best so far: never worse
    prepared = dataset.prepare("train_x.raw", "train_y.raw", request.spec(), request.data)
    to_db = trials.EsrDecibels(request.spec(), prepared.validation_y)
    assert to_db(record["history"]["val_loss"][record["best_epoch"] - 1]) == pytest.approx(value, abs=0.01)


def test_a_dead_worker_s_trial_is_failed_and_its_place_taken(workdir, monkeypatch, capsys):
    """A worker killed outright leaves its trial running; once its heartbeat is stale, another takes its place."""
    monkeypatch.setattr(study, "GRACE_SECONDS", 1)
    (workdir / "models").mkdir()
    the_study = study.open_study(study.default_storage("models"), study.DEFAULT_STUDY)
    orphan = the_study.ask()  # as a worker would, which then died
    the_study._storage.record_heartbeat(orphan._trial_id)
    time.sleep(2.5)  # SQLite keeps the heartbeat to the second: stale once 2 whole seconds have passed
    assert sweep.run(["--trials", "1", "--units", "2", "--optimiser", "adam", "--epoches", "1", *TINY]) == 0
    assert "this worker ran 1 trials; the study has 1 complete, 1 fail" in capsys.readouterr().out
    assert [trial.state.name for trial in the_study.trials] == ["FAIL", "COMPLETE"]


def sweep_process(argv, cwd, **popen):
    """sweep.py as a user starts it, in its own process."""
    return subprocess.Popen([sys.executable, str(ROOT / "sweep.py"), *argv], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def test_ctrl_c_marks_the_trial_failed_and_the_same_command_continues_the_study(workdir):
    argv = ["--trials", "1", "--units", "3", "--epoches", "20", *TINY]
    worker = sweep_process(argv, workdir)
    seen = ""
    for line in worker.stdout:  # Keras prints a line an epoch (not a terminal): wait for training
        seen += line
        if line.startswith("Epoch 3/"):
            worker.send_signal(signal.SIGINT)
            break
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 130, seen + out + err
    assert err.splitlines()[-1] == ("sweep.py: interrupted: trial 0 was marked failed and nothing of it was kept; "
                                    "run the same command again to continue the study")
    the_study = study.open_study(study.default_storage(workdir / "models"), study.DEFAULT_STUDY, create=False)
    assert [trial.state.name for trial in the_study.trials] == ["FAIL"]
    assert not list((workdir / "models").glob("*.keras")) and not (workdir / "models" / "results.csv").exists()
    assert leftovers(workdir) == []

    again = subprocess.run([sys.executable, str(ROOT / "sweep.py"), *argv], cwd=workdir, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert [trial.state.name for trial in the_study.trials] == ["FAIL", "COMPLETE"]
    check_study_matches_disk(the_study, workdir / "models", 1)


# A real PostgreSQL server, started and stopped by the test.

def postgres_programs() -> Path | None:
    """Debian's PostgreSQL programs folder (the newest version), or None."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name))
    folders = [Path(folder) for folder in folders if (Path(folder) / "initdb").exists()]
    found = shutil.which("initdb")
    return folders[-1] if folders else (Path(found).parent if found else None)


@contextlib.contextmanager
def postgres_cluster():
    """A throwaway cluster in a temporary folder, listening only on a Unix socket there: yields its URL.

    The server refuses to run as root: as root, initdb and the server run as the `postgres` user.
    """
    programs = postgres_programs()
    if programs is None:
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are not installed: apt-get install postgresql")
    as_user = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no postgres user to run the server as")
    folder = Path(tempfile.mkdtemp(prefix="neural_filter_pg_"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"

    def run(*command):
        subprocess.run([*as_user, *command], check=True, capture_output=True, text=True, timeout=120)

    try:
        run(str(programs / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        run(str(programs / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start",
            "-o", f"-k {folder} -c listen_addresses='' -c fsync=off")
        try:
            run(str(programs / "createdb"), "-h", str(folder), "-U", "postgres", "sweeps")
            yield f"postgresql://postgres@/sweeps?host={folder}"
        finally:
            run(str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    except subprocess.CalledProcessError as error:
        log_text = log.read_text() if log.exists() else ""
        pytest.fail(f"PostgreSQL would not start: {error.stderr}\n{log_text}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_share_one_study_on_postgresql(workdir):
    pytest.importorskip("psycopg")
    trials = 4
    with postgres_cluster() as url:
        argv = ["--trials", str(trials), "--storage", url, "--study", "shared", "--units", "2:5",
                "--optimiser", "adam,nadam,rmsprop", "--epoches", "1", *TINY]
        workers = [sweep_process(argv, workdir) for _ in range(2)]  # one folder: two machines sharing a disk
        outputs = [worker.communicate(timeout=400) for worker in workers]
        for worker, (out, err) in zip(workers, outputs):
            assert worker.returncode == 0, out + err
        the_study = study.open_study(url, "shared", create=False)
        check_study_matches_disk(the_study, workdir / "models", trials)
        # no trial run twice: the trials the workers say they ran are the study's trials, each once
        ran = [int(line.split()[3]) for out, _ in outputs for line in out.splitlines()
               if line.startswith("this worker ran")]
        assert sum(ran) == len(the_study.trials) == trials
        numbers = [int(line.split()[1].rstrip(":")) for out, _ in outputs for line in out.splitlines()
                   if line.startswith("trial ")]
        assert sorted(numbers) == list(range(trials))
        the_study._storage.remove_session()
        the_study._storage._backend.engine.dispose()  # the server stops next: close our connections first


def test_fit_gen_and_the_plain_report_never_import_optuna():
    """Optuna and the database drivers cost start-up time: only sweep.py and report.py --html load them."""
    code = ("import sys, fit, gen, report, neural_filter.fitting, neural_filter.render, neural_filter.study; "
            "fit.parse_arguments([]); gen.parse_arguments(['model.keras', 'song.raw']); "
            "print(sorted(name for name in ('optuna', 'sqlalchemy', 'psycopg', 'keras') if name in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
