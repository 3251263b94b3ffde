"""One training run, start to end: the one place fit.py, sweeps and benchmarks train through.

`fit` takes a `FitRequest` (what fit.py's command line says, as data) and does what a run does,
in this order: check every input that can be checked without Keras (a mistake costs no start-up),
read the pair, train (or resume), name the model, save it with its record, write the plots,
render the song and, last, append the results row. It returns a `FitOutcome`; printing is the caller's.
A caller may pass Keras callbacks, which see every epoch (an Optuna trial reports through one).
"""

import dataclasses
import math
from pathlib import Path

from neural_filter import audio, console, coverage, dataset, effect, files, kinds, linear_path, metrics, model_file
from neural_filter import pairs, plots
from neural_filter import render, resample, results
from neural_filter.dataset import DataSettings, known_filter
from neural_filter.errors import ArgumentError, DataError
from neural_filter.knob import Knob
from neural_filter.settings import TrainSettings
from neural_filter.spec import FilterSpec


@dataclasses.dataclass(frozen=True)
class FitRequest:
    """Everything a run needs; `typed` names the model (the original's positional arguments as typed)."""

    settings: TrainSettings = TrainSettings()
    mode: str = FilterSpec.mode  # a kind fit.py's --mode offers (kinds.MODES)
    window: int = FilterSpec.window  # samples the network sees at once
    align: str | None = None  # sliding: causal or centre; None: causal, or the resumed model's
    levels: str | None = None  # unit or signed; None: the kind's default_levels, or the resumed model's
    data: DataSettings = DataSettings()
    train_x: str = "train_x.raw"
    train_y: str = "train_y.raw"
    pairs: str | None = None  # a pairs.csv (pairs.py): one knob model for every cutoff, instead of train_x/train_y
    song: str | None = None  # rendered after training, when given
    resample: bool = True  # a song at another rate than the pair's: convert it (True) or refuse it
    models: str = "models"  # folder for models, renders, plots and results.csv
    resume: str | None = None  # a .keras model to continue training
    plot: bool = True  # spectrum, loss and waveform PNGs, when matplotlib is installed
    typed: tuple[str, ...] = ()  # the name's parts; default: made from the settings

    def kind(self) -> kinds.Kind:
        """The kind of model this run trains: the mode's, or the knob with pairs."""
        return kinds.kind_of(self.mode, bool(self.pairs))

    def spec(self) -> FilterSpec:
        levels = self.levels or self.kind().default_levels
        return FilterSpec(mode=self.mode, window=self.window, align=self.align or "causal", levels=levels)

    def name_parts(self) -> list[str]:
        s = self.settings
        return list(self.typed) or [s.activation, s.optimiser, str(s.layers), str(s.units), str(s.batch_size),
                                    str(self.window), str(s.epochs)]


@dataclasses.dataclass
class FitOutcome:
    path: Path  # the saved .keras model
    record: dict  # what model_file.run_record stored in it and beside it
    result: object  # train.TrainResult: the Keras model, history, metrics, scored arrays
    plots: list  # PNGs written
    rendered: Path | None  # the song through the model, when there was a song
    render: dict | None = None  # render.render_file's numbers for it (its rate, whether it was resampled, ...)


