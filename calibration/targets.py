"""Calibration targets: the observed figures a simulation is compared with.

A targets file is a CSV with one row per figure (the built-in Kent file is
``inputs/kent/targets.csv``; the format is documented in ``docs/calibration.md``):

=============== ===============================================================================
column          meaning
=============== ===============================================================================
``id``          unique name of the figure
``measure``     ``plans`` (children with a plan at the end of ``date``), ``share`` (percent of
                plans in ``placement`` among plans in ``denominator``), ``pipeline`` (sum of
                pipeline measures in ``item`` at the end of ``date``) or ``events`` (sum of
                flow events in ``item`` over ``months`` months ending with ``date``)
``date``        ``YYYY-MM``: the month the figure describes (January = the SEN2 census)
``months``      ``events`` only: number of months summed, ending with ``date``
``age_band``    ``all`` or age bands joined by ``+`` (``under_5``, ``5_10``, ``11_15``,
                ``16_19``, ``20_25``); a band may carry a weight, ``5_10*0.267``, for a figure
                whose ages cut a band (the weight is the share of the band's plans at those ages)
``placement``   ``all`` or placement codes joined by ``+``
``denominator`` ``share`` only: placements of the denominator (``all`` or codes joined by ``+``)
``item``        ``pipeline``: measure names joined by ``+``; ``events``: event names joined by
                ``+``, or ``ceased`` (every event that ends a plan)
``value``       the observed figure (percent for ``share``)
``tolerance``   the largest gap between model and figure that is not implausible: three
                standard deviations of observation error and model discrepancy, in the unit
                of ``value``
``role``        ``fit`` (used to fit and scored in the report) or ``report`` (shown only)
``weight``      optional, ``fit`` targets: the target's weight in the root mean square distance
                (blank: 1)
``source``      where the figure comes from (file and column, or a ``seed_targets.csv`` id)
``note``        free text (definition differences, series breaks)
=============== ===============================================================================

Each target is evaluated from the engine's per-run arrays (:class:`simcore.engine.ChunkResult`)
by :func:`evaluate`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import check_header, parse_csv_text, read_text
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

COLUMNS = ("id", "measure", "date", "months", "age_band", "placement", "denominator", "item", "value", "tolerance",
           "role", "weight", "source", "note")
REQUIRED = ("id", "measure", "date", "value", "tolerance", "role", "source")
MEASURES = ("plans", "share", "pipeline", "events")
ROLES = ("fit", "report")
CEASED = "ceased"
_DATE = re.compile(r"^(\d{4})-(\d{2})$")
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Target:
    """One observed figure and how to compute it from a simulation."""

    id: str
    measure: str
    year: int
    month: int
    months: int                       # events: months summed (ending with year-month); else 0
    band_weights: tuple[float, ...]   # weight of each age band [N_AGE_BANDS]
    placements: tuple[int, ...]       # placement codes counted (numerator)
    denominator: tuple[int, ...]      # share: placement codes of the denominator
    items: tuple[int, ...]            # pipeline measure or event codes
    value: float
    tolerance: float
    role: str
    source: str
    note: str
    line: int
    weight: float = 1.0               # weight in the root mean square distance (fit targets)

    @property
    def date(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def month_index(self) -> int:
        """Absolute month index (year * 12 + month - 1)."""
        return self.year * 12 + self.month - 1

    @property
    def first_month_index(self) -> int:
        """First month the figure depends on (an events sum starts ``months - 1`` earlier)."""
        return self.month_index - max(self.months - 1, 0)

    def describe(self) -> str:
        """A short human description (for reports)."""
        bands = [f"{codes.AGE_BANDS[b]}" + ("" if w == 1.0 else f"x{w:.3g}")
                 for b, w in enumerate(self.band_weights) if w > 0]
        band_text = "all ages" if len(bands) == codes.N_AGE_BANDS and all(w == 1.0 for w in self.band_weights) \
            else "+".join(bands)
        places = _names(self.placements, codes.PLACEMENTS)
        if self.measure == "plans":
            return f"plans, {band_text}, {places}"
        if self.measure == "share":
            return f"% in {places} of {_names(self.denominator, codes.PLACEMENTS)}, {band_text}"
        if self.measure == "pipeline":
            return " + ".join(codes.MEASURES[i] for i in self.items)
        names = " + ".join(codes.EVENTS[i] for i in self.items)
        if set(self.items) == set(codes.EXIT_EVENTS):
            names = "plans ceased (all exits)"
        return f"{names}, {self.months} months"


def _names(indices: tuple[int, ...], labels: tuple[str, ...]) -> str:
    if len(indices) == len(labels):
        return "all"
    return "+".join(labels[i] for i in indices)


def _codes(text: str, labels: tuple[str, ...], what: str, file: str, line: int, column: str) -> tuple[int, ...]:
    text = text.strip()
    if text == "" or text == "all":
        return tuple(range(len(labels)))
    out = []
    for part in text.split("+"):
        part = part.strip()
        if part not in labels:
            raise InputError(file, f"unknown {what} {part!r}; expected all, or some of {', '.join(labels)} joined "
                             "by +", row=line, column=column)
        if labels.index(part) in out:
            raise InputError(file, f"{what} {part!r} appears twice", row=line, column=column)
        out.append(labels.index(part))
    return tuple(sorted(out))


def _band_weights(text: str, file: str, line: int) -> tuple[float, ...]:
    text = text.strip()
    if text == "" or text == "all":
        return tuple(1.0 for _ in codes.AGE_BANDS)
    weights = [0.0] * codes.N_AGE_BANDS
    for part in text.split("+"):
        name, _, weight_text = part.strip().partition("*")
        name = name.strip()
        if name not in codes.AGE_BANDS:
            raise InputError(file, f"unknown age band {name!r}; expected all, or some of "
                             f"{', '.join(codes.AGE_BANDS)} joined by + (optionally band*weight)",
                             row=line, column="age_band")
        weight = 1.0
        if weight_text:
            try:
                weight = float(weight_text)
            except ValueError:
                raise InputError(file, f"weight {weight_text!r} of band {name} is not a number", row=line,
                                 column="age_band") from None
            if not 0.0 < weight <= 1.0:
                raise InputError(file, f"weight of band {name} must be in (0, 1], got {weight_text}", row=line,
                                 column="age_band")
        band = codes.AGE_BANDS.index(name)
        if weights[band] > 0:
            raise InputError(file, f"age band {name} appears twice", row=line, column="age_band")
        weights[band] = weight
    return tuple(weights)


def _number(text: str, file: str, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(file, f"{text!r} is not a number", row=line, column=column) from None
    if not math.isfinite(value):
        raise InputError(file, f"{text!r} must be a finite number", row=line, column=column)
    return value


def read_targets(path: str | Path, text: str | None = None) -> list[Target]:
    """Read and check a targets CSV.

    Raises
    ------
    InputError
        Naming the file, the line, the column and the rule: unknown or missing columns,
        repeated ids, unknown measures, codes or roles, malformed dates, columns set that the
        measure does not use, non-positive tolerances, shares outside 0-100.
    """
    file = str(path)
    if text is None:
        text = read_text(path)
    # The strict reader every input shares: exact line numbers, unclosed quotes and oversized
    # cells refused.
    table = parse_csv_text(file, text)
    check_header(table, tuple(REQUIRED), tuple(COLUMNS))
    header = table.header
    columns = {name: table.cells[name].to_pylist() for name in header}
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for j in range(table.n):
        line = int(table.rows[j])
        cell = {name: values[j] for name, values in columns.items()}

        def get(name: str, cell: dict = cell) -> str:
            return cell.get(name, "")  # absent optional columns read as blank

        identifier = get("id")
        if not _ID.match(identifier):
            raise InputError(file, f"id {identifier!r} must be letters, digits, '_', '.', '-'", row=line, column="id")
        if identifier in seen:
            raise InputError(file, f"id {identifier!r} repeats line {seen[identifier]}", row=line, column="id")
        seen[identifier] = line
        measure = get("measure")
        if measure not in MEASURES:
            raise InputError(file, f"unknown measure {measure!r}; expected one of {', '.join(MEASURES)}", row=line,
                             column="measure")
        match = _DATE.match(get("date"))
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(file, f"date {get('date')!r} must be YYYY-MM", row=line, column="date")
        year, month = int(match.group(1)), int(match.group(2))
        months = 0
        if measure == "events":
            text_months = get("months")
            if not text_months.isdigit() or int(text_months) < 1:
                raise InputError(file, "an events target needs months, a whole number >= 1", row=line,
                                 column="months")
            months = int(text_months)
        elif get("months"):
            raise InputError(file, f"months is only used by events targets (this is {measure}); leave it blank",
                             row=line, column="months")
        uses = {"plans": ("age_band", "placement"), "share": ("age_band", "placement", "denominator"),
                "pipeline": ("item",), "events": ("item",)}[measure]
        for column in ("age_band", "placement", "denominator", "item"):
            if column not in uses and get(column) not in ("",):
                raise InputError(file, f"{measure} targets do not use {column}; leave it blank", row=line,
                                 column=column)
        bands = _band_weights(get("age_band"), file, line)
        placements = _codes(get("placement"), codes.PLACEMENTS, "placement", file, line, "placement")
        denominator = _codes(get("denominator"), codes.PLACEMENTS, "placement", file, line, "denominator")
        items: tuple[int, ...] = ()
        if measure == "pipeline":
            if not get("item"):
                raise InputError(file, "a pipeline target needs item (measure names joined by +)", row=line,
                                 column="item")
            items = _codes(get("item"), codes.MEASURES, "pipeline measure", file, line, "item")
        elif measure == "events":
            if get("item") == CEASED:
                items = tuple(sorted(codes.EXIT_EVENTS))
            elif not get("item"):
                raise InputError(file, "an events target needs item (event names joined by +, or ceased)",
                                 row=line, column="item")
            else:
                items = _codes(get("item"), codes.EVENTS, "event", file, line, "item")
                markers = [codes.EVENTS[i] for i in items if not codes.EVENT_IS_MOVEMENT[i]
                           and i not in _PIPELINE_EVENTS]
                if markers:
                    raise InputError(file, f"event(s) {', '.join(markers)} cannot be a target", row=line,
                                     column="item")
        if measure == "share" and not set(placements) <= set(denominator):
            raise InputError(file, "the placements of a share must be among those of its denominator", row=line,
                             column="placement")
        value = _number(get("value"), file, line, "value")
        tolerance = _number(get("tolerance"), file, line, "tolerance")
        if tolerance <= 0:
            raise InputError(file, f"tolerance must be > 0, got {get('tolerance')}", row=line, column="tolerance")
        if value < 0:
            raise InputError(file, f"value must be >= 0, got {get('value')}", row=line, column="value")
        if measure == "share" and value > 100:
            raise InputError(file, f"a share is a percent (0-100), got {get('value')}", row=line, column="value")
        role = get("role")
        if role not in ROLES:
            raise InputError(file, f"role {role!r} must be one of {', '.join(ROLES)}", row=line, column="role")
        if not get("source"):
            raise InputError(file, "every target needs its source", row=line, column="source")
        weight = 1.0
        if get("weight"):
            weight = _number(get("weight"), file, line, "weight")
            if weight <= 0:
                raise InputError(file, f"weight must be > 0, got {get('weight')}", row=line, column="weight")
            if role != "fit":
                raise InputError(file, "only a fit target has a weight (a report target is not in the distance)",
                                 row=line, column="weight")
        targets.append(Target(identifier, measure, year, month, months, bands, placements, denominator, items, value,
                              tolerance, role, get("source"), get("note"), line, weight))
    if not targets:
        raise InputError(file, "the file has a header but no targets")
    return targets


# Pipeline events (counted in the flows table, no placement change) that may be targets.
_PIPELINE_EVENTS = frozenset(codes.EVENTS.index(name) for name in (
    "request", "agreed_to_assess", "refused_to_assess", "appeal_refusal", "appeal_decline", "tribunal_upheld",
    "tribunal_dismissed", "declined_to_issue", "request_closed", "appeal_placement"))


def needs_flows(targets: list[Target]) -> bool:
    return any(t.measure == "events" for t in targets)


def evaluate(targets: list[Target], calendar: Calendar, stock: np.ndarray, measures: np.ndarray,
             flows: np.ndarray | None) -> np.ndarray:
    """Each target's simulated value in each run: [runs, targets].

    Parameters
    ----------
    targets
        Targets whose months lie within the calendar (see :func:`within`).
    calendar
        The simulation's calendar.
    stock, measures, flows
        Arrays of a :class:`~simcore.engine.ChunkResult` (flows may be None when no target
        is an events target).
    """
    runs = stock.shape[0]
    out = np.empty((runs, len(targets)))
    by_band_placement = None
    for k, t in enumerate(targets):
        m = t.month_index - calendar.start_index
        if t.measure in ("plans", "share"):
            if by_band_placement is None:
                by_band_placement = stock.sum(axis=4, dtype=np.int64)  # [R, T, B, P]
            weights = np.asarray(t.band_weights)
            by_placement = np.tensordot(by_band_placement[:, m], weights, axes=([1], [0]))  # [R, P]
            numerator = by_placement[:, list(t.placements)].sum(axis=1)
            if t.measure == "plans":
                out[:, k] = numerator
            else:
                denominator = by_placement[:, list(t.denominator)].sum(axis=1)
                out[:, k] = 100.0 * numerator / np.maximum(denominator, 1e-9)
        elif t.measure == "pipeline":
            out[:, k] = measures[:, m, list(t.items)].sum(axis=1)
        else:
            if flows is None or flows.shape[0] != runs:
                raise ValueError(f"target {t.id} needs the flows table")
            first = m - t.months + 1
            out[:, k] = flows[:, first:m + 1, list(t.items)].sum(axis=(1, 2, 3, 4))
    return out


def within(targets: list[Target], calendar: Calendar) -> list[Target]:
    """The targets a simulation over ``calendar`` can compute (events need month >= 1: month 0
    is the opening snapshot, which has no flows)."""
    last = calendar.start_index + calendar.n_months - 1
    out = []
    for t in targets:
        first = t.first_month_index if t.measure == "events" else t.month_index
        low = calendar.start_index + (1 if t.measure == "events" else 0)
        if low <= first and t.month_index <= last:
            out.append(t)
    return out
