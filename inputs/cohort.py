"""Read and validate a cohort file (CSV or Parquet, one row per child or open request).

Columns
-------
``child_id``            whole number >= 0, unique: the child's stable identity (and RNG key)
``birth_month``         ``YYYY-MM`` (a full date ``YYYY-MM-DD`` is accepted; the day is ignored)
``placement``           placement code; blank for a request still in the assessment pipeline
``need``                primary need code
``months_since_review`` whole months since the last annual review (or since the plan was issued)
optional:
``status``              ``active`` (default), or a pipeline stage: ``request_pending``,
                        ``assessment``, ``appeal_refusal``, ``appeal_decline``
``stage_months``        months in the current pipeline stage, or waiting for a place (default 0)
``waiting_for``         placement a child is waiting for (``srp`` or ``special``), or blank
``annual_cost_gbp``     the child's annual cost at base prices; blank: drawn from the unit cost

Every rule broken is an :class:`~inputs.errors.InputError` naming the file, the line (CSV;
the header is line 1) or row (Parquet), the column and the rule. The checks are vectorised:
an England-size cohort (640,000 rows) is checked in about a second.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import TextTable, check_header, read_table
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort

REQUIRED = ("child_id", "birth_month", "placement", "need", "months_since_review")
OPTIONAL = ("status", "stage_months", "waiting_for", "annual_cost_gbp")
ALLOWED = REQUIRED + OPTIONAL
COHORT_STATUSES = ("active", "request_pending", "assessment", "appeal_refusal", "appeal_decline")
MAX_CHILD_ID = 2**60  # keys above this are reserved for entrants created during a run
# The engine keeps months since review and months in a stage in 16-bit counters that stop at
# 32,767; 32,000 months (2,666 years) leaves room to count on and is no real constraint.
MAX_MONTHS = 32000
# A child's annual cost (the engine keeps it in 64 bits); the dearest
# placements cost a few hundred thousand pounds a year, so a billion is a typing error.
MAX_ANNUAL_COST_GBP = 1e9
_WHOLE = r"^\+?[0-9]+(?:\.0*)?$"
_MONTH = r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?$"


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _mask(array) -> np.ndarray:
    """A pyarrow boolean array as a numpy bool array (null counts as False)."""
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False).astype(bool)


def _describe_bad_number(value: str) -> str:
    """Why ``value`` is not a whole number >= 0, as precisely as can be said."""
    if value == "":
        return "is blank; a whole number is required"
    try:
        number = float(value)
    except ValueError:
        return f"{value!r} is not a whole number"
    if np.isfinite(number) and number < 0:
        return f"{value} is negative; a whole number >= 0 is required"
    return f"{value!r} is not a whole number"


def _whole_numbers(table: TextTable, column: str, default: int | None, high: int) -> np.ndarray:
    """A column of whole numbers in 0..high (``3`` and ``3.0`` alike); blank cells take
    ``default`` (None: a value is required)."""
    values = table.column(column, "" if default is None else str(default))
    if default is not None:
        values = pc.if_else(pc.equal(values, ""), str(default), values)
    well_formed = _mask(pc.match_substring_regex(values, _WHOLE))
    if not well_formed.all():
        j = _first(~well_formed)
        raise table.error(_describe_bad_number(values[j].as_py()), j, column)
    digits = pc.utf8_ltrim(pc.replace_substring_regex(values, r"^\+|\.0*$", ""), characters="0")
    too_long = _mask(pc.greater(pc.utf8_length(digits), len(str(high))))
    if too_long.any():
        j = _first(too_long)
        raise table.error(f"{values[j].as_py()} is outside 0..{high}", j, column)
    numbers = pc.cast(pc.if_else(pc.equal(digits, ""), "0", digits), pa.uint64()).to_numpy(zero_copy_only=False)
    over = numbers > np.uint64(high)
    if over.any():
        j = _first(over)
        raise table.error(f"{values[j].as_py()} is outside 0..{high}", j, column)
    return numbers.astype(np.int64)


def _coded(table: TextTable, column: str, names: tuple[str, ...], blank: int | None, what: str) -> np.ndarray:
    """A column of codes (exact, lower case) as integers; blank cells take ``blank``."""
    values = table.column(column)
    index = pc.index_in(values, value_set=pa.array(names, type=pa.string()))
    is_blank = _mask(pc.equal(values, ""))
    unknown = ~_mask(pc.is_valid(index)) & ~is_blank
    if unknown.any():
        j = _first(unknown)
        value = values[j].as_py()
        close = difflib.get_close_matches(value.lower(), names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise table.error(f"unknown {what} code {value!r}{hint}; expected one of {', '.join(names)}", j, column)
    if blank is None and is_blank.any():
        raise table.error(f"is blank; a {what} code is required", _first(is_blank), column)
    return pc.fill_null(index, -1 if blank is None else blank).to_numpy(zero_copy_only=False).astype(np.int64)


def _birth_months(table: TextTable) -> np.ndarray:
    """``birth_month`` as absolute month indices (year * 12 + month - 1)."""
    values = table.column("birth_month")
    parts = pc.extract_regex(values, _MONTH)
    ok = _mask(pc.is_valid(parts))
    if not ok.all():
        j = _first(~ok)
        raise table.error(f"{values[j].as_py()!r} is not a month YYYY-MM (or a date YYYY-MM-DD)", j, "birth_month")
    year = pc.cast(parts.field("year"), pa.int64()).to_numpy()
    month = pc.cast(parts.field("month"), pa.int64()).to_numpy()
    day_text = parts.field("day")
    day = pc.cast(pc.if_else(pc.equal(day_text, ""), "1", day_text), pa.int64()).to_numpy()
    last_day = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month - 1, 0, 11)]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last_day = np.where((month == 2) & ~leap, 28, last_day)
    bad = (month < 1) | (month > 12) | (day < 1) | (day > last_day)
    if bad.any():
        j = _first(bad)
        raise table.error(f"{values[j].as_py()!r} is not a month YYYY-MM (or a date YYYY-MM-DD): no such "
                          f"{'month' if not 1 <= month[j] <= 12 else 'day'}", j, "birth_month")
    return (year * 12 + month - 1).astype(np.int64)


def _annual_costs(table: TextTable) -> np.ndarray:
    """``annual_cost_gbp`` in whole pounds, -1 where blank (drawn from the unit cost)."""
    values = table.column("annual_cost_gbp")
    blank = _mask(pc.equal(values, ""))
    filled = pc.if_else(pc.equal(values, ""), "0", values)
    try:
        numbers = pc.cast(filled, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        # Find the first cell that is not a number (the error path only: one cell at a time).
        for j, cell in enumerate(filled.to_pylist()):
            try:
                float(cell)
            except ValueError:
                raise table.error(f"{cell!r} is not a number", j, "annual_cost_gbp") from None
        raise table.error("holds a value that is not a number", None, "annual_cost_gbp") from None
    bad = ~np.isfinite(numbers)  # "nan" and "inf" parse as numbers; a cost must be a finite amount
    if bad.any():
        j = _first(bad)
        raise table.error(f"{values[j].as_py()!r} is not a number", j, "annual_cost_gbp")
    negative = numbers < 0
    if negative.any():
        j = _first(negative)
        raise table.error(f"{values[j].as_py()} is negative; a cost in GBP is 0 or more", j, "annual_cost_gbp")
    huge = numbers > MAX_ANNUAL_COST_GBP
    if huge.any():
        j = _first(huge)
        raise table.error(f"{values[j].as_py()} is over {MAX_ANNUAL_COST_GBP:.0e} GBP a year: a typing error?",
                          j, "annual_cost_gbp")
    return np.where(blank, -1, np.rint(numbers)).astype(np.int64)


def load_cohort(path: str | Path, calendar: Calendar) -> tuple[Cohort, pd.DataFrame]:
    """Read a cohort file and return the engine's cohort plus the table as read (text cells).

    Parameters
    ----------
    path
        A ``.csv`` or ``.parquet`` file in the documented format.
    calendar
        The run's calendar: ages are taken at its first month, and a birth after it is an error.

    Raises
    ------
    InputError
        Naming the file, the line (CSV line number, header = line 1) or row (Parquet), the
        column and the rule.
    """
    table = read_table(path, "a cohort")
    check_header(table, REQUIRED, ALLOWED)
    if table.n == 0:
        raise InputError(table.file, "the file has a header but no rows")
    start = calendar.label(0)

    child_id = _whole_numbers(table, "child_id", None, MAX_CHILD_ID)
    order = np.argsort(child_id, kind="stable")
    repeated = np.flatnonzero(child_id[order][1:] == child_id[order][:-1])
    if repeated.size:
        dup = child_id[order][repeated[0]]
        where = np.flatnonzero(child_id == dup)
        lines = ", ".join(str(int(table.rows[j])) for j in where[:5])
        raise table.error(f"duplicate child_id {dup} (on {table.row_label}s {lines}): each child appears once",
                          int(where[1]), "child_id")

    birth = _birth_months(table)
    future = birth > calendar.start_index
    if future.any():
        j = _first(future)
        raise table.error(f"birth month {table.value('birth_month', j)} is after the start of the run ({start}): "
                          "a birth in the future, the child's age would be below 0", j, "birth_month")
    ages = calendar.academic_age(birth)
    too_old = ages > codes.MAX_AGE
    if too_old.any():
        j = _first(too_old)
        raise table.error(f"age {int(ages[j])} at {start} is over {codes.MAX_AGE}: plans end at 25", j,
                          "birth_month")

    status_text = table.column("status", "active")
    status_text = pc.if_else(pc.equal(status_text, ""), "active", status_text)
    status_index = pc.index_in(status_text, value_set=pa.array(COHORT_STATUSES, type=pa.string()))
    unknown_status = ~_mask(pc.is_valid(status_index))
    if unknown_status.any():
        j = _first(unknown_status)
        raise table.error(f"unknown status {status_text[j].as_py()!r}; expected one of "
                          f"{', '.join(COHORT_STATUSES)}", j, "status")
    status_code = np.array([codes.STATUSES.index(name) for name in COHORT_STATUSES], dtype=np.int64)
    status = status_code[status_index.to_numpy(zero_copy_only=False).astype(np.int64)]
    active = status == codes.ACTIVE

    placement = _coded(table, "placement", codes.PLACEMENTS, -1, "placement")
    if np.any(active & (placement < 0)):
        raise table.error("is blank for a child with an active plan; a placement code is required",
                          _first(active & (placement < 0)), "placement")
    if np.any(~active & (placement >= 0)):
        raise table.error("must be blank for a request without a plan yet", _first(~active & (placement >= 0)),
                          "placement")
    need = _coded(table, "need", codes.NEEDS, None, "need")
    months_since_review = _whole_numbers(table, "months_since_review", 0, MAX_MONTHS)
    stage_months = _whole_numbers(table, "stage_months", 0, MAX_MONTHS)

    waiting_for = _coded(table, "waiting_for", codes.PLACEMENTS, codes.NO_WAIT, "placement")
    bad_wait = (waiting_for >= 0) & ~np.isin(waiting_for, codes.CAPACITY_LIMITED)
    if bad_wait.any():
        raise table.error("children can only wait for a capacity-limited placement (srp, special)",
                          _first(bad_wait), "waiting_for")
    if np.any(~active & (waiting_for >= 0)):
        raise table.error("only children with an active plan can wait for a place",
                          _first(~active & (waiting_for >= 0)), "waiting_for")
    if np.any((waiting_for >= 0) & (waiting_for == placement)):
        raise table.error("a child cannot wait for the placement it is already in",
                          _first((waiting_for >= 0) & (waiting_for == placement)), "waiting_for")

    cost = _annual_costs(table)
    if np.any(~active & (cost >= 0)):
        raise table.error("must be blank for a request without a plan (it has no placement to cost)",
                          _first(~active & (cost >= 0)), "annual_cost_gbp")

    cohort = Cohort(child_key=child_id, birth_month=birth, placement=placement, need=need, status=status,
                    months_since_review=months_since_review, stage_months=stage_months, waiting_for=waiting_for,
                    annual_cost_gbp=cost)
    return cohort, table.to_frame()


def write_cohort_csv(cohort: Cohort, path: str | Path | TextIO) -> None:
    """Write a cohort in the documented CSV format (the inverse of :func:`load_cohort`)."""
    birth = cohort.birth_month.astype(np.int64)
    frame = pd.DataFrame({
        "child_id": cohort.child_key,
        "birth_month": [f"{b // 12:04d}-{b % 12 + 1:02d}" for b in birth],
        "placement": [codes.PLACEMENTS[p] if p >= 0 else "" for p in cohort.placement],
        "need": [codes.NEEDS[k] for k in cohort.need],
        "months_since_review": cohort.months_since_review,
        "status": [codes.STATUSES[s] for s in cohort.status],
        "stage_months": cohort.stage_months,
        "waiting_for": [codes.PLACEMENTS[w] if w >= 0 else "" for w in cohort.waiting_for],
        "annual_cost_gbp": ["" if c < 0 else str(int(c)) for c in cohort.annual_cost_gbp],
    })
    frame.to_csv(path, index=False, lineterminator="\n")
