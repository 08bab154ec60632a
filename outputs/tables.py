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

from simcore import codes
from simcore.engine import Calendar, ChunkResult

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


def stock_table(chunk: ChunkResult, scenario: str, dates: np.ndarray) -> pa.Table:
    r, m, b, p, k = np.nonzero(chunk.stock)
    count = chunk.stock[r, m, b, p, k]
    return pa.table({
        "run": pa.array(chunk.runs[r].astype(np.int32)),
        "date": _date_column(dates, m),
        "age_band": _dictionary(b, codes.AGE_BANDS),
        "placement": _dictionary(p, codes.PLACEMENTS),
        "need": _dictionary(k, codes.NEEDS),
        "count": pa.array(count.astype(np.int32)),
    })


def flows_table(chunk: ChunkResult, scenario: str, dates: np.ndarray) -> pa.Table:
    r, m, ev, src, dst = np.nonzero(chunk.flows)
    count = chunk.flows[r, m, ev, src, dst]
    return pa.table({
        "run": pa.array(chunk.runs[r].astype(np.int32)),
        "date": _date_column(dates, m),
        "event": _dictionary(ev, codes.EVENTS),
        "from_placement": _dictionary(src, codes.FLOW_PLACEMENTS),
        "to_placement": _dictionary(dst, codes.FLOW_PLACEMENTS),
        "count": pa.array(count.astype(np.int32)),
    })


def cost_table(chunk: ChunkResult, scenario: str, dates: np.ndarray) -> pa.Table:
    r, m, p = np.nonzero(chunk.cost)
    return pa.table({
        "run": pa.array(chunk.runs[r].astype(np.int32)),
        "date": _date_column(dates, m),
        "placement": _dictionary(p, codes.PLACEMENTS),
        "cost_gbp": pa.array(chunk.cost[r, m, p]),
    })


def pipeline_table(chunk: ChunkResult, scenario: str, dates: np.ndarray) -> pa.Table:
    R, T, M = chunk.measures.shape
    r, m, k = (a.ravel() for a in np.meshgrid(np.arange(R), np.arange(T), np.arange(M), indexing="ij"))
    return pa.table({
        "run": pa.array(chunk.runs[r].astype(np.int32)),
        "date": _date_column(dates, m),
        "measure": _dictionary(k, codes.MEASURES),
        "value": pa.array(chunk.measures[r, m, k].astype(np.int64)),
    })


BUILDERS = {"stock": stock_table, "flows": flows_table, "cost": cost_table, "pipeline": pipeline_table}


def chunk_tables(chunk: ChunkResult, scenario: str, calendar: Calendar) -> dict[str, pa.Table]:
    """All engine tables of one chunk of runs (flows only if the chunk recorded them)."""
    dates = month_end_dates(calendar)
    tables = {}
    for name, build in BUILDERS.items():
        if name == "flows" and chunk.flows.shape[0] == 0:
            continue
        tables[name] = build(chunk, scenario, dates)
    return tables
