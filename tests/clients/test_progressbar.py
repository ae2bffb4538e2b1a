"""The progress bar draws on a terminal and stays silent elsewhere."""

from __future__ import annotations

import io

from ruralpost.clients.cli.progressbar import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_terminal_shows_count_share_and_rate() -> None:
    screen = _Terminal()
    bar = ProgressBar(total=200, stream=screen)
    for _ in range(200):
        bar.advance()
    bar.finish()
    last = screen.getvalue().split("\r")[-1]
    assert "100%" in last and "200/200" in last and "行/秒" in last and last.endswith("\n")


def test_quiet_when_not_a_terminal() -> None:
    pipe = io.StringIO()
    bar = ProgressBar(total=None, stream=pipe)
    bar.advance(5)
    bar.finish()
    assert pipe.getvalue() == "" and bar.done == 5
