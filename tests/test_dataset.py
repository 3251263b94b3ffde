"""neural_filter.dataset: the training pair cut into chunks, shuffled in unison, split, and cached;
and clean.sh, which clears the caches."""

import os
import subprocess

import numpy as np
import pytest

from conftest import ROOT, leftovers, one_line
from neural_filter import dataset
from neural_filter.errors import ArgumentError, DataError, LengthMismatchError
from neural_filter.spec import FilterSpec


def write_pair(directory, length, seed=0):
    """Random bytes as train_x.raw and their complement 255 - x as train_y.raw: each y chunk is a
    known function of its x chunk, so pairing survives only if x and y were shuffled in unison."""
    x = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8)
    (directory / "train_x.raw").write_bytes(x.tobytes())
    (directory / "train_y.raw").write_bytes((255 - x).tobytes())
    return x


def prepare(directory, window=9, validation=0.1, seed=1234, notices=None):
    return dataset.prepare(directory / "train_x.raw", directory / "train_y.raw", FilterSpec(mode="chunk", window=window),
                           dataset.DataSettings(validation=validation, seed=seed), cache_dir=directory, notice=(notices.append if notices is not None else _no_notice))


def _no_notice(message):
    raise AssertionError(f"unexpected notice: {message}")


@pytest.mark.parametrize("length, window, validation, train_chunks, validation_chunks", [
    (100, 9, 0.1, 10, 1),  # 11 chunks, one sample dropped; round(1.1) = 1 held out
    (100, 9, 0.0, 11, 0),  # --val 0: nothing held out
    (99, 9, 0.5, 5, 6),  # 11 chunks: round(5.5) = 6 held out
    (90, 9, 0.5, 5, 5),  # exactly half
    (20, 9, 0.01, 1, 1),  # round(0.02) = 0, but a validation share holds at least one chunk
    (1000, 9, 0.25, 83, 28),  # 111 chunks, one sample dropped; round(27.75) = 28
    (1000, 10, 0.1, 90, 10),  # no samples dropped
    (64, 64, 0.0, 1, 0),  # the window is the whole signal
])
def test_chunk_counts(tmp_path, length, window, validation, train_chunks, validation_chunks):
    write_pair(tmp_path, length)
    prepared = prepare(tmp_path, window, validation)
    assert prepared.train_x.shape == prepared.train_y.shape == (train_chunks, window)
    assert prepared.validation_x.shape == prepared.validation_y.shape == (validation_chunks, window)
    for array in (prepared.train_x, prepared.train_y, prepared.validation_x, prepared.validation_y):
        assert array.dtype == np.float32
    assert prepared.rate == 44100 and not prepared.from_cache


def test_arrays_are_full_scale_whatever_the_levels(tmp_path):
    # the levels are the spec's, applied when training: one cache serves every scale
    x = write_pair(tmp_path, 900)
    prepared = prepare(tmp_path, window=9, validation=0.0)
    np.testing.assert_array_equal(np.sort(prepared.train_x.ravel()), np.sort((x.astype(np.float32) - 128) / 128))


def test_shuffled_in_unison_and_validation_is_the_tail_in_order(tmp_path):
    window, length = 9, 1000  # 111 chunks: 100 train (shuffled), 11 validation (the tail), 1 sample dropped
    x = write_pair(tmp_path, length)
    prepared = prepare(tmp_path, window, validation=0.1)
    chunks_x = ((x[: 111 * window].astype(float) - 128) / 128.0).reshape(111, window)
    chunks_y = ((255 - x[: 111 * window].astype(float) - 128) / 128.0).reshape(111, window)
    close = dict(rtol=0, atol=1e-7)

    np.testing.assert_allclose(prepared.validation_x, chunks_x[100:], **close)
    np.testing.assert_allclose(prepared.validation_y, chunks_y[100:], **close)

    # which original chunk each training row is: random bytes make every chunk unique
    positions = [int(np.argmin(np.abs(chunks_x - row).sum(axis=1))) for row in prepared.train_x]
    np.testing.assert_allclose(prepared.train_x, chunks_x[positions], **close)
    np.testing.assert_allclose(prepared.train_y, chunks_y[positions], **close)  # y came along with x
    assert sorted(positions) == list(range(100))  # every training chunk once, none from the tail
    assert positions != list(range(100))  # and shuffled


@pytest.mark.parametrize("seed_a, seed_b, same", [
    (1234, 1234, True),  # same seed: same order
    (1234, 1235, False),  # another seed: another order
])
def test_shuffle_is_seeded(tmp_path, seed_a, seed_b, same):
    write_pair(tmp_path, 900)
    first = prepare(tmp_path, seed=seed_a, validation=0.0)
    for cache in ("train_x.npy", "train_y.npy"):
        (tmp_path / cache).unlink()
    second = prepare(tmp_path, seed=seed_b, validation=0.0)
    assert np.array_equal(first.train_x, second.train_x) == same


