"""Ctrl-C during a long run: the one handler that notes the first press and lets a second one through.

The first Ctrl-C is not let loose as a KeyboardInterrupt: raised inside TensorFlow (while it makes
an epoch's data iterator, say) it can leave TensorFlow's heap corrupt and the process aborting. So
the handler only notes it, and says what will happen; whoever owns the run looks at `requested`
between batches (fit.py keeps the best model so far, a sweep abandons its trial). A second Ctrl-C
raises KeyboardInterrupt at once. Only the main thread can catch signals: elsewhere the handler is
not installed, and a Ctrl-C stops the run as Python does.
"""

import signal
import sys
import threading


class CtrlC:
    """While entered: the first Ctrl-C sets `requested` and prints `saying`; a second one raises KeyboardInterrupt."""

    def __init__(self, saying: str):
        self.saying = saying  # what the first Ctrl-C does to the run, printed on stderr
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self.handle)
            self._previous = previous if previous is not None else signal.default_int_handler  # None: not Python's
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def handle(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the next Ctrl-C raises KeyboardInterrupt
        print(f"\ninterrupted: {self.saying}", file=sys.stderr)
