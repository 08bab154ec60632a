"""A dependency-free progress bar with an estimated time to finish, on standard error."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


class Progress:
    """Call ``update(done, total)``; redraws in place on a terminal, prints every 10% otherwise."""

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool = True, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.start = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        elapsed = time.perf_counter() - self.start
        fraction = done / total
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else float("nan")
        filled = int(self.width * fraction)
        bar = "#" * filled + "." * (self.width - filled)
        eta_text = _duration(eta) if fraction > 0 else "?"
        text = f"{self.label} [{bar}] {done}/{total} {fraction:4.0%} elapsed {_duration(elapsed)} ETA {eta_text}"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
            self.stream.flush()
        else:
            decile = int(fraction * 10)
            if decile != self._last_decile or done >= total:
                self._last_decile = decile
                self.stream.write(text + "\n")
                self.stream.flush()
