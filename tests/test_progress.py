"""Long work in a log: a line at least every console.PROGRESS_LINE_SECONDS (no bar when output goes to a file)."""

import pytest

from neural_filter import console


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_lines_say_where_the_work_is_once_the_interval_has_passed(capsys):
    clock = Clock()
    lines = console.ProgressLines(4_000_000, "samples", every=20.0, clock=clock)
    for seconds in (5.0, 19.9, 20.0, 30.0, 40.1):  # work done at these moments, a million samples each time
        clock.now = seconds
        lines.update(1_000_000)
    assert capsys.readouterr().out.splitlines() == [
        "  samples: 3,000,000 of 4,000,000 (75%)",  # 20 s after the start
        "  samples: 5,000,000 of 4,000,000 (125%)",  # 20 s after that line; the count is the caller's
    ]


def test_short_work_prints_nothing(capsys):
    with console.ProgressLines(10, "pairs read", every=20.0, clock=Clock()) as lines:
        for _ in range(10):
            lines.update(1)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("terminal, enabled, kind", [
    (False, True, console.ProgressLines),  # a log: lines
    (True, True, "tqdm"),  # a terminal: the bar
    (False, False, "tqdm"),  # --quiet: a disabled bar, nothing at all
])
def test_progress_bar_is_a_bar_on_a_terminal_and_lines_in_a_log(monkeypatch, terminal, enabled, kind):
    monkeypatch.setattr("sys.stderr.isatty", lambda: terminal)
    bar = console.progress_bar(10, enabled, "pairs read")
    assert isinstance(bar, console.ProgressLines) if kind is console.ProgressLines else type(bar).__name__ == "tqdm"
    assert getattr(bar, "disable", False) is (not enabled)
