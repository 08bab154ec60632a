"""A synthetic England-size cohort, for running the engine at national scale.

The cohort reproduces the SEN2 January 2024 cross-tab of single academic age by placement for
England (572,829 plans with an age breakdown; the England total of 576,474 includes 3,645 not
broken down by age, left out), or that cross-tab scaled to any size (``--size``: 640,000 is about
England in January 2025). Needs, birth months and review dates follow the same assumptions
as the Kent cohort (``inputs/kent/assumptions.py``, :mod:`sendsim.inputs.derivation`). The
parameters are Kent's, with the inflows and capacities that scale with the size of an authority
(requests, arrivals, review and assessment capacity, commissioned places) multiplied by the
ratio of cohort sizes: a "England as many Kents" model, for scale and speed, not a calibrated national forecast.

Usage::

    python -m sendsim.inputs.england OUT_DIR [--size N]

writes ``OUT_DIR/cohort.parquet`` and ``OUT_DIR/scale.csv``; then::

    python -m sendsim run --cohort OUT_DIR/cohort.parquet --params OUT_DIR/scale.csv --out england
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.inputs.derive import birth_months
from sendsim.inputs.kent import assumptions, derive
from sendsim.inputs.sen2 import ENGLAND, Authority
from sendsim.inputs.sen2.ages import largest_remainder, spread
from sendsim.simcore import codes
from sendsim.simcore.engine import Cohort

ENGLAND_SEED = 20240118
# Parameters whose values are counts per month for the whole authority: they scale with size.
SCALED_PARAMETERS = ("request_rate", "arrival_rate", "review_capacity", "assessment_capacity", "places")


def england_labels() -> dict[str, np.ndarray]:
    """England January 2024 caseload by SEN2 age label, mapped to the engine's placements."""
    return Authority(ENGLAND).caseload_by_age(derive.START.start_year)


def england_crosstab(size: int | None = None) -> np.ndarray:
    """England January 2024 plans by single academic age and placement [A, P] (whole
    numbers), optionally scaled to ``size`` plans in total (largest remainder)."""
    x = spread(england_labels(), (), assumptions.AGE_0_2_WEIGHTS, integer=True).astype(np.int64)
    if size is None:
        return x
    return largest_remainder(int(size), x.reshape(-1)).reshape(x.shape)


def england_cohort(size: int | None = None, seed: int = ENGLAND_SEED) -> Cohort:
    """One active record per plan of the (scaled) England cross-tab."""
    rng = np.random.default_rng(seed)
    x = england_crosstab(size)
    ages = np.repeat(np.repeat(np.arange(codes.N_AGES), codes.N_PLACEMENTS), x.reshape(-1))
    placements = np.repeat(np.tile(np.arange(codes.N_PLACEMENTS), codes.N_AGES), x.reshape(-1))
    order = rng.permutation(ages.shape[0])
    ages, placements = ages[order], placements[order]
    n = ages.shape[0]
    kent = derive.derivation()
    cdf = np.cumsum(kent.need_mix(), axis=1)
    need = np.minimum((rng.random(n)[:, None] >= cdf[placements]).sum(axis=1), codes.N_NEEDS - 1)
    overdue = rng.random(n) < kent.overdue_probability_by_age()[ages]
    months = np.where(overdue, 12 + rng.geometric(1.0 / 10.0, size=n) - 1, rng.integers(0, 12, size=n))
    return Cohort(child_key=np.arange(n, dtype=np.int64), birth_month=birth_months(rng, ages, derive.START),
                  placement=placements, need=need, status=np.full(n, codes.ACTIVE),
                  months_since_review=np.minimum(months, 12 + assumptions.OVERDUE_EXTRA_MONTHS_MAX),
                  stage_months=np.zeros(n, dtype=np.int64), waiting_for=np.full(n, codes.NO_WAIT),
                  annual_cost_gbp=np.full(n, -1))


def scale_rows(ratio: float) -> pd.DataFrame:
    """Parameter rows that multiply Kent's size-dependent parameters by ``ratio``: the Kent
    rows of those parameters, rescaled (so dated rows and age profiles are kept)."""
    kent = pd.read_csv(derive.PARAMETERS_PATH, dtype=str, keep_default_na=False)
    rows = kent[kent["parameter"].isin(SCALED_PARAMETERS)].copy()
    values = rows["value"].astype(float) * ratio
    whole = rows["parameter"].isin(("places",))
    rows["value"] = np.where(whole & (values >= 0), np.round(values), values)
    rows["value"] = [f"{v:.0f}" if w else f"{v:.6g}" for v, w in zip(rows["value"].astype(float), whole)]
    rows["source"] = f"Kent value x {ratio:.4f} (England-size cohort / Kent cohort)"
    rows["note"] = "inputs/england.py: size-dependent parameter scaled with the cohort"
    return rows


def write(out_dir: Path, size: int | None = None) -> tuple[Path, Path, int]:
    """Write the England cohort (Parquet) and its scaling parameter rows (CSV)."""
    from sendsim.inputs.cohort import write_cohort_csv
    out_dir.mkdir(parents=True, exist_ok=True)
    cohort = england_cohort(size)
    kent_plans = int(derive.derivation().crosstab().sum())
    ratio = cohort.n / kent_plans
    csv_buffer = out_dir / "cohort.csv.tmp"
    write_cohort_csv(cohort, csv_buffer)
    frame = pd.read_csv(csv_buffer, dtype=str, keep_default_na=False)
    csv_buffer.unlink()
    cohort_path = out_dir / "cohort.parquet"
    frame.to_parquet(cohort_path, index=False)
    params_path = out_dir / "scale.csv"
    scale_rows(ratio).to_csv(params_path, index=False, lineterminator="\n")
    return cohort_path, params_path, cohort.n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sendsim.inputs.england", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write cohort.parquet and scale.csv into")
    parser.add_argument("--size", type=int, default=None, help="plans in total (default: SEN2 England Jan 2024)")
    args = parser.parse_args(argv)
    cohort_path, params_path, n = write(args.out, args.size)
    print(f"wrote {cohort_path} ({n:,} plans) and {params_path}")


if __name__ == "__main__":
    main()
