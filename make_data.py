"""make_data.py: make the training pair and a song without Audacity, as the seed's recipe does.

Writes, in the working directory, `train_x.raw` (white noise, uniform on +-0.8, as Audacity's
Generate > Noise; or pink or brownian noise, `--noise`), `train_y.raw` (the same noise through
Audacity's Effect > Low-Pass Filter with the same cutoff and roll-off, then through a saturation if
`--drive` is given) and `song.raw` (a song you give, WAV, FLAC, AIFF, Ogg or MP3, mixed to mono, or
a short synthetic piece with bass, chords and percussion), all unsigned 8-bit PCM without a header
(`--format` for another encoding), and `train_y.json`, a note of the recipe, so that fit.py can
compare the learned response with it. With `--song my.wav`, also `my_filtered.wav` beside the song:
the song through the same filter (and drive), in the song's own kind and format (WAV for an Ogg or
MP3 song), at its own rate, to score a model on it: `gen.py MODEL my.wav --reference my_filtered.wav`.

With a range of cutoffs, `--cutoff LO:HI`, it writes the pairs for a knob instead: `--count` pairs
(32 unless given) at cutoffs spaced evenly in log frequency from LO to HI, `train_x_01.raw` and
`train_y_01.raw` (with its note `train_y_01.json`) up to the last, each pair with noise of its own,
every other option applying to all of them; then `song.raw`, and `pairs.csv`, the list of the
pairs (dry file, filtered file, cutoff in Hz: see neural_filter/pairs.py).

    python3 make_data.py                              # 30 s of noise, 600 Hz at 6 dB/octave
    python3 make_data.py --cutoff 2000 --rolloff 24 --force
    python3 make_data.py --cutoff 2000 --rolloff 24 --drive 10 --shape soft --force
    python3 make_data.py --cutoff 2000 --rolloff 24 --drive 10 --noise pink --force   # covers the drive's curve
    python3 make_data.py --song my_song.wav --force   # + my_song_filtered.wav, to score a model on your song
    python3 make_data.py --cutoff 100:8000 --count 32 --rolloff 24 --force   # a knob: 32 pairs and pairs.csv

The 8-bit export rounds to the nearest step without dither (Audacity dithers, so two of its exports
differ by a step in a few bytes): the same seed always gives the same bytes.
"""

import math
import shlex
import sys
from pathlib import Path

import numpy as np

from neural_filter import audio, cli, effect, resample, synth
from neural_filter.errors import ArgumentError, DataError
from neural_filter.pairs import Pair, write_pairs

OUTPUTS = ("train_x.raw", "train_y.raw", "song.raw")
PAIRS_LIST = "pairs.csv"
DEFAULT_COUNT = 32  # pairs of a knob: from 100 to 8000 Hz, neighbours 0.2 octave apart


