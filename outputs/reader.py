"""Reading a finished run's output folder back, checked, as tidy pandas DataFrames.

:func:`load_outputs` (re-exported as ``sendsim.api.load_outputs``) is the documented way in for
a notebook (docs/api.md); ``sendsim report`` reads through the same checks. Nothing read is
trusted: the manifest's fields, every table's columns and types, the money columns' values,
the runs, months, years and codes are checked against each other, and anything that is not what
sendsim wrote ends in a :class:`ReadError`, one line naming the file and what to change.

What every table returned here has, beyond the files' own columns (docs/outputs.md):

- ``scenario`` and ``financial_year`` (a label ``2024-25``, April to March) on every table;
- monthly tables: ``date`` (the last day of the month, a timestamp) and ``month`` (``YYYY-MM``);
- zeros where a count is zero: ``stock`` and ``cost`` are on the full grid of run x month x
  categories (the files leave zero rows out, so a per-run statistic over the rows present
  would be wrong); ``flows`` on run x month x every (event, from, to) that occurs anywhere in
  the scenarios read (the other combinations cannot happen or did not); ``pipeline`` has every
  measure every month in the files already;
- ``deficit``: one row per run and year (``year_end``, 31 March, a timestamp), so that any
  probability such as P(deficit > X) can be taken (:meth:`Outputs.exceedance_probability`).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TypeGuard

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sendsim.money.model import DEFICIT_COLUMNS, LINE_KINDS, RAG_LEVELS
from sendsim.outputs.store import MANIFEST, MARKER, OutputError, check_scenario_name, read_marker, table_folder
from sendsim.outputs.tables import financial_year_labels, month_end_dates, month_labels
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

RERUN = "run `sendsim run` again into a new folder"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_FINANCIAL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")

# The columns each table must have, by kind (checked in every file's own schema).
STOCK = {"scenario": "text", "run": "int", "date": "date", "month": "text", "financial_year": "text",
         "age_band": "text", "placement": "text", "need": "text", "count": "int"}
FLOWS = {"scenario": "text", "run": "int", "date": "date", "month": "text", "financial_year": "text",
         "event": "text", "from_placement": "text", "to_placement": "text", "count": "int"}
COST = {"scenario": "text", "run": "int", "date": "date", "month": "text", "financial_year": "text",
        "placement": "text", "cost_gbp": "float"}
PIPELINE = {"scenario": "text", "run": "int", "date": "date", "month": "text", "financial_year": "text",
            "measure": "text", "value": "int"}
DEFICIT = {"scenario": "text", "run": "int", "financial_year": "text", **{c: "float" for c in DEFICIT_COLUMNS},
           "meets_target": "bool", "rag": "text", "deficit_cleared": "bool"}
FINANCE = {"scenario": "text", "run": "int", "financial_year": "text", "kind": "text", "line": "text",
           "amount_gbp": "float"}
DIFFERENCE = {"scenario": "text", "run": "int", "financial_year": "text", "delta_spend_gbp": "float",
              "delta_in_year_deficit_gbp": "float", "delta_accumulated_deficit_gbp": "float"}
QUANTILE_COLUMNS = ("mean", "p05", "p25", "p50", "p75", "p95")
SUMMARY = {"scenario": "text", "financial_year": "text", "metric": "text", **{c: "float" for c in QUANTILE_COLUMNS},
           "prob_meets_target": "float", "intervals_hold": "text"}
DIFFERENCE_SUMMARY = {"scenario": "text", "financial_year": "text", "metric": "text",
                      **{c: "float" for c in QUANTILE_COLUMNS}, "prob_lower": "float", "var_paired": "float",
                      "var_unpaired": "float", "variance_ratio": "float"}
EXCEEDANCE = {"scenario": "text", "financial_year": "text", "threshold_gbp": "float", "prob_above": "float"}
SCENARIOS = {"scenario": "text", "description": "text"}
# Columns that may hold nulls or NaN (no profile that year; one run: no variance).
MAY_BE_MISSING = {"sv_target_gbp", "variance_gbp", "meets_target", "rag", "prob_meets_target", "var_paired",
                  "var_unpaired", "variance_ratio", "description"}
# The codes a categorical column may hold.
CODES = {"age_band": codes.AGE_BANDS, "placement": codes.PLACEMENTS, "need": codes.NEEDS, "event": codes.EVENTS,
         "from_placement": codes.FLOW_PLACEMENTS, "to_placement": codes.FLOW_PLACEMENTS, "measure": codes.MEASURES,
         "kind": tuple(dict.fromkeys(LINE_KINDS.values())), "line": tuple(LINE_KINDS), "rag": RAG_LEVELS}
TABLE_COLUMNS = {"stock": STOCK, "flows": FLOWS, "cost": COST, "pipeline": PIPELINE, "deficit": DEFICIT,
                 "finance": FINANCE, "difference": DIFFERENCE}
_KIND_WORDS = {"int": "whole numbers", "float": "numbers", "text": "text", "date": "dates", "bool": "true/false"}


class ReadError(OutputError):
    """An output folder, or a file in it, is not what sendsim wrote (missing, damaged or edited)."""


# ---- The manifest -------------------------------------------------------------------------------
def _manifest_error(path: Path, what: str) -> ReadError:
    return ReadError(f"{path}: {what}: the manifest was edited or damaged; restore it, or {RERUN}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_year_series(path: Path, key: str, series) -> None:
    if not isinstance(series, dict) or not all(isinstance(k, str) and _FINANCIAL_YEAR.match(k) and _is_number(v)
                                               for k, v in series.items()):
        raise _manifest_error(path, f"money.{key} is not a table of financial years ('2024-25') and amounts")


def check_manifest(manifest, path: Path) -> dict:
    """Check the fields of a manifest that readers use (types, formats, consistency); return it."""
    if not isinstance(manifest, dict):
        raise _manifest_error(path, "it is not a JSON object")
    runs = manifest.get("runs")
    if not _is_whole(runs) or runs < 1:
        raise _manifest_error(path, f"runs is {runs!r}, not a whole number of at least 1")
    if not _is_whole(manifest.get("seed")):
        raise _manifest_error(path, f"seed is {manifest.get('seed')!r}, not a whole number")
    for key in ("start", "end"):
        if not isinstance(manifest.get(key), str) or not _MONTH.match(manifest[key]):
            raise _manifest_error(path, f"{key} is {manifest.get(key)!r}, not a month YYYY-MM")
    months = manifest.get("months")
    if not _is_whole(months) or months < 1:
        raise _manifest_error(path, f"months is {months!r}, not a whole number of at least 1")
    calendar = manifest_calendar(manifest)
    if calendar.label(calendar.n_months - 1) != manifest["end"]:
        raise _manifest_error(path, f"start {manifest['start']} and {months} months end in "
                              f"{calendar.label(calendar.n_months - 1)}, not {manifest['end']}")
    scenarios = manifest.get("scenarios")
    if not isinstance(scenarios, list) or not scenarios or "baseline" not in scenarios:
        raise _manifest_error(path, "scenarios is not a list of scenario names with the baseline")
    if len(set(map(str, scenarios))) != len(scenarios):
        raise _manifest_error(path, "scenarios names a scenario twice")
    for name in scenarios:
        try:
            check_scenario_name(name)
        except OutputError:
            raise _manifest_error(path, f"scenarios holds {name!r}, not a scenario name sendsim writes") from None
    money = manifest.get("money")
    if money is not None:
        if not isinstance(money, dict):
            raise _manifest_error(path, "money is not a JSON object")
        if not isinstance(money.get("opening_year"), str) or not _FINANCIAL_YEAR.match(money["opening_year"]):
            raise _manifest_error(path, f"money.opening_year is {money.get('opening_year')!r}, not a financial "
                                  "year like 2023-24")
        for key in ("opening_gbp", "rag_amber_tolerance"):
            if not _is_number(money.get(key)):
                raise _manifest_error(path, f"money.{key} is {money.get(key)!r}, not a number")
        years = money.get("years")
        if (not isinstance(years, list) or not years
                or not all(isinstance(y, str) and _FINANCIAL_YEAR.match(y) for y in years)):
            raise _manifest_error(path, "money.years is not a list of financial years like 2024-25")
        for key in ("sv_profile_gbp", "council_forecast_gbp", "outturn_gbp"):
            _check_year_series(path, key, money.get(key, {}))
        index = money.get("price_index")
        if (not isinstance(index, dict) or set(index) != set(years) or not all(
                isinstance(v, dict) and set(v) == set(codes.PLACEMENTS)
                and all(_is_number(x) and x > 0 for x in v.values()) for v in index.values())):
            raise _manifest_error(path, "money.price_index is not a positive price level per placement and year")
    uncertainty = manifest.get("uncertainty")
    if uncertainty is not None and (not isinstance(uncertainty, dict) or not isinstance(uncertainty.get("bands"), str)
                                    or not isinstance(uncertainty.get("parameters"), bool)):
        raise _manifest_error(path, "uncertainty is not {bands: text, parameters: true/false}")
    reference = manifest.get("reference")
    if reference is not None:
        lists = ("ehcp_safety_valve_estimates", "ehcp_sen2_actuals")
        if not isinstance(reference, dict) or not all(
                isinstance(reference.get(k), list)
                and all(isinstance(r, dict) and isinstance(r.get("month"), str) and _MONTH.match(r["month"])
                        and _is_number(r.get("ehcps")) for r in reference[k]) for k in lists):
            raise _manifest_error(path, "reference is not lists of EHCP figures by month")
    return manifest


def manifest_calendar(manifest: dict) -> Calendar:
    match = _MONTH.match(manifest["start"])
    if match is None:
        raise ValueError(f"start {manifest['start']!r} is not a month YYYY-MM")
    return Calendar(int(match.group(1)), int(match.group(2)), int(manifest["months"]))


def read_run(folder: str | Path) -> dict:
    """The checked manifest of the finished run in ``folder`` (a :class:`ReadError` if the
    folder is not one)."""
    folder = Path(folder)
    try:
        marker = read_marker(folder)
    except OutputError as error:
        raise ReadError(str(error)) from None
    if marker is None:
        raise ReadError(f"{folder} is not a sendsim output folder (no {MARKER} marker): give the --out folder of "
                        "`sendsim run` or `sendsim sweep`")
    path = folder / MANIFEST
    if not path.is_file():
        raise ReadError(f"{folder} is not a finished sendsim run (no {MANIFEST}): finish it with `sendsim run "
                        "--resume`, or run it again")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise ReadError(f"{path} is damaged (not the JSON sendsim wrote): {RERUN}") from None
    return check_manifest(manifest, path)


# ---- Tables ---------------------------------------------------------------------------------------
def _kind(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if pa.types.is_boolean(data_type):
        return "bool"
    if pa.types.is_integer(data_type):
        return "int"
    if pa.types.is_floating(data_type):
        return "float"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "text"
    if pa.types.is_timestamp(data_type) or pa.types.is_date(data_type):
        return "date"
    if pa.types.is_null(data_type):
        return "null"
    return str(data_type)


def _check_schema(schema: pa.Schema, columns: dict[str, str], where: str) -> None:
    for name, want in columns.items():
        index = schema.get_field_index(name)
        if index < 0:
            raise ReadError(f"{where}: column {name} is missing: the file was edited or is not sendsim's; {RERUN}")
        found = _kind(schema.field(index).type)
        accepted = {want, "int"} if want == "float" else {want}
        if name in MAY_BE_MISSING:
            accepted.add("null")  # a column all of whose values are missing
        if found not in accepted:
            raise ReadError(f"{where}: column {name} holds {_KIND_WORDS.get(found, found)}, not "
                            f"{_KIND_WORDS[want]}: the file was edited; {RERUN}")


def _check_values(table: pa.Table, columns: dict[str, str], where: str) -> None:
    """Numbers must be finite and present (except where a missing value means something), codes known."""
    for name, want in columns.items():
        column = table.column(name)
        if name in MAY_BE_MISSING:
            continue
        if column.null_count:
            raise ReadError(f"{where}: column {name} has {column.null_count} missing values: the file was edited; "
                            f"{RERUN}")
        if want == "float" and pa.types.is_floating(column.type) and len(column):
            finite = pc.sum(pc.is_finite(column)).as_py() or 0
            if finite != len(column):
                raise ReadError(f"{where}: column {name} has {len(column) - finite} values that are not finite "
                                f"numbers: the file was edited; {RERUN}")
    for name, known in CODES.items():
        if name in columns and name in table.column_names:
            unknown = sorted(_distinct_text(table.column(name)) - set(known))
            if unknown:
                raise ReadError(f"{where}: column {name} holds {unknown[0]!r}, not a code sendsim writes: the file "
                                f"was edited; {RERUN}")


def _dataset(folder: Path, where: str) -> ds.Dataset:
    try:
        return ds.dataset(folder, format="parquet")
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ReadError(f"{where} cannot be read ({str(error).splitlines()[0][:120]}): {RERUN}") from None


def partition_files(out: Path, table: str, scenario: str) -> list[str]:
    """The files of one scenario's partition of a table, each file's schema checked."""
    spec = TABLE_COLUMNS[table]
    folder = out / table_folder(table, scenario)
    where = str(folder)
    if not folder.is_dir():
        if (out / table / f"scenario={scenario}").is_dir():
            raise ReadError(f"{out} was written by an earlier sendsim (folders scenario=NAME): run it again with this "
                            "version")
        raise ReadError(f"{where} is missing: the folder is incomplete or was edited; {RERUN}")
    fragments = list(_dataset(folder, where).get_fragments())
    if not fragments:
        raise ReadError(f"{where} holds no Parquet files: the folder is incomplete or was edited; {RERUN}")
    for fragment in fragments:
        try:
            schema = fragment.physical_schema
        except (pa.ArrowException, OSError) as error:
            raise ReadError(f"{fragment.path} cannot be read ({str(error).splitlines()[0][:120]}): {RERUN}") from None
        _check_schema(schema, spec, fragment.path)
    return sorted(f.path for f in fragments)


def iter_partition(out: Path, table: str, scenario: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """One scenario's files of a partitioned table, one file at a time (memory is one file's,
    however many runs), each checked: schema, values, codes, its scenario column; only
    ``columns`` (default all the table's own) are returned, with ``scenario``."""
    spec = TABLE_COLUMNS[table]
    wanted = list(spec) if columns is None else list(dict.fromkeys(["scenario"] + columns))
    # Text columns are read as dictionaries (the scenario's is one value repeated: millions of
    # rows in a large run), so that checking and coding them never spells every row out.
    text = [c for c in wanted if spec[c] == "text"]
    parquet = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=text))
    for path in partition_files(out, table, scenario):
        try:
            data = ds.dataset(path, format=parquet).to_table(columns=wanted)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise ReadError(f"{path} cannot be read ({str(error).splitlines()[0][:120]}): {RERUN}") from None
        _check_values(data, {c: spec[c] for c in wanted}, path)
        names = _distinct_text(data.column("scenario"))
        if names - {scenario}:
            raise ReadError(f"{path}: its scenario column says {sorted(names - {scenario})[0]!r}, not {scenario!r}: "
                            f"the files were moved between folders; {RERUN}")
        yield data


