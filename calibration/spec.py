"""What defines a calibration: its options and defaults (a light module, so that the command
line can show them without importing the calibration itself)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sendsim.inputs.defaults import KENT_DIR

KENT_TARGETS = KENT_DIR / "targets.csv"
KENT_DRAWS = KENT_DIR / "draws.parquet"
# The earliest January with SEN2 placement and age-band totals for Kent (2025 and 2022 releases).
DEFAULT_ORIGIN = 2019


@dataclass
class CalibrationSpec:
    """Everything that defines a calibration (recorded in its manifest)."""

    out: Path
    targets: Path = KENT_TARGETS
    origin: int = DEFAULT_ORIGIN
    seed: int = 1                      # the simulations' master seed (common random numbers)
    design_seed: int = 20240529        # designs, rate draws and the choice of draws
    replicates: int = 3
    proposals_per_wave: int = 512
    waves: int = 24
    final_accepted: int = 200
    max_final_proposals: int = 1024
    draws: int = 1000
    distance: str = "rms"              # "rms" or "kth" (see calibration.history_matching)
    kth: int = 3
    backtest_cutoffs: tuple[int, ...] = (2021, 2022, 2023)
    backtest_proposals_per_wave: int = 256
    backtest_waves: int = 3
    backtest_final_accepted: int = 60
    backtest_draws: int = 200
    variance_draws: int = 100
    variance_seeds: int = 10
    verify_draws: int = 20
    threads: int | None = None
    overwrite: bool = False
