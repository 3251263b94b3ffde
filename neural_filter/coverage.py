"""Whether a pair's dry recording covers a song: the levels and the spectrum the song needs the model to know.

fit.py scores its model on the pair's held-out tail, noise as a rule. That score speaks for a song
only where the noise showed the model what the song holds: a song that peaks above the noise
drives a nonlinear target where training never went; a song that holds a high level longer than the
noise ever does (a tone, a sustained chord: noise of the same peak sits 9-12 dB lower over a tenth
of a second) drives it with what no stretch of noise showed, and a compressor with a level it never
met; and a song with energy in a band the noise left empty meets a response nobody fitted. `gaps`
names what is missing, in words for one line.
"""

import numpy as np

PEAK_MARGIN_DB = 0.5  # a song peaking this much above the pair's dry recording is said to exceed it
FRAME = 16384  # samples per spectrum frame (Hann): 2.7 Hz apart at 44.1 kHz, so the lowest octave is its own
LOWEST_BAND = 20.0  # Hz: octave bands from here up to the lower Nyquist frequency
SUSTAIN_SECONDS = 0.1  # the span a level is held over: a compressor's release, a chime's ring
SUSTAIN_MARGIN_DB = 3.0  # a song holding a level this much above the pair's loudest such span is said to exceed it
SONG_SHARE = 1e-3  # a band holding this share of the song's power counts (-30 dB) ...
ABSENT_BELOW = 1e-4  # ... where the pair holds less than this times the song's share there (40 dB less)


def gaps(dry: np.ndarray, dry_rate: int, song: np.ndarray, song_rate: int, levels: bool = True) -> list[str]:
    """What `song` holds that `dry` (the pair's dry recording) does not, as phrases ("peaks at ..."); [] if nothing.

    `levels` False: the levels are not judged (a linear filter's pair: a level changes nothing it does).
    """
    said = []
    dry_peak, song_peak = (float(np.max(np.abs(samples))) if len(samples) else 0.0 for samples in (dry, song))
    if levels and song_peak > dry_peak * 10 ** (PEAK_MARGIN_DB / 20):
        said.append(f"peaks at {decibels(song_peak):.1f} dBFS, above the pair's {decibels(dry_peak):.1f} dBFS")
    dry_held, song_held = loudest_held(dry, dry_rate), loudest_held(song, song_rate)
    if levels and song_held > dry_held + SUSTAIN_MARGIN_DB:
        said.append(f"holds {song_held:.1f} dB RMS over {SUSTAIN_SECONDS * 1000:.0f} ms, above the pair's loudest "
                    f"{dry_held:.1f} dB")
    edges = band_edges(min(dry_rate, song_rate) / 2)
    song_shares, dry_shares = band_shares(song, song_rate, edges), band_shares(dry, dry_rate, edges)
    empty = [(low, high) for low, high, song_share, dry_share in zip(edges, edges[1:], song_shares, dry_shares)
             if song_share >= SONG_SHARE and dry_share < ABSENT_BELOW * song_share]
    if empty:
        bands = ", ".join(f"{low:.0f}-{high:.0f} Hz" for low, high in empty)
        said.append(f"has energy at {bands}, where the pair has next to none")
    return said


def decibels(amplitude: float) -> float:
    return 20 * np.log10(amplitude) if amplitude > 0 else float("-inf")


def loudest_held(samples: np.ndarray, rate: int) -> float:
    """The highest RMS level, in dB of full scale, over any SUSTAIN_SECONDS of the signal (all of it, if shorter)."""
    squares = np.square(np.asarray(samples, np.float64))
    if not len(squares):
        return float("-inf")
    span = max(1, min(len(squares), round(SUSTAIN_SECONDS * rate)))
    sums = np.cumsum(np.concatenate([[0.0], squares]))
    mean = np.max(sums[span:] - sums[:-span]) / span
    return 10 * np.log10(mean) if mean > 0 else float("-inf")


def band_edges(nyquist: float) -> list[float]:
    """Octave band edges from LOWEST_BAND, the last band ending at `nyquist`."""
    edges = [LOWEST_BAND]
    while edges[-1] * 2 < nyquist:
        edges.append(edges[-1] * 2)
    return edges + [nyquist]


def band_shares(samples: np.ndarray, rate: int, edges: list[float]) -> np.ndarray:
    """Each band's share of the signal's power (Welch's average of Hann-windowed frames; zeros for silence)."""
    samples = np.asarray(samples, np.float64)
    frames = max(1, (len(samples) - FRAME) // (FRAME // 2) + 1)
    padded = np.pad(samples, (0, max(0, FRAME - len(samples))))
    window = np.hanning(FRAME)
    power = np.zeros(FRAME // 2 + 1)
    for index in range(frames):
        start = index * (FRAME // 2)
        power += np.abs(np.fft.rfft(padded[start : start + FRAME] * window)) ** 2
    frequencies = np.fft.rfftfreq(FRAME, 1 / rate)
    shares = np.array([power[(frequencies >= low) & (frequencies < high)].sum() for low, high in zip(edges, edges[1:])])
    total = power[1:].sum()  # the mean (0 Hz) left out
    return shares / total if total > 0 else shares