def read_partition(out: Path, table: str, scenario: str, columns: list[str] | None = None) -> pa.Table:
    """One scenario's files of a partitioned table as one table (for the run-level tables,
    small), checked as :func:`iter_partition` checks them."""
    parts = list(iter_partition(out, table, scenario, columns))
    try:
        return pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowException, ValueError) as error:
        raise ReadError(f"{out / table_folder(table, scenario)}: its files do not fit together "
                        f"({str(error).splitlines()[0][:120]}): {RERUN}") from None


def read_single(out: Path, name: str, columns: dict[str, str]) -> pa.Table:
    """A single-file table (``summary.parquet`` and the like), checked."""
    path = out / name
    if not path.is_file():
        raise ReadError(f"{path} is missing: the folder is incomplete or was edited; {RERUN}")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ReadError(f"{path} cannot be read ({str(error).splitlines()[0][:120]}): {RERUN}") from None
    _check_schema(table.schema, columns, str(path))
    table = table.select(list(columns))
    _check_values(table, columns, str(path))
    return table


def _categorical(values, categories) -> pd.Categorical:
    return pd.Categorical(values, categories=list(categories))


def _distinct_text(column: pa.ChunkedArray) -> set[str]:
    """The distinct values of a text column (a dictionary column's without spelling out its rows)."""
    values: set[str] = set()
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            used = pc.unique(chunk.indices.drop_null())
            values |= set(chunk.dictionary.cast(pa.string()).take(used).to_pylist())
        else:
            values |= set(pc.unique(chunk.cast(pa.string())).to_pylist())
    return values - {None}


