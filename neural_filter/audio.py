"""Audio files in and out: headerless raw PCM (the original's format), and through soundfile
(libsndfile) WAV, RF64, AIFF, FLAC, Ogg Vorbis and MP3.

Every sample format is decoded to float32 "full scale" (-1..1, silence at 0) and encoded back from
it by one pair of functions, `decode` and `encode`, so each lossless kind round-trips byte for
byte: libsndfile is handed integers we rounded and clipped ourselves, never floats to convert.

A file's kind is read from its first bytes (`container_of`), not guessed from its name: a WAV named
`.raw` is read as WAV, and only a file that begins with no known signature is raw. An output's kind
follows its extension (`output_container`), or the song's kind when the extension names none.
Files are read and written in blocks, so memory stays flat for an hour of audio.
"""

import contextlib
import dataclasses
import os
import re
import stat
import weakref
from pathlib import Path

import numpy as np

from neural_filter.console import stderr_silenced
from neural_filter.errors import ArgumentError, DataError, notice
from neural_filter.files import atomic_output

DEFAULT_RATE = 44100  # raw files carry no rate; the seed's Audacity project rate

# format name -> (numpy dtype of one stored sample, value of full scale, value of silence)
SAMPLE_FORMATS = {
    "u8": (np.dtype("u1"), 128.0, 128.0),
    "s8": (np.dtype("i1"), 128.0, 0.0),
    "s16le": (np.dtype("<i2"), 32768.0, 0.0),
    "s24le": (np.dtype("<i4"), 8388608.0, 0.0),  # containers only: held in int32, low 24 bits
    "s32le": (np.dtype("<i4"), 2147483648.0, 0.0),  # containers only; float32 keeps 24 bits of it
    "f32le": (np.dtype("<f4"), 1.0, 0.0),
}
RAW_FORMATS = ("u8", "s8", "s16le", "f32le")


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of audio file: its name for people, soundfile's name, its extensions, what it stores exactly."""

    name: str  # as a user knows it
    major: str | None  # soundfile's format name; None: raw, read and written by NumPy
    extensions: tuple[str, ...]  # the first is the one outputs get
    formats: tuple[str, ...]  # sample formats it stores exactly, the widest last; () for a lossy kind
    signature: str  # how a file of this kind begins, in words

    @property
    def lossy(self) -> bool:
        return not self.formats


