"""A hyperparameter sweep as an Optuna study: the search space, the shared storage, the worker loop.

A sweep is many fit runs whose hyperparameters Optuna chooses. Each hyperparameter is named as
fit.py names its positional argument (layers, units, batches, activator, optimiser, samples,
epoches) plus the mode, and each is given as text: one value fixes it, `A:B` is a whole-number
range, `a,b,c` a choice. A trial is an ordinary fit run (model, JSON, PNGs, results.csv row); the
study records each trial's model name and its fit.py command line, and its objective is the
validation ESR in dB (lower is better).

The study lives in a database that any number of workers share: SQLite in the models folder by
default, PostgreSQL (or any SQLAlchemy URL Optuna takes) across machines. Every worker runs the
same loop and the study stops at `trials` finished or pruned trials in all, exactly: a worker
takes a trial only while the finished, pruned and running ones number fewer, and that count and
the new trial are made under a lock every worker takes (a PostgreSQL advisory lock, or a file
lock beside an SQLite file). A trial whose worker died (no heartbeat for GRACE_SECONDS) is marked
failed by the next worker to take a trial, so its place is taken again. Failed trials do not count.

Importing this module costs nothing; Optuna is imported when a study is opened, Keras when a
trial runs. fit.py and gen.py never import it.
"""

import contextlib
import dataclasses
import fcntl
import math
import shlex
import time
import warnings
import zlib
from pathlib import Path

# Optuna and its database drivers (0.3 s and more) are imported where a study is used: sweep.py's --help and
# report.py's plain table load this module without them (tests/test_sweep.py checks).
from neural_filter import kinds
from neural_filter.errors import ArgumentError, NeuralFilterError, TrainingDivergedError

# fit.py's positional arguments, in its order; a sweep varies all but cpu_only
POSITIONALS = ("layers", "units", "batches", "activator", "optimiser", "cpu_only", "samples", "epoches")
NUMBERS = ("layers", "units", "batches", "samples", "epoches")  # whole numbers; the rest are words
HYPERPARAMETERS = ("mode", "layers", "units", "batches", "activator", "optimiser", "samples", "epoches")
LOG_SCALE = ("units", "batches", "samples")  # ranges sampled evenly in log: 8..16 as often as 32..64
WORDS = {"mode": tuple(kinds.MODES)}  # the words a hyperparameter may take, where they are few

# A flag left out searches this. Sliding mode only by default: chunk mode cannot learn a low-pass
# filter (README, Quality), so trials spent on it are wasted unless asked for. Batches and window
# depend on the mode: each kind's sweep_defaults say them (kinds/); epochs are fixed, since the
# pruner already ends hopeless trials early.
DEFAULT_SPACE = {
    "mode": "sliding",
    "layers": "1:6",
    "units": "8:64",
    "activator": "tanh,gelu,relu",
    "optimiser": "adam,nadam,rmsprop",
    "epoches": "40",
}
DEFAULT_STUDY = "neural_filter"
DEFAULT_DATABASE = "study.db"  # in the models folder, when no storage URL is given
WARMUP_EPOCHS = 4  # epochs every trial runs before the pruner may stop it
STARTUP_TRIALS = 4  # trials that finish before the pruner stops any
HEARTBEAT_SECONDS = 20  # a running trial says it is alive this often
GRACE_SECONDS = 90  # silent this long: its worker died; the trial is marked failed and its place freed


def default_text(name: str) -> str:
    """What a flag left out searches, as sweep.py's help says it: per mode where it depends on the kind."""
    if name in DEFAULT_SPACE:
        return DEFAULT_SPACE[name]
    modes = sorted(kinds.MODES, key=lambda mode: mode != DEFAULT_SPACE["mode"])  # the default mode's first
    return ", ".join(f"{mode} {kinds.by_mode(mode).sweep_defaults[name]}" for mode in modes)


