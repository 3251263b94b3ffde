"""What a training run costs, said while it runs: seconds per epoch, samples per second, and the whole run's time.

A recurrent model trains sample by sample, so its epochs cost far more than a sliding model's of
the same size, and a run can take hours where the README promises minutes. So the run is timed
from its first batches (the first few compile the model and are left out) and, where the
estimate exceeds README_MINUTES, says so at once with what to change; then each epoch's line says
what it took. (A kind asks for this through its training_callbacks: kinds/recurrent.py.)
"""

import time

import keras

README_MINUTES = 15  # the README's time for a recurrent run on its 2-core machine
# The batches left out, then the batches whose time makes the estimate. Measured 2026-12-06 (--cell ladder 1x4,
# --carry-state, 37 batches an epoch of 1.5 s): timed from the second batch, the estimate said 55.8 minutes for a
# run of about 5, so with carried states the batches after the first were still slow (compiling again, we take it;
# not timed batch by batch); timed from the fourth, the same command's estimate said 5.0 minutes.
SKIPPED_BATCHES, TIMED_BATCHES = 3, 4


class TrainingCost(keras.callbacks.Callback):
    """Prints the estimated run time after the first batches, and each epoch's seconds and samples per second."""

    def __init__(self, examples: int, samples: int, batch_size: int, epochs: int, inform=print):
        super().__init__()
        self.examples, self.samples, self.batch_size, self.epochs = examples, samples, batch_size, epochs
        self.inform = inform
        self.batches = -(-examples // batch_size)  # per epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def _timed(self) -> tuple[int, int]:
        """The first timed batch and the number timed: fewer where an epoch is short (none in an epoch of one)."""
        first = max(1, min(SKIPPED_BATCHES, self.batches - 1))
        return first, min(TIMED_BATCHES, self.batches - first)

    def on_train_batch_begin(self, batch, logs=None):
        first, timed = self._timed()
        if batch == first and timed > 0 and not hasattr(self, "timed_from"):
            self.timed_from = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        first, timed = self._timed()
        if batch == first + timed - 1 and hasattr(self, "timed_from") and not hasattr(self, "estimated"):
            self.estimated = (time.perf_counter() - self.timed_from) / timed * self.batches * self.epochs
            self.inform(self.estimate_line(self.estimated))

    def estimate_line(self, seconds: float) -> str:
        """The run's time from the timed batches (training alone: validation adds to it), and what to change
        when it exceeds the README's."""
        line = f"training: about {seconds / 60:.1f} min for {self.epochs} epochs of {self.batches} batches"
        if seconds <= README_MINUTES * 60:
            return line
        fitting = max(1, int(self.epochs * README_MINUTES * 60 / seconds))
        return (f"{line}, more than the README's {README_MINUTES} min on this machine: give fewer epochs "
                f"({fitting} fit), fewer units or layers, or a shorter pair")

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.epoch_started
        self.inform(f"epoch {epoch + 1}: {seconds:.1f} s, {self.examples * self.samples / seconds:,.0f} samples/s "
                    "(training and validation)")
