"""The calibrated draws as a draws file: one row per draw, one column per parameter cell.

A column is a parameter-file row written compactly (``inputs/draws.py``): ``p_assess``,
``review_cease@age=20-25``, ``move@age=4-10,placement=mainstream,to=special``. The columns
are found from the draws' parameter arrays: every cell that differs from the baseline in some
draw, with consecutive ages merged when every draw has the same value at those ages, and the
need dimension written as ``all`` when no draw depends on need. So the file is exactly the
forecast parameter sets the calibration simulated, which :func:`verify` checks by reading it
back through the same code ``sendsim run --params`` uses.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.inputs.draws import load_draws, parameter_sets_for_draws, write_draws
from sendsim.inputs.parameters import ParameterRow
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import DIMENSION_LABELS, SCHEMA, ParameterSet

# A cell counts as changed, and a draw's value as equal across ages, within this tolerance.
SAME_VALUE = 1e-15
# Read back, a draw's parameter arrays must equal the calibration's within this (the loader
# recomputes 'rest' cells as 1 minus the others).
VERIFY_TOLERANCE = 1e-9
_KEY_OF_DIMENSION = {"age": "age", "need": "need", "placement": "placement", "to": "to", "to_move": "to",
                     "transfer": "transfer", "reason": "reason"}


def _age_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def rest_cells(rows: list[ParameterRow], name: str) -> np.ndarray:
    """Cells of parameter ``name`` whose undated baseline value is 'rest' (1 minus the others)."""
    mask = np.zeros(tuple(len(DIMENSION_LABELS[d]) for d in SCHEMA[name].dims), dtype=bool)
    for row in rows:
        if row.parameter == name and row.year_month is None:
            mask[np.ix_(*row.selectors) if row.selectors else ()] = row.is_rest
    return mask


def parameter_columns(name: str, base: np.ndarray, draws: np.ndarray,
                      rest: np.ndarray | None = None) -> list[tuple[str, np.ndarray]]:
    """Columns (name, values [D]) that turn ``base`` (one epoch's cells) into each draw's cells.

    Parameters
    ----------
    name
        Parameter name.
    base
        Baseline values of the first epoch (the shape of the parameter).
    draws
        Each draw's values of the first epoch [D, shape...].
    rest
        Cells the baseline sets as 'rest': never written (the loader recomputes them as 1
        minus the others, which is the draw's value).
    """
    dims = list(SCHEMA[name].dims)
    base = np.asarray(base, dtype=float)
    draws = np.asarray(draws, dtype=float)
    rest = np.zeros(base.shape, dtype=bool) if rest is None else rest
    if "need" in dims:
        axis = dims.index("need")
        constant = (np.abs(draws - np.take(draws, [0], axis=axis + 1)).max() <= SAME_VALUE
                    and np.abs(base - np.take(base, [0], axis=axis)).max() <= SAME_VALUE
                    and (rest == np.take(rest, [0], axis=axis)).all())
        if constant:  # written with need = all
            draws = np.take(draws, 0, axis=axis + 1)
            base = np.take(base, 0, axis=axis)
            rest = np.take(rest, 0, axis=axis)
            dims.pop(axis)
    if not dims:
        if np.abs(draws - base).max() <= SAME_VALUE:
            return []
        return [(name, draws.reshape(-1))]
    changed = (np.abs(draws - base[None]) > SAME_VALUE).any(axis=0) & ~rest
    columns = []
    if dims[0] == "age":
        rest_shape = base.shape[1:]
        for index in np.ndindex(*rest_shape) if rest_shape else [()]:
            ages = np.flatnonzero(changed[(slice(None),) + index])
            if ages.size == 0:
                continue
            run_start = ages[0]
            for j in range(1, ages.size + 1):
                a = ages[j] if j < ages.size else None
                same = (a is not None and a == ages[j - 1] + 1 and
                        np.abs(draws[(slice(None), a) + index] - draws[(slice(None), run_start) + index]).max()
                        <= SAME_VALUE)
                if not same:
                    last = ages[j - 1]
                    keys = [f"age={_age_text(int(run_start), int(last))}"] + [
                        f"{_KEY_OF_DIMENSION[d]}={DIMENSION_LABELS[d][i]}" for d, i in zip(dims[1:], index)]
                    columns.append((f"{name}@{','.join(keys)}", draws[(slice(None), run_start) + index].copy()))
                    run_start = a
    else:
        for index in zip(*np.nonzero(changed)):
            keys = [f"{_KEY_OF_DIMENSION[d]}={DIMENSION_LABELS[d][i]}" for d, i in zip(dims, index)]
            columns.append((f"{name}@{','.join(keys)}", draws[(slice(None),) + tuple(index)].copy()))
    return columns


def draws_frame(base: ParameterSet, sets: list[ParameterSet], base_rows: list[ParameterRow]) -> pd.DataFrame:
    """The draws table of forecast parameter sets built on ``base`` from ``base_rows`` (later
    epochs must be untouched)."""
    data: dict[str, np.ndarray] = {"draw": np.arange(len(sets))}
    for name in SCHEMA:
        values = np.stack([s[name].values for s in sets])  # [D, E, ...]
        base_values = base[name].values
        if values.shape[1:] != base_values.shape:
            raise ValueError(f"parameter {name}: draws changed its effective dates")
        if values.shape[1] > 1 and np.abs(values[:, 1:] - base_values[None, 1:]).max() > SAME_VALUE:
            raise ValueError(f"parameter {name}: a draw changes a dated value (only the first epoch can be a column)")
        rest = rest_cells(base_rows, name) if SCHEMA[name].distribution else None
        for column, column_values in parameter_columns(name, base_values[0], values[:, 0], rest):
            data[column] = column_values
    return pd.DataFrame(data)


def write(frame: pd.DataFrame, path: str | Path) -> None:
    write_draws(frame, path)


def verify(path: str | Path, base_rows: list[ParameterRow], sets: list[ParameterSet], calendar: Calendar,
           sample: np.ndarray | None = None) -> float:
    """Read the draws file back as ``sendsim run --params`` does and compare with ``sets``.

    Returns the largest absolute difference over every parameter of the checked draws.

    Raises
    ------
    ValueError
        When a draw read back differs by more than :data:`VERIFY_TOLERANCE`.
    """
    draws = load_draws(path)
    numbers = np.arange(len(sets)) if sample is None else np.asarray(sample)
    read = parameter_sets_for_draws(base_rows, draws, numbers, calendar)
    worst = 0.0
    for d, read_set in zip(numbers, read):
        for name in SCHEMA:
            a, b = read_set[name], sets[int(d)][name]
            if not np.array_equal(a.starts, b.starts):
                raise ValueError(f"draw {d}, {name}: effective dates differ when read back")
            difference = float(np.abs(a.values - b.values).max()) if a.values.size else 0.0
            worst = max(worst, difference)
            if difference > VERIFY_TOLERANCE:
                raise ValueError(f"draw {d}, {name}: read back differs by {difference:g}")
    return worst
