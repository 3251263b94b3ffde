"""Held-out "real recordings" for bench/effects.py, all from Debian packages (no internet needed).

- speech: the eight spoken channel names of `alsa-utils` (/usr/share/sounds/alsa, 48 kHz);
- chimes: bells and alerts of `sound-theme-freedesktop` (Ogg Vorbis, 48 kHz);
- three pieces of music written here as MIDI and played by `fluidsynth` with the General MIDI
  sound font of `fluid-soundfont-gm` (sampled instruments: piano, basses, a drum kit, distorted
  guitar, strings, flute).

Each is mixed to mono, resampled to 44.1 kHz (soxr) and peak-normalised to PEAK: levels a
mastered recording reaches, inside the pink training noise's full scale.
"""

import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import soxr

RATE = 44100
PEAK = 0.9
SPEECH = Path("/usr/share/sounds/alsa")
CHIMES = Path("/usr/share/sounds/freedesktop/stereo")
SOUND_FONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
CHIME_NAMES = ("bell", "complete", "phone-incoming-call", "alarm-clock-elapsed", "message-new-instant",
               "service-login", "dialog-warning", "window-attention")
PACKAGES = {  # Debian package -> a file it installs that the bench reads
    "alsa-utils": SPEECH / "Front_Center.wav",
    "sound-theme-freedesktop": CHIMES / "bell.oga",
    "fluid-soundfont-gm": SOUND_FONT,
}


def missing_packages() -> list[str]:
    """The Debian packages this module needs that are not installed (fluidsynth: its command)."""
    missing = [package for package, path in PACKAGES.items() if not path.exists()]
    return missing + ([] if shutil.which("fluidsynth") else ["fluidsynth"])


def _normalised(samples: np.ndarray, rate: int) -> np.ndarray:
    samples = np.asarray(samples, np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if rate != RATE:
        samples = soxr.resample(samples, rate, RATE)
    samples = samples - samples.mean()
    return samples * (PEAK / np.max(np.abs(samples)))


def _joined(paths, gap_seconds: float = 0.15) -> np.ndarray:
    """Several short files one after the other, a short silence between them."""
    parts = []
    for path in paths:
        samples, rate = soundfile.read(path, always_2d=True)
        parts += [_normalised(samples, rate), np.zeros(int(gap_seconds * RATE))]
    return np.concatenate(parts)


# ---- MIDI: a format-0 Standard MIDI File written by hand (a few events; no library needed)
TICKS = 480  # per beat


def variable_length(value: int) -> bytes:
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append((value & 0x7F) | 0x80)
    return bytes(reversed(out))


def midi_file(programs: dict[int, int], notes: list[tuple[float, float, int, int, int]], tempo: int = 112) -> bytes:
    """A format-0 MIDI file: `programs` channel -> General MIDI program; `notes` (start beat,
    length in beats, channel, key, velocity); channel 9 is the drum kit."""
    events = [(0, bytes([0xFF, 0x51, 0x03]) + (60_000_000 // tempo).to_bytes(3, "big"))]
    events += [(0, bytes([0xC0 | channel, program])) for channel, program in programs.items()]
    for start, length, channel, key, velocity in notes:
        events.append((round(start * TICKS), bytes([0x90 | channel, key, velocity])))
        events.append((round((start + length) * TICKS) - 1, bytes([0x80 | channel, key, 0])))
    events.sort(key=lambda event: (event[0], event[1][0] & 0xF0 == 0x90))  # note-offs before note-ons at a tick
    track, now = b"", 0
    for tick, message in events:
        track += variable_length(tick - now) + message
        now = tick
    track += b"\x00\xFF\x2F\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS) + b"MTrk" + struct.pack(">I", len(track)) + track


def _piano_and_bass() -> bytes:
    chords = [(48, 52, 55, 60), (45, 48, 52, 57), (41, 45, 48, 53), (43, 47, 50, 55)]  # C Am F G
    notes = []
    for bar in range(6):
        chord = chords[bar % 4]
        for beat in range(4):
            notes += [(bar * 4 + beat, 0.9, 0, key + 12, 70 + 8 * (beat == 0)) for key in chord]
            notes.append((bar * 4 + beat, 0.45, 1, chord[0] - 12 + 7 * (beat % 2), 100))
            notes.append((bar * 4 + beat + 0.5, 0.45, 1, chord[0] - 12, 80))
    return midi_file({0: 0, 1: 33}, notes)


def _band() -> bytes:
    notes = []
    for bar in range(6):
        root = (40, 40, 43, 45, 40, 38)[bar]
        for eighth in range(8):
            start = bar * 4 + eighth / 2
            notes += [(start, 0.45, 0, root + interval, 95) for interval in (0, 7, 12)]  # power chords
            notes += [(start, 0.45, 1, root - 12, 105), (start, 0.2, 9, 42, 70)]  # bass, closed hi-hat
        notes += [(bar * 4 + beat, 0.3, 9, 36, 120) for beat in (0, 2.5)]  # kick
        notes += [(bar * 4 + beat, 0.3, 9, 38, 115) for beat in (1, 3)]  # snare
    return midi_file({0: 30, 1: 34}, notes, tempo=132)


def _strings_and_flute() -> bytes:
    pads = [(50, 57, 62, 65), (46, 53, 58, 62), (48, 55, 60, 64), (45, 52, 57, 61)]  # Dm Bb C A
    melody = [74, 76, 77, 79, 77, 76, 74, 73, 74, 77, 81, 79, 77, 76, 74, 74]
    notes = [(bar * 4, 4, 0, key, 60 + 10 * (bar % 2)) for bar in range(4) for key in pads[bar]]
    notes += [(index, 0.95, 1, key, 90) for index, key in enumerate(melody)]
    notes += [(16, 4, 0, key, 40) for key in pads[0]]  # a quiet last chord
    return midi_file({0: 48, 1: 73}, notes, tempo=90)


PIECES = {"piano and bass": _piano_and_bass, "band": _band, "strings and flute": _strings_and_flute}


def _played(midi: bytes) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        midi_path, wav_path = Path(folder, "piece.mid"), Path(folder, "piece.wav")
        midi_path.write_bytes(midi)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(RATE), "-T", "wav", "-F", str(wav_path),
                        str(SOUND_FONT), str(midi_path)], check=True, capture_output=True)
        samples, rate = soundfile.read(wav_path, always_2d=True)
    return _normalised(samples, rate)


def recordings() -> dict[str, np.ndarray]:
    """name -> float64 mono samples at RATE, peak PEAK."""
    speech = sorted(path for path in SPEECH.glob("*.wav") if path.stem != "Noise")
    found = {"speech": _normalised(_joined(speech), RATE),
             "chimes": _normalised(_joined(CHIMES / f"{name}.oga" for name in CHIME_NAMES), RATE)}
    return found | {name: _played(piece()) for name, piece in PIECES.items()}
