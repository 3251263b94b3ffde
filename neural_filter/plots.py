"""Pictures of one training run, written beside its model as PNG files.

Owns three plots: the spectra (where the prediction departs from the target, by frequency), the
loss per epoch (whether training had converged or was still falling), and a short excerpt of the
waveforms (what the error looks like sample by sample). matplotlib is optional and slow to import,
so it is imported inside the functions that draw, with the Agg canvas (files, never a window), and
`available()` lets a caller skip the plots where it is not installed. Signals are full-scale floats,
as metrics scores them; chunk-mode arrays of any shape are flattened.
"""

from pathlib import Path

import numpy as np
from scipy import signal

from neural_filter.files import atomic_output

SPECTRUM_SEGMENT = 4096  # samples per Welch segment: ~11 Hz bins at 44.1 kHz, as metrics.RESPONSE_SEGMENT
LOWEST_HZ = 20.0  # left edge of the spectrum: the bottom of hearing
BANDS_PER_OCTAVE = 24  # spectra are averaged in bands this narrow: Welch's bins jitter into a thick smear up high
SPECTRUM_RANGE_DB = 100.0  # the spectrum shows at most this far below its loudest point; deeper is numerical dust
EXCERPT_SECONDS = 0.02  # waveform excerpt: 20 ms, about 12 cycles at the default 600 Hz cutoff
FIGURE_INCHES = (9.0, 4.8)
DOTS_PER_INCH = 110  # ~1000 x 530 pixels: readable on a screen, small on disk

# label, colour, line style, line width: one look per signal in every plot
LOOKS = {
    "input": ("input (dry)", "0.65", "-", 1.0),
    "target": ("target", "tab:blue", "-", 2.2),
    "prediction": ("prediction", "tab:orange", "--", 1.4),
    "error": ("error (prediction - target)", "tab:red", "-", 0.9),
}


def available() -> bool:
    """Whether matplotlib can be imported, so that plots can be written here."""
    try:
        import matplotlib  # noqa: F401, PLC0415 - optional, and 1 s to import: see the module's docstring
    except ImportError:
        return False
    return True


def write_plots(stem: Path, title: str, rate: int, input, target, prediction, history: dict) -> list[Path]:
    """Write `<stem>_spectrum.png`, `<stem>_loss.png` and `<stem>_waveform.png`; return their paths.

    `title` names the run in every plot (fit.py passes the model name and its ESR); `history` is
    Keras's: lists per key, `loss` and, when there was validation data, `val_loss`.
    """
    stem = Path(stem)
    input, target, prediction = (np.asarray(array, dtype=np.float64).ravel() for array in (input, target, prediction))
    if target.size != prediction.size:
        raise ValueError(f"target has {target.size} samples but prediction has {prediction.size}")
    paths = [stem.with_name(f"{stem.name}_{kind}.png") for kind in ("spectrum", "loss", "waveform")]
    _save(_spectrum_figure(title, rate, input, target, prediction), paths[0])
    _save(_loss_figure(title, history), paths[1])
    _save(_waveform_figure(title, rate, target, prediction), paths[2])
    return paths


