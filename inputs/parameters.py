"""Read and validate parameter files (the format is described in docs/parameters.md).

:func:`read_parameter_rows` parses and checks one file row by row; :func:`build_parameter_set`
expands rows (in order, later rows overriding earlier ones) into the dense, dated arrays the
engine compiles; every rule broken is an :class:`~inputs.errors.InputError` naming the file,
the line, the column and the rule.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import check_header, parse_csv_text, read_csv_table
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import DIMENSION_LABELS, KIND_RANGES, SCHEMA, ParameterSet, ParameterValues, parameter_shape

COLUMNS: tuple[str, ...] = ("parameter", "date", "age", "need", "placement", "to", "transfer", "reason", "value",
                            "source", "note")
DIMENSION_COLUMNS: tuple[str, ...] = ("age", "need", "placement", "to", "transfer", "reason")
REQUIRED_COLUMNS: tuple[str, ...] = ("parameter", "value")
_DATE = re.compile(r"^(\d{4})-(\d{2})$")
_AGE_RANGE = re.compile(r"^(\d{1,2})\s*-\s*(\d{1,2})$")
REST = "rest"
NO_LIMIT = -1.0  # the value of `places` meaning "no limit"
DISTRIBUTION_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ParameterRow:
    """One validated row: which cells it sets (an index per dimension), from when, to what."""

    file: str
    line: int
    parameter: str
    year_month: tuple[int, int] | None  # None: from the start
    selectors: tuple[tuple[int, ...], ...]  # per dimension of the parameter: the indices covered
    value: float  # NaN means "rest"
    source: str

    @property
    def is_rest(self) -> bool:
        return math.isnan(self.value)


# Names a modeller may look for among the engine's parameters, and where they live instead.
NOT_ENGINE_PARAMETERS = {
    "price_growth": ("price_growth is not an engine parameter: the engine costs at base prices and the money model "
                     "applies price growth from the finance inputs (cost_growth and placement_cost_weight rows, see "
                     "docs/money.md); change those with --finance instead"),
}


def _column_dimension(parameter: str, column: str) -> str | None:
    """The schema dimension a CSV column stands for, for this parameter (None: not used)."""
    dims = SCHEMA[parameter].dims
    if column == "to":
        for d in ("to", "to_move"):
            if d in dims:
                return d
        return None
    return column if column in dims else None


def _parse_selector(text: str, dimension: str, file: str, line: int, column: str) -> tuple[int, ...]:
    labels = DIMENSION_LABELS[dimension]
    text = text.strip()
    if text == "" or text.lower() == "all":
        return tuple(range(len(labels)))
    if dimension == "age":
        match = _AGE_RANGE.match(text)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if not (0 <= low <= high <= codes.MAX_AGE):
                raise InputError(file, f"age range {text!r} must lie within 0-{codes.MAX_AGE} with low <= high",
                                 row=line, column=column)
            return tuple(range(low, high + 1))
        if text.isdigit() and 0 <= int(text) <= codes.MAX_AGE:
            return (int(text),)
        raise InputError(file, f"age {text!r} must be 0..{codes.MAX_AGE}, a range like 11-15, or all",
                         row=line, column=column)
    if text in labels:
        return (labels.index(text),)
    raise InputError(file, f"unknown {dimension} code {text!r}; expected one of {', '.join(labels)} or all",
                     row=line, column=column)


def read_parameter_rows(path: str | Path, text: str | None = None) -> list[ParameterRow]:
    """Parse and check a parameter CSV row by row.

    Parameters
    ----------
    path
        The file (named in errors).
    text
        The file's text, if already read (otherwise it is read from ``path``).

    Raises
    ------
    InputError
        Missing or unknown columns, unknown parameters or codes, malformed dates or numbers,
        values outside the parameter's range, a dimension given that the parameter lacks.
    """
    file = str(path)
    table = read_csv_table(path) if text is None else parse_csv_text(file, text)
    check_header(table, REQUIRED_COLUMNS, COLUMNS)
    if table.n == 0:
        raise InputError(file, "the file has a header but no parameter rows")
    columns = {name: table.cells[name].to_pylist() for name in table.header}
    rows: list[ParameterRow] = []
    for j in range(table.n):
        line_number = int(table.rows[j])
        cell = {name: values[j] for name, values in columns.items()}
        name = cell["parameter"]
        if name in NOT_ENGINE_PARAMETERS:
            raise InputError(file, NOT_ENGINE_PARAMETERS[name], row=line_number, column="parameter")
        if name not in SCHEMA:
            close = difflib.get_close_matches(name, list(SCHEMA), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(file, f"unknown parameter {name!r}{hint} (see docs/parameters.md or `sendsim params`)",
                             row=line_number, column="parameter")
        spec = SCHEMA[name]
        year_month = None
        date_text = cell.get("date", "")
        if date_text:
            match = _DATE.match(date_text)
            if not match or not 1 <= int(match.group(2)) <= 12:
                raise InputError(file, f"date {date_text!r} must be a month YYYY-MM", row=line_number,
                                 column="date")
            year_month = (int(match.group(1)), int(match.group(2)))
        for column in DIMENSION_COLUMNS:
            text_value = cell.get(column, "")
            if _column_dimension(name, column) is None and text_value and text_value.lower() != "all":
                raise InputError(file, f"parameter {name} has no {column} dimension; leave the column blank",
                                 row=line_number, column=column)
        selectors = []
        for dimension in spec.dims:
            column = "to" if dimension in ("to", "to_move") else dimension
            selectors.append(_parse_selector(cell.get(column, ""), dimension, file, line_number, column))
        raw = cell["value"]
        if raw.lower() == REST:
            if not spec.distribution:
                raise InputError(file, f"'rest' is only allowed in distributions; {name} is not one",
                                 row=line_number, column="value")
            if len(selectors[-1]) != 1:
                raise InputError(file, "a 'rest' cell must name exactly one destination", row=line_number,
                                 column="to" if spec.dims[-1] in ("to", "to_move") else spec.dims[-1])
            value = math.nan
        else:
            value = _parse_value(raw, name, file, line_number)
        if name == "places" and value != NO_LIMIT:
            # The engine keeps waiting lists (and checks capacity) for srp and special only: a
            # limit elsewhere would strand children with no way to a place.
            others = [codes.PLACEMENTS[p] for p in selectors[0] if p not in codes.CAPACITY_LIMITED]
            if others:
                limited = ", ".join(codes.PLACEMENTS[p] for p in codes.CAPACITY_LIMITED)
                raise InputError(file, f"places can be limited only for {limited}; this row sets "
                                 f"{', '.join(others)} to {raw} (use -1, no limit, or name the placement)",
                                 row=line_number, column="placement")
        rows.append(ParameterRow(file, line_number, name, year_month, tuple(selectors), value,
                                 cell.get("source", "")))
    return rows


def _parse_value(raw: str, name: str, file: str, line: int) -> float:
    """A parameter value: a finite number in the range of the parameter's kind."""
    spec = SCHEMA[name]
    if raw == "":
        raise InputError(file, "is blank; a number (or 'rest' in a distribution) is required", row=line,
                         column="value")
    try:
        value = float(raw)
    except ValueError:
        raise InputError(file, f"value {raw!r} is not a number", row=line, column="value") from None
    if not math.isfinite(value):
        raise InputError(file, f"value {raw!r} must be a finite number", row=line, column="value")
    low, high, integer = KIND_RANGES[spec.kind]
    if not low <= value <= high:
        what = {"probability": "a probability", "gbp": "a cost in GBP", "count": "a count",
                "places": "a number of places (-1: no limit)", "rate": "a rate"}.get(spec.kind, f"a {spec.kind}")
        raise InputError(file, f"{name} is {what}: value {raw} must lie in [{low:g}, {high:g}]", row=line,
                         column="value")
    if integer and value != int(value):
        raise InputError(file, f"{name} must be a whole number, got {raw}", row=line, column="value")
    return value


