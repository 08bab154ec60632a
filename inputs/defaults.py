"""Where the built-in Kent dataset lives, and the default run window."""
from __future__ import annotations

from pathlib import Path

# The built-in authority, as SEN2 names it, and its dataset.
KENT_AUTHORITY = "Kent"
KENT_DIR = Path(__file__).resolve().parent / "kent"
KENT_COHORT = KENT_DIR / "cohort.csv"
KENT_PARAMETERS = KENT_DIR / "parameters.csv"
KENT_DRAWS = KENT_DIR / "draws.parquet"  # the shipped fit: parameter draws (docs/calibration.md)

DEFAULT_START = (2024, 1)   # the January 2024 SEN2 census is the opening cohort
DEFAULT_END = (2028, 3)     # the end of the Safety Valve agreement (financial year 2027-28)


def months_until(start: tuple[int, int], end: tuple[int, int]) -> int:
    """Number of months from ``start`` to ``end`` inclusive."""
    return (end[0] * 12 + end[1]) - (start[0] * 12 + start[1]) + 1