def test_unequal_lengths_name_train_y(tmp_path):
    write_pair(tmp_path, 900)
    (tmp_path / "train_y.raw").write_bytes(bytes(899))
    with pytest.raises(LengthMismatchError) as caught:
        prepare(tmp_path)
    message = one_line(str(caught.value))
    assert message.startswith(f"{tmp_path / 'train_y.raw'}: has 899 samples")
    assert "900 samples" in message and "train_x.raw" in message
    assert not (tmp_path / "train_x.npy").exists()


@pytest.mark.parametrize("name, make, problem", [
    ("train_x.raw", lambda path: path.unlink(), "no such file"),  # x missing
    ("train_y.raw", lambda path: path.unlink(), "no such file"),  # y missing
    ("train_x.raw", lambda path: path.write_bytes(b""), "is empty"),  # x empty
    ("train_y.raw", lambda path: path.write_bytes(b""), "is empty"),  # y empty
])
def test_missing_or_empty_file_is_named(tmp_path, name, make, problem):
    write_pair(tmp_path, 900)
    make(tmp_path / name)
    with pytest.raises(DataError) as caught:
        prepare(tmp_path)
    assert one_line(str(caught.value)).startswith(f"{tmp_path / name}: {problem}")


@pytest.mark.parametrize("length, window, validation", [
    (8, 9, 0.0),  # fewer samples than one window
    (9, 9, 0.1),  # one chunk, but validation needs a second
    (17, 9, 0.5),  # one whole chunk and a partial one
])
def test_window_larger_than_the_data_names_samples(tmp_path, length, window, validation):
    write_pair(tmp_path, length)
    with pytest.raises(ArgumentError) as caught:
        prepare(tmp_path, window, validation)
    message = one_line(caught.value.worded(lambda option: {"window": "samples"}.get(option, "--" + option)))
    assert caught.value.option == "window"
    assert message.startswith(f"samples: window {window} needs at least ")
    assert f"has {length}" in message
    assert not (tmp_path / "train_x.npy").exists()


# --- the cache ---------------------------------------------------------------------------------


def test_cache_is_reused_when_nothing_changed(tmp_path):
    write_pair(tmp_path, 1000)
    first = prepare(tmp_path)
    assert (tmp_path / "train_x.npy").exists() and (tmp_path / "train_y.npy").exists()
    second = prepare(tmp_path)  # no notice allowed
    assert not first.from_cache and second.from_cache
    for name in ("train_x", "train_y", "validation_x", "validation_y"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))
        assert getattr(second, name).dtype == np.float32
    assert leftovers(tmp_path) == []


def change_content_same_size(directory):
    path = directory / "train_y.raw"
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # and a later mtime


def touch_only(directory):
    path = directory / "train_x.raw"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("change, settings", [
    (lambda d: write_pair(d, 1008, seed=3), {}),  # new content, new size
    (change_content_same_size, {}),  # new content, same size, new mtime
    (touch_only, {}),  # same bytes, new mtime: cannot tell, so rebuilt
    (None, {"window": 8}),  # another window
    (None, {"validation": 0.2}),  # another validation share
    (None, {"validation": 0.0}),  # no validation
    (None, {"seed": 99}),  # another shuffle
])
def test_cache_is_rebuilt_with_one_notice_when_anything_changed(tmp_path, change, settings):
    write_pair(tmp_path, 1000)
    prepare(tmp_path)
    if change:
        change(tmp_path)
    notices = []
    rebuilt = prepare(tmp_path, notices=notices, **settings)
    assert not rebuilt.from_cache
    assert len(notices) == 1 and "\n" not in notices[0] and "rebuilt train_x.npy and train_y.npy" in notices[0]
    assert "train_x.npy" in notices[0] and "other files or settings" in notices[0]

    # what was rebuilt is what the files and settings give without any cache
    for cache in ("train_x.npy", "train_y.npy"):
        os.replace(tmp_path / cache, tmp_path / f"{cache}.kept")
    fresh = prepare(tmp_path, **settings)
    np.testing.assert_array_equal(rebuilt.train_x, fresh.train_x)
    np.testing.assert_array_equal(rebuilt.validation_y, fresh.validation_y)
    for cache in ("train_x.npy", "train_y.npy"):
        os.replace(tmp_path / f"{cache}.kept", tmp_path / cache)
    assert prepare(tmp_path, **settings).from_cache  # and the new cache is used next time


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("cache, damage", [
    ("train_x.npy", lambda path: path.write_bytes(b"\x93NUMPY garbage " * 50)),  # garbage bytes
    ("train_y.npy", lambda path: path.write_bytes(os.urandom(3000))),  # random bytes
    ("train_x.npy", truncate),  # cut in half
    ("train_y.npy", lambda path: np.save(path, np.zeros((3, 9), np.float32))),  # the original's plain array
    ("train_x.npy", lambda path: np.save(path, np.array([{"a": 1}]), allow_pickle=True)),  # a pickle
    ("train_y.npy", lambda path: np.savez(open(path, "wb"), key=np.array("x"))),  # an archive missing arrays
    ("train_x.npy", lambda path: (path.unlink(), path.mkdir())),  # a folder
])
def test_corrupt_cache_is_rebuilt_not_a_crash(tmp_path, cache, damage):
    write_pair(tmp_path, 1000)
    first = prepare(tmp_path)
    damage(tmp_path / cache)
    notices = []
    if (tmp_path / cache).is_dir():
        with pytest.raises(DataError) as caught:  # a folder in the way cannot be replaced: a plain error
            prepare(tmp_path, notices=notices)
        assert one_line(str(caught.value)).startswith(f"{tmp_path / cache}: cannot be written")
        return
    rebuilt = prepare(tmp_path, notices=notices)
    assert not rebuilt.from_cache
    assert len(notices) == 1 and "\n" not in notices[0] and "rebuilt train_x.npy and train_y.npy" in notices[0]
    np.testing.assert_array_equal(rebuilt.train_x, first.train_x)
    np.testing.assert_array_equal(rebuilt.train_y, first.train_y)
    assert prepare(tmp_path).from_cache  # repaired
    assert leftovers(tmp_path) == []


