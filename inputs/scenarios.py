"""Scenario files (TOML): a base plus dated overrides, through named policy levers.

A scenario is compiled into parameter rows appended after the base rows (so they win, from
their effective date on), exactly as if a modeller had added those rows to a parameter file.
Before a lever's effective date the scenario's parameters equal the base's, so with common
random numbers every run of the scenario is identical to the baseline's run until then.

Format::

    name = "third_special_school"          # letters, digits, _ . - (the partition key)
    description = "A third new special school approved, phased like the other two."
    base = "baseline"                      # optional: a built-in scenario to build on

    [levers.special_places]                # openings by month: places added to the base
    openings = [ { from = "2025-09", add = 67 }, { from = "2026-09", add = 133 } ]

    [levers.decision_to_assess]
    from = "2024-04"
    value = 0.631

    [[parameter]]                          # any parameter, like a row of a parameter CSV
    parameter = "review_cease"
    age = "19-24"
    from = "2025-04"
    value = 0.4

Levers and their keys are listed in :data:`LEVERS` (``sendsim scenarios --levers`` prints
them). Unknown keys, unknown levers, values out of range and malformed dates are errors
naming the file, the key and the rule.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import parse_toml, read_text
from sendsim.inputs.finance import rows_from_table
from sendsim.inputs.mitigations import Mitigation, read_mitigations
from sendsim.inputs.parameters import (
    COLUMNS,
    ParameterRow,
    build_parameter_set,
    overlay_parameter_set,
    read_parameter_rows,
)
from sendsim.money.schema import COST_TYPES, PAY_TYPES, FinanceRow, fy_label, parse_fy
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import ParameterSet

BUILTIN_DIR = Path(__file__).resolve().parent / "kent" / "scenarios"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DATE = re.compile(r"^(\d{4})-(\d{2})$")
TOP_LEVEL_KEYS = ("name", "description", "base", "levers", "parameter", "finance", "mitigation")


@dataclass
class Scenario:
    """A compiled scenario: its name, its parameter rows (added to the base's) and finance
    overrides (interpreted by the money model)."""

    name: str
    description: str
    source: str  # file it was read from
    rows: list[ParameterRow] = field(default_factory=list)            # engine parameter rows
    finance_rows: list[FinanceRow] = field(default_factory=list)      # money-model rows
    effective_months: list[tuple[int, int]] = field(default_factory=list)  # (year, month) of each override
    mitigations: list[Mitigation] = field(default_factory=list)       # the plan's measures, in log order

    def first_effective(self) -> tuple[int, int] | None:
        return min(self.effective_months) if self.effective_months else None


# ---- Building parameter rows -----------------------------------------------------------------
class _RowMaker:
    """Builds validated parameter rows for one scenario file, with errors naming the key."""

    def __init__(self, file: str):
        self.file = file
        self.rows: list[ParameterRow] = []
        self.finance: list[FinanceRow] = []
        self.months: list[tuple[int, int]] = []

    def add(self, key: str, parameter: str, date: str, value: float | str, **dims: str) -> None:
        cells = {c: "" for c in COLUMNS}
        cells.update({"parameter": parameter, "date": date, "value": str(value), "source": f"scenario {key}"})
        for dim, text in dims.items():
            cells[dim] = str(text)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerow([cells[c] for c in COLUMNS])
        try:
            (row,) = read_parameter_rows(self.file, buffer.getvalue())
        except InputError as error:
            raise InputError(self.file, error.rule, key=key) from None
        self.rows.append(row)
        if row.year_month is not None:
            self.months.append(row.year_month)

    def add_finance(self, key: str, entries: object) -> None:
        """Money-model rows (the finance CSV's columns; ``entries`` as the TOML holds them, a
        list of tables when valid), checked by the finance reader; a row
        of financial year YYYY-YY takes effect in April YYYY."""
        rows = rows_from_table(self.file, key, {"rows": entries})
        self.finance.extend(rows)
        for row in rows:
            if row.financial_year is not None:
                self.months.append((int(row.financial_year), 4))

    def add_from(self, key: str, parameter: str, date: str, value_at: Callable[[int], float | str], base: ParameterSet,
                 calendar: Calendar, until: str | None = None, **dims: str) -> None:
        """Add an override from ``date`` that persists: it is written again at every later
        month where the base changes this parameter (up to ``until``), with
        ``value_at(month)`` (which may read the base value then, for relative levers).
        Without this, a later dated row of the base would take over again."""
        start = _month_index(calendar, date)
        stop = calendar.n_months if until is None else _month_index(calendar, until)
        self.add(key, parameter, date, value_at(start), **dims)
        for month in base[parameter].starts:
            if start < int(month) < stop:
                self.add(key, parameter, calendar.label(int(month)), value_at(int(month)), **dims)


def _date(file: str, key: str, text) -> str:
    if not isinstance(text, str) or not _DATE.match(text) or not 1 <= int(text[5:7]) <= 12:
        raise InputError(file, f"'from' must be a month \"YYYY-MM\", got {text!r}", key=key)
    return text


def _number(file: str, key: str, value, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(file, f"must be a number, got {value!r}", key=key)
    if not low <= float(value) <= high:
        raise InputError(file, f"{value!r} is out of range: must lie in [{low:g}, {high:g}]", key=key)
    return float(value)


def _check_keys(file: str, key: str, table: dict, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    if not isinstance(table, dict):
        raise InputError(file, "must be a table of keys", key=key)
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise InputError(file, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}",
                         key=key)
    missing = [k for k in required if k not in table]
    if missing:
        raise InputError(file, f"missing key(s) {', '.join(map(repr, missing))}", key=key)


def _month_index(calendar: Calendar, date: str) -> int:
    return max(0, calendar.month_index(int(date[:4]), int(date[5:7])))


# ---- Levers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lever:
    name: str
    keys: tuple[str, ...]
    required: tuple[str, ...]
    description: str
    apply: Callable  # (maker, file, key, table, base_set, calendar) -> None


def _simple(parameter: str, low: float, high: float):
    def apply(maker: _RowMaker, file, key, table, base, calendar):
        date = _date(file, f"{key}.from", table["from"])
        value = _number(file, f"{key}.value", table["value"], low, high)
        maker.add_from(key, parameter, date, lambda month: value, base, calendar)
    return apply


def _places(placement: str):
    def apply(maker: _RowMaker, file, key, table, base, calendar):
        openings = table["openings"]
        if not isinstance(openings, list) or not openings:
            raise InputError(file, "must be a non-empty list of { from = \"YYYY-MM\", add = N } or "
                             "{ from = ..., places = N }", key=f"{key}.openings")
        p = codes.PLACEMENTS.index(placement)
        dates = []
        for k, opening in enumerate(openings):
            okey = f"{key}.openings[{k}]"
            _check_keys(file, okey, opening, ("from", "add", "places"), ("from",))
            if ("add" in opening) == ("places" in opening):
                raise InputError(file, "give exactly one of 'add' (places added to the base) and 'places' "
                                 "(the total)", key=okey)
            dates.append(_date(file, f"{okey}.from", opening["from"]))
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise InputError(file, "openings must be in date order, one per month", key=f"{key}.openings")
        for k, opening in enumerate(openings):
            okey = f"{key}.openings[{k}]"
            until = dates[k + 1] if k + 1 < len(dates) else None
            if "places" in opening:
                total = _number(file, f"{okey}.places", opening["places"], 0, 1e7)
                if total != int(total):
                    raise InputError(file, "places must be a whole number", key=f"{okey}.places")
                maker.add_from(okey, "places", dates[k], _constant(int(total)), base, calendar, until,
                               placement=placement)
                continue
            extra = _number(file, f"{okey}.add", opening["add"], -1e7, 1e7)
            if extra != int(extra):
                raise InputError(file, "places must be a whole number", key=f"{okey}.add")

            def total_at(month: int, extra=int(extra), okey=okey) -> int:
                base_places = int(base["places"].at_month(month)[p])
                if base_places < 0:
                    raise InputError(file, f"the base has no limit on {placement} places: give 'places'", key=okey)
                if base_places + extra < 0:
                    raise InputError(file, f"would leave {base_places + extra} places (below zero)", key=okey)
                return base_places + extra
            maker.add_from(okey, "places", dates[k], total_at, base, calendar, until, placement=placement)
    return apply


def _reintegration(maker: _RowMaker, file, key, table, base, calendar):
    """Scale the monthly probability of moving back to mainstream from SRP, special and
    independent placements by ``factor``, or set it from an annual rate ``annual_rate``."""
    date = _date(file, f"{key}.from", table["from"])
    if ("factor" in table) == ("annual_rate" in table):
        raise InputError(file, "give exactly one of 'factor' and 'annual_rate'", key=key)
    if "factor" in table:
        factor = _number(file, f"{key}.factor", table["factor"], 0, 100)
    else:
        monthly = 1.0 - (1.0 - _number(file, f"{key}.annual_rate", table["annual_rate"], 0, 1)) ** (1.0 / 12.0)
    ms = codes.MAINSTREAM
    start = _month_index(calendar, date)
    for p in (codes.SRP, codes.SPECIAL, codes.INDEPENDENT):
        for a in range(codes.N_AGES):
            if "factor" not in table and float(base["move"].at_month(start)[a, p, ms]) <= 0:
                continue  # the annual rate applies where the base has reintegration at all

            def value_at(month: int, a=a, p=p) -> str:
                current = float(base["move"].at_month(month)[a, p, ms])
                return f"{current * factor if 'factor' in table else monthly:.10g}"
            dims = dict(age=str(a), placement=codes.PLACEMENTS[p])
            maker.add_from(key, "move", date, value_at, base, calendar, to="mainstream", **dims)
            maker.add_from(key, "move", date, lambda month: "rest", base, calendar, to=codes.PLACEMENTS[p], **dims)


def _phase_mix(maker: _RowMaker, file, key, table, base, calendar):
    """Set the destination mix of a phase transfer (for all needs) from a date."""
    date = _date(file, f"{key}.from", table["from"])
    transfer = table["transfer"]
    if transfer not in codes.TRANSFERS:
        raise InputError(file, f"unknown transfer {transfer!r}; expected one of {', '.join(codes.TRANSFERS)}",
                         key=f"{key}.transfer")
    source = table.get("placement", "all")
    mix = table["mix"]
    _check_keys(file, f"{key}.mix", mix, codes.PLACEMENTS)
    total = sum(_number(file, f"{key}.mix.{q}", v, 0, 1) for q, v in mix.items())
    if abs(total - 1.0) > 1e-6:
        raise InputError(file, f"the mix sums to {total:.6g}, not 1", key=f"{key}.mix")
    for q in codes.PLACEMENTS:
        share = float(mix.get(q, 0.0))
        maker.add_from(key, "phase_transfer", date, _constant(share), base, calendar,
                       transfer=transfer, placement=source, need="all", to=q)


def _constant(value: float) -> Callable[[int], float]:
    """A value that is the same in every month."""
    return lambda month: value


def _financial_year(file: str, key: str, text) -> str:
    if not isinstance(text, str) or parse_fy(text) is None:
        raise InputError(file, f"'from' must be a financial year \"YYYY-YY\" (e.g. \"2025-26\"), got {text!r}",
                         key=key)
    return text


def _years_from(calendar: Calendar, year: str) -> list[str]:
    """Financial years from ``year`` to the run's last one (a lever in force from a year on)."""
    first = parse_fy(year)
    if first is None:
        raise ValueError(f"not a financial year: {year!r}")  # callers pass years _financial_year checked
    last = int(calendar.financial_years()[-1])
    return [fy_label(y) for y in range(first, max(first, last) + 1)]


def _cost_growth(cost_type: str | None):
    """A cost type's growth from a financial year on (the money model's price index). Pay
    types (with dated awards) get an award of that size in every year from then on."""
    def apply(maker: _RowMaker, file, key, table, base, calendar):
        kind = cost_type if cost_type is not None else table["cost_type"]
        if kind not in COST_TYPES:
            raise InputError(file, f"unknown cost type {kind!r}; expected one of {', '.join(COST_TYPES)}",
                             key=f"{key}.cost_type")
        year = _financial_year(file, f"{key}.from", table["from"])
        value = _number(file, f"{key}.value", table["value"], -0.5, 1.0)
        item = "pay_award" if kind in PAY_TYPES else "cost_growth"
        years = _years_from(calendar, year) if item == "pay_award" else [year]
        maker.add_finance(key, [{"name": item, "financial_year": fy, "cost_type": kind, "value": value,
                                 "unit": "fraction", "source": f"scenario {key}"} for fy in years])
    return apply


def _placements(file: str, key: str, table: dict, default: tuple[str, ...]) -> list[str]:
    chosen = table.get("placements", list(default))
    if not isinstance(chosen, list) or not chosen or any(p not in codes.PLACEMENTS for p in chosen):
        raise InputError(file, f"placements must be a non-empty list of {', '.join(codes.PLACEMENTS)}", key=key)
    return list(chosen)


def _fee_uplift(maker: _RowMaker, file, key, table, base, calendar):
    """The authority's uplift of independent and specialist post-16 fees in every year from a
    financial year on (instead of following the providers' costs)."""
    year = _financial_year(file, f"{key}.from", table["from"])
    value = _number(file, f"{key}.value", table["value"], -0.5, 1.0)
    maker.add_finance(key, [{"name": "price_uplift", "financial_year": fy, "placement": p, "value": value,
                             "unit": "fraction", "source": f"scenario {key}"}
                            for fy in _years_from(calendar, year) for p in ("independent", "post16_specialist")])


def _price_hold(maker: _RowMaker, file, key, table, base, calendar):
    """The authority holds price growth of the named placements (default: every placement) to at
    most ``growth`` a year from a financial year on, in years it has not already decided."""
    year = _financial_year(file, f"{key}.from", table["from"])
    growth = _number(file, f"{key}.growth", table["growth"], -0.5, 1.0)
    placements = _placements(file, f"{key}.placements", table, codes.PLACEMENTS)
    maker.add_finance(key, [{"name": "price_hold", "financial_year": year, "placement": p, "value": growth,
                             "unit": "fraction", "source": f"scenario {key}"} for p in placements])


def _block_transfer(maker: _RowMaker, file, key, table, base, calendar):
    """The share of the Schools Block transferred to high needs, from a financial year on."""
    year = _financial_year(file, f"{key}.from", table["from"])
    share = _number(file, f"{key}.share", table["share"], 0.0, 0.1)
    maker.add_finance(key, [{"name": "schools_block_transfer_share", "financial_year": year, "value": share,
                             "unit": "fraction", "source": f"scenario {key}"}])


LEVERS: dict[str, Lever] = {lever.name: lever for lever in (
    Lever("decision_to_assess", ("from", "value"), ("from", "value"),
          "probability that a decided request is agreed for assessment (parameter p_assess)",
          _simple("p_assess", 0, 1)),
    Lever("decline_to_issue", ("from", "value"), ("from", "value"),
          "probability that an assessment ends in a decision not to issue (p_decline)", _simple("p_decline", 0, 1)),
    Lever("request_growth", ("from", "value"), ("from", "value"),
          "annual growth of requests for assessment (request_growth)", _simple("request_growth", -0.99, 10)),
    Lever("review_capacity", ("from", "value"), ("from", "value"),
          "annual reviews completed per month (review_capacity)", _simple("review_capacity", 0, 1e9)),
    Lever("assessment_capacity", ("from", "value"), ("from", "value"),
          "assessments completed per month (assessment_capacity)", _simple("assessment_capacity", 0, 1e9)),
    Lever("reintegration", ("from", "factor", "annual_rate"), ("from",),
          "moves back to mainstream from SRP, special and independent: x factor, or an annual rate",
          _reintegration),
    Lever("special_places", ("openings",), ("openings",),
          "maintained special places: openings by month (add to the base, or set the total)", _places("special")),
    Lever("srp_places", ("openings",), ("openings",),
          "SRP places: openings by month (add to the base, or set the total)", _places("srp")),
    Lever("phase_transfer_mix", ("from", "transfer", "placement", "mix"), ("from", "transfer", "mix"),
          "destination mix at a phase transfer (reception, secondary, post16, post19)", _phase_mix),
    Lever("independent_fee_uplift", ("from", "value"), ("from", "value"),
          "the authority's uplift of independent and specialist post-16 fees in every year from a financial year "
          "(instead of the providers' cost growth)", _fee_uplift),
    Lever("cost_growth", ("cost_type", "from", "value"), ("cost_type", "from", "value"),
          "annual growth of a cost type (teacher_pay, support_staff_pay: an award of that size each year; "
          "national_living_wage, non_pay) from a financial year", _cost_growth(None)),
    Lever("price_hold", ("from", "growth", "placements"), ("from", "growth"),
          "the authority holds the price growth of placements (default all) to at most this rate from a "
          "financial year (the plan's 1% hold)", _price_hold),
    Lever("block_transfer", ("from", "share"), ("from", "share"),
          "share of the Schools Block transferred to the High Needs Block from a financial year (0: none)",
          _block_transfer),
)}
PARAMETER_ROW_KEYS = ("parameter", "from", "age", "need", "placement", "to", "transfer", "reason", "value")


def check_levers_in_run(scenario: Scenario, calendar: Calendar) -> None:
    """A lever (or ``[[parameter]]`` row) of the scenario's own file whose every row is dated
    after the last month of the run has no effect: the scenario would equal the baseline and
    look like a lever that changes nothing. Money levers count from April of their financial
    year. Built-in scenarios are not checked: they are written for the default window, and a
    shorter run simply stops before some of their dates."""
    last = calendar.n_months - 1
    by_key: dict[str, list[ParameterRow]] = {}
    for row in scenario.rows:
        if row.file == scenario.source:  # not the rows inherited from a built-in base scenario
            by_key.setdefault(row.source, []).append(row)
    for finance_row in scenario.finance_rows:
        if finance_row.file == scenario.source and finance_row.financial_year is not None:
            by_key.setdefault(finance_row.source, []).append(
                ParameterRow(finance_row.file, 0, "", (int(finance_row.financial_year), 4), (), 0.0,
                             finance_row.source))
    for m in scenario.mitigations:
        if m.file == scenario.source and calendar.month_index(*m.start) > last:
            raise InputError(scenario.source, f"mitigation {m.name} starts in {m.start[0]:04d}-{m.start[1]:02d}, after "
                             f"the end of the run ({calendar.label(0)} to {calendar.label(last)}): it would have no "
                             "effect; correct the date or run more --months", key="mitigation")
    for source, rows in by_key.items():
        if all(r.year_month is not None and calendar.month_index(*r.year_month) > last for r in rows):
            first = min(r.year_month for r in rows if r.year_month is not None)  # all are, here
            raise InputError(scenario.source, f"takes effect in {first[0]:04d}-{first[1]:02d}, after the end of the "
                             f"run ({calendar.label(0)} to {calendar.label(last)}): it would have no effect; "
                             "correct the date or run more --months",
                             key=source.removeprefix("scenario "))


# ---- Reading -----------------------------------------------------------------------------------
def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def builtin_path(name: str) -> Path:
    path = BUILTIN_DIR / f"{name}.toml"
    if not _NAME.fullmatch(name) or not path.exists():
        raise InputError(name, f"no built-in scenario {name!r}; built-in: {', '.join(builtin_names())}")
    return path


def read_scenario_table(path: str | Path) -> dict:
    """Parse a scenario TOML file (no interpretation yet)."""
    file = str(path)
    text = read_text(path)
    table = parse_toml(file, text)
    unknown = [k for k in table if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise InputError(file, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: "
                         f"{', '.join(TOP_LEVEL_KEYS)}", key=unknown[0])
    if "name" not in table:
        raise InputError(file, "missing key 'name'", key="name")
    name = table["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InputError(file, "must be 1-64 letters, digits, '_', '.', '-' starting with a letter or digit "
                         "(it names a folder)", key="name")
    return table


def load_scenario(path: str | Path, base_rows: list[ParameterRow], calendar: Calendar) -> Scenario:
    """Read a scenario file and compile its levers into parameter rows.

    Parameters
    ----------
    path
        The TOML file.
    base_rows
        The rows of the parameters the scenario builds on (the Kent baseline plus any
        ``--params`` files).
    calendar
        The run's calendar (relative levers read base values at their effective month).

    Finance levers and a ``[finance]`` table (``rows = [{name = ..., financial_year = ...,
    value = ..., ...}]`` with the finance CSV's columns, docs/money.md) give money-model rows,
    layered over the run's finance inputs; cost growth among them also changes the engine's
    price index (derived from the finance inputs when the scenario runs).
    """
    return compile_scenario(read_scenario_table(path), str(path), base_rows, calendar)


def compile_scenario(table: dict, file: str, base_rows: list[ParameterRow], calendar: Calendar,
                     base_set: ParameterSet | None = None, _seen: tuple = ()) -> Scenario:
    """Compile a parsed scenario table (see :func:`load_scenario`). ``base_set``: the parameter
    set of ``base_rows`` if the caller has it (sweeps compile many scenarios on one base)."""
    if base_set is None:
        base_set = build_parameter_set(base_rows, calendar)
    inherited: list[ParameterRow] = []
    finance: list[FinanceRow] = []
    months: list[tuple[int, int]] = []
    mitigations: list[Mitigation] = []
    base_name = table.get("base", "baseline")
    if base_name != "baseline":
        if base_name in _seen or base_name == table["name"]:
            raise InputError(file, f"scenario bases form a loop through {base_name!r}", key="base")
        try:
            parent_path = builtin_path(str(base_name))
        except InputError as error:
            raise InputError(file, error.rule, key="base") from None
        parent = compile_scenario(read_scenario_table(parent_path), str(parent_path), base_rows, calendar,
                                  base_set, _seen + (table["name"],))
        inherited, finance, months = list(parent.rows), list(parent.finance_rows), list(parent.effective_months)
        mitigations = list(parent.mitigations)
    lever_base = overlay_parameter_set(base_set, base_rows, inherited, calendar)
    maker = _RowMaker(file)
    levers = table.get("levers", {})
    if not isinstance(levers, dict):
        raise InputError(file, "must be a table [levers.NAME]", key="levers")
    for lever_name, lever_table in levers.items():
        key = f"levers.{lever_name}"
        if lever_name not in LEVERS:
            raise InputError(file, f"unknown lever {lever_name!r}; levers: {', '.join(LEVERS)}", key=key)
        lever = LEVERS[lever_name]
        _check_keys(file, key, lever_table, lever.keys, lever.required)
        lever.apply(maker, file, key, lever_table, lever_base, calendar)
    rows_table = table.get("parameter", [])
    if not isinstance(rows_table, list):
        raise InputError(file, "must be an array of tables [[parameter]]", key="parameter")
    for k, row in enumerate(rows_table):
        key = f"parameter[{k}]"
        _check_keys(file, key, row, PARAMETER_ROW_KEYS, ("parameter", "value"))
        date = _date(file, f"{key}.from", row["from"]) if "from" in row else ""
        dims = {d: str(row[d]) for d in ("age", "need", "placement", "to", "transfer", "reason") if d in row}
        value = row["value"]
        if not isinstance(value, (int, float, str)) or isinstance(value, bool):
            raise InputError(file, f"value must be a number or \"rest\", got {value!r}", key=f"{key}.value")
        maker.add(key, str(row["parameter"]), date, value, **dims)
    if "finance" in table:
        maker.add_finance("finance", table["finance"].get("rows") if isinstance(table["finance"], dict)
                          and set(table["finance"]) == {"rows"} else table["finance"])
    if "mitigation" in table:
        own = read_mitigations(file, table["mitigation"])
        clash = sorted({m.name for m in own} & {m.name for m in mitigations})
        if clash:
            raise InputError(file, f"mitigation {clash[0]!r} is also in the base scenario", key="mitigation")
        mitigations += own
        months += [m.start for m in own]
    rows = inherited + maker.rows
    # Check the whole scenario builds (distributions still sum to one, dates, ...).
    try:
        overlay_parameter_set(base_set, base_rows, rows, calendar)
    except InputError as error:
        raise InputError(file, f"the scenario's parameters are not valid: {error}") from None
    scenario = Scenario(name=table["name"], description=str(table.get("description", "")), source=file, rows=rows,
                        finance_rows=finance + maker.finance, effective_months=months + maker.months,
                        mitigations=mitigations)
    if mitigations:  # every mitigation applies to the base (its cells exist, its values stay valid)
        applied = overlay_parameter_set(base_set, base_rows, rows, calendar)
        for mitigation in mitigations:
            applied = mitigation.apply(applied, calendar)
    return scenario
