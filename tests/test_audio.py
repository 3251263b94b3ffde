"""neural_filter.audio: every format decodes and encodes back byte for byte, rounds, clips, and
refuses a broken file with one line that names it; files.atomic_output never leaves half a file."""

import wave

import numpy as np
import pytest
from scipy.io import wavfile

from conftest import leftovers, one_line
from neural_filter import audio, files
from neural_filter.errors import DataError

RATE = 44100


def every_stored_value(format):
    """All values a format can store (a sample of float32's), as the bytes a raw file would hold."""
    dtype = audio.SAMPLE_FORMATS[format][0]
    if dtype.kind == "f":
        values = np.random.default_rng(1).uniform(-1.5, 1.5, 4096).astype(dtype)
        return np.concatenate([values, np.array([0.0, -0.0, 1.0, -1.0, 1e-30], dtype)])
    info = np.iinfo(dtype)
    return np.arange(info.min, info.max + 1).astype(dtype)


@pytest.mark.parametrize("format", [
    "u8",  # the original's format: all 256 bytes
    "s8",  # all 256 signed bytes
    "s16le",  # all 65536 values
    "f32le",  # float samples, some beyond full scale: stored as they are
])
def test_raw_round_trip_is_byte_identical(tmp_path, format):
    stored = every_stored_value(format)
    source, copy = tmp_path / "in.raw", tmp_path / "out.raw"
    source.write_bytes(stored.tobytes())
    read = audio.read_audio(source, format)
    assert read.samples.dtype == np.float32 and len(read.samples) == len(stored)
    audio.write_audio(copy, read.samples, format, read.rate)
    assert copy.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("format, stored, expected", [
    ("u8", [0, 64, 128, 192, 255], [-1.0, -0.5, 0.0, 0.5, 127 / 128]),  # silence at 128, /128
    ("s8", [-128, -64, 0, 64, 127], [-1.0, -0.5, 0.0, 0.5, 127 / 128]),  # silence at 0
    ("s16le", [-32768, -1, 0, 1, 32767], [-1.0, -1 / 32768, 0.0, 1 / 32768, 32767 / 32768]),
    ("f32le", [-1.0, 0.25, 2.0], [-1.0, 0.25, 2.0]),  # floats pass through, unclipped
])
def test_decode_values(format, stored, expected):
    decoded = audio.decode(np.array(stored, dtype=audio.SAMPLE_FORMATS[format][0]), format)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, np.array(expected, dtype=np.float32))


@pytest.mark.parametrize("format, sample, stored", [
    ("u8", 0.7 / 128, 129),  # 128.7 rounds up; truncation would give 128
    ("u8", -0.3 / 128, 128),  # 127.7 rounds up; truncation would give 127
    ("u8", -0.7 / 128, 127),  # 127.3 rounds down
    ("u8", 1.5 / 128, 130),  # 129.5: a half step rounds up here (to even, too)
    ("u8", 1.0, 255),  # full scale is one past the top: clipped, not wrapped to 0
    ("u8", 1.5, 255),  # beyond full scale: clipped
    ("u8", -1.0, 0),  # the bottom
    ("u8", -1.5, 0),  # below it: clipped, not wrapped to 64
    ("s8", 0.6 / 128, 1),  # rounds away from 0 where truncation gives 0
    ("s8", -0.6 / 128, -1),  # and on the negative side
    ("s8", 1.0, 127),  # clipped at the top
    ("s8", -2.0, -128),  # clipped at the bottom
    ("s16le", 0.6 / 32768, 1),  # 16-bit rounding
    ("s16le", -0.6 / 32768, -1),
    ("s16le", 3.0, 32767),  # clipped
    ("s16le", -3.0, -32768),
    ("s24le", 1.0, 2**23 - 1),  # 24-bit WAV clipped to its 24 bits
    ("s24le", -0.6 / 2**23, -1),
])
def test_encode_rounds_and_clips(format, sample, stored):
    encoded = audio.encode(np.array([sample], dtype=np.float32), format)
    assert encoded.dtype == audio.SAMPLE_FORMATS[format][0]
    assert int(encoded[0]) == stored


def test_u8_through_network_levels_and_back_is_exact():
    """Bytes -> full scale -> the 'unit' levels the network sees (byte/255) -> back: every byte survives."""
    from neural_filter.spec import LEVELS

    scale, offset = (np.float32(value) for value in LEVELS["unit"])
    stored = np.arange(256, dtype=np.uint8)
    network_scale = audio.decode(stored, "u8") * scale + offset
    np.testing.assert_allclose(network_scale, stored / 255.0, rtol=0, atol=1e-7)
    back = audio.encode((network_scale - offset) / scale, "u8")
    np.testing.assert_array_equal(back, stored)