def test_stale_cache_says_nothing_when_the_data_is_refused(tmp_path):
    """A refusal must stay the only line a user sees: the rebuild notice comes only once rebuilt."""
    write_pair(tmp_path, 1000)
    prepare(tmp_path)
    notices = []
    with pytest.raises(ArgumentError, match=r"^--window: window 2000 "):
        prepare(tmp_path, window=2000, notices=notices)
    assert notices == []


def test_one_cache_missing_is_rebuilt_quietly(tmp_path):
    write_pair(tmp_path, 1000)
    prepare(tmp_path)
    (tmp_path / "train_y.npy").unlink()
    assert not prepare(tmp_path).from_cache  # nothing to say: the cache is simply not there
    assert (tmp_path / "train_y.npy").exists()


# --- clean.sh ----------------------------------------------------------------------------------


def run_clean(directory):
    return subprocess.run(["sh", str(ROOT / "clean.sh")], cwd=directory, capture_output=True, text=True)


def test_clean_removes_npy_files_and_nothing_else(tmp_path):
    removed = ["train_x.npy", "train_y.npy", "predict_x.npy", "song.raw.npy", "-rf.npy"]
    kept = ["train_x.raw", "train_y.raw", "song.raw", "notes.npy.txt", "npy", "x.npz", ".hidden.npy",
            "sub/train_x.npy"]
    (tmp_path / "sub").mkdir()
    for name in removed + kept:
        (tmp_path / name).write_bytes(b"data")
    result = run_clean(tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    # one line for each cache removed (in the shell's order, which follows the locale)
    assert sorted(result.stdout.splitlines()) == sorted(f"removed {name}" for name in removed)
    remaining = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert remaining == sorted(kept)


def test_clean_with_nothing_to_remove_says_so_and_exits_0(tmp_path):
    (tmp_path / "song.raw").write_bytes(b"data")
    result = run_clean(tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "clean.sh: no .npy cache here; nothing removed\n",
                                                                 "")
    assert [path.name for path in tmp_path.iterdir()] == ["song.raw"]


def test_clean_removes_a_folder_named_like_a_cache_as_the_original_did(tmp_path):
    (tmp_path / "old.npy").mkdir()  # the original's `rm -r *.npy` took folders too
    (tmp_path / "old.npy" / "inside").write_bytes(b"data")
    (tmp_path / "my cache.npy").write_bytes(b"data")  # a space in the name is one cache, not two
    result = run_clean(tmp_path)
    assert (result.returncode, sorted(result.stdout.splitlines()), result.stderr) == (
        0, ["removed my cache.npy", "removed old.npy"], "")
    assert list(tmp_path.iterdir()) == []


def test_clean_says_which_cache_it_could_not_remove_and_exits_1(tmp_path):
    # an rm that cannot remove locked.npy (as on a read-only share), and the real rm for everything else
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "rm").write_text('#!/bin/sh\ncase "$*" in *locked.npy*) echo "rm: cannot remove \'locked.npy\': '
                              'Permission denied" >&2; exit 1;; esac\nexec /bin/rm "$@"\n')
    (tools / "rm").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    for name in ("train_x.npy", "locked.npy"):
        (work / name).write_bytes(b"data")
    result = subprocess.run(["sh", str(ROOT / "clean.sh")], cwd=work, capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"})
    assert (result.returncode, result.stdout) == (1, "removed train_x.npy\n")
    assert one_line(result.stderr) == "rm: cannot remove 'locked.npy': Permission denied"
    assert [path.name for path in work.iterdir()] == ["locked.npy"]
