"""neural_filter.audio: every format decodes and encodes back byte for byte, rounds, clips; a file's
kind is read from its content; a broken file is refused with one line of ours that names it;
files.atomic_output never leaves half a file."""

import wave

import numpy as np
import pytest
import soundfile
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


@pytest.mark.parametrize("name, format, subtype", [
    ("a.wav", "u8", "PCM_U8"),  # 8-bit PCM WAV is unsigned, like the raw default
    ("a.wav", "s16le", "PCM_16"),  # 16-bit PCM
    ("a.wav", "s24le", "PCM_24"),  # 24-bit PCM: three bytes a sample
    ("a.wav", "s32le", "PCM_32"),  # 32-bit PCM: float32 keeps 24 bits, enough for what a float32 signal wrote
    ("a.wav", "f32le", "FLOAT"),  # 32-bit float (no PEAK chunk: it would hold the time of writing)
    ("a.flac", "s8", "PCM_S8"),  # FLAC's 8 bits are signed
    ("a.flac", "s16le", "PCM_16"),  # the common FLAC
    ("a.flac", "s24le", "PCM_24"),  # 24-bit FLAC
    ("a.aiff", "s16le", "PCM_16"),  # AIFF: big-endian PCM
    ("a.aiff", "s24le", "PCM_24"),
    ("a.aiff", "s32le", "PCM_32"),
    ("a.aiff", "f32le", "FLOAT"),  # float AIFF (AIFC)
    ("a.rf64", "s16le", "PCM_16"),  # RF64: WAV beyond 4 GiB
])
def test_lossless_round_trip_is_byte_identical(tmp_path, name, format, subtype):
    rng = np.random.default_rng(2)
    samples = rng.uniform(-1.2, 1.2, 3001).astype(np.float32)  # odd length, some beyond full scale
    first, second = tmp_path / name, tmp_path / f"second_{name}"
    audio.write_audio(first, samples, format, 22050)
    read = audio.read_audio(first)
    container = audio.container_named(first)
    assert (read.format, read.rate, read.container, len(read.samples)) == (format, 22050, container, 3001)
    np.testing.assert_array_equal(read.samples, audio.decode(audio.encode(samples, format), format))
    audio.write_audio(second, read.samples, format, read.rate)
    assert second.read_bytes() == first.read_bytes()
    info = soundfile.info(first)
    assert (info.format, info.subtype, info.channels, info.frames) == (audio.KINDS[container].major, subtype, 1, 3001)
    if name.endswith(".wav") and format != "f32le":  # an independent reader agrees on the layout
        with wave.open(str(first)) as check:
            assert (check.getnchannels(), check.getsampwidth(), check.getnframes()) == (1, SAMPLE_BYTES[format], 3001)


SAMPLE_BYTES = {"u8": 1, "s16le": 2, "s24le": 3, "s32le": 4}


@pytest.mark.parametrize("name", [
    "a.ogg",  # Ogg Vorbis
    "a.mp3",  # MPEG layer III (libsndfile's LAME); its gapless tag keeps the length exact
])
def test_lossy_kinds_keep_rate_and_length_and_sound_alike(tmp_path, name):
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(44100) / 44100)).astype(np.float32)
    audio.write_audio(tmp_path / name, tone, "s16le", 44100)  # a lossy kind stores float before its encoder
    read = audio.read_audio(tmp_path / name)
    assert (read.container, read.format, read.rate, len(read.samples)) == (name[2:], "f32le", 44100, 44100)
    error = np.sum((read.samples - tone) ** 2) / np.sum(tone**2)
    assert 10 * np.log10(error) < -30  # heard as the same tone (measured: -40 dB for both)


@pytest.mark.parametrize("container, format, stored", [
    ("wav", "s16le", "s16le"),  # a format the kind has: kept
    ("wav", "s8", "u8"),  # WAV has no signed 8-bit: unsigned holds the same 256 levels
    ("flac", "u8", "s8"),  # and FLAC no unsigned
    ("flac", "f32le", "s24le"),  # FLAC has no float: its widest
    ("flac", "s32le", "s24le"),
    ("aiff", "u8", "s16le"),  # no 8-bit AIFF (libsndfile reads an odd count back a sample long): 16-bit holds it
    ("raw", "s24le", "f32le"),  # a raw file has no 24-bit: float holds every 24-bit value
    ("raw", "s32le", "f32le"),
    ("raw", "s16le", "s16le"),
    ("mp3", "s16le", "f32le"),  # lossy kinds are given floats
    ("ogg", "u8", "f32le"),
])
def test_stored_format(container, format, stored):
    assert audio.stored_format(container, format) == stored


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