def check_dates_in_run(rows: list[ParameterRow], calendar: Calendar) -> None:
    """A row dated after the last month of the run would have no effect: for a modeller's own
    file that is almost always a typing error (2205-04 for 2025-04) or a run too short for
    the change it studies, so it is an error. Rows dated before the start apply from the
    start, as docs/parameters.md says."""
    last = calendar.label(calendar.n_months - 1)
    for row in rows:
        if row.year_month is not None and calendar.month_index(*row.year_month) >= calendar.n_months:
            raise InputError(row.file, f"date {row.year_month[0]:04d}-{row.year_month[1]:02d} is after the end of "
                             f"the run ({calendar.label(0)} to {last}): the row would have no effect; correct the "
                             "date or run more --months", row=row.line, column="date")


def _month_of(row: ParameterRow, calendar: Calendar) -> int:
    if row.year_month is None:
        return 0
    return max(0, calendar.month_index(*row.year_month))


def build_parameter_set(rows: list[ParameterRow], calendar: Calendar, *, require_complete: bool = True,
                        only: tuple[str, ...] | None = None) -> ParameterSet:
    """Expand rows into a complete, validated parameter set for the run's calendar.

    Rows dated after the end of the run are ignored (they cannot matter). ``only``: build just
    these parameters (the others are left out).
    """
    by_parameter: dict[str, list[ParameterRow]] = {}
    for row in rows:
        if _month_of(row, calendar) < calendar.n_months:
            by_parameter.setdefault(row.parameter, []).append(row)
    parameter_set: ParameterSet = {}
    for name, spec in SCHEMA.items():
        if only is not None and name not in only:
            continue
        shape = parameter_shape(name)
        own = by_parameter.get(name, [])
        if not own:
            if spec.optional_default is None:
                if require_complete:
                    files = sorted({r.file for r in rows}) or ["(no file)"]
                    raise InputError(", ".join(files), f"required parameter {name} has no rows ({spec.description})")
                continue
            parameter_set[name] = ParameterValues(np.array([0]), np.full((1,) + shape, spec.optional_default))
            continue
        starts, ordered, grids = epoch_grids(name, own, calendar)
        values = np.empty((len(starts),) + shape)
        for k, (start, (grid, setter)) in enumerate(zip(starts, grids)):
            if np.isnan(grid).any() and spec.optional_default is None and not spec.distribution:
                missing = tuple(int(i) for i in np.argwhere(np.isnan(grid))[0])
                own_files = ", ".join(sorted({r.file for r in own}))
                raise InputError(own_files, f"parameter {name}: no value for {_describe(name, missing)} "
                                 f"in force from {calendar.label(start)}; add a row covering it")
            if spec.distribution:
                grid = _resolve_distribution(name, grid, setter, ordered, calendar.label(start))
            values[k] = grid
        parameter_set[name] = ParameterValues(np.array(starts, dtype=np.int64), values)
    return parameter_set


