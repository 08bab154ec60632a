"""Parameter draws: one parameter set per Monte Carlo run (probabilistic sensitivity analysis).

A draws file is a Parquet (or CSV) table with one row per draw and one column per override.
A column name is a parameter row written compactly::

    p_assess                                   every cell of a parameter with no dimensions
    review_cease@age=16-19                     the cells a parameter-file row with age 16-19 covers
    move@age=all,placement=mainstream,to=special
    p_assess@date=2025-04                      a dated override

Each value overrides, for that draw, exactly what a row of a parameter CSV with those
dimension values would (docs/parameters.md), on top of the baseline. ``rest`` cells of
distributions are recomputed after the override, so a draw may change the off-diagonal of a
``move`` row and the stay probability follows. Run ``r`` uses draw ``r`` (runs beyond the last
draw are an error). Optional column ``draw``: the draw number (0, 1, ...), checked if present.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import TextTable, read_table
from sendsim.inputs.parameters import (
    DIMENSION_COLUMNS,
    NOT_ENGINE_PARAMETERS,
    ParameterRow,
    build_parameter_set,
    epoch_grids,
    read_parameter_rows,
    resolve_distribution,
)
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import KIND_RANGES, SCHEMA, ParameterSet, ParameterValues

_COLUMN = re.compile(r"^([a-z_]+)(?:@(.*))?$")
_ALLOWED_KEYS = DIMENSION_COLUMNS + ("date",)


@dataclass
class Draws:
    """Parsed draws: the override template of each column and the values, [draws, columns].

    ``rows[d]`` is where draw ``d`` is in the file (a CSV line, or a 1-based Parquet row, as
    ``row_label`` says), so that an error in a draw names its place in the file.
    """

    file: str
    columns: list[str]
    templates: list[ParameterRow]  # the row each column stands for (value to be filled in)
    values: np.ndarray             # float64 [n_draws, n_columns]
    rows: np.ndarray | None = None
    row_label: str = "line"
    # Layouts of the touched parameters (:class:`_DrawLayout`), per base rows and calendar.
    _layouts: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_draws(self) -> int:
        return int(self.values.shape[0])

    def row_of(self, draw: int) -> int:
        """Where draw ``draw`` is in the file."""
        return int(self.rows[draw]) if self.rows is not None else draw + 2


def is_draws_file(path: str | Path) -> bool:
    """A --params file is a draws table when it is Parquet (a parameter file is CSV)."""
    return Path(path).suffix.lower() == ".parquet"


def _template_cells(file: str, column: str) -> dict[str, str]:
    """The cells of the parameter-file row a column name stands for (value 0)."""
    match = _COLUMN.match(column)
    if not match:
        raise InputError(file, "a draws column must be PARAMETER or PARAMETER@dim=value,...", column=column)
    name, spec = match.group(1), match.group(2) or ""
    if name in NOT_ENGINE_PARAMETERS:
        raise InputError(file, NOT_ENGINE_PARAMETERS[name], column=column)
    if name not in SCHEMA:
        close = difflib.get_close_matches(name, list(SCHEMA), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(file, f"unknown parameter {name!r}{hint}", column=column)
    cells = {key: "" for key in ("parameter",) + _ALLOWED_KEYS + ("value", "source", "note")}
    cells["parameter"] = name
    cells["value"] = "0"
    if spec:
        seen = set()
        for part in spec.split(","):
            if "=" not in part:
                raise InputError(file, f"{part!r} must be dim=value", column=column)
            key, value = (x.strip() for x in part.split("=", 1))
            if key not in _ALLOWED_KEYS:
                raise InputError(file, f"unknown dimension {key!r}; allowed: {', '.join(_ALLOWED_KEYS)}",
                                 column=column)
            if key in seen:
                raise InputError(file, f"dimension {key!r} is given twice", column=column)
            seen.add(key)
            cells[key] = value
    return cells


def _template(file: str, column: str) -> ParameterRow:
    """The parameter row a column name stands for (parsed with the parameter-file rules)."""
    cells = _template_cells(file, column)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(cells))
    writer.writerow(list(cells.values()))
    try:
        rows = read_parameter_rows(file, buffer.getvalue())
    except InputError as error:
        raise InputError(file, f"column {column!r}: {error.rule}", column=column) from None
    if len(rows) != 1:
        raise InputError(file, "a draws column must name one parameter row", column=column)
    return rows[0]


def _templates(file: str, columns: list[str]) -> list[ParameterRow]:
    """:func:`_template` of every column, parsed as one parameter file (a column that breaks a
    rule is then parsed on its own, so that the error names it)."""
    cells = [_template_cells(file, c) for c in columns]
    if not cells:
        return []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(cells[0]))
    for row in cells:
        writer.writerow(list(row.values()))
    try:
        rows = read_parameter_rows(file, buffer.getvalue())
    except InputError:
        rows = None
    if rows is None or len(rows) != len(columns):
        return [_template(file, c) for c in columns]
    return [replace(row, line=2) for row in rows]  # as each column parsed on its own (line 2) says


def _numbers(table: TextTable, column: str) -> np.ndarray:
    """A column of finite numbers (float64)."""
    values = table.column(column)
    blank = _mask(pc.equal(values, ""))
    if blank.any():
        raise table.error("is blank; every draw needs a value", int(np.flatnonzero(blank)[0]), column)
    try:
        numbers = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        for j, cell in enumerate(values.to_pylist()):
            try:
                float(cell)
            except ValueError:
                raise table.error(f"{cell!r} is not a number", j, column) from None
        raise table.error("holds a value that is not a number", None, column) from None
    bad = ~np.isfinite(numbers)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise table.error(f"{values[j].as_py()!r} is not a finite number", j, column)
    return numbers


def _mask(array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False).astype(bool)


def load_draws(path: str | Path) -> Draws:
    """Read and check a draws table (Parquet, or CSV with the same layout).

    Raises
    ------
    InputError
        Naming the file, the column (an unknown parameter or dimension, a value outside the
        parameter's range, not a number) and the draw's line (CSV) or row (Parquet).
    """
    table = read_table(path, "a draws table")
    file = table.file
    if any(name == "" for name in table.header):
        raise table.header_error(f"column {table.header.index('') + 1} has no name")
    repeated = sorted({name for name in table.header if table.header.count(name) > 1})
    if repeated:
        raise table.header_error(f"column(s) {', '.join(map(repr, repeated))} appear more than once")
    if table.n == 0:
        raise InputError(file, "has no draws (no rows)")
    columns = [name for name in table.header if name != "draw"]
    if "draw" in table.header:
        numbers = _numbers(table, "draw")
        if not np.array_equal(numbers, np.arange(table.n)):
            j = int(np.flatnonzero(numbers != np.arange(table.n))[0])
            raise table.error(f"column 'draw' must number the rows 0, 1, 2, ... in order; found "
                              f"{table.value('draw', j)} where {j} belongs", j, "draw")
    if not columns:
        raise InputError(file, "has no parameter columns")
    templates = _templates(file, columns)
    values = np.empty((table.n, len(columns)), dtype=np.float64)
    for k, (column, template) in enumerate(zip(columns, templates)):
        values[:, k] = _numbers(table, column)
        spec = SCHEMA[template.parameter]
        low, high, integer = KIND_RANGES[spec.kind]
        bad = (values[:, k] < low) | (values[:, k] > high)
        if integer:
            bad |= values[:, k] != np.round(values[:, k])
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise table.error(f"draw {r}: value {float(values[r, k]):g} is outside the range of a {spec.kind} "
                              f"[{low:g}, {high:g}]" + (" or not a whole number" if integer else ""), r, column)
    return Draws(file, columns, templates, values, table.rows.copy(), table.row_label)


def parameter_sets_for_draws(base_rows: list[ParameterRow], draws: Draws, draw_numbers: np.ndarray,
                             calendar: Calendar, base: ParameterSet | None = None) -> list[ParameterSet]:
    """The parameter set of each draw in ``draw_numbers``: the baseline rows, then the draw's
    overrides as rows at the end (so they win). Only the parameters a draw touches are
    rebuilt; the others are shared with ``base`` (the baseline set, built if not given).

    The rows of a touched parameter are the same for every draw but for the values of the
    draw's own rows, so their layout (which row sets which cell in each epoch) is worked out
    once (:class:`_DrawLayout`) and each draw only fills in its values and its 'rest' cells,
    all the draws asked for at once: the same sets as building each draw's rows one by one
    (:func:`_parameter_sets_row_by_row`, which words the error when a draw breaks a rule)."""
    draw_numbers = np.asarray(draw_numbers, dtype=np.int64).reshape(-1)
    if base is None:
        base = build_parameter_set(base_rows, calendar)
    key = (tuple(base_rows), calendar.start_year, calendar.start_month, calendar.n_months)
    layout = draws._layouts.get(key)
    if layout is None:
        layout = _DrawLayout(base_rows, draws, calendar)
        draws._layouts.clear()  # one layout at a time: a sweep's scenarios each bring their own rows
        draws._layouts[key] = layout
    in_range = bool(((draw_numbers >= 0) & (draw_numbers < draws.n_draws)).all())
    if layout.valid and in_range and draw_numbers.size:
        try:
            return layout.parameter_sets(base, draw_numbers)
        except InputError:
            pass  # a draw breaks a rule: found and worded row by row below
    return _parameter_sets_row_by_row(base_rows, draws, draw_numbers, calendar, base)


@dataclass
class _ParameterLayout:
    """One touched parameter: its epochs, and per epoch the grid with the base rows' values,
    the setter of each cell and, for each draw column that shows in the epoch, the cells
    it sets (flat indices) and the column's index."""

    name: str
    starts: np.ndarray
    ordered: list[ParameterRow]
    grids: list[np.ndarray]
    setters: list[np.ndarray]
    cells: list[list[tuple[int, np.ndarray]]]
    labels: list[str]


class _DrawLayout:
    """The layout of every parameter the draws touch, over the given base rows and calendar
    (see :func:`parameter_sets_for_draws`)."""

    def __init__(self, base_rows: list[ParameterRow], draws: Draws, calendar: Calendar) -> None:
        self.parameters: list[_ParameterLayout] = []
        self.valid = True
        touched = sorted({t.parameter for t in draws.templates})
        for name in touched:
            spec = SCHEMA[name]
            own = [r for r in base_rows if r.parameter == name and _in_run(r, calendar)]
            columns = [k for k, t in enumerate(draws.templates) if t.parameter == name]
            # The draw's rows carry their column's index as value: the grid then says which
            # column set which cell (the values are filled in per draw).
            marked = [ParameterRow(draws.file, 0, name, draws.templates[k].year_month,
                                   draws.templates[k].selectors, float(k), "draw") for k in columns]
            marked = [r for r in marked if _in_run(r, calendar)]
            starts, ordered, grids = epoch_grids(name, own + marked, calendar)
            position = {id(r): i for i, r in enumerate(ordered)}
            drawn = [(position[id(r)] + 1, int(r.value)) for r in marked]
            layout = _ParameterLayout(name, np.array(starts, dtype=np.int64), ordered, [], [], [],
                                      [calendar.label(start) for start in starts])
            for grid, setter in grids:
                cells = []
                for order, column in drawn:
                    flat = np.flatnonzero(setter.reshape(-1) == order)
                    if flat.size:
                        cells.append((column, flat))
                filled = grid.copy()
                for _, flat in cells:
                    filled.reshape(-1)[flat] = 0.0
                if np.isnan(filled).any() and spec.optional_default is None and not spec.distribution:
                    self.valid = False  # a cell no row covers: the row-by-row build words the error
                layout.grids.append(filled)
                layout.setters.append(setter)
                layout.cells.append(cells)
            self.parameters.append(layout)
        self.draws = draws

    def parameter_sets(self, base: ParameterSet, draw_numbers: np.ndarray) -> list[ParameterSet]:
        values = self.draws.values[draw_numbers]  # [D, columns]
        n = draw_numbers.size
        out = [dict(base) for _ in range(n)]
        for layout in self.parameters:
            spec = SCHEMA[layout.name]
            shape = layout.grids[0].shape
            stacked = np.empty((n, len(layout.grids)) + shape)
            for k, (grid, setter, cells) in enumerate(zip(layout.grids, layout.setters, layout.cells)):
                block = np.repeat(grid[None], n, axis=0).reshape(n, -1)
                for column, flat in cells:
                    block[:, flat] = values[:, column][:, None]
                block = block.reshape((n,) + shape)
                if spec.distribution:
                    block = resolve_distribution(layout.name, block, np.broadcast_to(setter, block.shape),
                                                 layout.ordered, layout.labels[k])
                stacked[:, k] = block
            for j in range(n):
                out[j][layout.name] = ParameterValues(layout.starts.copy(), stacked[j])
        return out


def _in_run(row: ParameterRow, calendar: Calendar) -> bool:
    return row.year_month is None or calendar.month_index(*row.year_month) < calendar.n_months


def _parameter_sets_row_by_row(base_rows: list[ParameterRow], draws: Draws, draw_numbers: np.ndarray,
                               calendar: Calendar, base: ParameterSet) -> list[ParameterSet]:
    """:func:`parameter_sets_for_draws` built draw by draw from rows (the error of a draw that
    breaks a rule names its place in the file)."""
    touched = sorted({t.parameter for t in draws.templates})
    base_by_parameter = {name: [r for r in base_rows if r.parameter == name] for name in touched}
    out = []
    for d in draw_numbers:
        d = int(d)
        if not 0 <= d < draws.n_draws:
            raise InputError(draws.file, f"run {d} needs draw {d}, but the file has {draws.n_draws} draws; "
                             "give at most as many runs as draws")
        parameter_set = dict(base)
        for name in touched:
            rows = list(base_by_parameter[name])
            for k, template in enumerate(draws.templates):
                if template.parameter == name:
                    # Where the value is: the draw's row and the column (line 0: not a file line).
                    where = f"{draws.file} {draws.row_label} {draws.row_of(d)} column {draws.columns[k]!r}"
                    rows.append(ParameterRow(where, 0, name, template.year_month, template.selectors,
                                             float(draws.values[d, k]), f"draw {d}"))
            try:
                parameter_set[name] = build_parameter_set(rows, calendar, only=(name,))[name]
            except InputError as error:
                raise InputError(draws.file, f"draw {d}: {error.rule}", row=draws.row_of(d),
                                 row_label=draws.row_label) from None
        out.append(parameter_set)
    return out


def write_draws(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a draws table (one row per draw, override columns) as Parquet."""
    for column in frame.columns:
        if column != "draw":
            _template(str(path), str(column))
    frame.to_parquet(path, index=False)