@dataclasses.dataclass(frozen=True)
class Values:
    """What one flag says about one hyperparameter: a fixed value, a range, or a choice (all text)."""

    name: str
    choices: tuple[str, ...] = ()  # one: fixed; several: a choice
    low: int | None = None  # a range low..high, both included
    high: int | None = None

    @property
    def fixed(self) -> str | None:
        return self.choices[0] if len(self.choices) == 1 else None

    def suggest(self, trial) -> str:
        """This hyperparameter for `trial`, as fit.py's argument text; a fixed value asks Optuna nothing."""
        if self.fixed is not None:
            return self.fixed
        if self.low is not None:
            return str(trial.suggest_int(self.name, self.low, self.high, log=self.name in LOG_SCALE))
        if self.name in NUMBERS:
            return str(trial.suggest_categorical(self.name, [int(choice) for choice in self.choices]))
        return trial.suggest_categorical(self.name, list(self.choices))

    def distribution(self):
        """Optuna's distribution of what `suggest` asks for (None when fixed: Optuna is not asked)."""
        from optuna import distributions  # noqa: PLC0415 - Optuna: see the note at the imports

        if self.fixed is not None:
            return None
        if self.low is not None:
            return distributions.IntDistribution(self.low, self.high, log=self.name in LOG_SCALE)
        return distributions.CategoricalDistribution([int(choice) for choice in self.choices]
                                                     if self.name in NUMBERS else list(self.choices))

    def __str__(self) -> str:
        return f"{self.low}:{self.high}" if self.low is not None else ",".join(self.choices)


def parse_values(name: str, text: str) -> Values:
    """A flag's text as Values, or an ArgumentError naming the flag and saying what is wrong."""
    text = text.strip()
    if ":" in text:
        if name not in NUMBERS:
            raise ArgumentError(name, text, "is a range, but this takes words", "give one word or a,b,c")
        low, _, high = text.partition(":")
        if not (_whole(low) and _whole(high)) or int(low) >= int(high):
            raise ArgumentError(name, text, "is not a range of two positive whole numbers, low:high, low below high",
                                "for example 1:6")
        return Values(name, low=int(low), high=int(high))
    choices = tuple(part.strip() for part in text.split(","))
    if not all(choices):
        raise ArgumentError(name, text, "has an empty value", "give one value, a,b,c or low:high")
    if name in NUMBERS and not all(_whole(choice) for choice in choices):
        raise ArgumentError(name, text, "is not a positive whole number, a,b,c of them or low:high", "for example 32")
    if name in WORDS and not set(choices) <= set(WORDS[name]):
        raise ArgumentError(name, text, "is not one of " + ", ".join(WORDS[name]), "")
    if len(set(choices)) != len(choices):
        raise ArgumentError(name, text, "names a value twice", "give each value once")
    return Values(name, choices=choices)


def _whole(text: str) -> bool:
    return text.isdigit() and int(text) >= 1