def _code_index(column: pa.ChunkedArray, known: tuple[str, ...]) -> np.ndarray:
    """Position of each value of a (checked) text column in ``known`` (-1 if absent)."""
    value_set = pa.array(list(known))
    parts = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            mapping = pc.index_in(chunk.dictionary.cast(pa.string()), value_set=value_set).fill_null(-1)
            parts.append(mapping.to_numpy(zero_copy_only=False)[chunk.indices.to_numpy(zero_copy_only=False)])
        else:
            parts.append(pc.index_in(chunk.cast(pa.string()), value_set=value_set).fill_null(-1)
                         .to_numpy(zero_copy_only=False))
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


# ---- The outputs, as tidy frames ----------------------------------------------------------------------
class Outputs:
    """A finished run's output folder, read as tidy pandas DataFrames, each table checked and
    loaded when it is first used (``stock`` of a 1,000-run Kent scenario on its full grid is
    27.5 million rows: :meth:`stock_totals` sums over the categories you do not need first).

    Parameters
    ----------
    folder
        The ``--out`` folder of ``sendsim run`` or ``sendsim sweep``.
    scenarios
        The scenarios to read (default every scenario of the run, the baseline first).

    Attributes
    ----------
    manifest : dict
        ``manifest.json``, checked.
    scenarios : list of str
        The scenarios read.
    months : list of str
        The run's months, ``YYYY-MM``.
    """

    def __init__(self, folder: str | Path, scenarios: list[str] | None = None) -> None:
        self.folder = Path(folder)
        self.manifest = read_run(self.folder)
        every = [str(s) for s in self.manifest["scenarios"]]
        if scenarios is None:
            self.scenarios = every
        else:
            unknown = [s for s in scenarios if s not in every]
            if unknown:
                raise ReadError(f"{self.folder} has no scenario {unknown[0]!r} (it has {', '.join(every[:8])}"
                                f"{', ...' if len(every) > 8 else ''})")
            self.scenarios = list(dict.fromkeys(scenarios))
        self.calendar = manifest_calendar(self.manifest)
        self.months = list(month_labels(self.calendar))
        self.month_ends = month_end_dates(self.calendar).astype("datetime64[s]")
        year_labels, year_of_month = financial_year_labels(self.calendar)
        self.financial_years = list(year_labels)
        self._year_of_month = year_of_month
        self.runs = int(self.manifest["runs"])

    # ---- run-level money ----------------------------------------------------------------------------
    @property
    def has_money(self) -> bool:
        """Whether the run modelled money (at least one complete financial year after the opening one)."""
        return self.manifest.get("money") is not None

    def _require_money(self, what: str) -> None:
        if not self.has_money:
            raise ReadError(f"{self.folder} has no money outputs ({what}): the run holds no complete financial year "
                            "(April to March) after its opening one; run more --months")

    def _run_level(self, table: str, scenarios: list[str]) -> pd.DataFrame:
        """A run-level money table of ``scenarios``: each run and year exactly once."""
        years = list(self.manifest["money"]["years"])
        frames = []
        for scenario in scenarios:
            data = read_partition(self.folder, table, scenario)
            where = str(self.folder / table_folder(table, scenario))
            runs = data.column("run").to_numpy()
            found_years = set(data.column("financial_year").to_pylist())
            if found_years != set(years):
                raise ReadError(f"{where} holds the years {', '.join(sorted(found_years))} but the manifest says "
                                f"{', '.join(years)}: the folder was edited; restore it, or {RERUN}")
            rows_per_run = len(years) * (len(LINE_KINDS) if table == "finance" else 1)
            if set(np.unique(runs).tolist()) != set(range(self.runs)) or len(data) != self.runs * rows_per_run:
                raise ReadError(f"{where} holds {np.unique(runs).size} runs ({len(data)} rows) but the manifest says "
                                f"{self.runs} runs: the manifest or the table was edited; restore it, or {RERUN}")
            frames.append(data.to_pandas())
        frame = pd.concat(frames, ignore_index=True)
        frame["scenario"] = _categorical(frame["scenario"].astype(str), scenarios)
        for column, known in CODES.items():
            if column in frame.columns:
                frame[column] = _categorical(frame[column].astype(str).where(frame[column].notna()), known)
        frame["financial_year"] = _categorical(frame["financial_year"].astype(str), years)
        return frame

    @cached_property
    def deficit(self) -> pd.DataFrame:
        """``deficit/``: one row per scenario, run and financial year (GBP; see docs/outputs.md),
        with ``year_end`` (31 March of the year, a timestamp)."""
        self._require_money("deficit/")
        frame = self._run_level("deficit", self.scenarios)
        year_end = {y: pd.Timestamp(f"{int(y[:4]) + 1}-03-31") for y in self.manifest["money"]["years"]}
        position = frame.columns.get_loc("financial_year")
        assert isinstance(position, int)  # the column names are unique
        frame.insert(position + 1, "year_end",
                     frame["financial_year"].astype(str).map(year_end).astype("datetime64[s]"))
        return frame.sort_values(["scenario", "financial_year", "run"], kind="stable").reset_index(drop=True)

    @cached_property
    def finance(self) -> pd.DataFrame:
        """``finance/``: one row per scenario, run, financial year and line (GBP)."""
        self._require_money("finance/")
        frame = self._run_level("finance", self.scenarios)
        return frame.sort_values(["scenario", "financial_year", "run"], kind="stable").reset_index(drop=True)

    @cached_property
    def difference(self) -> pd.DataFrame:
        """``difference/``: each non-baseline scenario minus the baseline, same run (GBP)."""
        self._require_money("difference/")
        others = [s for s in self.scenarios if s != "baseline"]
        if not others:
            return pd.DataFrame({c: pd.Series(dtype=float if k == "float" else object) for c, k in DIFFERENCE.items()})
        return self._run_level("difference", others)

    def exceedance_probability(self, thresholds_gbp, financial_year: str | None = None) -> pd.DataFrame:
        """P(accumulated deficit > X) per scenario and financial year, exactly from the runs.

        Parameters
        ----------
        thresholds_gbp
            The X values (GBP).
        financial_year
            One year (``"2027-28"``); default every year.

        Returns
        -------
        pandas.DataFrame
            scenario, financial_year, threshold_gbp, prob_above.
        """
        deficit = self.deficit
        if financial_year is not None:
            deficit = deficit[deficit["financial_year"] == financial_year]
        thresholds = np.asarray(thresholds_gbp, dtype=float).ravel()
        rows = []
        for (scenario, year), group in deficit.groupby(["scenario", "financial_year"], observed=True, sort=True):
            values = np.sort(group["accumulated_deficit_gbp"].to_numpy())
            above = values.size - np.searchsorted(values, thresholds, side="right")
            rows.append(pd.DataFrame({"scenario": scenario, "financial_year": year, "threshold_gbp": thresholds,
                                      "prob_above": above / values.size}))
        return pd.concat(rows, ignore_index=True)

    # ---- summaries ------------------------------------------------------------------------------------
    def _summary_file(self, name: str, columns: dict[str, str], scenarios: list[str]) -> pd.DataFrame:
        frame = read_single(self.folder, name, columns).to_pandas()
        names = set(frame["scenario"].astype(str))
        every = set(map(str, self.manifest["scenarios"]))
        if names - every:
            raise ReadError(f"{self.folder / name} holds scenario {sorted(names - every)[0]!r}, which the manifest "
                            f"does not list: the folder was edited; restore it, or {RERUN}")
        years = set(frame["financial_year"].astype(str)) if "financial_year" in frame else set()
        if years - set(self.manifest["money"]["years"]):
            raise ReadError(f"{self.folder / name} holds the year {sorted(years)[0]} outside the run's years "
                            f"{', '.join(self.manifest['money']['years'])}: the folder was edited; {RERUN}")
        frame = frame[frame["scenario"].astype(str).isin(scenarios)].copy()
        frame["scenario"] = _categorical(frame["scenario"].astype(str), scenarios)
        frame["financial_year"] = _categorical(frame["financial_year"].astype(str), self.manifest["money"]["years"])
        return frame.reset_index(drop=True)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """``summary.parquet``: mean and quantiles over runs of every money metric (GBP or share)."""
        self._require_money("summary.parquet")
        return self._summary_file("summary.parquet", SUMMARY, self.scenarios)

    @cached_property
    def difference_summary(self) -> pd.DataFrame:
        """``difference_summary.parquet``: the paired differences' distribution per scenario and year."""
        self._require_money("difference_summary.parquet")
        others = [s for s in self.scenarios if s != "baseline"]
        if len(self.manifest["scenarios"]) == 1:
            return pd.DataFrame({c: pd.Series(dtype=float if k == "float" else object)
                                 for c, k in DIFFERENCE_SUMMARY.items()})
        return self._summary_file("difference_summary.parquet", DIFFERENCE_SUMMARY, others)

    @cached_property
    def exceedance(self) -> pd.DataFrame:
        """``exceedance.parquet``: P(accumulated deficit > threshold) on a grid of thresholds."""
        self._require_money("exceedance.parquet")
        return self._summary_file("exceedance.parquet", EXCEEDANCE, self.scenarios)

    @cached_property
    def scenario_table(self) -> pd.DataFrame:
        """``scenarios.parquet``: each scenario's description, source, first effective month and
        (sweeps) lever values."""
        frame = read_single(self.folder, "scenarios.parquet", SCENARIOS)
        full = pq.read_table(self.folder / "scenarios.parquet").to_pandas()
        names = set(full["scenario"].astype(str))
        listed = set(map(str, self.manifest["scenarios"]))
        if names != listed or len(frame) != len(names):
            differ = sorted(names ^ listed)
            what = (f"scenario {differ[0]!r} is in {'the manifest' if differ[0] in listed else 'scenarios.parquet'} "
                    "only" if differ else "a scenario is listed twice")
            raise ReadError(f"{self.folder / 'scenarios.parquet'} and the manifest disagree ({what}): the folder was "
                            f"edited; restore it, or {RERUN}")
        return full[full["scenario"].astype(str).isin(self.scenarios)].reset_index(drop=True)

    # ---- monthly tables ---------------------------------------------------------------------------------
    def _month_index(self, data: pa.Table, where: str) -> np.ndarray:
        index = _code_index(data.column("month"), tuple(self.months))
        if (index < 0).any():
            raise ReadError(f"{where}: column month holds months outside the run {self.months[0]} to "
                            f"{self.months[-1]}: the files or the manifest were edited; {RERUN}")
        pairs = data.select(["month", "date"]).group_by(["month", "date"]).aggregate([])
        month_of_pair = _code_index(pairs.column("month"), tuple(self.months))
        dates = pairs.column("date").cast(pa.timestamp("s")).to_numpy()
        if not np.array_equal(dates, self.month_ends[month_of_pair]):
            raise ReadError(f"{where}: columns date and month disagree (date is the month's last day): the files "
                            f"were edited; {RERUN}")
        return index

    def _runs_index(self, data: pa.Table, where: str) -> np.ndarray:
        runs = data.column("run").to_numpy()
        if runs.size and (runs.min() < 0 or runs.max() >= self.runs):
            raise ReadError(f"{where} holds run {int(runs.max())} but the manifest says {self.runs} runs: the manifest "
                            f"or the table was edited; restore it, or {RERUN}")
        return runs

    def _grid(self, table: str, dims: tuple[str, ...], value: str, dtype) -> pd.DataFrame:
        """A table on the full grid scenario x run x month x ``dims``, zeros where no row (summed
        file by file: memory is the grid's and one file's)."""
        frames = []
        shape = (self.runs, len(self.months)) + tuple(len(CODES[d]) for d in dims)
        for scenario in self.scenarios:
            dense = np.zeros(shape, dtype=dtype)
            for data in iter_partition(self.folder, table, scenario, ["run", "date", "month", *dims, value]):
                where = str(self.folder / table_folder(table, scenario))
                index = (self._runs_index(data, where), self._month_index(data, where)) + tuple(
                    _code_index(data.column(d), CODES[d]) for d in dims)
                dense += _summed(index, data.column(value).to_numpy(), shape, dtype)
            frames.append(self._frame_of(dense, scenario, dims, value))
        frame = pd.concat(frames, ignore_index=True)
        frame["scenario"] = _categorical(frame["scenario"].astype(str), self.scenarios)
        return frame

    def _frame_of(self, dense: np.ndarray, scenario: str, dims: tuple[str, ...], value: str) -> pd.DataFrame:
        """A dense [run, month, dims...] array as a long frame (every cell a row)."""
        shape = dense.shape

        def axis(k: int) -> np.ndarray:
            inner = int(np.prod(shape[k + 1:], dtype=np.int64))
            outer = int(np.prod(shape[:k], dtype=np.int64))
            return np.tile(np.repeat(np.arange(shape[k], dtype=np.int32), inner), outer)

        month = axis(1)
        # (categories as an Index: what from_codes makes of a list, and what pandas-stubs asks for)
        columns = {"scenario": pd.Categorical.from_codes(np.zeros(dense.size, dtype=np.int8), pd.Index([scenario])),
                   "run": axis(0), "date": self.month_ends[month],
                   "month": pd.Categorical.from_codes(month, pd.Index(self.months)),
                   "financial_year": pd.Categorical.from_codes(self._year_of_month[month],
                                                               pd.Index(self.financial_years))}
        for k, dim in enumerate(dims, start=2):
            columns[dim] = pd.Categorical.from_codes(axis(k), pd.Index(list(CODES[dim])))
        columns[value] = dense.ravel()
        return pd.DataFrame(columns)

    def stock_totals(self, by: tuple[str, ...] | list[str] = ("placement",)) -> pd.DataFrame:
        """Children with a plan per scenario, run and month, by the categories ``by`` (any of
        ``age_band``, ``placement``, ``need``; empty: the total), zeros where none: a per-run
        statistic (a median over runs) is right however many runs had none.

        Returns
        -------
        pandas.DataFrame
            scenario, run, date, month, financial_year, ``by``..., count.
        """
        by = tuple(by)
        allowed = ("age_band", "placement", "need")
        if any(d not in allowed for d in by) or len(set(by)) != len(by):
            raise ValueError(f"by must be some of {', '.join(allowed)} (each once), not {by}")
        return self._grid("stock", by, "count", np.int32)

    @cached_property
    def stock(self) -> pd.DataFrame:
        """``stock/`` on the full grid: scenario, run, date, month, financial_year, age_band,
        placement, need, count (zeros included)."""
        return self.stock_totals(("age_band", "placement", "need"))

    @cached_property
    def cost(self) -> pd.DataFrame:
        """``cost/`` on the full grid: scenario, run, date, month, financial_year, placement,
        cost_gbp (placement spend in the month, GBP at that month's prices; zeros included)."""
        return self._grid("cost", ("placement",), "cost_gbp", np.float64)

    @cached_property
    def pipeline(self) -> pd.DataFrame:
        """``pipeline/``: scenario, run, date, month, financial_year, measure, value (every
        measure every month is in the files)."""
        return self._grid("pipeline", ("measure",), "value", np.int64)

    @cached_property
    def flows(self) -> pd.DataFrame:
        """``flows/``: scenario, run, date, month, financial_year, event, from_placement,
        to_placement, count, on run x month x every (event, from, to) seen in the scenarios read."""
        if "flows" not in self.manifest.get("tables", ["flows"]):
            raise ReadError(f"{self.folder} has no flows table: the run was made with --no-flows")
        keys = ("event", "from_placement", "to_placement")
        parts = []
        for scenario in self.scenarios:
            data = read_partition(self.folder, "flows", scenario, ["run", "date", "month", *keys, "count"])
            where = str(self.folder / table_folder("flows", scenario))
            parts.append((scenario, self._runs_index(data, where), self._month_index(data, where),
                          np.stack([_code_index(data.column(k), CODES[k]) for k in keys], axis=1),
                          data.column("count").to_numpy()))
        combos = np.unique(np.concatenate([p[3] for p in parts]), axis=0)
        frames = []
        for scenario, runs, months, keys_index, count in parts:
            dense = _summed((runs, months, _row_positions(combos, keys_index)), count,
                            (self.runs, len(self.months), len(combos)), np.int32)
            frame = self._frame_of(dense, scenario, (), "count")
            combo_of_row = np.tile(np.arange(len(combos)), self.runs * len(self.months))
            for k, key in enumerate(keys):
                # pandas-stubs leaves Categorical out of insert's accepted values (pandas takes it).
                frame.insert(5 + k, key,
                             pd.Categorical.from_codes(combos[combo_of_row, k],  # type: ignore[arg-type]
                                                       pd.Index(list(CODES[key]))))
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        frame["scenario"] = _categorical(frame["scenario"].astype(str), self.scenarios)
        return frame


