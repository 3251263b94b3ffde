#!/bin/sh
# sweep.sh: an example sweep, nine short trainings of the mode that learns the filter (sliding: three
# activations x three optimisers), then the five best of every run recorded so far.
#
# Run it from the project folder, with the virtual environment active (python3 must have Keras),
# after making the training pair once:
#
#     python3 make_data.py      # writes train_x.raw, train_y.raw and song.raw
#     ./sweep.sh                # or: sh sweep.sh
#
# Every model fit.py saves lands in models/ and adds a row to models/results.csv, so the ranking
# at the end includes earlier runs too; `python3 report.py --help` filters and trims it. The
# command lines are written as a user types them, fit.py's positional arguments in order, then the mode:
#     layers units batch activation optimiser cpu_only window epochs --mode sliding
# (the README's sliding command with 16 epochs instead of 40; chunk mode, the original's, cannot learn a
# low-pass: every chunk run scores "poor"). Copy this file and change the lists or the numbers to sweep
# something else.

if [ ! -f train_x.raw ] || [ ! -f train_y.raw ]; then
    echo "sweep.sh: train_x.raw and train_y.raw are missing here; run python3 make_data.py first" >&2
    exit 2
fi

failed=""
for act in tanh gelu relu; do
    for opt in adam nadam rmsprop; do
        echo "== $act $opt"
        # A run that fails (a diverged loss, say) is noted and the sweep goes on to the next one.
        python3 fit.py 6 32 32 $act $opt 1 64 16 --mode sliding || failed="$failed $act/$opt"
    done
done

python3 report.py --top 5

if [ -n "$failed" ]; then
    echo "sweep.sh: these runs failed:$failed" >&2
    exit 1
fi