@pytest.mark.parametrize("format, width", [
    ("u8", 1),  # 8-bit PCM WAV is unsigned, like the raw default
    ("s16le", 2),  # 16-bit PCM
    ("s24le", 3),  # 24-bit PCM: three bytes a sample
    ("s32le", 4),  # 32-bit PCM: float32 keeps 24 bits, enough for what a float32 signal wrote
    ("f32le", 4),  # 32-bit float
])
def test_wav_round_trip_is_byte_identical(tmp_path, format, width):
    rng = np.random.default_rng(2)
    samples = rng.uniform(-1.2, 1.2, 3001).astype(np.float32)  # odd length, some beyond full scale
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    audio.write_audio(first, samples, format, 22050)
    read = audio.read_audio(first)
    assert (read.format, read.rate, read.container, len(read.samples)) == (format, 22050, "wav", 3001)
    np.testing.assert_array_equal(read.samples, audio.decode(audio.encode(samples, format), format))
    audio.write_audio(second, read.samples, format, read.rate)
    assert second.read_bytes() == first.read_bytes()
    if format != "f32le":  # an independent reader agrees on the layout
        with wave.open(str(first)) as check:
            assert (check.getnchannels(), check.getsampwidth(), check.getnframes()) == (1, width, 3001)


def test_wav_24_bit_values(tmp_path):
    """The three stored bytes of each sample are the low bytes of the 24-bit value, little-endian."""
    path = tmp_path / "a.wav"
    audio.write_audio(path, np.array([-1.0, -1 / 2**23, 0.0, 0.5], np.float32), "s24le", RATE)
    with wave.open(str(path)) as check:
        frames = check.readframes(4)
    assert frames == bytes([0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0x40])


def test_wav_written_by_scipy_reads_the_same(tmp_path):
    stored = np.array([-32768, -1, 0, 1, 32767], dtype=np.int16)
    wavfile.write(tmp_path / "s.wav", 8000, stored)
    read = audio.read_audio(tmp_path / "s.wav")
    assert (read.rate, read.format) == (8000, "s16le")
    np.testing.assert_array_equal(read.samples, stored / np.float32(32768))


def test_stereo_wav_is_the_plain_average_of_its_channels(tmp_path):
    left = np.array([1000, -32768, 32767, 5], dtype=np.int16)
    right = np.array([3000, 32767, 32767, -6], dtype=np.int16)
    wavfile.write(tmp_path / "stereo.wav", RATE, np.stack([left, right], axis=1))
    read = audio.read_audio(tmp_path / "stereo.wav")
    expected = (left.astype(np.float64) + right) / 2 / 32768
    np.testing.assert_allclose(read.samples, expected, rtol=0, atol=1e-9)
    assert read.samples.dtype == np.float32 and read.samples.ndim == 1


def test_wav_width_is_the_slot_not_the_bits(tmp_path):
    """20-bit audio sits in 3-byte slots: it reads as 24-bit, as scipy lays it out (not as 16-bit)."""
    path = tmp_path / "twenty.wav"
    samples = np.array([-1.0, -0.25, 0.0, 0.5], np.float32)
    audio.write_audio(path, samples, "s24le", RATE)
    data = bytearray(path.read_bytes())
    data[34:36] = (20).to_bytes(2, "little")  # bits per sample: 20
    path.write_bytes(bytes(data))
    read = audio.read_audio(path)
    assert read.format == "s24le"
    np.testing.assert_array_equal(read.samples, samples)


def test_64_bit_pcm_wav_is_refused(tmp_path):
    path = tmp_path / "wide.wav"
    wavfile.write(path, RATE, np.array([1, 2, 3], dtype=np.int64))
    with pytest.raises(DataError) as caught:
        audio.read_audio(path)
    assert one_line(str(caught.value)) == (f"{path}: stores 8-byte PCM samples; "
                                           "re-export it as 8, 16, 24 or 32-bit PCM or float WAV")


@pytest.mark.parametrize("format, size", [
    ("s16le", 3),  # one byte short of two samples
    ("f32le", 6),  # a sample and a half
    ("s16le", 1001),  # odd size
])
def test_raw_size_not_whole_samples_is_refused(tmp_path, format, size):
    path = tmp_path / "odd.raw"
    path.write_bytes(bytes(size))
    with pytest.raises(DataError) as caught:
        audio.read_audio(path, format)
    message = one_line(str(caught.value))
    assert message.startswith(str(path)) and f"{size} bytes" in message and format in message


def wav_bytes(tmp_path):
    audio.write_audio(tmp_path / "good.wav", np.linspace(-1, 1, 200, dtype=np.float32), "s16le", RATE)
    return (tmp_path / "good.wav").read_bytes()


