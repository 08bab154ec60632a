"""Turn the engine's dense per-chunk arrays into long Arrow tables (zero-count rows left out).

Tables (one row per ...):

- ``stock``:    scenario, run, date, month, financial_year, age_band, placement, need, count
- ``flows``:    scenario, run, date, month, financial_year, event, from_placement, to_placement, count
- ``cost``:     scenario, run, date, month, financial_year, placement, cost_gbp
- ``pipeline``: scenario, run, date, month, financial_year, measure, value

The date convention (one for every monthly table): ``date`` is the last day of the month the
row describes (a timestamp at midnight: January 2026 is 2026-01-31); ``month`` is the same
month as text, ``YYYY-MM``, so that a filter on a month needs no date arithmetic
(``month == "2026-01"``); ``financial_year`` is the April-to-March year the month falls in
(``2025-26``). Categorical columns are dictionary-encoded strings with the same dictionary in
every file of a run, so they read as strings (pandas: category) everywhere and group across
files.

``scenario`` is a column inside every file (added by the store, which knows the scenario of
each chunk: :func:`with_scenario`), so that any reader of the files, with or without hive
partitioning, gets it. It is a plain string column: Parquet stores it dictionary-encoded (a
few bytes a file), and unlike an Arrow dictionary column, whose dictionary would differ from
one scenario's files to the next, it groups across files in pyarrow too.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, ChunkResult
from sendsim.simcore.long import long_columns

TABLES: tuple[str, ...] = ("stock", "flows", "cost", "pipeline")


def month_end_dates(calendar: Calendar) -> np.ndarray:
    """Last day of each month of the run (datetime64[D])."""
    first = np.datetime64(f"{calendar.label(0)}", "M") + np.arange(calendar.n_months)
    return ((first + 1).astype("datetime64[D]") - np.timedelta64(1, "D"))


def month_labels(calendar: Calendar) -> tuple[str, ...]:
    """``YYYY-MM`` of each month of the run."""
    return tuple(calendar.label(m) for m in range(calendar.n_months))


def financial_year_labels(calendar: Calendar) -> tuple[tuple[str, ...], np.ndarray]:
    """The financial years the run's months fall in (labels like ``2024-25``) and, for each
    month, the index of its year in those labels."""
    years = calendar.financial_years()
    unique = np.unique(years)
    return tuple(f"{y}-{(y + 1) % 100:02d}" for y in unique), np.searchsorted(unique, years)


def _dictionary(indices: np.ndarray, labels: tuple[str, ...]) -> pa.DictionaryArray:
    # int8 indices hold the code lists; a run of more than 127 months needs int16 for its months.
    index_type = np.int8 if len(labels) <= np.iinfo(np.int8).max else np.int16
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(index_type, copy=False)),
                                          pa.array(list(labels), type=pa.string()))


def _date_column(dates: np.ndarray, month_index: np.ndarray) -> pa.Array:
    # A timestamp (midnight) rather than a date type: pandas reads it as datetime64, so that
    # `.dt` works, and DuckDB, Arrow and spreadsheets read it as a date-time.
    return pa.array(dates.astype("datetime64[s]").astype(np.int64)[month_index], type=pa.timestamp("s"))


def _long_table(values: np.ndarray, runs: np.ndarray, calendar: Calendar,
                dimensions: tuple[tuple[str, tuple], ...], value_column: str, value_type,
                keep_zeros: bool = False) -> pa.Table:
    """A dense [run, month, dim...] array as a long table: run, date, month, financial_year,
    one dictionary column per dimension, the value. Zero cells are left out unless ``keep_zeros``.
    Rows in the array's C order (run, month, then each dimension), built in one compiled pass
    (:func:`~sendsim.simcore.long.long_columns`)."""
    run, month, cells, value = long_columns(values, runs, keep_zeros)
    year_labels, year_of_month = financial_year_labels(calendar)
    columns = {"run": pa.array(run),
               "date": _date_column(month_end_dates(calendar), month),
               "month": _dictionary(month, month_labels(calendar)),
               "financial_year": _dictionary(year_of_month.astype(np.int8)[month], year_labels)}
    for (name, labels), cell in zip(dimensions, cells):
        columns[name] = _dictionary(cell, labels)
    columns[value_column] = pa.array(value.astype(value_type, copy=False))
    return pa.table(columns)


def stock_table(chunk: ChunkResult, calendar: Calendar) -> pa.Table:
    keys = (("age_band", codes.AGE_BANDS), ("placement", codes.PLACEMENTS), ("need", codes.NEEDS))
    return _long_table(chunk.stock, chunk.runs, calendar, keys, "count", np.int32)


def flows_table(chunk: ChunkResult, calendar: Calendar) -> pa.Table:
    return _long_table(chunk.flows, chunk.runs, calendar, (("event", codes.EVENTS),
                                                        ("from_placement", codes.FLOW_PLACEMENTS),
                                                        ("to_placement", codes.FLOW_PLACEMENTS)), "count", np.int32)


def cost_table(chunk: ChunkResult, calendar: Calendar) -> pa.Table:
    return _long_table(chunk.cost, chunk.runs, calendar, (("placement", codes.PLACEMENTS),), "cost_gbp", np.float64)


def pipeline_table(chunk: ChunkResult, calendar: Calendar) -> pa.Table:
    # Every measure every month: a zero (nobody waiting, no review due) is information.
    return _long_table(chunk.measures, chunk.runs, calendar, (("measure", codes.MEASURES),), "value", np.int64,
                       keep_zeros=True)


BUILDERS = {"stock": stock_table, "flows": flows_table, "cost": cost_table, "pipeline": pipeline_table}


def chunk_tables(chunk: ChunkResult, calendar: Calendar) -> dict[str, pa.Table]:
    """All engine tables of one chunk of runs (flows only if the chunk recorded them)."""
    tables = {}
    for name, build in BUILDERS.items():
        if name == "flows" and chunk.flows.shape[0] == 0:
            continue
        tables[name] = build(chunk, calendar)
    return tables


def with_scenario(table: pa.Table, scenario: str) -> pa.Table:
    """``table`` with the scenario as its first column (see the module docstring)."""
    if "scenario" in table.column_names:
        table = table.drop_columns(["scenario"])
    return table.add_column(0, "scenario", pa.repeat(pa.scalar(scenario, pa.string()), table.num_rows))
