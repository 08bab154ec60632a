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
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from inputs.errors import InputError
from inputs.files import PARQUET_MAGIC, read_bytes, read_text, sniff_binary
from simcore import codes
from simcore.engine import Calendar, Cohort

REQUIRED = ("child_id", "birth_month", "placement", "need", "months_since_review")
OPTIONAL = ("status", "stage_months", "waiting_for", "annual_cost_gbp")
ALLOWED = REQUIRED + OPTIONAL
COHORT_STATUSES = ("active", "request_pending", "assessment", "appeal_refusal", "appeal_decline")
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
MAX_CHILD_ID = 2**60  # keys above this are reserved for entrants created during a run


def _read_table(path: str | Path) -> pd.DataFrame:
    file = str(path)
    suffix = Path(path).suffix.lower()
    data = read_bytes(path)
    if suffix == ".parquet":
        if not data.startswith(PARQUET_MAGIC) or not data.endswith(PARQUET_MAGIC):
            raise InputError(file, "is not a Parquet file (no PAR1 signature) although its extension says so")
        import pyarrow.parquet as pq
        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as error:  # pyarrow raises several types for corrupt files
            raise InputError(file, f"cannot be read as Parquet ({type(error).__name__}: {error})") from None
        frame = table.to_pandas()
        return frame.astype(object).where(frame.notna(), "").astype(str)
    if suffix not in (".csv", ".txt"):
        raise InputError(file, f"unsupported extension {suffix!r}: a cohort is a .csv or .parquet file")
    text = read_text(path, data)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as error:
        raise InputError(file, f"is not a well-formed CSV ({error})") from None
    except pd.errors.EmptyDataError:
        raise InputError(file, "the file is empty") from None
    return frame


