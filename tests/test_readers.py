"""Every reader gets the same data from an output folder: DuckDB, Polars (a glob, no options),
pandas and pyarrow (with or without hive partitioning) read the same counts per scenario, the
scenario once; and ``load_outputs`` gives tidy frames (scenario and financial year on every
table, zeros filled, the run-level deficit for exceedance probabilities)."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pytest

from sendsim.api import load_outputs
from sendsim.inputs.scenarios import builtin_names
from sendsim.simcore import codes
from tests.conftest import ALL_SCENARIOS_MONTHS, ALL_SCENARIOS_RUNS

TABLES = ("stock", "flows", "cost", "pipeline", "deficit", "finance", "difference")
VALUE = {"stock": "count", "flows": "count", "cost": "cost_gbp", "pipeline": "value", "deficit": "spend_gbp",
         "finance": "amount_gbp", "difference": "delta_spend_gbp"}


def _pandas(out, table) -> pd.Series:
    frame = pd.read_parquet(out / table)
    return frame.groupby(frame["scenario"].astype(str))[VALUE[table]].agg(["count", "sum"])


def _polars(out, table) -> pd.Series:
    frame = pl.read_parquet(f"{out}/{table}/*/*.parquet")  # a glob and no options: no hive partitioning
    grouped = frame.group_by(pl.col("scenario").cast(pl.String)).agg(pl.col(VALUE[table]).count().alias("count"),
                                                                     pl.col(VALUE[table]).sum().alias("sum"))
    return grouped.to_pandas().set_index("scenario").sort_index()


def _duckdb(out, table, hive: bool) -> pd.Series:
    option = ", hive_partitioning = true" if hive else ""
    query = (f"SELECT scenario, count({VALUE[table]}) AS count, sum({VALUE[table]}) AS sum "
             f"FROM read_parquet('{out}/{table}/*/*.parquet'{option}) GROUP BY scenario ORDER BY scenario")
    return duckdb.sql(query).df().set_index("scenario")


@pytest.mark.parametrize("table", TABLES)
def test_duckdb_polars_pandas_and_pyarrow_read_the_same_counts_per_scenario(all_scenarios_out, table):
    expected = _pandas(all_scenarios_out, table).sort_index()
    scenarios = builtin_names() if table != "difference" else sorted(set(builtin_names()) - {"baseline"})
    assert list(expected.index) == sorted(scenarios)
    for name, frame in (("polars", _polars(all_scenarios_out, table)),
                        ("duckdb", _duckdb(all_scenarios_out, table, hive=False)),
                        ("duckdb hive", _duckdb(all_scenarios_out, table, hive=True))):
        frame = frame.sort_index()
        assert list(frame.index) == list(expected.index), name
        assert frame["count"].tolist() == expected["count"].tolist(), name
        assert np.allclose(frame["sum"].astype(float), expected["sum"].astype(float), rtol=1e-12), name
    # pyarrow with hive partitioning: the folders carry no key, so the scenario comes once, from the files.
    hive = ds.dataset(all_scenarios_out / table, format="parquet", partitioning="hive").to_table()
    assert hive.column_names.count("scenario") == 1 and hive.num_rows == int(expected["count"].sum())
    columns = duckdb.sql(f"SELECT * FROM read_parquet('{all_scenarios_out}/{table}/*/*.parquet', "
                         "hive_partitioning = true) LIMIT 1").columns
    assert columns.count("scenario") == 1


def test_monthly_tables_carry_month_and_financial_year(all_scenarios_out):
    frame = pl.read_parquet(f"{all_scenarios_out}/cost/*/*.parquet").to_pandas()
    month = frame["month"].astype(str)
    assert (pd.to_datetime(frame["date"]).dt.strftime("%Y-%m") == month).all()
    assert (pd.to_datetime(frame["date"]).dt.is_month_end).all()  # the one date convention: the month's last day
    years = frame.groupby(month)["financial_year"].agg(lambda s: set(s.astype(str)))
    assert years["2024-03"] == {"2023-24"} and years["2024-04"] == {"2024-25"} and years["2026-01"] == {"2025-26"}


def test_load_outputs_tidy_frames_with_zeros_and_run_level_deficit(all_scenarios_out):
    outputs = load_outputs(all_scenarios_out, scenarios=["baseline", "third_special_school"])
    runs, months = ALL_SCENARIOS_RUNS, ALL_SCENARIOS_MONTHS
    for name in ("deficit", "finance", "difference", "summary", "difference_summary", "exceedance", "stock", "cost",
                 "pipeline", "flows"):
        frame = getattr(outputs, name)
        assert {"scenario", "financial_year"} <= set(frame.columns), name
        assert frame["financial_year"].notna().all(), name
    stock = outputs.stock
    cells = codes.N_AGE_BANDS * codes.N_PLACEMENTS * codes.N_NEEDS
    assert len(stock) == 2 * runs * months * cells  # the full grid, zeros included
    raw = pd.read_parquet(all_scenarios_out / "stock")
    raw = raw[raw["scenario"].isin(["baseline", "third_special_school"])]
    assert stock["count"].sum() == raw["count"].sum() and (stock["count"] == 0).any()
    # A per-run median over the grid counts the runs with none; over the file's rows it would not:
    # wherever some runs have no child in a cell and others have, the grid's median is lower or equal,
    # and lower in many cells.
    keys = ["scenario", "month", "age_band", "placement", "need"]
    cell = stock.groupby(keys, observed=True)["count"]
    some_zero = (cell.min().eq(0) & cell.max().gt(0)).rename("some_zero")
    assert some_zero.sum() > 100
    rows_median = raw.assign(month=raw["month"].astype(str)).groupby(keys, observed=True)["count"].median()
    grid_median = cell.median()
    compared = pd.concat([grid_median.rename("grid"), some_zero], axis=1).reset_index()
    compared["month"] = compared["month"].astype(str)
    for column in ("scenario", "age_band", "placement", "need"):
        compared[column] = compared[column].astype(str)
    compared = compared.merge(rows_median.rename("rows").reset_index().astype({c: str for c in keys}), on=keys)
    zero_cells = compared[compared["some_zero"]]
    assert (zero_cells["grid"] <= zero_cells["rows"]).all() and (zero_cells["grid"] < zero_cells["rows"]).sum() > 100
    totals = outputs.stock_totals(by=["placement"])
    assert len(totals) == 2 * runs * months * codes.N_PLACEMENTS
    # The date convention: filter on a month by its label.
    january = totals[totals["month"] == "2026-01"]
    assert len(january) == 2 * runs * codes.N_PLACEMENTS and (january["date"] == pd.Timestamp("2026-01-31")).all()
    # Run-level deficit: exceedance probabilities equal those of exceedance.parquet on its grid.
    deficit = outputs.deficit
    assert len(deficit) == 2 * runs * 2 and set(deficit["year_end"].dt.strftime("%d %b %Y")) == {"31 Mar 2025",
                                                                                                  "31 Mar 2026"}
    grid = outputs.exceedance
    grid = grid[(grid["scenario"] == "baseline") & (grid["financial_year"] == "2025-26")]
    exact = outputs.exceedance_probability(grid["threshold_gbp"], "2025-26")
    exact = exact[exact["scenario"] == "baseline"]
    assert np.allclose(exact["prob_above"].to_numpy(), grid["prob_above"].to_numpy())
    assert grid["prob_above"].iloc[0] == 1.0 and grid["prob_above"].iloc[-1] == 0.0
    # Flows on run x month x every (event, from, to) seen: every count of the files, zeros beside them.
    flows = outputs.flows
    raw_flows = pd.read_parquet(all_scenarios_out / "flows")
    raw_flows = raw_flows[raw_flows["scenario"].isin(["baseline", "third_special_school"])]
    assert flows["count"].sum() == raw_flows["count"].sum()
    combos = flows.groupby(["event", "from_placement", "to_placement"], observed=True).ngroups
    assert len(flows) == 2 * runs * months * combos


def test_load_outputs_refuses_an_unknown_scenario(all_scenarios_out):
    with pytest.raises(Exception, match="has no scenario 'nonesuch'"):
        load_outputs(all_scenarios_out, scenarios=["nonesuch"])
