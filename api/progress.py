"""A dependency-free progress bar with an estimated time to finish, on standard error.

The estimate is made from the pace of the tasks finished *after* the first: the first task
carries the start-up, and on a machine where the engine is not compiled yet, the two minutes
of compiling (a first-run estimate from it read "ETA 25m39s" for a run of 30 seconds). So no
estimate is shown until two tasks have finished.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


class Progress:
    """Call ``start(total)`` (optional), then ``update(done, total)`` as tasks finish; redraws in
    place on a terminal, prints every 10% otherwise.

    Parameters
    ----------
    label
        What is running (the start of every line).
    stream
        Where the bar goes (default standard error).
    enabled
        False: nothing is written.
    width
        Characters of the bar.
    clock
        Seconds since some origin (default ``time.perf_counter``; tests pass their own).
    """

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool = True, width: int = 30,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.clock = clock
        self.start_time = clock()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1
        self._drawn = 0
        self._first: tuple[float, int] | None = None  # (time, tasks done) when the first task finished

    def eta_seconds(self, done: int, total: int) -> float | None:
        """Seconds to finish at the pace of the tasks after the first; None until there is one."""
        if self._first is None or done <= self._first[1]:
            return None
        first_time, first_done = self._first
        per_task = (self.clock() - first_time) / (done - first_done)
        return per_task * (total - done)

    def start(self, total: int) -> None:
        """Draw the empty bar (so that a run says it has started before its first task ends)."""
        self._draw(0, total)

    def update(self, done: int, total: int) -> None:
        """Redraw the bar after ``done`` of ``total`` tasks (the first one finished starts the ETA's clock)."""
        if done > 0 and self._first is None:
            self._first = (self.clock(), done)
        self._draw(done, total)

    def _draw(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        elapsed = self.clock() - self.start_time
        fraction = done / total
        filled = int(self.width * fraction)
        bar = "#" * filled + "." * (self.width - filled)
        eta = self.eta_seconds(done, total)
        if done >= total:
            eta_text = "done"
        elif eta is None:
            eta_text = "ETA after the first tasks"
        else:
            eta_text = f"ETA {_duration(eta)}"
        text = f"{self.label} [{bar}] {done}/{total} {fraction:4.0%} elapsed {_duration(elapsed)} {eta_text}"
        if self.tty:
            # Padded to the last line's length: a shorter line must not leave the end of the last.
            padded = text.ljust(self._drawn)
            self._drawn = len(text)
            self.stream.write("\r" + padded + ("\n" if done >= total else ""))
            self.stream.flush()
        else:
            decile = int(fraction * 10)
            if decile != self._last_decile or done >= total:
                self._last_decile = decile
                self.stream.write(text + "\n")
                self.stream.flush()
