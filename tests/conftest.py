"""Fixtures shared by the tests of the outputs' readers and the report."""
from __future__ import annotations

from pathlib import Path

import pytest

from sendsim.cli import main

# Small and quick once the engine is compiled: every built-in scenario, 3 runs each, January
# 2024 to March 2026 (two complete financial years: a year-on-year bridge), two chunks per
# scenario (so that every reader meets several files of one scenario).
ALL_SCENARIOS_RUNS = 3
ALL_SCENARIOS_MONTHS = 27


@pytest.fixture(scope="session")
def all_scenarios_out(tmp_path_factory) -> Path:
    """A finished ``sendsim run --all-scenarios`` output folder (read-only for the tests)."""
    out = tmp_path_factory.mktemp("all-scenarios") / "out"
    assert main(["run", "--all-scenarios", "--runs", str(ALL_SCENARIOS_RUNS), "--months", str(ALL_SCENARIOS_MONTHS),
                 "--chunk-size", "2", "--out", str(out), "--quiet"]) == 0
    return out