@pytest.mark.parametrize("damage", [
    lambda good: good[: len(good) // 2],  # data chunk cut in half
    lambda good: good[:30],  # cut inside the fmt chunk (scipy raises struct.error there)
    lambda good: good[:12],  # RIFF header and nothing else
    lambda good: good[:40],  # the data chunk's header, cut
    lambda good: b"hello, not audio at all\n" * 20,  # a text file named .wav
    lambda good: bytes(100),  # zeros
    lambda good: good[:22] + b"\x00\x00" + good[24:],  # 0 channels (scipy divides by it)
    lambda good: good[:32] + b"\x00\x00" + good[34:],  # block align 0: a header that lies
])
def test_broken_wav_is_one_line_data_error(tmp_path, damage):
    path = tmp_path / "broken.wav"
    path.write_bytes(damage(wav_bytes(tmp_path)))
    with pytest.raises(DataError) as caught:
        audio.read_audio(path)
    assert one_line(str(caught.value)).startswith(f"{path}: ")


@pytest.mark.parametrize("make, problem", [
    (lambda path: None, "no such file"),  # missing
    (lambda path: path.write_bytes(b""), "is empty"),  # empty
    (lambda path: path.mkdir(), "is a directory"),  # a folder
])
def test_unusable_input_paths(tmp_path, make, problem):
    path = tmp_path / "song.raw"
    make(path)
    with pytest.raises(DataError) as caught:
        audio.read_audio(path)
    assert one_line(str(caught.value)).startswith(f"{path}: {problem}")


def test_write_creates_the_folder(tmp_path):
    audio.write_audio(tmp_path / "new" / "deeper" / "a.raw", np.zeros(3, np.float32), "u8", RATE)
    assert (tmp_path / "new" / "deeper" / "a.raw").read_bytes() == bytes([128, 128, 128])


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.wav"
    audio.write_audio(path, np.zeros(10, np.float32), "s16le", RATE)
    before = path.read_bytes()

    def write_half_then_fail(sink, samples):  # the header and some samples are already on disk
        sink.file.write(b"\0" * 8)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(audio.AudioSink, "write", write_half_then_fail)
    with pytest.raises(RuntimeError, match="^disk on fire$"):
        audio.write_audio(path, np.ones(10, np.float32), "s16le", RATE)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_write_into_a_folder_that_is_a_file_is_a_data_error(tmp_path):
    (tmp_path / "outputs").write_bytes(b"not a folder")
    with pytest.raises(DataError) as caught:
        audio.write_audio(tmp_path / "outputs" / "song.raw", np.zeros(4, np.float32), "u8", RATE)
    assert one_line(str(caught.value)).startswith(f"{tmp_path / 'outputs' / 'song.raw'}: cannot be written")
    assert (tmp_path / "outputs").read_bytes() == b"not a folder" and leftovers(tmp_path) == []


def test_atomic_output_replaces_only_on_success(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="^writer broke midway$"):
        with files.atomic_output(path) as temporary:
            temporary.write_bytes(b"new but unfinished")
            raise ValueError("writer broke midway")
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []
    with files.atomic_output(path) as temporary:
        assert temporary.parent == path.parent and temporary.suffix == ".keras"
        temporary.write_bytes(b"new")
    assert path.read_bytes() == b"new" and leftovers(tmp_path) == []


@pytest.mark.parametrize("path, format, container", [
    ("song.raw", None, "raw"),  # the original's kind
    ("song.WAV", None, "wav"),  # extension case does not matter
    ("song", "s16le", "raw"),  # no extension: raw
])
def test_container_of(path, format, container):
    assert audio.container_of(path, format) == container


def test_format_option_on_a_wav_is_refused():
    from neural_filter.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"^--format s16le: song.wav is a WAV file"):
        audio.container_of("song.wav", "s16le")
    with pytest.raises(ArgumentError, match=r"^--format s24le: unknown raw format"):
        audio.check_format("s24le")  # 24-bit is WAV-only


def test_streamed_write_and_read_in_blocks_equal_the_whole(tmp_path):
    samples = np.random.default_rng(3).uniform(-1, 1, 10_007).astype(np.float32)
    for name, format in (("a.wav", "s24le"), ("b.wav", "f32le"), ("c.raw", "s16le"), ("d.wav", "u8")):
        with audio.audio_sink(tmp_path / name, format, RATE, len(samples)) as sink:
            for start in range(0, len(samples), 999):  # odd block size: blocks must not matter
                sink.write(samples[start : start + 999])
        whole = tmp_path / f"whole_{name}"
        audio.write_audio(whole, samples, format, RATE)
        assert (tmp_path / name).read_bytes() == whole.read_bytes()
        source = audio.open_audio(whole, None if name.endswith(".wav") else format)
        assert len(source) == len(samples)
        np.testing.assert_array_equal(np.concatenate(list(source.blocks(1000))), source.read())


def test_a_sink_given_fewer_samples_than_promised_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="9 samples written, 10 promised"):
        with audio.audio_sink(tmp_path / "short.wav", "s16le", RATE, 10) as sink:
            sink.write(np.zeros(9, np.float32))
    assert list(tmp_path.iterdir()) == []