def parse_arguments(argv=None):
    parser = cli.Parser(prog="make_data.py", description=__doc__.split("\n\n")[0],
                        formatter_class=cli.argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--cutoff", type=cli.cutoff_or_range, default=600.0, metavar="HZ|LO:HI",
                        help="low-pass cutoff in Hz (default 600); or a range LO:HI, for the pairs of a knob")
    parser.add_argument("--count", type=cli.positive_int, default=None, metavar="N",
                        help=f"with --cutoff LO:HI: how many pairs, at cutoffs spaced evenly in log frequency from LO "
                             f"to HI (default {DEFAULT_COUNT}: from 100 to 8000 Hz, neighbours 0.2 octave apart)")
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
    parser.add_argument("--envelope", choices=synth.ENVELOPES, default="steady",
                        help="the noise's level over time: steady (default, Audacity's); bursts (10 ms to 1 s each, "
                             "levels spread over 50 dB, some silent, ramps of 0.1-30 ms between them): for effects "
                             "whose sound depends on the level, a drive, a clipper, so that the pair shows the levels "
                             "and changes of level music has; or levels (for a compressor: 50-500 ms each, every band "
                             "of -50 to 0 dB within a second or two, in the part fit.py validates on too, stepped or "
                             "ramped, so the pair shows the threshold's both sides, attacks and releases)")
    parser.add_argument("--tones", action="store_true",
                        help="every other second, tone bursts instead of noise (chords of 1-4 sines from 40 Hz to "
                             "10 kHz, 50 ms to 1 s each): for nonlinear effects and compressors, so that the pair "
                             "holds the steady pitches and levels music has and noise lacks")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the noise pair (default 30)")
    parser.add_argument("--rate", type=cli.positive_int, default=audio.DEFAULT_RATE, help="sample rate (default 44100)")
    parser.add_argument("--format", choices=audio.RAW_FORMATS, default="u8",
                        help="sample encoding of the three raw files: u8 (default, the original's), s8, s16le, f32le; "
                             "give fit.py and gen.py the same --format")
    parser.add_argument("--seed", type=cli.seed, default=0, help="seed of the noise and the synthetic song (default 0)")
    parser.add_argument("--song", default=None,
                        help="a song (WAV, FLAC, AIFF, Ogg, MP3) to write as song.raw (default: a synthetic piece); "
                             "with one cutoff, also the song through the filter beside it, SONG_filtered.wav (.flac, "
                             "...)")
    parser.add_argument("--song-seconds", type=float, default=20.0, help="length of the synthetic song (default 20)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite existing outputs (train_x.raw, train_y.raw, song.raw, SONG_filtered.wav; "
                             "with a range, the pairs, their notes and pairs.csv too); never the song itself")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    cutoffs = knob_cutoffs(args)
    if args.shape and not args.drive:
        raise ArgumentError("shape", args.shape, "bends nothing without a drive", "give {drive} too, in dB")
    args.shape = args.shape or "soft"
    recipe = effect.Recipe(args.cutoff if cutoffs is None else cutoffs[0], args.rolloff, args.drive, args.shape)
    recipe.check(args.rate)
    if args.amplitude is None:
        synth.check_noise(args.noise)
        args.amplitude = synth.DEFAULT_AMPLITUDES[args.noise]
    synth.check_noise(args.noise, args.amplitude)
    for option, seconds in (("seconds", args.seconds), ("song_seconds", args.song_seconds)):
        # at least one sample: less would write an empty file (and nan or inf none at all)
        if not (math.isfinite(seconds) and round(seconds * args.rate) >= 1):
            raise ArgumentError(option, f"{seconds:g}", "not a usable length",
                                f"give a length of at least one sample ({1 / args.rate:.2g} s at {args.rate} Hz)")
    filtered_song = filtered_song_path(args.song) if args.song and cutoffs is None else None
    names = OUTPUTS if cutoffs is None else [*knob_outputs(len(cutoffs)), "song.raw", PAIRS_LIST]
    refuse_existing([*names, *([str(filtered_song)] if filtered_song else [])], args.force)
    if cutoffs is None:
        write_the_pair(args, recipe, filtered_song)
    else:
        write_knob(args, recipe, cutoffs)


def write_the_pair(args, recipe: effect.Recipe, filtered_song: Path | None) -> None:
    """The seed's one pair; the song's generator goes on after the noise, as it always has.

    With `--song`, also the song through the recipe, beside it (`filtered_song`): a reference to
    score a model's render of that song with (gen.py --reference).
    """
    rng = np.random.default_rng(args.seed)
    noise = synth.noise(args.noise, args.seconds, args.rate, rng, args.amplitude, args.envelope, args.tones)
    # before anything is written or said: a song that cannot be read or filtered leaves nothing
    user_song = read_song(args)
    reference = song_through(recipe, user_song, args.song) if filtered_song else None
    song = make_song(args, rng, user_song)
    if filtered_song:  # first: beside the song, in a folder of the user's, it is the likeliest to be refused
        write_filtered_song(filtered_song, reference, user_song, args.song, recipe)
    write_pair("train_x.raw", "train_y.raw", noise, recipe, args)
    write_raw("song.raw", song, args)
    print(f"wrote train_x.raw and train_y.raw ({args.seconds:g} s{noise_words(args)}, {recipe.words()}) and song.raw "
          f"({len(song) / args.rate:.1f} s)")


