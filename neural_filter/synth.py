"""Synthetic audio: the seed's Audacity recipe, done in code.

Owns everything needed to build a training pair without Audacity: white noise as Generate>Noise
makes it, the low-pass filter of Effect>Low-Pass Filter (lowpass.ny) for every roll-off it offers,
the refusal of settings Audacity refuses, and a small synthetic song to filter when no recording is
at hand. The formulas are those of AUDACITY.md (the Audacity sources, summarised in the project brief).
Everything here is a pure function of float arrays; reading and writing files belongs elsewhere.
"""

import numpy as np
from scipy import optimize, signal

from neural_filter.errors import ArgumentError

ROLLOFFS = (6, 12, 24, 36, 48)

# q of each biquad in lowpass.ny's cascades; 6 dB/octave is a one-pole and has none.
BIQUAD_QS = {
    12: (0.7071,),
    24: (0.60492333, 1.33722126),
    36: (0.58338080, 0.75932572, 1.95302407),
    48: (0.57622191, 0.66045510, 0.94276399, 2.57900101),
}

MIN_CUTOFF = 0.1  # Hz; lowpass.ny refuses anything lower


def white_noise(seconds: float, rate: int, rng: np.random.Generator,
                amplitude: float = 0.8) -> np.ndarray:
    """Generate>Noise, type White: uniform samples on [-amplitude, amplitude]."""
    return rng.uniform(-amplitude, amplitude, size=int(round(seconds * rate)))


NOISES = ("white", "pink", "brownian")
# make_data.py's peak for each kind: white at Audacity's default 0.8 (the seed's recipe); pink and
# brownian at full scale, so that after a low-pass they still reach the levels a song reaches there.
DEFAULT_AMPLITUDES = {"white": 0.8, "pink": 1.0, "brownian": 1.0}

# Paul Kellet's refined pink filter (the one Audacity's Generate>Noise uses): six one-pole sections
# fed the same white noise, plus a direct path and a one-sample-delayed path: (gain, pole) pairs.
KELLET_POLES = ((0.0555179, 0.99886), (0.0750759, 0.99332), (0.1538520, 0.96900),
                (0.3104856, 0.86650), (0.5329522, 0.55000), (-0.0168980, -0.7616))
KELLET_DIRECT, KELLET_DELAYED = 0.5362, 0.115926


def _to_peak(samples: np.ndarray, amplitude: float) -> np.ndarray:
    """Centred and scaled so that its largest magnitude is `amplitude` (silence stays silence)."""
    return _scaled_to_peak(samples - samples.mean(), amplitude)


def _scaled_to_peak(samples: np.ndarray, amplitude: float) -> np.ndarray:
    """Scaled so that its largest magnitude is `amplitude` (silence stays silence)."""
    peak = np.max(np.abs(samples)) if samples.size else 0.0
    return samples * (amplitude / peak) if peak > 0 else samples


def pink_noise(seconds: float, rate: int, rng: np.random.Generator,
               amplitude: float = 0.8) -> np.ndarray:
    """Pink noise (-3 dB/octave, equal power per octave) peaking at exactly +-amplitude.

    Paul Kellet's refined filter applied to uniform white noise with scipy.signal.lfilter (within
    0.05 dB of 1/f from about 10 Hz to Nyquist at 44.1 kHz), centred and peak-normalised: unlike
    white noise, its level at a low-pass filter's output is nearly its level at the input.
    """
    white = rng.uniform(-1, 1, size=int(round(seconds * rate)))
    pink = KELLET_DIRECT * white
    pink[1:] += KELLET_DELAYED * white[:-1]
    for gain, pole in KELLET_POLES:
        pink += signal.lfilter([gain], [1.0, -pole], white)
    return _to_peak(pink, amplitude)


def brownian_noise(seconds: float, rate: int, rng: np.random.Generator,
                   amplitude: float = 0.8) -> np.ndarray:
    """Brownian (red) noise (-6 dB/octave) peaking at exactly +-amplitude.

    Integrated uniform white noise, leaky as Audacity's is (y[n] = (1 - 144/rate) y[n-1] + x[n]:
    flat below about 23 Hz, so it does not wander off), centred and peak-normalised.
    """
    white = rng.uniform(-1, 1, size=int(round(seconds * rate)))
    leak = max(1 - 144 / rate, 0.0)
    return _to_peak(signal.lfilter([1.0], [1.0, -leak], white), amplitude)