def _summed(index: tuple[np.ndarray, ...], values: np.ndarray, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A dense array of ``shape``: the sum of ``values`` at each cell ``index`` names (bincount on
    the flat index: far quicker than ``np.add.at``; whole counts are exact in float64)."""
    flat = np.ravel_multi_index(index, shape) if len(values) else np.zeros(0, dtype=np.int64)
    total = np.bincount(flat, weights=np.asarray(values, dtype=np.float64), minlength=int(np.prod(shape)))
    return (np.rint(total) if np.issubdtype(np.dtype(dtype), np.integer) else total).astype(dtype).reshape(shape)


def _row_positions(combos: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Position of each row of ``rows`` among the (sorted, unique) rows of ``combos``."""
    width = np.array([len(codes.EVENTS) + 1, len(codes.FLOW_PLACEMENTS) + 1, len(codes.FLOW_PLACEMENTS) + 1])

    def key(a: np.ndarray) -> np.ndarray:
        return (a[:, 0] * width[1] + a[:, 1]) * width[2] + a[:, 2]
    return np.searchsorted(key(combos), key(rows))


def load_outputs(folder: str | Path, scenarios: list[str] | None = None) -> Outputs:
    """Read a finished run's output folder (checked) as tidy pandas DataFrames.

    Parameters
    ----------
    folder
        The ``--out`` folder of ``sendsim run`` or ``sendsim sweep``.
    scenarios
        The scenarios to read (default all of them).

    Returns
    -------
    Outputs
        Attributes ``manifest``, ``deficit`` (run level), ``finance``, ``difference``,
        ``summary``, ``difference_summary``, ``exceedance``, ``scenario_table``, ``stock``,
        ``cost``, ``pipeline``, ``flows`` (each loaded when first used), and the methods
        :meth:`Outputs.stock_totals` and :meth:`Outputs.exceedance_probability`.

    Raises
    ------
    ReadError
        The folder is not a finished sendsim run, or a file in it is missing, damaged or edited
        (the message names the file and what to change).
    """
    return Outputs(folder, scenarios)