def write_knob(args, recipe: effect.Recipe, cutoffs: list[float]) -> None:
    """A pair at each cutoff, each from noise of its own, then the song and the pairs list."""
    song = make_song(args, np.random.default_rng(args.seed), read_song(args))
    pairs = []
    for index, cutoff in enumerate(cutoffs, 1):  # one pair in memory at a time
        dry, filtered = pair_names(index, len(cutoffs))
        # pair i's noise is its own stream: independent of the others, the same for the same seed
        noise = synth.noise(args.noise, args.seconds, args.rate, np.random.default_rng([args.seed, index]),
                            args.amplitude, args.envelope, args.tones)
        write_pair(dry, filtered, noise, recipe.at(cutoff), args)
        pairs.append(Pair(Path(dry), Path(filtered), cutoff))
    write_raw("song.raw", song, args)
    write_pairs(PAIRS_LIST, pairs)
    first, last = pair_names(1, len(cutoffs)), pair_names(len(cutoffs), len(cutoffs))
    cutoff_words = f"{cutoffs[0]:g} to {cutoffs[-1]:g} Hz spaced evenly in log frequency,"
    print(f"wrote {len(cutoffs)} pairs, {first[0]} .. {last[0]} and {first[1]} .. {last[1]} ({args.seconds:g} s "
          f"each{noise_words(args)}, {recipe.words(cutoff_words)}), song.raw ({len(song) / args.rate:.1f} s) "
          f"and {PAIRS_LIST}")


def noise_words(args) -> str:
    """How the summary line names the noise: nothing for the seed's."""
    seed_noise = (args.noise, args.amplitude, args.envelope, args.tones) == ("white", 0.8, "steady", False)
    tones = " and tones" if args.tones else ""
    envelope = {"steady": "", "bursts": " in bursts", "levels": " at moving levels"}[args.envelope]
    return "" if seed_noise else f" of {args.noise} noise{tones}{envelope} peaking at {args.amplitude:g}"


def knob_cutoffs(args) -> list[float] | None:
    """The cutoffs `--cutoff LO:HI --count N` asks for, evenly in log frequency; None for one pair (`--cutoff HZ`)."""
    if not isinstance(args.cutoff, tuple):
        if args.count is not None:
            raise ArgumentError("count", args.count, "needs a range of cutoffs", "give {cutoff} as LO:HI, say 100:8000")
        synth.check_lowpass(args.cutoff, args.rolloff, args.rate)
        return None
    low, high = args.cutoff
    if not low < high:
        raise ArgumentError("cutoff", f"{low:g}:{high:g} Hz", "not a range from low to high",
                            "give LO:HI with LO below HI, say 100:8000")
    for end in (low, high):
        synth.check_lowpass(end, args.rolloff, args.rate)
    count = DEFAULT_COUNT if args.count is None else args.count
    if count < 2:
        raise ArgumentError("count", count, "too few for a range", "a knob needs at least 2 pairs at different cutoffs")
    cutoffs = [float(cutoff) for cutoff in np.geomspace(low, high, count)]
    cutoffs[0], cutoffs[-1] = low, high  # the ends as given, whatever the rounding of the powers
    return cutoffs


def pair_names(index: int, count: int) -> tuple[str, str]:
    """The dry and filtered files of pair `index` (from 1) of `count`: train_x_01.raw, train_y_01.raw."""
    number = str(index).zfill(max(2, len(str(count))))  # every name the same width: they sort in order
    return f"train_x_{number}.raw", f"train_y_{number}.raw"


def knob_outputs(count: int) -> list[str]:
    """Every pair's files and note, in the order they are written."""
    names = []
    for index in range(1, count + 1):
        dry, filtered = pair_names(index, count)
        names += [dry, filtered, str(effect.note_path(filtered))]
    return names