def load_cohort(path: str | Path, calendar: Calendar) -> tuple[Cohort, pd.DataFrame]:
    """Read a cohort file and return the engine's cohort plus the table as read.

    Raises
    ------
    InputError
        Naming the file, the line (CSV line number, header = line 1), the column and the rule.
    """
    file = str(path)
    frame = _read_table(path)
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    unknown = [c for c in columns if c not in ALLOWED]
    if unknown:
        raise InputError(file, f"unknown column(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(ALLOWED)}",
                         row=1)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(file, f"missing required column(s) {', '.join(map(repr, missing))}", row=1)
    if len(set(columns)) != len(columns):
        raise InputError(file, "a column appears twice in the header", row=1)
    if len(frame) == 0:
        raise InputError(file, "the file has a header but no rows")
    n = len(frame)
    line = np.arange(n) + 2  # header is line 1

    def text(column: str, default: str = "") -> np.ndarray:
        if column not in frame:
            return np.full(n, default, dtype=object)
        return frame[column].astype(str).str.strip().to_numpy(dtype=object)

    def whole_numbers(column: str, default: int | None, low: int, high: int) -> np.ndarray:
        values = text(column, "" if default is None else str(default))
        out = np.empty(n, dtype=np.int64)
        for j, v in enumerate(values):
            if v == "" and default is not None:
                out[j] = default
                continue
            try:
                number = float(v)
            except ValueError:
                raise InputError(file, f"{v!r} is not a whole number", row=int(line[j]), column=column) from None
            if not np.isfinite(number) or number != int(number):
                raise InputError(file, f"{v!r} is not a whole number", row=int(line[j]), column=column)
            if not low <= number <= high:
                raise InputError(file, f"{v} is outside {low}..{high}", row=int(line[j]), column=column)
            out[j] = int(number)
        return out

    def coded(column: str, names: tuple[str, ...], blank: int | None) -> np.ndarray:
        values = text(column)
        out = np.empty(n, dtype=np.int64)
        lookup = {name: k for k, name in enumerate(names)}
        for j, v in enumerate(values):
            if v == "":
                if blank is None:
                    raise InputError(file, "is blank; a value is required", row=int(line[j]), column=column)
                out[j] = blank
            elif v in lookup:
                out[j] = lookup[v]
            else:
                raise InputError(file, f"unknown code {v!r}; expected one of {', '.join(names)}",
                                 row=int(line[j]), column=column)
        return out

    child_id = whole_numbers("child_id", None, 0, MAX_CHILD_ID)
    unique, first, counts = np.unique(child_id, return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = unique[counts > 1][0]
        rows = (np.flatnonzero(child_id == dup) + 2).tolist()
        raise InputError(file, f"duplicate child_id {dup} (lines {', '.join(map(str, rows[:5]))})",
                         row=int(rows[1]), column="child_id")
    birth = np.empty(n, dtype=np.int64)
    for j, v in enumerate(text("birth_month")):
        match = _MONTH.match(v)
        if not match or not 1 <= int(match.group(2)) <= 12 or (match.group(3) and not 1 <= int(match.group(3)) <= 31):
            raise InputError(file, f"{v!r} is not a month YYYY-MM (or date YYYY-MM-DD)", row=int(line[j]),
                             column="birth_month")
        birth[j] = int(match.group(1)) * 12 + int(match.group(2)) - 1
    future = birth > calendar.start_index
    if np.any(future):
        j = int(np.flatnonzero(future)[0])
        raise InputError(file, f"birth month {text('birth_month')[j]} is after the start of the run "
                         f"({calendar.label(0)})", row=int(line[j]), column="birth_month")
    ages = calendar.academic_age(birth)
    too_old = ages > codes.MAX_AGE
    if np.any(too_old):
        j = int(np.flatnonzero(too_old)[0])
        raise InputError(file, f"age {int(ages[j])} at {calendar.label(0)} is over {codes.MAX_AGE}: plans end at 25",
                         row=int(line[j]), column="birth_month")
    status_names = text("status", "active")
    status = np.empty(n, dtype=np.int64)
    for j, v in enumerate(status_names):
        v = v or "active"
        if v not in COHORT_STATUSES:
            raise InputError(file, f"unknown status {v!r}; expected one of {', '.join(COHORT_STATUSES)}",
                             row=int(line[j]), column="status")
        status[j] = codes.STATUSES.index(v)
    placement = coded("placement", codes.PLACEMENTS, -1)
    active = status == codes.ACTIVE
    if np.any(active & (placement < 0)):
        j = int(np.flatnonzero(active & (placement < 0))[0])
        raise InputError(file, "is blank for a child with an active plan; a placement code is required",
                         row=int(line[j]), column="placement")
    if np.any(~active & (placement >= 0)):
        j = int(np.flatnonzero(~active & (placement >= 0))[0])
        raise InputError(file, "must be blank for a request without a plan yet", row=int(line[j]),
                         column="placement")
    need = coded("need", codes.NEEDS, None)
    months_since_review = whole_numbers("months_since_review", 0, 0, 32000)
    stage_months = whole_numbers("stage_months", 0, 0, 32000)
    waiting_for = coded("waiting_for", codes.PLACEMENTS, codes.NO_WAIT)
    bad_wait = (waiting_for >= 0) & ~np.isin(waiting_for, codes.CAPACITY_LIMITED)
    if np.any(bad_wait):
        j = int(np.flatnonzero(bad_wait)[0])
        raise InputError(file, "children can only wait for a capacity-limited placement (srp, special)",
                         row=int(line[j]), column="waiting_for")
    if np.any(~active & (waiting_for >= 0)):
        j = int(np.flatnonzero(~active & (waiting_for >= 0))[0])
        raise InputError(file, "only children with an active plan can wait for a place", row=int(line[j]),
                         column="waiting_for")
    cost = np.full(n, -1, dtype=np.int64)
    for j, v in enumerate(text("annual_cost_gbp")):
        if v == "":
            continue
        try:
            value = float(v)
        except ValueError:
            raise InputError(file, f"{v!r} is not a number", row=int(line[j]), column="annual_cost_gbp") from None
        if not np.isfinite(value) or value < 0 or value > 1e9:
            raise InputError(file, f"{v} must be a cost in GBP between 0 and 1e9", row=int(line[j]),
                             column="annual_cost_gbp")
        cost[j] = int(round(value))
    cohort = Cohort(child_key=child_id, birth_month=birth, placement=placement, need=need, status=status,
                    months_since_review=months_since_review, stage_months=stage_months, waiting_for=waiting_for,
                    annual_cost_gbp=cost)
    return cohort, frame


def write_cohort_csv(cohort: Cohort, path: str | Path) -> None:
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
