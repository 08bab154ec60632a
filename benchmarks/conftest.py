"""The benchmark suite's shared fixtures, and the table of figures printed at the end.

``python -m pytest benchmarks/`` runs every benchmark (pytest-benchmark prints its timing
table); each benchmark also records the figures it stands for (child-months per second, the
two ratios, bytes per run, ...) with its target where there is one, and this file
prints them as one table after the run. ``--figures-json PATH`` also writes them to a file.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

import pytest

from benchmarks.workloads import Workload, kent_baseline


@dataclass
class Figure:
    """One measured figure, with its target if it has one."""

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None


class FigureReport:
    """Collects figures across the session (in the order they are measured)."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, name: str, value: float, unit: str, target: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(name, float(value), unit, target, met))


_REPORT = FigureReport()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--figures-json", default=None, help="write the benchmark figures to this JSON file")


@pytest.fixture(scope="session")
def report() -> FigureReport:
    return _REPORT


@pytest.fixture(scope="session")
def kent() -> Workload:
    return kent_baseline()


def _format(value: float) -> str:
    if value == 0 or 0.01 <= abs(value) < 1e6:
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:.3g}"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    figures = _REPORT.figures
    if not figures:
        return
    write = terminalreporter.write_line
    terminalreporter.section("sendsim benchmark figures")
    write(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} CPUs")
    width = max(len(f.name) for f in figures)
    for f in figures:
        verdict = "" if f.met is None else ("  met" if f.met else "  MISSED")
        target = f"  (target {f.target})" if f.target else ""
        write(f"{f.name:<{width}}  {_format(f.value):>12} {f.unit}{target}{verdict}")
    path = config.getoption("--figures-json")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "load_average": os.getloadavg(),
                       "cpus": os.cpu_count(), "figures": [asdict(f) for f in figures]}, handle, indent=2)
        write(f"figures written to {path}")
