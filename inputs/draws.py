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

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from inputs.errors import InputError
from inputs.files import PARQUET_MAGIC, read_bytes, read_text
from inputs.parameters import DIMENSION_COLUMNS, ParameterRow, build_parameter_set, read_parameter_rows
from simcore.engine import Calendar
from simcore.model import SCHEMA, KIND_RANGES, ParameterSet

_COLUMN = re.compile(r"^([a-z_]+)(?:@(.*))?$")
_ALLOWED_KEYS = DIMENSION_COLUMNS + ("date",)


@dataclass
class Draws:
    """Parsed draws: the override template of each column and the values, [draws, columns]."""

    file: str
    columns: list[str]
    templates: list[ParameterRow]  # the row each column stands for (value to be filled in)
    values: np.ndarray             # float64 [n_draws, n_columns]

    @property
    def n_draws(self) -> int:
        return int(self.values.shape[0])


def is_draws_file(path: str | Path) -> bool:
    """A --params file is a draws table when it is Parquet (a parameter file is CSV)."""
    return Path(path).suffix.lower() == ".parquet"


def _template(file: str, column: str) -> ParameterRow:
    """The parameter row a column name stands for (parsed with the parameter-file rules)."""
    match = _COLUMN.match(column)
    if not match:
        raise InputError(file, "a draws column must be PARAMETER or PARAMETER@dim=value,...", column=column)
    name, spec = match.group(1), match.group(2) or ""
    if name not in SCHEMA:
        raise InputError(file, f"unknown parameter {name!r}", column=column)
    cells = {key: "" for key in ("parameter",) + _ALLOWED_KEYS + ("value", "source", "note")}
    cells["parameter"] = name
    cells["value"] = "0"
    if spec:
        for part in spec.split(","):
            if "=" not in part:
                raise InputError(file, f"{part!r} must be dim=value", column=column)
            key, value = (x.strip() for x in part.split("=", 1))
            if key not in _ALLOWED_KEYS:
                raise InputError(file, f"unknown dimension {key!r}; allowed: {', '.join(_ALLOWED_KEYS)}",
                                 column=column)
            cells[key] = value
    header = ",".join(cells)
    line = ",".join(f'"{v}"' for v in cells.values())
    try:
        (row,) = read_parameter_rows(file, header + "\n" + line + "\n")
    except InputError as error:
        raise InputError(file, f"column {column!r}: {error.rule}", column=column) from None
    return row


def load_draws(path: str | Path) -> Draws:
    """Read and check a draws table (Parquet, or CSV with the same layout)."""
    file = str(path)
    data = read_bytes(path)
    if Path(path).suffix.lower() == ".parquet":
        if not data.startswith(PARQUET_MAGIC):
            raise InputError(file, "is not a Parquet file although its extension says so")
        import pyarrow.parquet as pq
        try:
            frame = pq.read_table(io.BytesIO(data)).to_pandas()
        except Exception as error:  # pyarrow raises several types for corrupt files
            raise InputError(file, f"cannot be read as Parquet ({type(error).__name__}: {error})") from None
    else:
        frame = pd.read_csv(io.StringIO(read_text(path, data)))
    if len(frame) == 0:
        raise InputError(file, "has no draws (no rows)")
    if "draw" in frame.columns:
        if not np.array_equal(frame["draw"].to_numpy(), np.arange(len(frame))):
            raise InputError(file, "column 'draw' must number the rows 0, 1, 2, ... in order", column="draw")
        frame = frame.drop(columns=["draw"])
    if frame.shape[1] == 0:
        raise InputError(file, "has no parameter columns")
    columns = [str(c) for c in frame.columns]
    templates = [_template(file, c) for c in columns]
    values = np.empty(frame.shape, dtype=np.float64)
    for k, (column, template) in enumerate(zip(columns, templates)):
        try:
            values[:, k] = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64)
        except (ValueError, TypeError):
            raise InputError(file, "holds a value that is not a number", column=column) from None
        spec = SCHEMA[template.parameter]
        low, high, integer = KIND_RANGES[spec.kind]
        bad = ~np.isfinite(values[:, k]) | (values[:, k] < low) | (values[:, k] > high)
        if integer:
            bad |= values[:, k] != np.round(values[:, k])
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InputError(file, f"draw {r}: value {values[r, k]!r} is outside the range of a {spec.kind} "
                             f"[{low:g}, {high:g}]", row=r + 2, column=column)
    return Draws(file, columns, templates, values)


def parameter_sets_for_draws(base_rows: list[ParameterRow], draws: Draws, draw_numbers: np.ndarray,
                             calendar: Calendar, base: ParameterSet | None = None) -> list[ParameterSet]:
    """The parameter set of each draw in ``draw_numbers``: the baseline rows, then the draw's
    overrides as rows at the end (so they win). Only the parameters a draw touches are
    rebuilt; the others are shared with ``base`` (the baseline set, built if not given)."""
    if base is None:
        base = build_parameter_set(base_rows, calendar)
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
                    rows.append(ParameterRow(template.file, template.line, name, template.year_month,
                                             template.selectors, float(draws.values[d, k]), f"draw {d}"))
            try:
                parameter_set[name] = build_parameter_set(rows, calendar, only=(name,))[name]
            except InputError as error:
                raise InputError(draws.file, f"draw {d}: {error.rule}", row=d + 2) from None
        out.append(parameter_set)
    return out


def write_draws(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a draws table (one row per draw, override columns) as Parquet."""
    for column in frame.columns:
        if column != "draw":
            _template(str(path), str(column))
    frame.to_parquet(path, index=False)

