#!/bin/sh
# clean.sh: remove fit.py's data caches (train_x.npy, train_y.npy, any *.npy) from the current directory, as the
# original's `rm -r *.npy` did, and say what it removed: one line a cache, or one line saying there was none.
# fit.py already rebuilds a stale cache by itself; this is for a fresh start.
removed=0
failed=0
for cache in *.npy; do
    [ -e "$cache" ] || [ -L "$cache" ] || continue  # no cache: sh leaves the pattern itself
    if rm -rf -- "$cache"; then
        echo "removed $cache"
        removed=$((removed + 1))
    else
        failed=1  # rm said why on stderr; the other caches are still removed
    fi
done
if [ "$removed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "clean.sh: no .npy cache here; nothing removed"
fi
exit "$failed"
