"""Sample-rate conversion, streamed: a song at another rate than its model's goes through the
model at the model's rate and comes back at its own.

soxr (libsoxr, the resampler SoX, FFmpeg and Audacity use) at its "very high quality" setting:
a linear-phase filter, flat to well above 20 kHz, whose delay soxr removes itself, so the output
lines up with the input sample for sample. Its streaming interface takes any block sizes and gives
the same samples for any cutting of the input, so memory stays bounded and a render is the same
bytes whoever renders it.
"""

import numpy as np

from neural_filter.errors import ArgumentError

QUALITY = "VHQ"  # soxr's very high quality: passband to 95% of the lower Nyquist, stopband below -175 dB


def refusal(song, song_rate: int, other: str, rate: int):
    """The error for a song at another rate than `rate` when conversion was refused (--no-resample).

    `other` says whose rate that is, as "train_x.raw is at" or "model.keras was trained at".
    """
    return ArgumentError("no_resample", None, f"{song} is at {song_rate} Hz but {other} {rate} Hz",
                         f"drop {{no_resample}} to render it through a {rate} Hz copy, or give a song at {rate} Hz")


def resample_blocks(blocks, from_rate: int, to_rate: int):
    """Mono float32 blocks at `from_rate` in, the same signal at `to_rate` out (about len * to / from samples)."""
    import soxr  # noqa: PLC0415 - libsoxr, 0.2 s: only a song at another rate than the model's loads it

    stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32", quality=QUALITY)
    for block in blocks:
        converted = stream.resample_chunk(np.asarray(block, np.float32))
        if len(converted):
            yield converted
    converted = stream.resample_chunk(np.empty(0, np.float32), last=True)  # the filter's tail
    if len(converted):
        yield converted


def exact_length(blocks, length: int):
    """`blocks` cut to exactly `length` samples in all: trimmed, or padded with silence at the end.

    Converting there and back can end a sample away from the start's length (each way rounds);
    the output must be exactly as long as the song.
    """
    remaining = length
    for block in blocks:  # read to the end, even past `length`: the stages before it finish and clean up
        block = block[: max(remaining, 0)]
        remaining -= len(block)
        if len(block):
            yield block
    if remaining > 0:
        yield np.zeros(remaining, np.float32)