@dataclasses.dataclass(frozen=True)
class Space:
    """The search space: each hyperparameter's Values; a default that depends on the mode follows it."""

    given: dict  # name -> Values the user gave; the others take DEFAULT_SPACE

    @classmethod
    def from_flags(cls, flags: dict) -> "Space":
        """{name: text or None} (None: not given) -> a Space; bad text raises ArgumentError."""
        return cls({name: parse_values(name, text) for name, text in flags.items() if text is not None})

    def values(self, name: str, mode: str) -> Values:
        if name in self.given:
            return self.given[name]
        return parse_values(name, kinds.by_mode(mode).sweep_defaults.get(name) or DEFAULT_SPACE[name])

    def check(self) -> None:
        """Refuse an activation or optimiser that Keras or fit.py does not know (imports Keras)."""
        from neural_filter import model  # noqa: PLC0415 - Keras, 6-8 s: only when a sweep checks its activations

        for name, check in (("activator", model.check_activation), ("optimiser", model.check_optimiser)):
            for mode in WORDS["mode"]:
                for choice in self.values(name, mode).choices:
                    try:
                        check(choice)
                    except ArgumentError as error:
                        raise ArgumentError(name, choice, error.problem, error.remedy) from None

    def suggest(self, trial) -> dict:
        """Every hyperparameter for `trial` (mode first: the default batches and window depend on it)."""
        mode = self.values("mode", DEFAULT_SPACE["mode"]).suggest(trial)
        return {"mode": mode, **{name: self.values(name, mode).suggest(trial) for name in HYPERPARAMETERS[1:]}}

    def check_study(self, study) -> None:
        """Refuse choices that differ from those the study's trials already searched (Optuna cannot mix them).

        A range may change between runs (Optuna draws from the new one); a choice's values may not,
        nor may a hyperparameter switch between a range and a choice.
        """
        from optuna.distributions import check_distribution_compatibility  # noqa: PLC0415 - Optuna: see the note at the imports

        searched = {}
        for trial in study.get_trials(deepcopy=False):
            searched.update(trial.distributions)
        for mode in self.values("mode", DEFAULT_SPACE["mode"]).choices:
            for name in HYPERPARAMETERS:
                values = self.values(name, mode)
                new = values.distribution()
                if new is None or name not in searched:
                    continue
                try:
                    check_distribution_compatibility(searched[name], new)
                except ValueError:
                    old = searched[name]
                    before = (",".join(str(choice) for choice in old.choices) if hasattr(old, "choices")
                              else f"{old.low}:{old.high}")
                    raise ArgumentError(name, str(values),
                                        f"differs from what study {study.study_name} searched ({before})",
                                        "give the same choices, or a new {study}") from None

    def describe(self) -> str:
        modes = self.values("mode", DEFAULT_SPACE["mode"]).choices
        parts = []
        for name in HYPERPARAMETERS:
            shown = {str(self.values(name, mode)) for mode in modes}
            parts.append(f"{name} {' or '.join(sorted(shown))}")
        return ", ".join(parts)


def fit_arguments(params: dict, options: list[str]) -> list[str]:
    """fit.py's command line (without `python3 fit.py`) for one trial's hyperparameters."""
    positionals = [params.get(name, "0") for name in POSITIONALS]  # cpu_only 0: the sweep's own setting rules
    return [*positionals, "--mode", params["mode"], *options]


# The storage: a database URL; SQLite in the models folder unless one is given.

def default_storage(models) -> str:
    return f"sqlite:///{Path(models) / DEFAULT_DATABASE}"


def open_study(storage_url: str, study_name: str, create: bool = True):
    """The Optuna study `study_name` in `storage_url` (made when `create`); a URL that fails is an ArgumentError."""
    import optuna  # noqa: PLC0415 - Optuna: see the note at the imports

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweep prints its own line a trial
    # run_worker does what Study.optimize does around a trial (stale trials failed, a heartbeat),
    # with ask and tell, so that taking a trial can happen under claim_lock: Optuna's warnings are moot.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    try:
        storage = _storage(storage_url)
        if not create:
            return optuna.load_study(study_name=study_name or _only_study(storage, storage_url), storage=storage)
        pruner = optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=WARMUP_EPOCHS)
        return optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                   pruner=pruner, load_if_exists=True)
    except KeyError:  # load_study: no study of that name
        raise ArgumentError("study", study_name, f"is not in {storage_url}", "check {study} and {storage}") from None
    except (ImportError, ValueError, RuntimeError) as error:  # no driver, a malformed URL, a server that refuses
        raise ArgumentError("storage", storage_url, f"cannot be opened ({_first_line(error)})",
                            "give an SQLAlchemy URL such as sqlite:///models/study.db "
                            "or postgresql://user@host/db") from None
    except Exception as error:
        if type(error).__module__.startswith("sqlalchemy"):
            raise ArgumentError("storage", storage_url, f"cannot be opened ({_first_line(error)})",
                                "check that the database server runs and the URL is right") from None
        raise


