"""Audio files in and out: headerless raw PCM (the original's format) and WAV.

Every sample format is decoded to float32 "full scale" (-1..1, silence at 0) and encoded back from
it by one pair of functions, `decode` and `encode`, so each format round-trips byte for byte. The
original's unsigned 8-bit raw file stays the default; `--format` picks another raw encoding and a
`.wav` extension picks WAV (8, 16, 24, 32-bit PCM or 32-bit float, stereo mixed to mono).
"""

import contextlib
import dataclasses
import struct
from pathlib import Path

import numpy as np

from neural_filter.errors import ArgumentError, DataError
from neural_filter.files import atomic_output

DEFAULT_RATE = 44100  # raw files carry no rate; the seed's Audacity project rate

# format name -> (numpy dtype of one stored sample, value of full scale, value of silence)
SAMPLE_FORMATS = {
    "u8": (np.dtype("u1"), 128.0, 128.0),
    "s8": (np.dtype("i1"), 128.0, 0.0),
    "s16le": (np.dtype("<i2"), 32768.0, 0.0),
    "s24le": (np.dtype("<i4"), 8388608.0, 0.0),  # WAV only: held in int32, low 24 bits
    "s32le": (np.dtype("<i4"), 2147483648.0, 0.0),  # WAV only; float32 keeps 24 bits of it
    "f32le": (np.dtype("<f4"), 1.0, 0.0),
}
RAW_FORMATS = ("u8", "s8", "s16le", "f32le")
WAV_FORMAT_BY_WIDTH = {1: "u8", 2: "s16le", 3: "s24le", 4: "s32le"}


@dataclasses.dataclass
class Audio:
    """Mono samples at full scale (float32, -1..1) and how they were stored."""

    samples: np.ndarray
    rate: int
    format: str  # a key of SAMPLE_FORMATS
    container: str  # "raw" or "wav"

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def decode(stored: np.ndarray, format: str) -> np.ndarray:
    """Stored integer or float samples -> float32 at full scale."""
    _, full_scale, silence = SAMPLE_FORMATS[format]
    samples = stored.astype(np.float32)
    if silence:
        samples -= np.float32(silence)
    if full_scale != 1.0:
        samples *= np.float32(1.0 / full_scale)
    return samples


def encode(samples: np.ndarray, format: str) -> np.ndarray:
    """Float samples at full scale -> stored samples: rounded to nearest and clipped, never wrapped."""
    dtype, full_scale, silence = SAMPLE_FORMATS[format]
    if dtype.kind == "f":
        return samples.astype(dtype)
    if format == "s24le":
        low, high = -(2**23), 2**23 - 1
    else:
        low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    # float32 cannot hold 2**31 - 1 exactly, so 32-bit PCM alone is scaled in float64
    work = np.float64 if format == "s32le" else np.float32
    scaled = np.rint(samples.astype(work) * work(full_scale) + work(silence))
    return np.clip(scaled, low, high).astype(dtype)


def container_of(path, format: str | None = None) -> str:
    """'wav' for a .wav path, else 'raw'; `--format` applies to raw files only."""
    if Path(path).suffix.lower() == ".wav":
        if format is not None:
            raise ArgumentError("format", format, f"{path} is a WAV file, which names its own format", "drop {format}")
        return "wav"
    return "raw"