def refuse_existing(names, force: bool) -> None:
    """Nothing is overwritten without --force: the first existing output is named, and the others counted."""
    existing = [name for name in names if Path(name).exists()]
    if existing and not force:
        listed = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        raise DataError(existing[0], "exists", f"pass --force to overwrite {listed}")


def read_song(args) -> audio.Audio | None:
    """The user's song (`--song`), mixed to mono; None for the synthetic one."""
    return audio.read_audio(audio.check_readable(args.song)) if args.song else None


def make_song(args, rng: np.random.Generator, song: audio.Audio | None) -> np.ndarray:
    """song.raw's samples: the user's `song` (converted to the pair's rate), or a synthetic piece drawn from `rng`."""
    if song is None:
        return synth.synthetic_song(args.song_seconds, args.rate, rng)
    if song.rate == args.rate:
        return song.samples
    length = round(len(song.samples) * args.rate / song.rate)
    samples = np.concatenate([np.empty(0, np.float32), *resample.exact_length(
        resample.resample_blocks([song.samples], song.rate, args.rate), length)])
    print(f"converted {args.song} from {song.rate} Hz to {args.rate} Hz, the pair's rate")
    return samples


def write_raw(name: str, samples: np.ndarray, args) -> None:
    audio.write_audio(name, np.asarray(samples, dtype=np.float32), args.format, args.rate, container="raw")


def write_pair(dry_name: str, filtered_name: str, noise: np.ndarray, recipe: effect.Recipe, args) -> None:
    """The dry noise, the same noise through `recipe`, and the note of the recipe beside it."""
    write_raw(dry_name, noise, args)
    write_raw(filtered_name, recipe.apply(noise, args.rate), args)
    # fit.py compares the learned response with this filter's when the note still fits the filtered file
    effect.Note(recipe, args.rate, Path(filtered_name).stat().st_size, args.noise, args.amplitude,
                args.format, args.envelope, args.tones).write(filtered_name)


# --- the song through the recipe: a reference for gen.py --reference ------------------------------


def filtered_song_path(song) -> Path:
    """Where the song through the recipe goes: my_filtered.wav beside my.wav, refused where it is the song itself.

    The same kind as the song, but a lossy song's reference is a WAV: an encoder's own error in the
    reference would count against every model scored on it.
    """
    song = Path(song)
    suffix = ".wav" if audio.container_named(song) in ("ogg", "mp3") else song.suffix
    path = song.with_name(f"{song.stem}_filtered{suffix}")
    if path.exists() and song.exists() and path.samefile(song):  # a link: writing it would replace the song
        raise DataError(path, f"is {song} itself (a link to it)", "rename or copy the song, then make the pair again")
    return path


def song_through(recipe: effect.Recipe, song: audio.Audio, name: str) -> np.ndarray:
    """The user's song through the recipe at the song's own rate, the rate gen.py renders it at."""
    try:
        recipe.check(song.rate)
    except ArgumentError:
        raise DataError(name, f"is at {song.rate} Hz, too low a rate for a {recipe.cutoff:g} Hz low-pass",
                        f"give a song at a higher rate, or a {{cutoff}} below {song.rate / 2:g} Hz") from None
    return recipe.apply(song.samples, song.rate)


def write_filtered_song(path: Path, samples: np.ndarray, song: audio.Audio, name: str, recipe: effect.Recipe) -> None:
    """Write the filtered song in the song's own kind and format (WAV for a lossy one), and how to use it."""
    container = "wav" if audio.KINDS[song.container].lossy else song.container
    audio.write_audio(path, samples.astype(np.float32), song.format, song.rate, container=container)
    print(f"wrote {path} ({name} through {recipe.words()}); score a model on your song with:\n"
          f"    python3 gen.py MODEL {shlex.quote(name)} --reference {shlex.quote(str(path))}")


def run(argv=None) -> int:
    return cli.run(main, "make_data.py", argv)


if __name__ == "__main__":
    sys.exit(run())