def epoch_grids(name: str, own: list[ParameterRow], calendar: Calendar
                ) -> tuple[list[int], list[ParameterRow], list[tuple[np.ndarray, np.ndarray]]]:
    """The rows of parameter ``name`` (``own``, in file order, none dated after the run) laid out
    epoch by epoch, before checks and 'rest' cells: the months at which the parameter changes,
    the rows in the order they apply, and per epoch the grid of values and the ``setter`` of
    each cell (1 + the index in that order of the row that set it; 0: none)."""
    spec = SCHEMA[name]
    shape = parameter_shape(name)
    starts = sorted({0} | {_month_of(r, calendar) for r in own})
    # Stable sort by effective month keeps file order among rows of the same month.
    ordered = sorted(own, key=lambda r: _month_of(r, calendar))
    grids = []
    for start in starts:
        grid = np.full(shape, np.nan if spec.optional_default is None else spec.optional_default)
        # Which row set each cell: 1 + its index in ``ordered`` (0: none). Rows may come from
        # several files (baseline, overrides), so errors name the file of the row at fault.
        setter = np.zeros(shape, dtype=np.int64)
        for k_row, row in enumerate(ordered):
            if _month_of(row, calendar) > start:
                break
            index = _index(row.selectors)
            grid[index] = row.value
            setter[index] = k_row + 1
        grids.append((grid, setter))
    return starts, ordered, grids


def resolve_distribution(name: str, grid: np.ndarray, setter: np.ndarray, ordered: list[ParameterRow],
                         when: str) -> np.ndarray:
    """Fill the 'rest' cells of a distribution's grid and check its rows (see
    :func:`_resolve_distribution`); the grid may have extra leading axes (several draws at
    once), ``setter`` the grid's shape."""
    return _resolve_distribution(name, grid, setter, ordered, when)


@lru_cache(maxsize=8192)
def _index(selectors: tuple[tuple[int, ...], ...]) -> tuple:
    """The cells a row covers, as an index: slices where the values are a contiguous range
    (always, for rows read from files: one value, a range or all), which is basic indexing
    and far cheaper than the outer product np.ix_ builds."""
    if all(len(sel) and sel[-1] - sel[0] + 1 == len(sel) for sel in selectors):
        return tuple(slice(sel[0], sel[-1] + 1) for sel in selectors)
    return np.ix_(*selectors) if selectors else ()


def _describe(name: str, cell: tuple[int, ...]) -> str:
    dims = SCHEMA[name].dims
    parts = [f"{('to' if d == 'to_move' else d)}={DIMENSION_LABELS[d][i]}" for d, i in zip(dims, cell)]
    return ", ".join(parts) if parts else "the value"


def _lines(rows: list[ParameterRow]) -> str:
    """Where rows are: "lines 2, 3" in one file, "a.csv line 2, b.csv line 5" across files."""
    if len({r.file for r in rows}) == 1 and all(r.line > 0 for r in rows):
        return "line" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r.line) for r in rows)
    # Line 0: a row that is not a line of a file (a draw's value): the file names the place.
    return ", ".join(f"{r.file} line {r.line}" if r.line > 0 else r.file for r in rows)


