"""Rates benchmark: the shipped 600 Hz model on a song at another rate than its own (44.1 kHz).

The synthetic song (`synth.synthetic_song`, 30 s, seed 99) is made at each rate and written as a
16-bit WAV; gen.py renders it through `models/lowpass_600hz_6db/` (a subprocess, as a user runs
it) and scores the 16-bit output against the exact filter (Audacity's 600 Hz 6 dB/octave low-pass,
designed for that rate) applied to the song in float64 (`gen.py --reference`). Rows:

- converted: gen.py as it is: a song at another rate is converted to 44.1 kHz, rendered and
  converted back;
- not converted: the same samples given to the model as if they were at 44.1 kHz (a raw float
  file with `--rate 44100`: what gen.py did before), a filter at 600 * rate / 44100 Hz;
- the best a 44.1 kHz model can do: the exact filter designed for 44.1 kHz in the model's place,
  converted there and back the same way (float output). It loses what lies above 22.05 kHz (the
  model cannot hear it), and Audacity's filter is not the same filter at every rate.

Each rate is run twice: on the song as synthesised (its percussion is white noise, bright up to
the Nyquist frequency), and on the song with nothing above 20 kHz, like most recordings. The
44.1 kHz row is the model at its own rate; issue 15 asks the 48 kHz row to be within 1 dB of it.

    python3 bench/rates.py       # about a minute on 2 cores
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neural_filter import audio, metrics, resample, synth  # noqa: E402

MODEL = next((ROOT / "models" / "lowpass_600hz_6db").glob("*.keras"))
RATES = (44100, 48000, 22050, 96000)
SECONDS = 30


def gen_esr_db(folder: Path, arguments: list[str]) -> float:
    """gen.py's ESR of its written output against --reference, in dB."""
    done = subprocess.run([sys.executable, str(ROOT / "gen.py"), str(MODEL), *arguments, "--quiet"], cwd=folder,
                          check=True, capture_output=True, text=True)
    return float(re.search(r"ESR against .*: \S+ \((\S+) dB\)", done.stdout).group(1))


def the_song(rate: int, band_limited: bool) -> np.ndarray:
    """The synthetic song at `rate`; band-limited: with nothing above 20 kHz, like most recordings."""
    song = synth.synthetic_song(SECONDS, rate, np.random.default_rng(99))
    if band_limited and rate > 40000:
        from scipy import signal

        sections = signal.ellip(12, 0.01, 120, 20000, output="sos", fs=rate)  # flat to 20 kHz, -120 dB above
        song = signal.sosfiltfilt(sections, song)  # both ways: no phase change
    return song.astype(np.float32)


def bench_rate(rate: int, band_limited: bool, folder: Path) -> list[tuple[str, float]]:
    song = the_song(rate, band_limited)
    audio.write_audio(folder / "song.wav", song, "s16le", rate)
    heard = audio.read_audio(folder / "song.wav").samples.astype(np.float64)  # what gen.py is given
    target = synth.audacity_lowpass(heard, 600, 6, rate)
    audio.write_audio(folder / "target.wav", target.astype(np.float32), "f32le", rate)
    rows = [("converted" if rate != 44100 else "its own rate",
             gen_esr_db(folder, ["song.wav", "--out", "out.wav", "--reference", "target.wav"]))]
    if rate != 44100:
        audio.write_audio(folder / "song.f32", heard.astype(np.float32), "f32le", rate, container="raw")
        audio.write_audio(folder / "target.f32", target.astype(np.float32), "f32le", rate, container="raw")
        rows.append(("not converted (as before)",
                     gen_esr_db(folder, ["song.f32", "--format", "f32le", "--rate", "44100", "--out", "out.s16",
                                         "--reference", "target.f32"])))
        there = np.concatenate(list(resample.resample_blocks([heard.astype(np.float32)], rate, 44100)))
        filtered = synth.audacity_lowpass(there, 600, 6, 44100).astype(np.float32)
        back = np.concatenate(list(resample.exact_length(resample.resample_blocks([filtered], 44100, rate), len(heard))))
        rows.append(("the best a 44.1 kHz model can do", metrics.decibels(metrics.esr(back, target))))
    return rows


def main() -> None:
    print("| song | song rate | the model (44.1 kHz) given the song | ESR against the exact 600 Hz filter |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for band_limited in (False, True):
            song = "nothing above 20 kHz" if band_limited else "as synthesised"
            for rate in RATES:
                for name, decibels in bench_rate(rate, band_limited, Path(folder)):
                    print(f"| {song} | {rate / 1000:g} kHz | {name} | {decibels:.1f} dB |", flush=True)


if __name__ == "__main__":
    main()
