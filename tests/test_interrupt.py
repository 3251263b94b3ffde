"""The one Ctrl-C handler: the first press is noted and said, a second raises, leaving puts the old one back."""

import os
import signal
import threading

import pytest

from neural_filter import interrupt, train, trials


def press() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_the_first_ctrl_c_is_noted_the_second_raises(capsys):
    before = signal.getsignal(signal.SIGINT)
    with interrupt.CtrlC("doing what the run does") as ctrl_c:
        assert not ctrl_c.requested
        press()
        assert ctrl_c.requested
        assert capsys.readouterr().err == "\ninterrupted: doing what the run does\n"
        with pytest.raises(KeyboardInterrupt):
            press()
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("handler, words", [
    (train.CtrlC(train.KEEP_BEST), "interrupted: keeping the best weights so far (Ctrl-C again to abandon)"),  # fit.py
    (trials.CtrlC(), "interrupted: abandoning this trial (Ctrl-C again to quit at once)"),  # a sweep's trial
])
def test_fit_and_a_sweep_say_what_the_first_ctrl_c_does(handler, words, capsys):
    assert isinstance(handler, interrupt.CtrlC)  # one handler, two sayings
    with handler:
        press()
    assert capsys.readouterr().err.strip() == words


def test_off_the_main_thread_nothing_is_installed():
    before, seen = signal.getsignal(signal.SIGINT), []

    def run():
        with interrupt.CtrlC("anything"):
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before] and signal.getsignal(signal.SIGINT) is before