def _resolve_distribution(name: str, grid: np.ndarray, setter: np.ndarray, ordered: list[ParameterRow],
                          when: str) -> np.ndarray:
    """Fill 'rest' cells and check that every row over the last axis sums to 1. ``setter``
    holds, per cell, 1 + the index in ``ordered`` of the row that set it (0: none).

    All rows at once; only a row that breaks a rule goes through :func:`_resolve_rows`, which
    words the error exactly (the first such row, as a row-by-row check would find it)."""
    flat = grid.reshape(-1, grid.shape[-1]).copy()
    set_by = setter.reshape(-1, grid.shape[-1])
    unset = set_by == 0
    rest = np.isnan(flat) & ~unset
    n_rest = rest.sum(axis=1)
    known = np.where(rest | unset, 0.0, flat).sum(axis=1)
    remainder = 1.0 - known
    bad = (unset.all(axis=1) | (n_rest > 1) | ((n_rest == 1) & (remainder < -DISTRIBUTION_TOLERANCE))
           | ((n_rest == 0) & (np.abs(known - 1.0) > DISTRIBUTION_TOLERANCE)))
    if bad.any():
        first = int(np.argmax(bad))
        _resolve_rows(name, grid, setter, ordered, when, rows=range(first, first + 1))
    flat[unset] = 0.0
    rows, columns = np.nonzero(rest)
    flat[rows, columns] = np.maximum(remainder[rows], 0.0)
    return flat.reshape(grid.shape)


def _resolve_rows(name: str, grid: np.ndarray, setter: np.ndarray, ordered: list[ParameterRow], when: str,
                  rows: range) -> np.ndarray:
    """Row-by-row version of :func:`_resolve_distribution` over ``rows`` (raises the error of
    the first row that breaks a rule)."""
    flat = grid.reshape(-1, grid.shape[-1]).copy()
    set_by = setter.reshape(-1, grid.shape[-1])
    row_shape = grid.shape[:-1]
    dims = SCHEMA[name].dims
    files = ", ".join(sorted({r.file for r in ordered}))
    for r in rows:
        cell = np.unravel_index(r, row_shape) if row_shape else ()
        row = flat[r]
        rest = np.flatnonzero(np.isnan(row) & (set_by[r] > 0))
        unset = np.flatnonzero(set_by[r] == 0)
        where = _describe(name, tuple(int(c) for c in cell) + (0,)).rsplit(", ", 1)[0] if dims[:-1] else "the value"
        if unset.size == row.size:
            raise InputError(files, f"parameter {name}: no values for {where} in force from {when}; "
                             f"add rows covering it")
        row[unset] = 0.0
        if rest.size > 1:
            rest_rows = [ordered[set_by[r][j] - 1] for j in rest]
            raise InputError(rest_rows[-1].file, f"parameter {name}: more than one 'rest' cell for {where} "
                             f"({_lines(rest_rows)})", row=rest_rows[-1].line, column="value")
        known = np.nansum(row)
        if rest.size == 1:
            remainder = 1.0 - known
            rest_row = ordered[set_by[r][rest[0]] - 1]
            if remainder < -DISTRIBUTION_TOLERANCE:
                raise InputError(rest_row.file, f"parameter {name}: the other cells for {where} already sum to "
                                 f"{known:.6g} > 1, so 'rest' would be negative", row=rest_row.line, column="value")
            row[rest[0]] = max(remainder, 0.0)
        elif abs(known - 1.0) > DISTRIBUTION_TOLERANCE:
            contributing = [ordered[k - 1] for k in sorted({int(x) for x in set_by[r] if x > 0})]
            last = contributing[-1]
            raise InputError(last.file, f"parameter {name}: values for {where} sum to {known:.6g}, not 1 "
                             f"(set on {_lines(contributing)})", row=last.line, column="value")
    return flat.reshape(grid.shape)


def overlay_parameter_set(base: ParameterSet, base_rows: list[ParameterRow], extra_rows: list[ParameterRow],
                          calendar: Calendar) -> ParameterSet:
    """The parameter set of ``base_rows + extra_rows``, given ``base`` (the set of
    ``base_rows``): only the parameters the extra rows touch are rebuilt (from their base rows
    and the extra rows, in that order); the others are shared with ``base``. The same result
    as building everything again, at a fraction of the cost (scenarios, sweeps)."""
    touched = sorted({row.parameter for row in extra_rows})
    if not touched:
        return base
    rows = [r for r in base_rows if r.parameter in touched] + list(extra_rows)
    out = dict(base)
    out.update(build_parameter_set(rows, calendar, only=tuple(touched)))
    return out


def load_parameter_set(paths: list[str | Path], calendar: Calendar) -> ParameterSet:
    """Read parameter files in order (later files override earlier ones) into a parameter set."""
    rows: list[ParameterRow] = []
    for path in paths:
        rows.extend(read_parameter_rows(path))
    return build_parameter_set(rows, calendar)