def check_readable(path, what: str = "file") -> Path:
    """Fail early, with a plain message, for a path that cannot be an input file."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, f"no such {what}", "check the path, or create it first")
    if path.is_dir():
        raise DataError(path, f"is a directory, not an audio {what}", "give the path of a file")
    if path.stat().st_size == 0:
        raise DataError(path, "is empty", "give a file with audio in it")
    return path


@dataclasses.dataclass
class AudioSource:
    """An audio file opened for reading in blocks: the stored samples are memory-mapped, not loaded."""

    path: Path
    rate: int
    format: str
    container: str
    stored: np.ndarray  # (samples,) or (samples, channels), as stored; a memory map where possible

    def __len__(self) -> int:
        return len(self.stored)

    @property
    def seconds(self) -> float:
        return len(self) / self.rate

    def samples(self, start: int, count: int) -> np.ndarray:
        """Full-scale mono float32 samples start .. start + count (fewer at the end)."""
        stored = np.asarray(self.stored[start : start + count])
        if self.format == "s24le":
            stored = stored >> 8  # scipy left-justifies 24-bit samples in int32
        samples = decode(stored, self.format)
        if samples.ndim == 2:
            samples = samples.mean(axis=1, dtype=np.float32)  # Audacity's plain stereo mix-down
        return samples

    def blocks(self, size: int):
        """Full-scale mono float32 blocks of `size` samples (the last may be shorter)."""
        for start in range(0, len(self), size):
            yield self.samples(start, size)

    def read(self, progress=None) -> np.ndarray:
        """All samples; `progress` (a tqdm bar, say) is told of each block read."""
        blocks = []
        for block in self.blocks(1 << 20):
            blocks.append(block)
            if progress is not None:
                progress.update(len(block))
        return np.concatenate([np.empty(0, np.float32), *blocks])


def open_audio(path, format: str | None = None, rate: int | None = None) -> AudioSource:
    """Open a raw or WAV file for reading. `format` and `rate` describe raw files."""
    path = check_readable(path)
    if container_of(path, format) == "wav":
        return _open_wav(path, rate)
    format = format or "u8"
    dtype = SAMPLE_FORMATS[format][0]
    size = path.stat().st_size
    if size % dtype.itemsize:
        raise DataError(
            path,
            f"has {size} bytes, not a whole number of {dtype.itemsize}-byte {format} samples",
            "check {format}, or trim the file",
        )
    return AudioSource(path, rate or DEFAULT_RATE, format, "raw", np.memmap(path, dtype=dtype, mode="r"))


def read_audio(path, format: str | None = None, rate: int | None = None) -> Audio:
    """Read a raw or WAV file whole, as mono full-scale float32."""
    source = open_audio(path, format, rate)
    return Audio(source.read(), source.rate, source.format, source.container)


def _open_wav(path: Path, rate: int | None) -> AudioSource:
    import warnings

    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # scipy only warns about a header that lies; refuse it
            try:
                file_rate, stored = wavfile.read(path, mmap=True)
            except ValueError as error:
                if "mmap" not in str(error):  # 24-bit audio cannot be memory-mapped: read it whole
                    raise
                file_rate, stored = wavfile.read(path)
    except Exception as error:  # scipy's parser breaks in many ways on a damaged header (struct.error, TypeError, ...)
        raise DataError(path, f"is not a readable WAV file ({error})", "re-export it as PCM or float WAV") from None
    if rate and rate != file_rate:
        raise ArgumentError("rate", rate, f"{path} says its rate is {file_rate} Hz", "drop {rate} for WAV files")
    if stored.size == 0:
        raise DataError(path, "holds no samples", "give a file with audio in it")
    if stored.dtype.kind == "f":
        if stored.dtype.itemsize != 4:
            raise DataError(path, f"stores {8 * stored.dtype.itemsize}-bit float samples", "re-export it as 32-bit float WAV")
        format = "f32le"
    else:
        width = _wav_width(path, stored)
        if width not in WAV_FORMAT_BY_WIDTH:
            raise DataError(path, f"stores {width}-byte PCM samples", "re-export it as 8, 16, 24 or 32-bit PCM or float WAV")
        format = WAV_FORMAT_BY_WIDTH[width]
    return AudioSource(path, int(file_rate), format, "wav", stored)


def _wav_width(path: Path, stored: np.ndarray) -> int:
    """Bytes per sample of a PCM WAV file as scipy read it: the fmt chunk's block align over its channels.

    (Not bits per sample: 20-bit audio sits in 3-byte slots, and scipy reads by the slot.)
    """
    with open(path, "rb") as file:
        header = file.read(4096)
    start = header.find(b"fmt ")
    if start < 0:  # fmt chunk beyond the first 4 KiB: go by scipy's array (which holds 3-byte slots in 4)
        return stored.dtype.itemsize
    channels = int.from_bytes(header[start + 10 : start + 12], "little")
    block_align = int.from_bytes(header[start + 20 : start + 22], "little")
    return block_align // channels if channels else 0


class AudioSink:
    """Writes mono full-scale blocks to an open file in one sample format."""

    def __init__(self, file, format: str):
        self.file, self.format, self.written = file, format, 0

    def write(self, samples: np.ndarray) -> None:
        stored = encode(samples, self.format)
        if self.format == "s24le":  # three low bytes of each little-endian int32
            stored = stored.view(np.uint8).reshape(-1, 4)[:, :3]
        self.file.write(stored.tobytes())
        self.written += len(samples)


@contextlib.contextmanager
def audio_sink(path, format: str, rate: int, count: int, container: str | None = None):
    """An AudioSink into a temporary file, renamed to `path` only when all `count` samples arrived.

    A WAV header needs the length up front, hence `count`.
    """
    container = container or container_of(path)
    with atomic_output(path) as temporary, open(temporary, "wb") as file:
        if container == "wav":
            file.write(_wav_header(count, format, rate))
        sink = AudioSink(file, format)
        yield sink
        if sink.written != count:
            raise RuntimeError(f"{path}: {sink.written} samples written, {count} promised")


def _wav_header(count: int, format: str, rate: int) -> bytes:
    """RIFF/WAVE header of a mono file: PCM (tag 1), or IEEE float (tag 3, with its fact chunk)."""
    width = {"u8": 1, "s16le": 2, "s24le": 3, "s32le": 4, "f32le": 4}[format]
    data_bytes = count * width
    if data_bytes + 58 >= 2**32:
        raise DataError(f"{count} samples", "are too many for a WAV file (4 GiB)", "write a raw file instead")
    float_tag = format == "f32le"
    fmt = struct.pack("<HHIIHH", 3 if float_tag else 1, 1, rate, rate * width, width, 8 * width)
    chunks = b"fmt " + struct.pack("<I", len(fmt) + 2 * float_tag) + fmt + b"\0\0" * float_tag
    if float_tag:
        chunks += b"fact" + struct.pack("<II", 4, count)
    chunks += b"data" + struct.pack("<I", data_bytes)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) + data_bytes) + b"WAVE" + chunks


def write_audio(path, samples: np.ndarray, format: str, rate: int, container: str | None = None) -> None:
    """Write mono full-scale samples, atomically, as raw or WAV (by `container` or the extension)."""
    with audio_sink(path, format, rate, len(samples), container) as sink:
        sink.write(samples)


def check_format(format: str | None) -> str | None:
    if format is not None and format not in RAW_FORMATS:
        raise ArgumentError("format", format, "unknown raw format", f"use one of {', '.join(RAW_FORMATS)}")
    return format