def _storage(storage_url: str, tries: int = 10):
    """Optuna's RDBStorage for the URL; workers that start at once on a new database may race to make its tables.

    The loser of that race sees "already exists" (the tables, or the version row) and tries
    again, finding them made.
    """
    import optuna  # noqa: PLC0415 - Optuna: see the note at the imports

    for attempt in range(tries):
        try:
            return optuna.storages.RDBStorage(storage_url, heartbeat_interval=HEARTBEAT_SECONDS,
                                              grace_period=GRACE_SECONDS)
        except Exception as error:
            racing = type(error).__module__.startswith("sqlalchemy") and (
                "already exists" in str(error) or "duplicate key" in str(error))
            if not racing or attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _only_study(storage, storage_url: str) -> str:
    """The study a database holds, when no name is given: its only one, or the default name."""
    import optuna  # noqa: PLC0415 - Optuna: see the note at the imports

    names = optuna.get_all_study_names(storage)
    if len(names) == 1 or DEFAULT_STUDY in names:
        return names[0] if len(names) == 1 else DEFAULT_STUDY
    raise ArgumentError("study", None, f"is needed: {storage_url} holds " + (", ".join(names) or "no study"),
                        "name one with {study}")


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@contextlib.contextmanager
def claim_lock(study):
    """Held while a worker counts the study's trials and takes a new one: one worker at a time, on any machine.

    PostgreSQL: a transaction-level advisory lock keyed by the study's name (released at commit,
    or by the server if the worker dies). SQLite: an flock on a file beside the database (SQLite is
    one machine's). Other databases: no lock, and the study may overshoot by a trial a worker.
    """
    storage = study._storage  # Optuna's cache in front of the RDBStorage that create_study was given
    engine = getattr(getattr(storage, "_backend", storage), "engine", None)
    dialect = engine.dialect.name if engine is not None else ""
    if dialect == "postgresql":
        import sqlalchemy  # noqa: PLC0415 - Optuna: see the note at the imports

        key = zlib.crc32(f"neural_filter sweep {study.study_name}".encode())
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            yield
    elif dialect == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield
    else:
        yield


def counts(study) -> dict:
    """The study's trials by state name: COMPLETE, PRUNED, RUNNING, WAITING, FAIL."""
    tally = {}
    for trial in study.get_trials(deepcopy=False):
        tally[trial.state.name] = tally.get(trial.state.name, 0) + 1
    return tally


class SweepInterrupted(NeuralFilterError):
    """Ctrl-C stopped a worker: its trial is marked failed (or had finished); the study is intact."""

    exit_status = 130

    def __init__(self, trial_number: int, finished: bool):
        self.trial_number = trial_number
        kept = "finished and was kept" if finished else "was marked failed and nothing of it was kept"
        super().__init__(f"interrupted: trial {trial_number} {kept}",
                         "run the same command again to continue the study")


@dataclasses.dataclass
class WorkerSummary:
    ran: list  # (trial number, state name, value or None, model or None) for each trial this worker took
    counts: dict  # the study's trials by state when this worker stopped
    best: object  # the study's best FrozenTrial, or None


