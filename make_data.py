"""make_data.py: make the training pair and a song without Audacity, as the seed's recipe does.

Writes, in the working directory, `train_x.raw` (white noise, uniform on +-0.8, as Audacity's
Generate > Noise; or pink or brownian noise, `--noise`), `train_y.raw` (the same noise through
Audacity's Effect > Low-Pass Filter with the same cutoff and roll-off, then through a saturation if
`--drive` is given) and `song.raw` (a song you give, WAV, FLAC, AIFF, Ogg or MP3, mixed to mono, or
a short synthetic piece with bass, chords and percussion), all unsigned 8-bit PCM without a header
(`--format` for another encoding), and `train_y.json`, a note of the recipe, so that fit.py can
compare the learned response with it.

    python3 make_data.py                              # 30 s of noise, 600 Hz at 6 dB/octave
    python3 make_data.py --cutoff 2000 --rolloff 24 --force
    python3 make_data.py --cutoff 2000 --rolloff 24 --drive 10 --shape soft --force
    python3 make_data.py --cutoff 2000 --rolloff 24 --drive 10 --noise pink --force   # covers the drive's curve
    python3 make_data.py --song my_song.wav --force

The 8-bit export rounds to the nearest step without dither (Audacity dithers, so two of its exports
differ by a step in a few bytes): the same seed always gives the same bytes.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

from neural_filter import audio, cli, dataset, synth
from neural_filter.files import atomic_output
from neural_filter.errors import ArgumentError, DataError

OUTPUTS = ("train_x.raw", "train_y.raw", "song.raw")


def parse_arguments(argv=None):
    parser = cli.Parser(prog="make_data.py", description=__doc__.split("\n\n")[0],
                        formatter_class=cli.argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--cutoff", type=float, default=600.0, help="low-pass cutoff in Hz (default 600)")
    parser.add_argument("--rolloff", type=int, default=6, help="dB per octave: 6, 12, 24, 36 or 48 (default 6)")
    parser.add_argument("--drive", type=float, default=0.0,
                        help="saturation after the filter, in dB of gain for quiet signals over full scale "
                             "(default 0: none)")
    parser.add_argument("--shape", choices=synth.SHAPES, default=None,
                        help="saturation curve: soft (symmetric tanh) or asymmetric (diode-like; default soft)")
    parser.add_argument("--noise", metavar="{" + ",".join(synth.NOISES) + "}", default="white",
                        help="the dry noise, as Generate > Noise offers: white (default, the seed's), pink or brownian "
                             "(low-frequency heavy: its level survives a low-pass, so a drive's curve is covered)")
    parser.add_argument("--amplitude", type=float, default=None,
                        help="peak of the dry noise, up to 1 (full scale; default 0.8 for white, Audacity's, "
                             "1 for pink and brownian)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the noise pair (default 30)")
    parser.add_argument("--rate", type=cli.positive_int, default=audio.DEFAULT_RATE, help="sample rate (default 44100)")
    parser.add_argument("--format", choices=audio.RAW_FORMATS, default="u8",
                        help="sample encoding of the three raw files: u8 (default, the original's), s8, s16le, f32le; "
                             "give fit.py and gen.py the same --format")
    parser.add_argument("--seed", type=cli.seed, default=0, help="seed of the noise and the synthetic song (default 0)")
    parser.add_argument("--song", default=None, help="a song (WAV, FLAC, AIFF, Ogg, MP3) to write as song.raw (default: a synthetic piece)")
    parser.add_argument("--song-seconds", type=float, default=20.0, help="length of the synthetic song (default 20)")
    parser.add_argument("--force", action="store_true", help="overwrite existing train_x.raw, train_y.raw, song.raw")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    synth.check_lowpass(args.cutoff, args.rolloff, args.rate)
    if args.shape and not args.drive:
        raise ArgumentError("shape", args.shape, "bends nothing without a drive", "give {drive} too, in dB")
    args.shape = args.shape or "soft"
    synth.check_saturation(args.drive, args.shape)
    if args.amplitude is None:
        synth.check_noise(args.noise)
        args.amplitude = synth.DEFAULT_AMPLITUDES[args.noise]
    synth.check_noise(args.noise, args.amplitude)
    for option, seconds in (("seconds", args.seconds), ("song_seconds", args.song_seconds)):
        # at least one sample: less would write an empty file (and nan or inf none at all)
        if not (math.isfinite(seconds) and round(seconds * args.rate) >= 1):
            raise ArgumentError(option, f"{seconds:g}", "not a usable length",
                                f"give a length of at least one sample ({1 / args.rate:.2g} s at {args.rate} Hz)")
    existing = [name for name in OUTPUTS if Path(name).exists()]
    if existing and not args.force:
        raise DataError(existing[0], "exists", f"pass --force to overwrite {', '.join(existing)}")

    rng = np.random.default_rng(args.seed)
    noise = synth.noise(args.noise, args.seconds, args.rate, rng, args.amplitude)
    filtered = synth.saturate(synth.audacity_lowpass(noise, args.cutoff, args.rolloff, args.rate), args.drive, args.shape)
    if args.song:
        song = audio.read_audio(audio.check_readable(args.song))
        song_samples = song.samples
        if song.rate != args.rate:  # raw files carry no rate: song.raw is read at the pair's
            from neural_filter import resample

            length = round(len(song_samples) * args.rate / song.rate)
            song_samples = np.concatenate([np.empty(0, np.float32), *resample.exact_length(
                resample.resample_blocks([song_samples], song.rate, args.rate), length)])
            print(f"converted {args.song} from {song.rate} Hz to {args.rate} Hz, the pair's rate")
    else:
        song_samples = synth.synthetic_song(args.song_seconds, args.rate, rng)

    for name, samples in zip(OUTPUTS, (noise, filtered, song_samples)):
        audio.write_audio(name, np.asarray(samples, dtype=np.float32), args.format, args.rate, container="raw")
    # fit.py compares the learned response with this filter's when the note still fits train_y.raw
    note = {"noise": args.noise, "amplitude": args.amplitude, "cutoff": args.cutoff, "rolloff": args.rolloff,
            "drive": args.drive, "shape": args.shape, "rate": args.rate, "format": args.format, "bytes": Path("train_y.raw").stat().st_size}
    with atomic_output(dataset.filter_note_path("train_y.raw")) as temporary:
        temporary.write_text(json.dumps(note) + "\n")
    seed_noise = (args.noise, args.amplitude) == ("white", 0.8)  # the seed's recipe: said as before
    kind = "" if seed_noise else f" of {args.noise} noise peaking at {args.amplitude:g}"
    saturation = f", {args.shape} saturation {args.drive:g} dB" if args.drive else ""
    print(f"wrote train_x.raw and train_y.raw ({args.seconds:g} s{kind}, {args.cutoff:g} Hz at {args.rolloff} dB/octave"
          f"{saturation}) and song.raw ({len(song_samples) / args.rate:.1f} s)")


def run(argv=None) -> int:
    return cli.run(main, "make_data.py", argv)


if __name__ == "__main__":
    sys.exit(run())
