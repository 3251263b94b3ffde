#!/bin/sh
# Re-make the two sliding models shipped in models/, from make_data.py data (30 s of noise, seed 0):
#   models/lowpass_600hz_6db/    Audacity's 600 Hz low-pass at 6 dB/octave
#   models/lowpass_2000hz_24db/  Audacity's 2000 Hz low-pass at 24 dB/octave
# Usage, from anywhere: sh models/make_shipped_models.sh   (about 5 minutes on 2 cores)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for filter in "600 6" "2000 24"; do
    set -- $filter
    python3 "$root/make_data.py" --cutoff "$1" --rolloff "$2" --force
    rm song.raw  # no demo render beside the shipped model
    rm -f ./*.npy
    python3 "$root/fit.py" 6 32 32 tanh adam 1 64 40 --mode sliding --no-plot --models "$root/models/lowpass_$1hz_$2db"
    rm "$root/models/lowpass_$1hz_$2db/results.csv"  # the model and its record only
done
