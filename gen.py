"""gen.py: render audio through a trained model.

    python3 gen.py <model path> <song path> [samples]
    python3 gen.py models/lowpass_600hz_6db/tanh_adam_6_32_32_64_40_sliding_a32.3.keras song.raw
    python3 gen.py models/lowpass_2000hz_24db/tanh_adam_6_32_32_64_40_sliding_a35.5.keras song.raw 64 --out song.wav
    python3 gen.py MODEL my.wav --reference my_filtered.wav      # my_filtered.wav: make_data.py --song my.wav
    python3 gen.py models/tanh_adam_6_32_32_1024_2_sliding_cutoff100-8000_a<score>.keras song.raw --cutoff 450
    python3 gen.py models/tanh_adam_6_32_32_1024_2_sliding_cutoff100-8000_a<score>.keras song.raw --cutoff 200:5000

The first two use the models shipped in models/; the last two, a knob model fit.py --pairs
trains (README: A knob), named with its score.

Writes `outputs/<song name>.<the song's kind>` (or `--out FILE`, whose extension picks the kind:
.raw, .wav, .flac, .aiff, .ogg, .mp3), exactly as long as the song and at its rate: a song at
another rate than the model's is converted to the model's rate and back. The song's kind is read
from its content (a WAV named .raw is a WAV). The model says what it needs (window, mode,
alignment, levels, rate), so `samples` is optional; given, it must match. Works with fit.py's
`.keras` models and the original project's SavedModel directories. A knob model (fit.py --pairs)
renders at the cutoff `--cutoff` gives, or sweeps it from A at the song's start to B at its end,
evenly in log frequency, the filter moving every sample.
"""

import sys
from pathlib import Path

from neural_filter import audio, cli, files, render
from neural_filter.errors import DataError


def parse_arguments(argv=None):
    parser = cli.Parser(prog="gen.py", description=__doc__.split("\n\n")[0],
                        formatter_class=cli.argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("model", help="a .keras file made by fit.py, or an original SavedModel directory")
    parser.add_argument("song", help="audio to render: WAV, FLAC, AIFF, Ogg, MP3, or raw (see --format)")
    parser.add_argument("samples", nargs="?", type=cli.positive_int, default=None,
                        help="the model's window; optional, checked against the model")
    parser.add_argument("--out", default=None,
                        help="output file; its extension picks the kind (default outputs/<song name>, the song's kind)")
    parser.add_argument("--format", default=None, help="encoding of a raw song: u8 (default), s8, s16le, f32le")
    parser.add_argument("--rate", type=cli.positive_int, default=None, help="sample rate of a raw song (default 44100)")
    parser.add_argument("--no-resample", action="store_true",
                        help="refuse a song at another rate than the model's, instead of converting it there and back")
    parser.add_argument("--cutoff", type=cli.cutoff_or_range, default=None, metavar="HZ|A:B",
                        help="a knob model's cutoff, within its trained range; A:B sweeps it from A to B over the song")
    parser.add_argument("--reference", default=None, metavar="FILE",
                        help="the song as the real filter renders it: print the output's ESR against it")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    cli.quiet_frameworks(cpu_only=False)
    audio.check_format(args.format)
    song = audio.check_readable(args.song)
    kind = audio.container_of(song, args.format)
    out = Path(args.out) if args.out else Path("outputs") / (song.stem + audio.KINDS[kind].extensions[0])
    if args.reference:
        audio.check_readable(args.reference)
    _refuse_writing_over_inputs(out, ("song", song), ("reference", args.reference))
    files.check_name_lengths(out, "out")
    stats = render.render_file(args.model, song, out, args.format, args.rate, window=args.samples,
                               reference=args.reference, progress=not args.quiet, resample=not args.no_resample,
                               knob=args.cutoff)
    at = ("" if args.cutoff is None else f" at cutoff {args.cutoff:g} Hz" if not isinstance(args.cutoff, tuple)
          else f" sweeping the cutoff from {args.cutoff[0]:g} Hz to {args.cutoff[1]:g} Hz")
    print(f"rendered {song} -> {out}{at}: {stats['samples']} samples ({stats['audio_seconds']:.1f} s of audio) "
          f"in {stats['seconds']:.2f} s, {stats['realtime_factor']:.1f}x real time")
    if stats["resampled"]:
        print(f"resampled {song} from {stats['rate']} Hz to the model's {stats['model_rate']} Hz and back")
    if args.reference:
        from neural_filter.metrics import signed_db  # noqa: PLC0415 - SciPy, 1 s: only a render with --reference pays it

        trained = stats["training_floor_db"]
        trained = "" if trained is None else f"; the model's training pair could show {signed_db(trained)}"
        print(f"ESR against {args.reference}: {signed_db(stats['reference_esr_db'])}: {stats['reference_verdict']} "
              f"(its floor {signed_db(stats['reference_floor_db'])}{trained}; lower is better)")


def _refuse_writing_over_inputs(out: Path, *inputs: tuple[str, str | None]) -> None:
    """An output that is an input, however spelt, would destroy it: refused before any work."""
    for role, given in inputs:
        if given is not None and files.same_file(out, given):
            raise DataError(out, f"is the {role} itself (the same file), which the render would replace",
                            "give {out} another file name")


SPELLING = {"window": "samples"}  # the package's names -> gen.py's words, in error messages


def run(argv=None) -> int:
    return cli.run(main, "gen.py", argv, SPELLING)


if __name__ == "__main__":
    sys.exit(run())