def check_noise(kind: str, amplitude: float = 0.8) -> None:
    """Refuse a kind Generate>Noise does not offer, or an amplitude outside (0, 1] (export clips past 1)."""
    if kind not in NOISES:
        raise ArgumentError("noise", repr(kind), "unknown", f"use one of {', '.join(NOISES)}")
    if not (np.isfinite(amplitude) and 0 < amplitude <= 1):
        raise ArgumentError("amplitude", f"{amplitude:g}", "out of range",
                            "give a peak above 0 and at most 1 (full scale)")


def noise(kind: str, seconds: float, rate: int, rng: np.random.Generator,
          amplitude: float = 0.8, envelope: str = "steady", tones: bool = False) -> np.ndarray:
    """Generate>Noise of that kind: white (uniform), pink or brownian, within +-amplitude; at one level
    throughout (`envelope` "steady", Audacity's), in bursts of many levels ("bursts": see `bursts`) or at
    levels that move slowly over a compressor's range ("levels": see `levels`);
    with `tones`, every other second is tone bursts instead (see `tone_bursts`)."""
    check_noise(kind, amplitude)
    check_envelope(envelope)
    samples = {"white": white_noise, "pink": pink_noise, "brownian": brownian_noise}[kind](seconds, rate, rng,
                                                                                          amplitude)
    if envelope == "steady" and not tones:
        return samples
    if tones:
        odd_seconds = (np.arange(len(samples)) // rate) % 2 == 1
        samples = np.where(odd_seconds, tone_bursts(len(samples), rate, rng), samples / amplitude)
    if envelope != "steady":
        samples = samples * ENVELOPE_GAINS[envelope](len(samples), rate, rng)
    return _scaled_to_peak(samples, amplitude)  # not centred again: a silent burst stays silent


# Tone bursts: 50 ms to 1 s each, log-uniform, of 1 to 4 sines at log-uniform frequencies from 40 Hz to
# 10 kHz (or near Nyquist), at random amplitudes and phases, faded in and out over 10 ms.
TONE_SECONDS = (0.05, 1.0)
TONE_FREQUENCIES = (40.0, 10000.0)
MOST_TONES = 4
TONE_FADE_SECONDS = 0.01


def tone_bursts(samples: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Chords of a few sines, one after another, each peaking at 1: what music holds and noise does not.

    Noise of a given peak holds 9-12 dB less level over a tenth of a second than a tone of that peak,
    and never a steady pitch: a model trained on noise alone meets a chime or a held chord out of
    everything it knows (bench/effects.py: the recordings that score worst are chimes and speech).
    """
    output, start = np.zeros(samples), 0
    top = min(TONE_FREQUENCIES[1], 0.45 * rate)
    while start < samples:
        length = int(np.exp(rng.uniform(*np.log(np.array(TONE_SECONDS) * rate))))
        end = min(samples, start + max(length, 1))
        times = np.arange(end - start) / rate
        count = int(rng.integers(1, MOST_TONES + 1))
        frequencies = np.exp(rng.uniform(np.log(TONE_FREQUENCIES[0]), np.log(top), count))
        gains, phases = rng.uniform(0.2, 1.0, count), rng.uniform(0, 2 * np.pi, count)
        chord = (gains[:, None] * np.sin(2 * np.pi * frequencies[:, None] * times + phases[:, None])).sum(axis=0)
        fade = np.minimum(1.0, np.minimum(times, times[::-1]) / TONE_FADE_SECONDS)
        output[start:end] = _scaled_to_peak(chord, 1.0) * fade  # each chord at full scale: a held peak
        start = end
    return output


ENVELOPES = ("steady", "bursts", "levels")
# Bursts: lengths log-uniform from 10 ms to 1 s, levels uniform in dB over the range a recording spans
# (its loud passages to its quiet tails), one in ten silent; each change of level is a ramp of
# 0.1-30 ms, log-uniform, so a compressor sees fast and slow attacks and releases.
BURST_SECONDS = (0.01, 1.0)
BURST_LEVELS_DB = (-50.0, 0.0)
SILENT_BURSTS = 0.1
RAMP_SECONDS = (0.0001, 0.03)


def check_envelope(envelope: str) -> None:
    if envelope not in ENVELOPES:
        raise ArgumentError("envelope", repr(envelope), "unknown", f"use one of {', '.join(ENVELOPES)}")


def bursts(samples: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A gain per sample that holds a level for each burst and ramps to the next: noise times it shows a
    model the levels, and the changes of level, that music has and steady noise lacks.

    The level a nonlinear effect is driven at decides its curve, and a compressor's gain follows the
    level of the last tenth of a second: a pair at one level teaches neither (issue 20, 21).
    """
    starts = _segment_starts(samples, rate, rng, BURST_SECONDS)
    levels = 10 ** (rng.uniform(*BURST_LEVELS_DB, len(starts)) / 20)
    levels[rng.uniform(size=len(starts)) < SILENT_BURSTS] = 0.0
    ramps = np.exp(rng.uniform(*np.log(np.array(RAMP_SECONDS) * rate), len(starts)))
    ramps = np.minimum(ramps, np.diff(starts, append=starts[-1] + BURST_SECONDS[1] * rate))  # within its burst
    return _ramped(samples, starts, ramps, levels, before=0.0)  # silence before the first


def _segment_starts(samples: int, rate: int, rng: np.random.Generator, seconds: tuple) -> np.ndarray:
    """Where each segment of an envelope starts (the first at 0, the last at or past `samples`), their lengths
    log-uniform over `seconds` (shortest, longest)."""
    shortest, longest = (limit * rate for limit in seconds)
    count = int(np.ceil(samples / shortest)) + 1  # enough segments to fill the signal, at worst all shortest
    lengths = np.exp(rng.uniform(np.log(shortest), np.log(longest), count))
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    return starts[: np.searchsorted(starts, samples) + 1]


def _ramped(samples: int, starts: np.ndarray, ramps: np.ndarray, levels: np.ndarray, before: float) -> np.ndarray:
    """Each segment's level reached `ramps` samples after its start, from the level before it (`before`, then the
    previous segment's), straight between the knots, one value per sample."""
    times = np.stack([starts, starts + ramps], axis=1).ravel()
    knots = np.stack([np.concatenate([[before], levels[:-1]]), levels], axis=1).ravel()
    return np.interp(np.arange(samples), times, knots)


# Levels: segments of 50-500 ms (log-uniform), each at a level in -50..0 dB, reached either by a step (a ramp of
# 0.1-5 ms, the attack or release a compressor's times act on) or by a ramp over the whole segment (a slow swell or
# fade), one or the other at even odds. The levels are drawn LEVEL_BINS at a time, one in each of LEVEL_BINS
# equal bands of the range in random order, so that every second or two crosses the whole range: fit.py
# validates on the pair's last tenth (3 s of 30), which then shows the knee and both sides of it too.
LEVEL_SECONDS = (0.05, 0.5)
LEVELS_DB = (-50.0, 0.0)
LEVEL_BINS = 8
STEP_SECONDS = (0.0001, 0.005)


def levels(samples: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A gain per sample whose level in dB moves over a compressor's whole range, held, stepped and ramped.

    A compressor acts on the level: below its threshold it passes the signal, above it the gain
    falls with the level, and its attack and release decide how fast it follows. A pair whose
    level stays within a few dB (steady noise, tones: 100 ms RMS within -15 to -3 dBFS) never
    shows the knee; one in bursts shows it in training but may not in its last tenth, the part
    fit.py validates on (issue 21). Here every level band comes back within a couple of seconds.
    """
    starts = _segment_starts(samples, rate, rng, LEVEL_SECONDS)
    bands = np.concatenate([rng.permutation(LEVEL_BINS) for _ in range(-(-len(starts) // LEVEL_BINS))])
    low, high = LEVELS_DB
    decibels = low + (bands[: len(starts)] + rng.uniform(size=len(starts))) * (high - low) / LEVEL_BINS
    lengths = np.diff(starts, append=starts[-1] + LEVEL_SECONDS[1] * rate)
    steps = np.exp(rng.uniform(*np.log(np.array(STEP_SECONDS) * rate), len(starts)))
    ramps = np.where(rng.uniform(size=len(starts)) < 0.5, np.minimum(steps, lengths / 2), lengths * 0.99)
    return 10 ** (_ramped(samples, starts, ramps, decibels, before=decibels[0]) / 20)  # straight in dB


ENVELOPE_GAINS = {"bursts": bursts, "levels": levels}  # synth.noise's envelopes other than steady


def check_lowpass(cutoff: float, rolloff: int, rate: int) -> None:
    """Refuse, as lowpass.ny does, a cutoff it cannot filter at or a roll-off it does not offer."""
    nyquist = rate / 2
    if not MIN_CUTOFF <= cutoff < nyquist:
        raise ArgumentError("cutoff", f"{cutoff:g} Hz", f"out of range at {rate} Hz",
                            f"give a frequency from {MIN_CUTOFF:g} Hz up to (not including) {nyquist:g} Hz")
    if rolloff not in ROLLOFFS:
        raise ArgumentError("rolloff", f"{rolloff} dB/octave", "not one that lowpass.ny offers",
                            f"use one of {', '.join(map(str, ROLLOFFS))}")


def _biquad(cutoff: float, q: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    # Nyquist's lowpass2: alpha = sin(w)*sinh(0.5/q), not the cookbook's sin(w)/(2q), so the
    # 12 dB filter is about -3.7 dB at the cutoff rather than a true Butterworth's -3.01 dB.
    w = 2 * np.pi * cutoff / rate
    cos_w, alpha = np.cos(w), np.sin(w) * np.sinh(0.5 / q)
    b = np.array([(1 - cos_w) / 2, 1 - cos_w, (1 - cos_w) / 2])
    a = np.array([1 + alpha, -2 * cos_w, 1 - alpha])
    return b / a[0], a / a[0]


def lowpass_coefficients(cutoff: float, rolloff: int,
                         rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (b, a) sections lowpass.ny applies, in order, for this cutoff and roll-off."""
    check_lowpass(cutoff, rolloff, rate)
    if rolloff == 6:
        # Nyquist's lp: y[n] = c1*x[n] + c2*y[n-1], exactly -3.01 dB at the cutoff.
        k = 2 - np.cos(2 * np.pi * cutoff / rate)
        c2 = k - np.sqrt(k * k - 1)
        return [(np.array([1 - c2]), np.array([1.0, -c2]))]
    return [_biquad(cutoff, q, rate) for q in BIQUAD_QS[rolloff]]


def audacity_lowpass(samples: np.ndarray, cutoff: float, rolloff: int, rate: int) -> np.ndarray:
    """Effect>Low-Pass Filter applied to samples, from silence, as float64."""
    check_lowpass(cutoff, rolloff, rate)
    out = np.asarray(samples, dtype=np.float64)
    # Audacity runs direct form II, lfilter direct form II transposed; with zero initial state
    # both compute the same difference equation, differing only by float64 rounding (~1e-16).
    for b, a in lowpass_coefficients(cutoff, rolloff, rate):
        out = signal.lfilter(b, a, out)
    return out


def swept_one_pole(samples: np.ndarray, cutoffs: np.ndarray, rate: int) -> np.ndarray:
    """The 6 dB/octave low-pass with its cutoff moving: sample n filtered at cutoffs[n], as float64.

    lowpass.ny's one-pole with its coefficient recomputed every sample: the exact target of a
    swept knob (gen.py --cutoff A:B). A plain loop: it is a reference, not a renderer.
    """
    k = 2 - np.cos(2 * np.pi * np.asarray(cutoffs, np.float64) / rate)
    poles = k - np.sqrt(k * k - 1)
    gains = 1 - poles
    out = np.empty(len(samples))
    state = 0.0
    for index, sample in enumerate(np.asarray(samples, np.float64).tolist()):
        state = gains[index] * sample + poles[index] * state
        out[index] = state
    return out


SHAPES = ("soft", "asymmetric")


def check_saturation(drive_db: float, shape: str) -> None:
    if not (np.isfinite(drive_db) and drive_db >= 0):
        raise ArgumentError("drive", f"{drive_db:g} dB", "not a drive", "give 0 (no saturation) or more")
    if shape not in SHAPES:
        raise ArgumentError("shape", repr(shape), "unknown", f"use one of {', '.join(SHAPES)}")


def _knee(drive_db: float) -> float:
    """k with k / tanh(k) = 10**(drive_db / 20): how hard tanh(k x) is driven for that much drive."""
    gain = 10 ** (drive_db / 20)
    return optimize.brentq(lambda k: k / np.tanh(k) - gain, max(gain - 1, 1e-9), gain + 1, xtol=1e-12)


def saturate(samples: np.ndarray, drive_db: float, shape: str = "soft") -> np.ndarray:
    """Memoryless saturation after the filter, as float64; drive 0 dB returns the samples unchanged.

    soft: y = tanh(k x) / tanh(k), a symmetric (odd) soft clip. Full scale stays full scale, and
    small signals come out `drive_db` louder than that: k / tanh(k) = 10**(drive_db / 20). (The
    drive is the gain a quiet signal gets over a full-scale one; 10 dB is nearly 0.9 tanh(3 x).)
    asymmetric: a diode-like stage, both halves tanh with unit slope at 0, the positive half
    driven twice as hard (k+ = 2 k-, it flattens near half scale) and the negative half the soft
    curve of this drive (it reaches full scale). Even harmonics, and a DC offset that follows the
    level, are part of the sound: no DC is removed, since a DC blocker (a high-pass) would give the
    stage a memory far longer than any window.
    """
    check_saturation(drive_db, shape)
    x = np.asarray(samples, dtype=np.float64)
    if drive_db == 0:
        return x.copy()
    k = _knee(drive_db)
    if shape == "soft":
        return np.tanh(k * x) / np.tanh(k)
    up = 2 * k  # the positive half: twice the drive
    return np.where(x > 0, np.tanh(up * x) / up, np.tanh(k * x) / k) * (k / np.tanh(k))


def _notes(t: np.ndarray, beat: float, freqs: list[float], beats_per_note: int) -> np.ndarray:
    """Frequency at each time of a looping sequence of notes, and time since each note began."""
    length = beat * beats_per_note
    index = (t // length).astype(int) % len(freqs)
    return np.asarray(freqs)[index], t % length


def synthetic_song(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A few seconds of bass, chords and drums at 120 bpm, peak-normalised to 0.95.

    Spans the spectrum a low-pass filter is judged on: bass below 150 Hz, chords in the mids,
    hats above 2 kHz. The rng only colours the hats, so the song is reproducible per seed.
    """
    t = np.arange(int(round(seconds * rate))) / rate
    beat = 0.5  # seconds, 120 bpm

    # Bass: A1 D2 E2 A1, one note per two beats, with two harmonics so it is heard on small speakers.
    f, since = _notes(t, beat, [55.0, 73.42, 82.41, 55.0], 2)
    phase = 2 * np.pi * f * t
    bass = (np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase))
    bass *= np.exp(-since * 1.5)

    # Chords: Am, Dm, Em, Am triads (root, third, fifth), four beats each, soft saw-like timbre.
    chords = np.zeros_like(t)
    for ratio in (1.0, 1.2, 1.5):  # minor triad in just intonation
        f, since = _notes(t, beat, [220.0 * ratio, 293.66 * ratio, 329.63 * ratio, 220.0 * ratio], 4)
        for h in (1, 2, 3, 4):  # first partials of a sawtooth
            chords += np.sin(2 * np.pi * h * f * t) / h
    chords *= 0.15 * (1 - np.exp(-since * 20)) * np.exp(-since * 0.5)  # quick attack, slow fade

    # Kick on every beat: a sine sweeping down from ~150 Hz to 50 Hz, decaying fast.
    since = t % beat
    sweep_phase = 2 * np.pi * (50 * since + 100 / 30 * (1 - np.exp(-30 * since)))
    kick = np.sin(sweep_phase) * np.exp(-since * 12)

    # Hats on the off-beats: short bursts of noise with the lows removed by a first difference.
    noise = rng.uniform(-1, 1, size=t.size + 1)
    since = (t + beat / 2) % beat
    hats = 0.5 * np.diff(noise) * np.exp(-since * 60)

    song = 0.5 * bass + chords + 0.8 * kick + hats
    # The clip only absorbs the last-bit rounding of the division, which can land one ulp over.
    return np.clip(0.95 * song / np.max(np.abs(song)), -0.95, 0.95)