def _figure():
    """A figure on the Agg canvas without pyplot: no global state, no backend switching, no window."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - see the module's docstring
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=FIGURE_INCHES, dpi=DOTS_PER_INCH, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.grid(True, which="major", alpha=0.4)
    return figure, axes


def _save(figure, path: Path) -> None:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png")  # explicit: the format never hangs on a file name


def _legend_below(figure) -> None:
    """The legend in a row under the plot: noise-like curves leave no empty corner to put it in."""
    order = [label for label, _, _, _ in LOOKS.values()]  # the same order in every plot, whatever was drawn first
    handles, labels = figure.axes[0].get_legend_handles_labels()
    pairs = sorted(zip(handles, labels), key=lambda pair: order.index(pair[1]))
    if not pairs:  # nothing was long enough to draw
        return
    figure.legend(*zip(*pairs), loc="outside lower center", ncol=len(LOOKS), frameon=False)


def _plot(axes, kind: str, x, y) -> None:
    label, colour, style, width = LOOKS[kind]
    axes.plot(x, y, label=label, color=colour, linestyle=style, linewidth=width)


def _spectrum_figure(title: str, rate: int, input, target, prediction):
    """Welch power spectra in dB over a log frequency axis, with the error's spectrum beneath.

    The target and prediction lie on top of each other when the model is good; the error's own
    spectrum is what shows where, in frequency, the model still misses.
    """
    figure, axes = _figure()
    levels = []
    for kind, samples in (("input", input), ("target", target), ("prediction", prediction),
                          ("error", prediction - target)):
        if samples.size < 2:
            continue
        frequencies, power = signal.welch(samples, fs=rate, nperseg=min(SPECTRUM_SEGMENT, samples.size))
        centres, power = _bands(frequencies, power, rate)
        if not centres.size:  # a rate so low that nothing lies above LOWEST_HZ
            continue
        level = 10 * np.log10(np.maximum(power, 1e-30))  # silence would be -inf
        levels.append(level)
        _plot(axes, kind, centres, level)
    axes.set_xscale("log")
    axes.set_xlim(LOWEST_HZ, rate / 2)
    if levels:
        every = np.concatenate(levels)
        loudest, quietest = float(every.max()), float(every.min())
        axes.set_ylim(max(quietest - 5, loudest - SPECTRUM_RANGE_DB), loudest + 5)
    axes.set_xlabel("frequency (Hz)")
    axes.set_ylabel("power spectral density (dB re full scale² / Hz)")
    axes.set_title(f"Spectrum — {title}")
    axes.grid(True, which="minor", alpha=0.15)
    _legend_below(figure)
    return figure


def _bands(frequencies, power, rate: int):
    """Mean power in 1/BANDS_PER_OCTAVE-octave bands from LOWEST_HZ up, at the mean frequency of each band.

    Low bands narrower than a Welch bin hold one bin or none; the empty ones are left out.
    """
    count = max(0, int(np.ceil(BANDS_PER_OCTAVE * np.log2(rate / 2 / LOWEST_HZ))))
    edges = LOWEST_HZ * 2.0 ** (np.arange(count + 1) / BANDS_PER_OCTAVE)
    band = np.digitize(frequencies, edges)  # 0 below LOWEST_HZ, 1..count inside
    inside = (band > 0) & (band <= count)
    totals = np.bincount(band[inside], weights=power[inside], minlength=count + 1)
    centres = np.bincount(band[inside], weights=frequencies[inside], minlength=count + 1)
    members = np.bincount(band[inside], minlength=count + 1)
    used = members > 0
    return centres[used] / members[used], totals[used] / members[used]


def _loss_figure(title: str, history: dict):
    """Training and validation loss per epoch on a log scale, where a slow tail is still visible."""
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - see the module's docstring

    figure, axes = _figure()
    curves = [(key, label) for key, label in (("loss", "training"), ("val_loss", "validation")) if history.get(key)]
    for key, label in curves:
        values = np.asarray(history[key], dtype=np.float64)
        values[~(values > 0)] = np.nan  # zero, negative or NaN has no place on a log axis
        axes.plot(np.arange(1, values.size + 1), values, label=label, marker="o", markersize=3)
    if curves:
        axes.set_yscale("log")
        axes.legend()
        # Half an epoch of margin: one epoch alone would otherwise get an axis of fractions around 1.
        axes.set_xlim(0.5, max(len(history[key]) for key, _ in curves) + 0.5)
    else:
        axes.text(0.5, 0.5, "no epochs recorded", transform=axes.transAxes, ha="center", va="center")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # epochs are whole
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (mean squared error, network scale)")
    axes.set_title(f"Loss — {title}")
    axes.grid(True, which="minor", alpha=0.15)
    return figure


def _waveform_figure(title: str, rate: int, target, prediction):
    """EXCERPT_SECONDS of target and prediction from the middle, away from any start-up transient."""
    figure, axes = _figure()
    length = min(target.size, max(2, int(round(EXCERPT_SECONDS * rate))))
    start = (target.size - length) // 2
    milliseconds = 1000 * np.arange(length) / rate
    excerpt = slice(start, start + length)
    # The error goes underneath: from a poor model it is as loud as the target and would hide it.
    _plot(axes, "error", milliseconds, prediction[excerpt] - target[excerpt])
    _plot(axes, "target", milliseconds, target[excerpt])
    _plot(axes, "prediction", milliseconds, prediction[excerpt])
    if length > 1:
        axes.set_xlim(milliseconds[0], milliseconds[-1])
    axes.set_xlabel(f"time (ms), from {start / rate:.3f} s into the signal")
    axes.set_ylabel("amplitude (full scale)")
    axes.set_title(f"Waveform — {title}")
    _legend_below(figure)
    return figure