def fit(request: FitRequest, callbacks=(), notice=None, inform=print, ctrl_c=None) -> FitOutcome:
    """Run `request` to the end; a user's mistake raises a NeuralFilterError before anything is written.

    `notice` takes the one-line notices for stderr (a cache rebuilt), `inform` the lines for
    stdout that a user should read before training ends (a window too short for the filter).
    `ctrl_c`: the caller's interrupt.CtrlC, installed already (a sweep's), instead of fit.py's.
    """
    pairs = _check_inputs(request)
    # Keras takes 6-8 s to import: only once every input has been checked, so that a mistake costs none of it
    from neural_filter import model, train  # noqa: PLC0415

    model.check_activation(request.settings.activation)
    model.check_optimiser(request.settings.optimiser)
    spec, resumed, resumed_path, knob = request.spec(), None, None, None
    if request.resume:
        resumed, spec, resumed_path = model_file.load_for_resume(request.resume, spec, request.settings,
                                                   typed={"align": request.align, "levels": request.levels})
    if pairs:
        knob = Knob(tuple(pair.cutoff for pair in pairs))
        prepared = dataset.prepare_pairs(pairs, spec, request.data)
        spec.rate = prepared[0].rate
        # each pair's long FIR, solved once: the window's check reads it, and the model keeps it
        steps = len(prepared) * (1 if request.settings.linear_taps else 2)  # each pair's length read, then solved
        with console.progress_bar(steps, request.data.progress, "steps of the pairs' long FIRs (length, taps)") as bar:
            bank = request.kind().fit_bank(prepared, spec, request.settings, progress=lambda: bar.update(1))
        for knot, (pair, part) in enumerate(zip(pairs, prepared)):
            _advise_on_window(part, spec, inform, bank.path(knot), f"the pair at {pair.cutoff:g} Hz: ")
        result = train.train_knob(prepared, knob, spec, request.settings, callbacks=callbacks, bank=bank,
                                  ctrl_c=ctrl_c, progress=request.data.progress)
    else:
        prepared = dataset.prepare(request.train_x, request.train_y, spec, request.data, notice=notice)
        spec.rate = prepared.rate
        long_path = resumed_path if resumed else spec.kind.linear_path(prepared, spec, request.settings)
        if spec.kind.fits_a_response:
            _advise_on_window(prepared, spec, inform, long_path)
        if request.song:
            _advise_on_song(request, inform, levels=not _linear_pair(prepared, long_path))
        result = train.train(prepared, spec, request.settings, model=resumed, callbacks=callbacks, ctrl_c=ctrl_c,
                             progress=request.data.progress, long_path=long_path)

    models = Path(request.models)
    path = models / f"{model_file.model_name(request.name_parts(), spec, result.metrics['score'], knob)}.keras"
    record = model_file.run_record(result, spec, request.settings, data=_data_record(request, spec.rate, pairs),
                                   knob=knob)
    recipe = effect.Recipe.from_record(record["data"]["target_filter"])
    if recipe and recipe.linear:  # a saturated target has no one gain per frequency
        record["metrics"]["response"] = _response(result, recipe, spec.rate)
    # the name taken: never one a model has
    path = model_file.save_model(result.model, path, record, result.linear_path)
    plots = _plots(path, result, spec.rate) if request.plot else []
    rendered, render_stats = _render_song(path, request, knob) if request.song else (None, None)
    # last: a row stands for a run whose files are all written (a run killed before has none)
    results.append_result(models / "results.csv", results.results_row(path, record))
    return FitOutcome(path, record, result, plots, rendered, render_stats)


def _check_inputs(request: FitRequest):
    """Everything that can be checked without Keras, so that a mistake costs no start-up; a knob's pairs, if any."""
    audio.check_format(request.data.format)
    request.kind().check_request(request)
    pairs = _read_pairs(request.pairs) if request.pairs else None
    files_of_pairs = [(pair.dry, pair.filtered) for pair in pairs] if pairs else [(request.train_x, request.train_y)]
    for x, y in files_of_pairs:
        for path in (x, y):
            audio.check_readable(path)
            audio.container_of(path, request.data.format)  # a format given for a WAV, FLAC, ... of the pair: refused
        _check_noted_format(y, request.data.format)
    if request.song:  # opened now (a damaged song is refused before the training, not after it)
        first_dry = files_of_pairs[0][0]
        song, pair = (audio.open_companion(path, request.data.format, request.data.rate)
                      for path in (request.song, first_dry))
        if not request.resample and song.rate != pair.rate:
            raise resample.refusal(request.song, song.rate, f"{first_dry} is at", pair.rate)
    if request.resume:
        model_file.check_resumable(request.resume)
    files.writable_folder(request.models, "models")
    return pairs


def _read_pairs(pairs_file) -> list:
    """A knob model's pairs, refused where make_data.py's notes contradict the list."""
    listed = pairs.read_pairs(pairs_file)
    _check_noted_cutoffs(pairs_file, listed)
    return listed


def _check_noted_cutoffs(pairs_file, listed) -> None:
    """Refuse a list whose cutoff for a pair is not the one make_data.py noted beside the pair's file."""
    for pair in listed:
        note = effect.read_note(pair.filtered)
        if note and not math.isclose(note.recipe.cutoff, pair.cutoff, rel_tol=1e-6):
            raise DataError(pairs_file, f"lists {pair.filtered} at {pair.cutoff:g} Hz, but make_data.py's note "
                            f"{effect.note_path(pair.filtered)} says it was filtered at {note.recipe.cutoff:g} Hz",
                            "correct the cutoff in the list")


