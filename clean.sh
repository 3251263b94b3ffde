#!/bin/sh
# Remove fit.py's data caches (train_x.npy, train_y.npy, any *.npy) from the current directory.
# fit.py already rebuilds a stale cache by itself; this is for a fresh start.
rm -f -- *.npy
