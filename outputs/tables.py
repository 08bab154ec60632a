"""Turn the engine's dense per-chunk arrays into long Arrow tables (zero-count rows left out).

Tables (one row per ...):

- ``stock``:    scenario, run, date, age_band, placement, need, count
- ``flows``:    scenario, run, date, event, from_placement, to_placement, count
- ``cost``:     scenario, run, date, placement, cost_gbp
- ``pipeline``: scenario, run, date, measure, value

``date`` is the last day of the month the row describes. Categorical columns are
dictionary-encoded strings, so they read as strings (pandas: category) everywhere.
``scenario`` is the hive partition key (folder ``scenario=NAME``), not a column inside the
files: readers that understand hive partitioning (pandas, pyarrow, DuckDB with
``hive_partitioning``) give it as a column.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, ChunkResult

TABLES: tuple[str, ...] = ("stock", "flows", "cost", "pipeline")


def month_end_dates(calendar: Calendar) -> np.ndarray:
    """Last day of each month of the run (datetime64[D])."""
    first = np.datetime64(f"{calendar.label(0)}", "M") + np.arange(calendar.n_months)
    return ((first + 1).astype("datetime64[D]") - np.timedelta64(1, "D"))


def _dictionary(indices: np.ndarray, labels: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int8), type=pa.int8()),
                                          pa.array(list(labels), type=pa.string()))


def _date_column(dates: np.ndarray, month_index: np.ndarray) -> pa.Array:
    # A timestamp (midnight) rather than a date type: pandas reads it as datetime64, so that
    # `.dt` works, and DuckDB, Arrow and spreadsheets read it as a date-time.
    return pa.array(dates[month_index].astype("datetime64[s]"), type=pa.timestamp("s"))


def _long_table(values: np.ndarray, runs: np.ndarray, dates: np.ndarray, dimensions: tuple[tuple[str, tuple], ...],
                value_column: str, value_type, keep_zeros: bool = False) -> pa.Table:
    """A dense [run, month, dim...] array as a long table: run, date, one dictionary column per
    dimension, the value. Zero cells are left out unless ``keep_zeros``."""
    index = np.nonzero(values) if not keep_zeros else tuple(
        a.ravel() for a in np.meshgrid(*(np.arange(n) for n in values.shape), indexing="ij"))
    columns = {"run": pa.array(runs[index[0]].astype(np.int32)), "date": _date_column(dates, index[1])}
    for (name, labels), cell in zip(dimensions, index[2:]):
        columns[name] = _dictionary(cell, labels)
    columns[value_column] = pa.array(values[index].astype(value_type))
    return pa.table(columns)


def stock_table(chunk: ChunkResult, dates: np.ndarray) -> pa.Table:
    return _long_table(chunk.stock, chunk.runs, dates, (("age_band", codes.AGE_BANDS), ("placement", codes.PLACEMENTS),
                                                        ("need", codes.NEEDS)), "count", np.int32)


def flows_table(chunk: ChunkResult, dates: np.ndarray) -> pa.Table:
    return _long_table(chunk.flows, chunk.runs, dates, (("event", codes.EVENTS),
                                                        ("from_placement", codes.FLOW_PLACEMENTS),
                                                        ("to_placement", codes.FLOW_PLACEMENTS)), "count", np.int32)


def cost_table(chunk: ChunkResult, dates: np.ndarray) -> pa.Table:
    return _long_table(chunk.cost, chunk.runs, dates, (("placement", codes.PLACEMENTS),), "cost_gbp", np.float64)


def pipeline_table(chunk: ChunkResult, dates: np.ndarray) -> pa.Table:
    # Every measure every month: a zero (nobody waiting, no review due) is information.
    return _long_table(chunk.measures, chunk.runs, dates, (("measure", codes.MEASURES),), "value", np.int64,
                       keep_zeros=True)


BUILDERS = {"stock": stock_table, "flows": flows_table, "cost": cost_table, "pipeline": pipeline_table}


def chunk_tables(chunk: ChunkResult, calendar: Calendar) -> dict[str, pa.Table]:
    """All engine tables of one chunk of runs (flows only if the chunk recorded them)."""
    dates = month_end_dates(calendar)
    tables = {}
    for name, build in BUILDERS.items():
        if name == "flows" and chunk.flows.shape[0] == 0:
            continue
        tables[name] = build(chunk, dates)
    return tables