@pytest.mark.parametrize("name", ["stereo.wav", "stereo.flac"])
def test_stereo_is_the_plain_average_of_its_channels(tmp_path, name):
    left = np.array([1000, -32768, 32767, 5], dtype=np.int16)
    right = np.array([3000, 32767, 32767, -6], dtype=np.int16)
    soundfile.write(tmp_path / name, np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    read = audio.read_audio(tmp_path / name)
    expected = (left.astype(np.float64) + right) / 2 / 32768
    np.testing.assert_allclose(read.samples, expected, rtol=0, atol=1e-9)
    assert read.samples.dtype == np.float32 and read.samples.ndim == 1


def test_wav_width_is_the_slot_not_the_bits(tmp_path):
    """20-bit audio sits in 3-byte slots: it reads as 24-bit (not as 16-bit)."""
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
    assert one_line(str(caught.value)) == (f"{path}: is a WAV file that cannot be read: its header is damaged or its "
                                           "encoding unsupported; re-export it as 8, 16, 24 or 32-bit PCM or float WAV")


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


def song_bytes(tmp_path, name):
    """A good 16-bit (or lossy) file of 2000 samples of a tone, as bytes."""
    tone = 0.5 * np.sin(np.arange(2000, dtype=np.float32) / 5)
    audio.write_audio(tmp_path / name, tone, "s16le", RATE)
    return (tmp_path / name).read_bytes()


UNREADABLE = "cannot be read: its header is damaged or its encoding unsupported"
WAV_REMEDY = "re-export it as 8, 16, 24 or 32-bit PCM or float WAV"
OTHER_REMEDY = "re-export it, or convert it to WAV or FLAC"


@pytest.mark.parametrize("name, damage, message", [
    ("a.wav", lambda good: good[:30], f"is a WAV file that {UNREADABLE}; {WAV_REMEDY}"),  # cut inside the fmt chunk
    ("a.wav", lambda good: good[:12], f"is a WAV file that {UNREADABLE}; {WAV_REMEDY}"),  # RIFF header, nothing else
    ("a.wav", lambda good: good[:40], f"is a WAV file that {UNREADABLE}; {WAV_REMEDY}"),  # the data chunk's header, cut
    ("a.wav", lambda good: good[:22] + b"\0\0" + good[24:], f"is a WAV file that {UNREADABLE}; {WAV_REMEDY}"),  # 0 channels
    ("a.wav", lambda good: good[:8] + b"AVI " + good[12:], f"is a WAV file that {UNREADABLE}; {WAV_REMEDY}"),  # RIFF, not WAVE
    ("a.wav", lambda good: good[:2044], "is cut short: its header promises 4000 bytes of audio, the file holds 2000; "
                                        "copy or export it again"),  # data chunk cut in half: no silent half song
    ("a.aiff", lambda good: good[:2054], "is cut short: its header promises 4008 bytes of audio, the file holds 2008; "
                                         "copy or export it again"),  # the same for AIFF
    ("a.aiff", lambda good: good[:20], f"is an AIFF file that {UNREADABLE}; re-export it as 16, 24 or 32-bit PCM or "
                                       "float AIFF"),  # cut inside COMM
    ("a.flac", lambda good: good[:40], f"is a FLAC file that {UNREADABLE}; {OTHER_REMEDY}"),  # cut inside STREAMINFO
    ("a.flac", lambda good: good[:4] + bytes(200) + good[204:], f"is a FLAC file that {UNREADABLE}; {OTHER_REMEDY}"),
    ("a.flac", lambda good: good[:len(good) // 2], f"is damaged: reading failed at sample 0 of 2000; {OTHER_REMEDY}"),
    ("a.ogg", lambda good: good[:60], f"is an Ogg Vorbis file that {UNREADABLE}; {OTHER_REMEDY}"),  # headers cut
    ("a.mp3", lambda good: good[:4], f"is an MP3 file that {UNREADABLE}; {OTHER_REMEDY}"),  # a frame header alone
    ("a.mp3", lambda good: b"ID3\x04\0\0\0\0\0\x10" + bytes(16) + b"not mpeg audio" * 30,
     f"is an MP3 file that {UNREADABLE}; {OTHER_REMEDY}"),  # an ID3 tag and no audio after it
])
def test_damaged_file_is_our_one_line_data_error(tmp_path, capfd, name, damage, message):
    path = tmp_path / f"broken_{name}"
    path.write_bytes(damage(song_bytes(tmp_path, name)))
    with pytest.raises(DataError) as caught:
        audio.read_audio(path)
    assert one_line(str(caught.value)) == f"{path}: {message}"
    assert capfd.readouterr() == ("", "")  # nothing of libsndfile's or libmpg123's on stdout or stderr


@pytest.mark.parametrize("name, content, message", [
    ("a.wav", b"hello, not audio at all\n" * 20, "is named .wav but does not begin like a WAV file (RIFF/WAVE)"),  # text
    ("a.wav", bytes(100), "is named .wav but does not begin like a WAV file (RIFF/WAVE)"),  # zeros
    ("a.flac", bytes(range(256)), "is named .flac but does not begin like a FLAC file (fLaC)"),
    ("a.mp3", bytes(100), "is named .mp3 but does not begin like an MP3 file (an ID3 tag or an MPEG audio frame)"),
    ("a.AIF", bytes(100), "is named .AIF but does not begin like an AIFF file (FORM/AIFF)"),  # any case
])
def test_a_name_that_promises_a_kind_the_content_lacks_is_refused(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        audio.read_audio(path)
    assert one_line(str(caught.value)) == f"{path}: {message}; re-export it, or give it another extension if it is raw audio"


def test_header_fixes_libsndfile_makes_are_read(tmp_path):
    """A header that lies where the truth is plain is read as libsndfile mends it: the audio is all there."""
    good = song_bytes(tmp_path, "a.wav")
    expected = audio.read_audio(tmp_path / "a.wav").samples
    for damaged in (good[:32] + b"\0\0" + good[34:],  # block align 0
                    good[:40] + b"\xff\xff\xff\xff" + good[44:],  # data size left open (a streamed WAV)
                    good[:4] + bytes(4) + good[8:]):  # RIFF size 0
        (tmp_path / "mended.wav").write_bytes(damaged)
        np.testing.assert_array_equal(audio.read_audio(tmp_path / "mended.wav").samples, expected)


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
        sink.store(np.zeros(4, np.int16))
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


def mp3_without_tags(path):
    """An MP3 that begins with a bare frame header (libsndfile writes no ID3 tag)."""
    audio.write_audio(path, 0.3 * np.sin(np.arange(4000, dtype=np.float32) / 7), "s16le", RATE, container="mp3")
    return path.read_bytes()


@pytest.mark.parametrize("written_as, name, container", [
    ("wav", "song.raw", "wav"),  # a WAV named .raw is a WAV (it used to become 8-bit noise)
    ("wav", "song", "wav"),  # no extension at all
    ("flac", "song.raw", "flac"),  # a FLAC named .raw (it used to become 119,443 bytes of noise)
    ("flac", "song.wav", "flac"),  # a FLAC named .wav: the content wins
    ("aiff", "song.dat", "aiff"),
    ("rf64", "song.wav", "rf64"),
    ("ogg", "song.raw", "ogg"),
    ("mp3", "song.raw", "mp3"),  # a bare MPEG frame header followed by another
    ("raw", "song.raw", "raw"),  # no signature: raw
    ("raw", "song.s16", "raw"),  # an extension that names no kind: raw
])
def test_kind_is_read_from_the_content(tmp_path, written_as, name, container):
    tone = 0.3 * np.sin(np.arange(4000, dtype=np.float32) / 7)
    audio.write_audio(tmp_path / "written", tone, "s16le", 22050, container=written_as)
    (tmp_path / "written").rename(tmp_path / name)
    assert audio.container_of(tmp_path / name) == container
    read = audio.read_audio(tmp_path / name)
    assert (read.container, len(read.samples)) == (container, 8000 if container == "raw" else 4000)  # raw: u8 bytes
    if container not in ("raw", "ogg", "mp3"):
        assert read.rate == 22050
        np.testing.assert_array_equal(read.samples, audio.as_stored(tone, container, "s16le"))


@pytest.mark.parametrize("content, container", [
    (b"ID3\x03\0\0\0\0\0\x20" + bytes(40), "mp3"),  # an ID3v2.3 tag
    (b"ID3\x09\0\0\0\0\0\x20" + bytes(40), None),  # "ID3" then no ID3 version: raw bytes that spell it
    (b"ID3\x03\0\0\x80\0\0\x20" + bytes(40), None),  # a size byte with its top bit set: not a tag
    (bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(500), None),  # one frame header with no frame after it: loud u8 audio
    (bytes([0xFF, 0xFF, 0xFF, 0xFF] * 100), None),  # clipped u8 audio: bitrate index 15, never a frame
    (bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(413) + bytes([0xFF, 0xFB, 0x90, 0x64]), "mp3"),  # two frames, 417 apart
    (bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(413), "mp3"),  # one whole frame and the end of the file
    (b"RIFF" + bytes(40), "wav"),  # a RIFF header: the WAV reader decides (and refuses it in our words)
    (b"FORM" + bytes(4) + b"AIFC" + bytes(40), "aiff"),
    (b"RIFX" + bytes(40), "wav"),  # big-endian WAV
    (b"RF64" + bytes(40), "rf64"),
    (b"fLaC" + bytes(40), "flac"),
    (b"OggS" + bytes(40), "ogg"),
    (b"riff" + bytes(40), None),  # signatures are case-sensitive
])
def test_sniff(tmp_path, content, container):
    (tmp_path / "file").write_bytes(content)
    assert audio.sniff(tmp_path / "file") == container


def test_an_mp3_begins_with_two_frames(tmp_path):
    data = mp3_without_tags(tmp_path / "a.mp3")
    assert data[0] == 0xFF and audio.sniff(tmp_path / "a.mp3") == "mp3"


@pytest.mark.parametrize("written_as, kind", [
    ("wav", "a WAV"),
    ("flac", "a FLAC"),
    ("mp3", "an MP3"),  # a compressed file is never read as raw, even when raw is asked for
    ("ogg", "an Ogg Vorbis"),
])
def test_format_option_on_a_file_that_names_its_own_is_refused(tmp_path, written_as, kind):
    from neural_filter.errors import ArgumentError

    audio.write_audio(tmp_path / "song.raw", np.zeros(3000, np.float32), "s16le", RATE, container=written_as)
    with pytest.raises(ArgumentError) as caught:
        audio.read_audio(tmp_path / "song.raw", "u8")
    assert str(caught.value) == f"--format u8: {tmp_path / 'song.raw'} is {kind} file, which names its own format; drop --format"


def test_unknown_raw_format_is_refused():
    from neural_filter.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"^--format s24le: unknown raw format"):
        audio.check_format("s24le")  # 24-bit is for containers only


@pytest.mark.parametrize("path, default, container", [
    ("out.flac", "wav", "flac"),  # the extension picks the kind (--out out.flac used to write a WAV)
    ("out.FLAC", "raw", "flac"),  # in any case
    ("out.wav", "flac", "wav"),
    ("out.aif", "raw", "aiff"),
    ("out.ogg", "raw", "ogg"),
    ("out.mp3", "wav", "mp3"),
    ("out.raw", "wav", "raw"),  # .raw: raw, whatever the song
    ("out", "flac", "flac"),  # no extension: the song's kind
    ("out.s16", "raw", "raw"),  # an extension that names no kind: the song's kind
])
def test_output_container(path, default, container):
    assert audio.output_container(path, default) == container


def test_streamed_write_and_read_in_blocks_equal_the_whole(tmp_path):
    samples = np.random.default_rng(3).uniform(-1, 1, 10_007).astype(np.float32)
    for name, format in (("a.wav", "s24le"), ("b.wav", "f32le"), ("c.raw", "s16le"), ("d.wav", "u8"), ("e.flac", "s16le"),
                         ("f.mp3", "f32le")):
        with audio.audio_sink(tmp_path / name, format, RATE, len(samples)) as sink:
            for start in range(0, len(samples), 999):  # odd block size: blocks must not matter
                sink.write(samples[start : start + 999])
        whole = tmp_path / f"whole_{name}"
        audio.write_audio(whole, samples, format, RATE)
        assert (tmp_path / name).read_bytes() == whole.read_bytes()
        source = audio.open_audio(whole, format if name.endswith(".raw") else None)
        assert len(source) == len(samples)
        # (MP3's decoder gives the last bit of a float differently for other block sizes)
        tolerance = 1e-6 if name.endswith(".mp3") else 0
        np.testing.assert_allclose(np.concatenate(list(source.blocks(1000))), source.read(), rtol=0, atol=tolerance)


def test_a_sink_given_fewer_samples_than_promised_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="9 samples written, 10 promised"):
        with audio.audio_sink(tmp_path / "short.wav", "s16le", RATE, 10) as sink:
            sink.write(np.zeros(9, np.float32))
    assert list(tmp_path.iterdir()) == []