def _advise_on_window(prepared, spec: FilterSpec, inform, long_path, which: str = "") -> None:
    """Say, before training, when the window is too short for what the stack must do (not an error).

    Beside a long linear path (`long_path`) the stack has only the curve to learn: the window is
    too short when what the path leaves still depends on older input (linear_path.stack_window).
    Without one the window holds the linear filter too: it is too short when a longer
    least-squares FIR still gains more on held-out audio than the pair's floor or what no linear
    filter removes (linear_path.length_of): the linear residual judged against the nonlinear one.
    """
    def before(window):
        return dataclasses.replace(spec, window=window).padding[0]

    x, y = prepared.train_x, prepared.train_y
    if long_path is not None:
        reading, what = linear_path.stack_window(x, y, long_path, prepared.rate, spec.window, before), \
            "what the linear path leaves still depends on older input"
    else:
        reading, what = linear_path.length_of(x, y, prepared.rate, before, start=spec.window), \
            "a longer least-squares FIR still gains on held-out audio"
    if reading.length > spec.window:
        fits = f"the response is longer than {reading.length} samples, the most this pair can show" \
            if reading.capped else f"a window of {reading.length} samples would hold the response"
        inform(f"{which}window {spec.window} is too short for this filter: {what}; {fits}")


def _advise_on_song(request: FitRequest, inform, levels: bool = True) -> None:
    """Say, before training, when the pair's dry recording cannot speak for the song (levels or a spectrum it
    never showed; `levels` False: a linear pair's, whose levels change nothing)."""
    song = audio.open_companion(request.song, request.data.format, request.data.rate)
    # the dry file itself: a chunk pair's arrays are shuffled chunks
    dry = audio.open_audio(request.train_x, request.data.format, request.data.rate)
    gaps = coverage.gaps(dry.read(), dry.rate, song.read(), song.rate, levels)
    if gaps:
        inform(f"the validation score is the pair's, not {request.song}'s: the song {' and '.join(gaps)}")


def _linear_pair(prepared, long_path) -> bool:
    """Whether the pair is a linear filter's: its long linear path alone is near the floor on the held-out part
    (metrics.NEAR_FLOOR_DB), so a song louder than the pair meets nothing the pair did not show."""
    if long_path is None or not len(prepared.validation_x):
        return False
    alone = long_path.filter(prepared.validation_x, past=prepared.train_x)
    above = metrics.decibels(metrics.esr(alone, prepared.validation_y)) - metrics.floor_db(prepared.validation_y)
    return above <= metrics.NEAR_FLOOR_DB


def _check_noted_format(train_y, format: str | None) -> None:
    """Never read a raw pair in another format than make_data.py wrote it (its note says which)."""
    note = effect.read_note(train_y)
    given = format or "u8"
    if note and audio.container_of(train_y) == "raw" and note.format != given:
        raise ArgumentError("format", given, f"{train_y} is {note.format} (make_data.py's note "
                            f"{effect.note_path(train_y)} says so)", f"give {{format}} {note.format}")


def _data_record(request: FitRequest, rate: int, pairs=None) -> dict:
    record = {"format": request.data.format or "u8", "validation": request.data.validation, "rate": rate,
              "resumed_from": request.resume, "song": model_file.song_record(request.song) if request.song else None}
    if pairs:  # a knob model: each pair's recipe, when make_data.py noted it
        listed = [{"dry": str(pair.dry), "filtered": str(pair.filtered), "cutoff": pair.cutoff,
                   "target_filter": known_filter(pair.filtered)} for pair in pairs]
        return {"pairs_file": request.pairs, "pairs": listed, "target_filter": None, **record}
    return {"train_x": request.train_x, "train_y": request.train_y, "target_filter": known_filter(request.train_y),
            **record}


def _response(result, recipe: effect.Recipe, rate: int) -> list:
    return metrics.response_table(result.scored["input"], result.scored["prediction"], recipe.cutoff, recipe.rolloff,
                                  rate)


def _plots(path: Path, result, rate: int) -> list:
    if not plots.available():
        return []
    title = f"{path.stem}: ESR {metrics.decibels(result.metrics['esr']):.1f} dB"
    return plots.write_plots(path.with_suffix(""), title, rate, result.scored["input"], result.scored["target"],
                             result.scored["prediction"], result.history)


def _render_song(path: Path, request: FitRequest, knob=None) -> tuple[Path, dict]:
    """The song through the saved model, beside it, as gen.py would render it (same bytes), and the render's numbers.

    A knob model renders at the middle of its range in log frequency (`gen.py --cutoff` that value
    gives the same bytes).
    """
    kind = audio.container_of(request.song)
    out = path.with_suffix(audio.KINDS[kind].extensions[0])
    # the data settings' format and rate describe raw files (the pair's): a WAV or FLAC song names its own
    data = request.data
    stats = render.render_file(path, request.song, out, data.format, data.rate, progress=data.progress,
                               resample=request.resample, companion=True, knob=knob.middle if knob else None)
    if knob:
        stats["knob"] = knob.middle
    return out, stats
