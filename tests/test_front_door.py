"""A first run that explains itself: --version, the compile notice when numba's cache is cold
(told cheaply), no time-to-finish estimate until the first task is over, --verbose, and
--log FILE with timestamps and levels."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

import sendsim.api.run as api_run
from sendsim.api.engine_cache import COMPILE_NOTICE, engine_is_compiled
from sendsim.api.progress import Progress
from sendsim.cli import main, version

TIMESTAMPED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (DEBUG|INFO|WARNING|ERROR) sendsim[\w.]*: ")


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"sendsim {version()}"
    assert re.match(r"^\d+\.\d+", version())


def test_engine_cache_is_told_warm_here_and_cold_with_an_empty_cache(tmp_path):
    # A run compiles the engine if nothing has yet (or loads it): warm afterwards.
    main(["run", "--runs", "1", "--months", "2", "--out", str(tmp_path / "warm"), "--quiet"])
    assert engine_is_compiled() is True
    code = "from sendsim.api.engine_cache import engine_is_compiled as e; print(e())"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty-cache")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr[-2000:]
    assert not any((tmp_path / "empty-cache").rglob("*.nbc")), "telling must not compile"


def test_a_cold_engine_is_announced_on_stderr_and_in_the_log(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(api_run, "engine_is_compiled", lambda: False)
    log = tmp_path / "run.log"
    assert main(["run", "--runs", "2", "--months", "2", "--out", str(tmp_path / "out"), "--quiet", "--log",
                 str(log)]) == 0
    assert COMPILE_NOTICE == "compiling the engine (once, about 2 minutes)"
    assert COMPILE_NOTICE in capsys.readouterr().err
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines and all(TIMESTAMPED.match(line) for line in lines), lines
    assert any(line.endswith(f"INFO sendsim.api: {COMPILE_NOTICE}") for line in lines)
    monkeypatch.setattr(api_run, "engine_is_compiled", lambda: True)
    assert main(["run", "--runs", "2", "--months", "2", "--out", str(tmp_path / "out2"), "--quiet"]) == 0
    assert COMPILE_NOTICE not in capsys.readouterr().err


def test_verbose_logs_each_task_and_errors_go_to_the_log(tmp_path, capsys):
    log = tmp_path / "run.log"
    assert main(["run", "--runs", "4", "--chunk-size", "2", "--months", "2", "--out", str(tmp_path / "out"), "--quiet",
                 "--verbose", "--log", str(log)]) == 0
    err = capsys.readouterr().err
    assert err.count("task done: baseline runs") == 2
    text = log.read_text(encoding="utf-8")
    assert re.search(r"DEBUG sendsim.api: task done: baseline runs 0-1", text)
    assert main(["report", str(tmp_path / "nothing-here"), "--log", str(log)]) == 2
    last = log.read_text(encoding="utf-8").splitlines()[-1]
    assert TIMESTAMPED.match(last) and " ERROR sendsim: sendsim report: error: " in last
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("sendsim report: error:")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_no_time_to_finish_until_the_first_task_is_over():
    """The first task carries the compile (here 120 s); the estimate is the pace after it."""
    clock, stream = Clock(), io.StringIO()
    progress = Progress("baseline", stream=stream, clock=clock)
    progress.start(10)
    assert "ETA after the first tasks" in stream.getvalue()
    clock.now = 120.0
    progress.update(1, 10)
    assert progress.eta_seconds(1, 10) is None and "ETA 17m" not in stream.getvalue()
    clock.now = 122.0
    progress.update(2, 10)
    assert progress.eta_seconds(2, 10) == pytest.approx(16.0)  # 8 tasks at 2 s, not at 61 s
    assert stream.getvalue().splitlines()[-1].endswith("ETA 16s")
    clock.now = 138.0
    progress.update(10, 10)
    assert stream.getvalue().splitlines()[-1].endswith("done")


def test_progress_redraws_a_terminal_line_without_leftovers():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock, stream = Clock(), Terminal()
    progress = Progress("baseline", stream=stream, clock=clock)
    progress.start(3)
    clock.now = 1.0
    progress.update(1, 3)
    clock.now = 2.0
    progress.update(2, 3)
    drawn = stream.getvalue().split("\r")
    assert len(drawn[-1]) >= len(drawn[-2]) and drawn[-1].rstrip().endswith("ETA 1s")

