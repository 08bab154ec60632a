"""What defines a calibration: its options and defaults (a light module, so that the command
line can show them without importing the calibration itself)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sendsim.inputs.defaults import KENT_AUTHORITY, KENT_COHORT, KENT_DIR, KENT_PARAMETERS

KENT_TARGETS = KENT_DIR / "targets.csv"
KENT_DRAWS = KENT_DIR / "draws.parquet"
# The files an authority's calibration reads from its inputs folder (``--inputs DIR``), as
# written by ``python -m sendsim.inputs.derive`` and ``python -m sendsim.calibration.authority_targets``.
PARAMETERS_FILE = KENT_PARAMETERS.name
COHORT_FILE = KENT_COHORT.name
TARGETS_FILE = KENT_TARGETS.name
# The earliest January with SEN2 placement totals (2025 release; for Kent also age-band totals,
# 2022 release).
DEFAULT_ORIGIN = 2019


@dataclass
class CalibrationSpec:
    """Everything that defines a calibration (recorded in its manifest)."""

    out: Path
    authority: str = KENT_AUTHORITY    # as SEN2 names it: its series, assumptions and local figures
    parameters: Path = KENT_PARAMETERS  # its base parameters and census cohort
    cohort: Path = KENT_COHORT
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