def run_worker(study, space: Space, trials: int, options: list[str], request_from_arguments,
               say=print) -> WorkerSummary:
    """Take trials of `study` until it has `trials` finished or pruned ones (counting those running elsewhere).

    `options`: fit.py options every trial gets (data, models folder); `request_from_arguments`:
    fit.py's command line -> fitting.FitRequest, as fit.py makes it. A trial whose training
    diverges is marked failed and the worker goes on; after `trials` such failures in a row it
    stops. Ctrl-C marks the running trial failed and raises SweepInterrupted.
    """
    import optuna  # noqa: PLC0415 - Optuna: see the note at the imports
    from optuna.storages._heartbeat import get_heartbeat_thread  # noqa: PLC0415 - what study.optimize runs around a trial

    from neural_filter import trials as trial_runs  # noqa: PLC0415 - Keras, 6-8 s: only a sweep's worker trains

    space.check_study(study)
    ran, failures_in_a_row = [], 0
    while failures_in_a_row < trials:
        with claim_lock(study):
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial: failed, its place free again
            tally = counts(study)
            if sum(tally.get(state, 0) for state in ("COMPLETE", "PRUNED", "RUNNING", "WAITING")) >= trials:
                break
            trial = study.ask()
            # a first heartbeat before the lock is let go: a worker killed from here on leaves a trial
            # that fail_stale_trials can see (it passes over trials that never had one)
            study._storage.record_heartbeat(trial._trial_id)
        with trial_runs.CtrlC() as ctrl_c, get_heartbeat_thread(trial._trial_id, study._storage):
            try:
                params = space.suggest(trial)
                arguments = fit_arguments(params, options)
                trial.set_user_attr("fit_command", shlex.join(["python3", "fit.py", *arguments]))
                request = request_from_arguments(arguments)
                _check_drawn(request)
                value, model = _duplicate(study, trial) or trial_runs.run_trial(trial, request, ctrl_c)
                trial.set_user_attr("model", model)
            except optuna.TrialPruned as pruned:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                ran.append((trial.number, "PRUNED", None, None))
                say(f"trial {trial.number}: pruned ({pruned}); {_short(params)}")
                failures_in_a_row = 0
                continue
            except TrainingDivergedError as error:
                trial.set_user_attr("error", error.worded())
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                ran.append((trial.number, "FAIL", None, None))
                say(f"trial {trial.number}: failed ({error.worded()}); {_short(params)}")
                failures_in_a_row += 1
                continue
            except KeyboardInterrupt:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise SweepInterrupted(trial.number, finished=False) from None
            except BaseException:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise
            study.tell(trial, value)
            ran.append((trial.number, "COMPLETE", value, model))
            failures_in_a_row = 0
            again = trial.user_attrs.get("duplicate_of")
            say(f"trial {trial.number}: {value:.2f} dB, {model}" + ("" if again is None else f" (as trial {again})"))
            if ctrl_c.requested:  # Ctrl-C after training, while it was saved: the trial is whole
                raise SweepInterrupted(trial.number, finished=True)
    tally = counts(study)
    best = study.best_trial if tally.get("COMPLETE") else None
    return WorkerSummary(ran, tally, best)


def _check_drawn(request) -> None:
    """Prune a drawn combination that its kind cannot make (a tcn window its layers do not reach): the
    sweep goes on, where a typed one is refused."""
    import optuna  # noqa: PLC0415 - Optuna: see the note at the imports

    try:
        request.kind().check_request(request)
    except ArgumentError as error:
        raise optuna.TrialPruned(error.worded(lambda option: option)) from None


def _duplicate(study, trial):
    """(value, model) of a finished trial with the same fit.py command: the same seed gives the same model."""
    from optuna.trial import TrialState  # noqa: PLC0415 - Optuna: see the note at the imports

    command = trial.user_attrs["fit_command"]
    for done in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if done.user_attrs.get("fit_command") == command and "model" in done.user_attrs:
            trial.set_user_attr("duplicate_of", done.number)
            return done.value, done.user_attrs["model"]
    return None


def _short(params: dict) -> str:
    return " ".join(f"{name} {value}" for name, value in params.items())


# Reading a study back (report.py): its trials as plain rows, best first.

def trial_rows(study) -> list[dict]:
    """Every trial as {number, state, value, model, params, fit_command}, finished ones best first."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        value = trial.value if trial.state.name == "COMPLETE" else None
        rows.append({"number": trial.number, "state": trial.state.name, "value": value,
                     "model": trial.user_attrs.get("model"), "params": dict(trial.params),
                     "fit_command": trial.user_attrs.get("fit_command")})
    rows.sort(key=lambda row: (row["value"] is None, row["value"] if row["value"] is not None else math.inf,
                               row["number"]))
    return rows