_PCM = ("u8", "s16le", "s24le", "s32le", "f32le")
KINDS = {
    "raw": Kind("raw", None, (".raw",), RAW_FORMATS, "no signature"),
    "wav": Kind("WAV", "WAV", (".wav", ".wave"), _PCM, "RIFF/WAVE"),
    "rf64": Kind("RF64", "RF64", (".rf64",), _PCM, "RF64/WAVE"),
    # (8-bit AIFF is left out: libsndfile reads an odd number of 8-bit samples back with the pad byte as one more)
    "aiff": Kind("AIFF", "AIFF", (".aiff", ".aif", ".aifc"), ("s16le", "s24le", "s32le", "f32le"), "FORM/AIFF"),
    "flac": Kind("FLAC", "FLAC", (".flac",), ("s8", "s16le", "s24le"), "fLaC"),
    "ogg": Kind("Ogg Vorbis", "OGG", (".ogg", ".oga"), (), "OggS"),
    "mp3": Kind("MP3", "MP3", (".mp3",), (), "an ID3 tag or an MPEG audio frame"),
}
# our sample format <-> libsndfile's subtype; any other subtype (A-law, double, ...) is read as float
SUBTYPES = {"u8": "PCM_U8", "s8": "PCM_S8", "s16le": "PCM_16", "s24le": "PCM_24", "s32le": "PCM_32", "f32le": "FLOAT"}
LOSSY_SUBTYPES = {"ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}
# what libsndfile hands us for each format (integers left-justified: 8-bit in the high byte of an
# int16, 24-bit in the high three bytes of an int32), and the format that decodes those values
_READ_AS = {"u8": ("int16", "s16le"), "s8": ("int16", "s16le"), "s16le": ("int16", "s16le"),
            "s24le": ("int32", "s32le"), "s32le": ("int32", "s32le"), "f32le": ("float32", "f32le")}


@dataclasses.dataclass
class Audio:
    """Mono samples at full scale (float32, -1..1) and how they were stored."""

    samples: np.ndarray
    rate: int
    format: str  # a key of SAMPLE_FORMATS
    container: str  # a key of KINDS

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


def stored_format(container: str, format: str) -> str:
    """The sample format a file of kind `container` stores audio read as `format` in.

    The same format where the kind has it, else the narrowest it has that holds every value of it
    (signed 8-bit for unsigned and back: the same 256 levels; float for 24-bit in a raw file),
    else its widest (24-bit for float in FLAC). A lossy kind stores float, before its encoder.
    """
    kind = KINDS[container]
    if kind.lossy:
        return "f32le"
    if format in kind.formats:
        return format
    wide_enough = [other for other in kind.formats if _WIDTH[other] >= _WIDTH[format]]
    return min(wide_enough, key=_WIDTH.get) if wide_enough else kind.formats[-1]


_WIDTH = {"u8": 1, "s8": 1, "s16le": 2, "s24le": 3, "s32le": 4, "f32le": 4}  # bytes a sample


def as_stored(samples: np.ndarray, container: str, format: str) -> np.ndarray:
    """Full-scale samples as a file of that kind and format will give them back (a lossy kind: before its encoder)."""
    if KINDS[container].lossy:
        return np.clip(samples, -1.0, 1.0).astype(np.float32)
    format = stored_format(container, format)
    return decode(encode(samples, format), format)


# --- what kind of file is this? ------------------------------------------------------------------


def container_named(path) -> str | None:
    """The kind `path`'s extension names, or None for an extension that names none (".s16", none)."""
    suffix = Path(path).suffix.lower()
    return next((name for name, kind in KINDS.items() if suffix in kind.extensions), None)


def output_container(path, default: str) -> str:
    """The kind of file to write at `path`: what its extension names, else `default` (the song's kind)."""
    return container_named(path) or default


def sniff(path) -> str | None:
    """The kind a file's first bytes say it is, or None when they carry no known signature (raw audio)."""
    with open(path, "rb") as file:
        head = file.read(12)
        if head[:4] in (b"RIFF", b"RIFX"):  # (RIFX: big-endian WAV)
            return "wav"  # a RIFF file that is not WAVE is refused by the WAV reader, in our words
        if head[:4] in (b"RF64", b"BW64"):
            return "rf64"
        if head[:4] == b"FORM":
            return "aiff"
        if head[:4] == b"fLaC":
            return "flac"
        if head[:4] == b"OggS":
            return "ogg"
        if head[:3] == b"ID3" and len(head) >= 10 and head[3] in (2, 3, 4) and all(byte < 0x80 for byte in head[6:10]):
            return "mp3"  # ID3v2: version 2-4, then a size of four 7-bit bytes
        length = _mpeg_frame_length(head)
        if length:  # a frame header alone could be chance: a second must follow it, or the file end there
            file.seek(length)
            following = file.read(4)
            if not following or _mpeg_frame_length(following):
                return "mp3"
    return None


_MPEG_BITRATES = {  # kbit/s by (MPEG-1?, layer), for bitrate indices 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def _mpeg_frame_length(header: bytes) -> int | None:
    """Bytes in the MPEG audio frame whose 4-byte header `header` begins with; None if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values, or a free-format bitrate we cannot size
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate = _MPEG_BITRATES[mpeg1, layer][bitrate_index - 1] * 1000
    rate = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    return (144 if layer == 2 or mpeg1 else 72) * bitrate // rate + padding


def container_of(path, format: str | None = None) -> str:
    """The kind of the existing file `path`, by its content; `format` describes raw files only.

    A file that begins with a known signature is that kind, whatever its name, and names its own
    format; a file with none is raw, unless its name promises a kind, which it then is not.
    """
    found = sniff(path)
    if found is None:
        named = container_named(path)
        if named not in (None, "raw"):
            kind = KINDS[named]
            raise DataError(path, f"is named {Path(path).suffix} but does not begin like {_a(kind.name)} "
                                  f"file ({kind.signature})",
                            "re-export it, or give it another extension if it is raw audio")
        return "raw"
    if format is not None:
        raise ArgumentError("format", format, f"{path} is {_a(KINDS[found].name)} file, which names its own format",
                            "drop {format}")
    return found


def _a(name: str) -> str:
    """The kind's name with its article, as spoken: "an MP3", "an AIFF", "a WAV", "a FLAC"."""
    return ("an " if name in ("MP3", "AIFF", "RF64", "Ogg Vorbis") else "a ") + name


def check_readable(path, what: str = "file") -> Path:
    """Fail early, with a plain message, for a path that cannot be an input file."""
    path = Path(path)
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(path, f"no such {what}", "check the path, or create it first") from None
    except OSError as error:  # a name too long for the file system, a loop of links, no permission
        raise DataError(path, f"cannot be read ({error.strerror})", "check the path") from None
    if stat.S_ISDIR(status.st_mode):
        raise DataError(path, f"is a directory, not an audio {what}", "give the path of a file")
    if status.st_size == 0:
        raise DataError(path, "is empty", "give a file with audio in it")
    return path


# --- reading -------------------------------------------------------------------------------------


class AudioSource:
    """An audio file opened for reading in blocks, never loaded whole: mono full-scale float32 out."""

    def __init__(self, path: Path, rate: int, format: str, container: str, length: int):
        self.path, self.rate, self.format, self.container, self.length = path, rate, format, container, length

    def __len__(self) -> int:
        return self.length

    @property
    def seconds(self) -> float:
        return len(self) / self.rate

    def samples(self, start: int, count: int) -> np.ndarray:
        """Full-scale mono float32 samples start .. start + count (fewer at the end)."""
        raise NotImplementedError

    def blocks(self, size: int):
        """Full-scale mono float32 blocks of `size` samples (the last may be shorter)."""
        for start in range(0, len(self), size):
            yield self.samples(start, size)

    def check_finite(self, stored: np.ndarray, start: int) -> None:
        """Refuse a block of stored samples (from sample `start`) with a NaN or an infinity in it.

        Such a sample is no sound: rendered, it spreads through the network's window (ten NaNs in
        gave seventy out), and in a training pair it makes the loss NaN. Integer samples are always finite.
        """
        if stored.dtype.kind != "f":
            return
        finite = np.isfinite(stored)
        if finite.all():
            return
        bad = int(np.flatnonzero(~finite.all(axis=1) if finite.ndim == 2 else ~finite)[0])
        value = stored[bad][~finite[bad]][0] if finite.ndim == 2 else stored[bad]
        what, at = ("a NaN" if np.isnan(value) else "an infinite"), start + bad
        raise DataError(self.path, f"has {what} sample at {at / self.rate:.6f} s (sample {at}), which is no sound",
                        "re-export it from your editor, or replace such samples with silence")

    def read(self, progress=None) -> np.ndarray:
        """All samples; `progress` (a tqdm bar, say) is told of each block read."""
        blocks = []
        for block in self.blocks(1 << 20):
            blocks.append(block)
            if progress is not None:
                progress.update(len(block))
        return np.concatenate([np.empty(0, np.float32), *blocks])


def _mono(samples: np.ndarray) -> np.ndarray:
    if samples.ndim == 2:
        if samples.shape[1] == 1:
            return samples[:, 0]
        return samples.mean(axis=1, dtype=np.float32)  # Audacity's plain stereo mix-down
    return samples


class RawSource(AudioSource):
    """A headerless file, memory-mapped: only the pages read are loaded."""

    def __init__(self, path: Path, rate: int, format: str):
        self.stored = np.memmap(path, dtype=SAMPLE_FORMATS[format][0], mode="r")
        super().__init__(path, rate, format, "raw", len(self.stored))

    def samples(self, start: int, count: int) -> np.ndarray:
        stored = np.asarray(self.stored[start : start + count])
        self.check_finite(stored, start)
        return decode(stored, self.format)


class SoundFileSource(AudioSource):
    """A file libsndfile reads (WAV, AIFF, FLAC, Ogg, MP3, ...), read block by block."""

    def __init__(self, path: Path, file, container: str, format: str, length: int | None = None):
        self.file, self.position = file, 0
        weakref.finalize(self, os.close, file.name)  # the descriptor it reads (libsndfile leaves it open)
        super().__init__(path, int(file.samplerate), format, container, int(file.frames) if length is None else length)

    def samples(self, start: int, count: int) -> np.ndarray:
        count = max(0, min(count, len(self) - start))
        dtype, decoded_as = _READ_AS[self.format]
        try:
            with _quiet_decoder(self.container):
                if start != self.position:
                    self.file.seek(start)
                stored = self.file.read(count, dtype=dtype, always_2d=True)
        except Exception:  # libsndfile's words are not ours; what failed is the file
            raise DataError(self.path, f"is damaged: reading failed at sample {start} of {len(self)}",
                            "re-export it, or convert it to WAV or FLAC") from None
        self.position = start + len(stored)
        self.check_finite(stored, start)
        if len(stored) < count:
            raise DataError(self.path, f"ends after {self.position} samples, but its header promises {len(self)}",
                            "re-export it, or convert it to WAV or FLAC")
        return _mono(decode(stored, decoded_as))


def _quiet_decoder(container: str):
    """libmpg123 prints its warnings ("Cannot read next header ...") straight to file descriptor 2:
    silenced while an MP3 is opened or read, so that stderr holds our one line at most."""
    if container != "mp3":
        return contextlib.nullcontext()
    return stderr_silenced()


def open_audio(path, format: str | None = None, rate: int | None = None) -> AudioSource:
    """Open an audio file for reading. `format` and `rate` describe raw files; other kinds name their own."""
    path = check_readable(path)
    container = container_of(path, format)
    if container != "raw":
        return _open_soundfile(path, container, rate)
    format = format or "u8"
    dtype = SAMPLE_FORMATS[format][0]
    size = path.stat().st_size
    if size % dtype.itemsize:
        raise DataError(
            path,
            f"has {size} bytes, not a whole number of {dtype.itemsize}-byte {format} samples",
            "check {format}, or trim the file",
        )
    return RawSource(path, rate or DEFAULT_RATE, format)


def open_companion(path, format: str | None = None, rate: int | None = None) -> AudioSource:
    """Open a file that goes with another one: the `format` and `rate` given for raw files apply if it is raw too.

    (A song beside a raw training pair, a reference beside a raw song: a WAV or FLAC companion
    names its own format and rate, so they are not refused for it as they are for the main file.)
    """
    raw = container_of(check_readable(path)) == "raw"
    return open_audio(path, format if raw else None, rate if raw else None)


def read_audio(path, format: str | None = None, rate: int | None = None, companion: bool = False) -> Audio:
    """Read an audio file whole, as mono full-scale float32 (`companion`: opened by `open_companion`)."""
    source = (open_companion if companion else open_audio)(path, format, rate)
    return Audio(source.read(), source.rate, source.format, source.container)


_REMEDIES = {"wav": "re-export it as 8, 16, 24 or 32-bit PCM or float WAV", "rf64": "re-export it as WAV or RF64",
             "aiff": "re-export it as 16, 24 or 32-bit PCM or float AIFF"}


def _open_soundfile(path: Path, container: str, rate: int | None) -> SoundFileSource:
    import soundfile  # noqa: PLC0415 - libsndfile, 0.25 s: raw songs (the original's kind) never load it

    kind = KINDS[container]
    remedy = _REMEDIES.get(container, "re-export it, or convert it to WAV or FLAC")
    descriptor = os.open(path, os.O_RDONLY)  # not the name: soundfile takes a name ending .raw for headerless audio
    try:
        with _quiet_decoder(container):
            file = soundfile.SoundFile(descriptor, closefd=False)
    except Exception:  # libsndfile's message ("Error in WAV file. No 'data' chunk marker.") is not ours
        os.close(descriptor)
        raise DataError(path, f"is {_a(kind.name)} file that cannot be read: its header is damaged "
                              "or its encoding unsupported", remedy) from None
    source = SoundFileSource(path, file, container, {v: k for k, v in SUBTYPES.items()}.get(file.subtype, "f32le"))
    # (each refusal below drops `source`, which closes the file)
    if file.format != kind.major and not (container == "wav" and file.format == "WAVEX"):
        # libsndfile found another kind behind the signature (a FORM that is 8SVX, not AIFF, ...)
        raise DataError(path, f"begins like {_a(kind.name)} file but is not one libsndfile reads as such", remedy)
    if container in ("wav", "aiff"):
        _refuse_cut_short(path, file)
    if rate and rate != file.samplerate:
        raise ArgumentError("rate", rate, f"{path} says its rate is {file.samplerate} Hz",
                            f"drop {{rate}} for {kind.name} files")
    if container == "mp3":
        source.length = _decoded_length(source)
    if source.length <= 0 or file.channels < 1:
        raise DataError(path, "holds no samples", "give a file with audio in it")
    return source


MP3_FRAME = 1152  # samples in an MPEG-1 Layer III frame (MPEG-2's hold half as many)


def _decoded_length(source: SoundFileSource) -> int:
    """An MP3's length, decoded to its end: its header's (file.frames) is only an estimate.

    An encoder's delay and padding, or a header without a frame count, make the estimate miss by
    up to thousands of samples, and players play what decodes; so do we, with a notice when the
    two differ by more than a frame. The samples are only counted here (a second decode costs
    milliseconds a minute of audio), so memory stays flat.
    """
    file, decoded = source.file, 0
    try:
        with _quiet_decoder("mp3"):
            while True:
                counted = len(file.read(1 << 18, dtype="int16", always_2d=True))
                if not counted:
                    break
                decoded += counted
            file.seek(0)
    except Exception:  # libmpg123's words are not ours
        raise DataError(source.path, f"is damaged: decoding failed after sample {decoded}",
                        "re-export it, or convert it to WAV or FLAC") from None
    if abs(decoded - file.frames) > MP3_FRAME:
        notice(f"{source.path}: decodes to {decoded} samples, not the {file.frames} its header estimates; "
               "the decoded samples are used")
    return decoded


def _refuse_cut_short(path: Path, file) -> None:
    """A WAV or AIFF whose audio chunk is shorter than its header says was cut off (a failed copy or download).

    libsndfile reads what is there and notes the difference in its log ("data : 400 (should be
    178)"); a streamed WAV that left its size open (0, or 0xFFFFFFFF) is read as it is.
    """
    found = re.search(r"^ ?(?:data|SSND) : (\d+) \(should be (\d+)\)", file.extra_info, re.MULTILINE)
    if found:
        promised, present = int(found.group(1)), int(found.group(2))
        if present < promised < 0xFFFFFFFF:
            raise DataError(path, f"is cut short: its header promises {promised} bytes of audio, the file holds "
                                  f"{present}", "copy or export it again")


# --- writing -------------------------------------------------------------------------------------


class AudioSink:
    """Writes mono full-scale blocks to an open file (`store` takes the stored samples) in one format."""

    def __init__(self, store, format: str, lossy: bool = False):
        self.store, self.format, self.lossy, self.written = store, format, lossy, 0

    def write(self, samples: np.ndarray) -> None:
        self.store(self.stored(np.asarray(samples, np.float32)))
        self.written += len(samples)

    def stored(self, samples: np.ndarray) -> np.ndarray:
        """What is handed to the file: our rounding and clipping, so that libsndfile converts nothing."""
        if self.lossy:
            return np.clip(samples, -1.0, 1.0)  # the encoder's input: floats, full scale
        return encode(samples, self.format)


class _SoundFileSink(AudioSink):
    """Integers for libsndfile as it takes them: 8-bit in an int16's high byte, 24-bit in an int32's high three."""

    def stored(self, samples: np.ndarray) -> np.ndarray:
        stored = super().stored(samples)
        if self.format == "u8":
            return (stored.astype(np.int16) - 128) << 8
        if self.format == "s8":
            return stored.astype(np.int16) << 8
        if self.format == "s24le":
            return stored << 8
        return stored


class _RawSink(AudioSink):
    def stored(self, samples: np.ndarray) -> bytes:
        return super().stored(samples).tobytes()


@contextlib.contextmanager
def audio_sink(path, format: str, rate: int, count: int, container: str | None = None):
    """An AudioSink into a temporary file, renamed to `path` only when all `count` samples arrived.

    The file is of kind `container` (default: the kind `path`'s extension names, else raw), in
    `format` if that kind stores it, else the nearest it does (`stored_format`).
    """
    container = container or output_container(path, "raw")
    format = stored_format(container, format)
    with atomic_output(path) as temporary:
        if container == "raw":
            with open(temporary, "wb") as file:
                sink = _RawSink(file.write, format)
                yield sink
        else:
            with _sound_file(path, temporary, container, format, rate, count) as file:
                sink = _SoundFileSink(file.write, format, KINDS[container].lossy)
                yield sink
        if sink.written != count:
            raise RuntimeError(f"{path}: {sink.written} samples written, {count} promised")


@contextlib.contextmanager
def _sound_file(path, temporary, container: str, format: str, rate: int, count: int):
    import soundfile  # noqa: PLC0415 - libsndfile, 0.25 s: raw output never loads it

    if container == "wav" and count * SAMPLE_FORMATS[format][0].itemsize + 58 >= 2**32:
        raise DataError(path, f"cannot hold {count} samples: a WAV file ends at 4 GiB", "write an RF64 or FLAC file")
    subtype = LOSSY_SUBTYPES.get(container) or SUBTYPES[format]
    with open(temporary, "w+b", buffering=WRITE_BUFFER) as stream:
        target = _KeepsWriteErrors(stream)
        try:
            file = soundfile.SoundFile(target, "w", rate, 1, subtype, format=KINDS[container].major)
        except Exception:
            target.raise_kept()
            raise DataError(path, f"cannot be written as {_a(KINDS[container].name)} file at {rate} Hz",
                            "give another output name or kind") from None
        try:
            with file:
                if SUBTYPES.get(format) == "FLOAT":  # no PEAK chunk: it holds the time of writing, and the same audio
                    # must give the same bytes (soundfile has no call for this: libsndfile's own, through its handle)
                    soundfile._snd.sf_command(file._file, _SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
                yield file
        except Exception:
            target.raise_kept()  # the cause, when a write failed: libsndfile's "System error" says none
            raise
        target.raise_kept()  # (the Ogg and MP3 encoders go on after a failed write, as if it had worked)


WRITE_BUFFER = 1 << 20  # bytes: libsndfile writes a few kB at a time, each a call back into Python


class _KeepsWriteErrors:
    """A file for libsndfile's virtual I/O that keeps the OSError a call met (no space, read-only, ...).

    libsndfile reports any failed write as "System error", and an exception cannot cross its C
    callbacks (cffi would print it and go on); so each call here catches its OSError, answers
    libsndfile with a failure, and `raise_kept` raises the first one once libsndfile has given up.
    """

    def __init__(self, stream):
        self.stream, self.error = stream, None

    def _kept(self, call, failed, *arguments):
        try:
            return call(*arguments)
        except OSError as error:
            self.error = self.error or error
            return failed

    def write(self, data) -> int:
        return self._kept(self.stream.write, 0, data)

    def read(self, count: int) -> bytes:
        return self._kept(self.stream.read, b"", count)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._kept(self.stream.seek, -1, offset, whence)

    def tell(self) -> int:
        return self._kept(self.stream.tell, -1)

    def raise_kept(self) -> None:
        if self.error is not None:
            raise self.error


_SET_ADD_PEAK_CHUNK = 0x1050  # libsndfile's SFC_SET_ADD_PEAK_CHUNK (sndfile.h), which soundfile does not name


def write_audio(path, samples: np.ndarray, format: str, rate: int, container: str | None = None) -> None:
    """Write mono full-scale samples, atomically, of kind `container` (default: by the extension, else raw)."""
    with audio_sink(path, format, rate, len(samples), container) as sink:
        sink.write(samples)


def check_format(format: str | None) -> str | None:
    if format is not None and format not in RAW_FORMATS:
        raise ArgumentError("format", format, "unknown raw format", f"use one of {', '.join(RAW_FORMATS)}")
    return format
