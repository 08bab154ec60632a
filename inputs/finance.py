"""Finance inputs of the money model: reading, validating and deriving the yearly series.

A finance file is a long CSV, one value per row, every row with its source::

    name,financial_year,line,placement,cost_type,value,unit,source,note
    cost_growth,2024-25,,,support_staff_pay,0.10,fraction,seed_targets.csv:support_staff_pay_growth_2024_25,
    placement_cost_weight,,,special,special_school_funding,1,share,assumption: ...,
    spend_line,2023-24,central_sen_services,,la_top_up_rates,7.5,GBP m,assumption: ...,

``name`` is one of :data:`ITEMS` (unknown names are errors); each item says which of the key
columns (``line``, ``placement``, ``cost_type``) it needs (the others must be blank), whether
``financial_year`` is required and how it is read:

- ``year``: the value belongs to that financial year only;
- ``from``: the value is in force from that financial year until a later row (like dated rows
  of a parameter file);
- ``none``: no financial year.

Money is written in ``GBP`` or ``GBP m`` (converted to GBP on reading). Files are layered
like parameter files: a later file (``--finance FILE``, a scenario's ``[finance]`` rows) replaces
the rows of earlier files that have the same name, keys and financial year. Every rule
broken is an :class:`~inputs.errors.InputError` naming the file, the line, the column and the
rule; nothing is run.

:class:`FinanceInputs` turns the rows into the series the money model uses (every rule is in
the docstring of the method that applies it, and in ``docs/money.md``): price indices of the
cost types and of each placement (from which the engine's ``price_growth`` rows are derived
at run time, so that cost growth has one definition), the other spend lines, the High Needs
Block, the Schools Block transfer, the Early Years Block contribution, the recharges for other
authorities' looked-after children, the other blocks' positions, the council's and the
Department's Safety Valve contributions, the profile and the outturns.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import read_text
from sendsim.inputs.parameters import ParameterRow
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

KENT_FINANCE = Path(__file__).resolve().parent / "kent" / "finance.csv"
COLUMNS: tuple[str, ...] = ("name", "financial_year", "line", "placement", "cost_type", "value", "unit", "source",
                            "note")
KEY_COLUMNS: tuple[str, ...] = ("line", "placement", "cost_type")
GBP_PER_MILLION = 1_000_000.0
WEIGHT_TOLERANCE = 1e-6

# Kinds of cost whose prices grow at their own rates. Each placement's price is a weighted
# mix of these (placement_cost_weight); each other spend line follows one of them.
COST_TYPES: tuple[str, ...] = (
    "support_staff_pay",       # pay of teaching assistants and support workers (national living wage)
    "special_school_funding",  # the authority's funding uplift for maintained special schools and SRPs
    "la_top_up_rates",         # top-up rates the authority sets (mainstream, FE, early years)
    "independent_fees",        # fees of independent and non-maintained special schools and colleges
)
# High-needs spend that is not a placement of an individual plan (in scope: DSG high-needs
# block). Home-to-school transport is general-fund money and is not a line.
SPEND_LINES: tuple[str, ...] = (
    "central_sen_services",    # specialist teaching and learning, sensory and physical disability services
    "sen_outreach",            # special school outreach, local inclusion forum teams
    "hospital_education",      # hospital and medical education service
    "alternative_provision",   # commissioned AP / PRU places for pupils without a plan
    "early_years_inclusion",   # SEN inclusion fund for early-years settings
)
OTHER_BLOCKS: tuple[str, ...] = ("schools_block", "central_school_services_block", "early_years_block")


@dataclass(frozen=True)
class ItemSpec:
    """One kind of finance row: its key columns, how its financial year is read, its unit
    and valid range, and what it means."""

    name: str
    keys: tuple[str, ...]
    dated: str  # "year" | "from" | "none"
    unit: str   # "GBP" | "fraction" | "share" | "plans" | "flag"
    low: float
    high: float
    description: str


_GBP_MAX = 1e11
ITEMS: dict[str, ItemSpec] = {spec.name: spec for spec in (
    ItemSpec("cost_growth", ("cost_type",), "from", "fraction", -0.5, 1.0,
             "growth of the cost type's prices in the financial year over the year before"),
    ItemSpec("cost_level", ("cost_type",), "year", "GBP", 0.0, _GBP_MAX,
             "an observed price level of the cost type (e.g. cost per pupil); where no cost_growth row is in "
             "force, the cost type grows at the annualised rate between its first and last levels"),
    ItemSpec("placement_cost_weight", ("placement", "cost_type"), "none", "share", 0.0, 1.0,
             "share of the placement's unit cost whose price follows the cost type (each placement sums to 1)"),
    ItemSpec("spend_line", ("line", "cost_type"), "from", "GBP", 0.0, _GBP_MAX,
             "annual spend on a high-needs line that is not an individual placement, at that year's prices; "
             "later years grow with the cost type"),
    ItemSpec("hnb_budget", (), "year", "GBP", 0.0, _GBP_MAX,
             "High Needs Block budget: the allocation plus the Schools Block transfer of that year"),
    ItemSpec("hnb_budget_transfer_share", (), "year", "fraction", 0.0, 0.1,
             "share of the Schools Block included in that year's hnb_budget figure (fixed by the data, not by a "
             "scenario's transfer)"),
    ItemSpec("hnb_increase", (), "year", "GBP", -_GBP_MAX, _GBP_MAX,
             "increase of the High Needs Block allocation over the year before"),
    ItemSpec("hnb_growth", (), "from", "fraction", -0.5, 1.0,
             "growth of the High Needs Block allocation in years without an hnb_increase row"),
    ItemSpec("schools_block_transfer", (), "year", "GBP", 0.0, _GBP_MAX,
             "a known Schools Block transfer in GBP (with the share of that year it fixes the Schools Block)"),
    ItemSpec("schools_block_transfer_share", (), "from", "fraction", 0.0, 0.1,
             "share of the Schools Block transferred to the High Needs Block (0 switches the transfer off)"),
    ItemSpec("schools_block_growth", (), "from", "fraction", -0.5, 1.0, "growth of the Schools Block"),
    ItemSpec("early_years_block_share", ("line",), "from", "share", 0.0, 1.0,
             "share of a spend line funded by the Early Years Block (an income line of the high-needs account)"),
    ItemSpec("ola_lac_plans", (), "from", "plans", 0.0, 1e6,
             "plans of other authorities' looked-after children placed in the area, recharged to them"),
    ItemSpec("ola_recharge_share", (), "from", "share", 0.0, 1.0,
             "share of those plans' average cost recovered from the placing authorities"),
    ItemSpec("other_block_in_year", ("line",), "from", "GBP", -_GBP_MAX, _GBP_MAX,
             "in-year over (+) or under (-) spend of another DSG block"),
    ItemSpec("council_contribution_total", (), "none", "GBP", 0.0, _GBP_MAX,
             "the council's own contributions to the DSG deficit over the Safety Valve agreement"),
    ItemSpec("council_contribution", (), "year", "GBP", 0.0, _GBP_MAX,
             "the council's contribution in a year (years without a row: see FinanceInputs.council_contribution)"),
    ItemSpec("dfe_instalment_total", (), "none", "GBP", 0.0, _GBP_MAX,
             "the Department's Safety Valve payments over the agreement"),
    ItemSpec("dfe_instalment", (), "year", "GBP", 0.0, _GBP_MAX, "the Department's instalment in a year"),
    ItemSpec("dfe_instalments_conditional", (), "none", "flag", 0.0, 1.0,
             "1: a forecast year's instalment is paid only if the year meets the profile; 0: always paid"),
    ItemSpec("sv_profile", (), "year", "GBP", -_GBP_MAX, _GBP_MAX,
             "Safety Valve profile: accumulated DSG deficit at the year end (before the Department's instalments)"),
    ItemSpec("council_forecast", (), "year", "GBP", -_GBP_MAX, _GBP_MAX,
             "the council's own forecast of the accumulated deficit (same basis as the profile)"),
    ItemSpec("accumulated_deficit_outturn", (), "year", "GBP", -_GBP_MAX, _GBP_MAX,
             "accumulated DSG deficit at the year end, outturn (same basis as the profile)"),
    ItemSpec("hn_in_year_deficit_profile", (), "year", "GBP", -_GBP_MAX, _GBP_MAX,
             "in-year high-needs deficit in the Safety Valve profile, before contributions"),
    ItemSpec("hn_in_year_deficit_variance", (), "year", "GBP", -_GBP_MAX, _GBP_MAX,
             "outturn variance of the in-year high-needs deficit against the profile"),
    ItemSpec("rag_amber_tolerance", (), "none", "share", 0.0, 1.0,
             "RAG rule: amber when the accumulated deficit is above the profile by at most this share of it"),
)}
_FY = re.compile(r"^(\d{4})-(\d{2})$")


def fy_label(start_year: int) -> str:
    """Financial year label: 2024 -> '2024-25'."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def parse_fy(text: str) -> int | None:
    """'2024-25' -> 2024; None if malformed."""
    match = _FY.match(text.strip())
    if not match:
        return None
    start = int(match.group(1))
    return start if (start + 1) % 100 == int(match.group(2)) else None


@dataclass(frozen=True)
class FinanceRow:
    """One validated finance row (money already in GBP)."""

    file: str
    line_number: int
    name: str
    financial_year: int | None
    line: str
    placement: str
    cost_type: str
    value: float
    source: str

    @property
    def identity(self) -> tuple:
        return (self.name, self.financial_year, self.line, self.placement, self.cost_type)

    def where(self) -> str:
        return f"{self.file}, line {self.line_number}"


def _allowed_keys(name: str, column: str) -> tuple[str, ...]:
    if column == "placement":
        return codes.PLACEMENTS
    if column == "cost_type":
        return COST_TYPES
    if name == "other_block_in_year":
        return OTHER_BLOCKS
    return SPEND_LINES


def _read_rows(file: str, text: str) -> list[FinanceRow]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(file, "the file is empty (expected a header row and finance rows)") from None
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InputError(file, f"unknown column(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(COLUMNS)}",
                         row=1)
    for required in ("name", "value", "unit", "source"):
        if required not in header:
            raise InputError(file, f"missing required column {required!r}", row=1)
    if len(set(header)) != len(header):
        raise InputError(file, "a column appears twice in the header", row=1)
    rows: list[FinanceRow] = []
    seen: dict[tuple, int] = {}
    for number, record in enumerate(reader, start=2):
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise InputError(file, f"has {len(record)} fields, the header has {len(header)}", row=number)
        cell = {name: value.strip() for name, value in zip(header, record)}
        rows.append(_parse_row(file, number, cell))
        identity = rows[-1].identity
        if identity in seen:
            raise InputError(file, f"repeats the row on line {seen[identity]} (same name, keys and financial year)",
                             row=number, column="name")
        seen[identity] = number
    if not rows:
        raise InputError(file, "the file has a header but no finance rows")
    return rows


def _parse_row(file: str, number: int, cell: dict[str, str]) -> FinanceRow:
    name = cell["name"]
    if name not in ITEMS:
        raise InputError(file, f"unknown finance item {name!r}; allowed: {', '.join(ITEMS)}", row=number,
                         column="name")
    spec = ITEMS[name]
    keys = {}
    for column in KEY_COLUMNS:
        text = cell.get(column, "")
        if column not in spec.keys:
            if text:
                raise InputError(file, f"{name} has no {column}; leave the column blank", row=number, column=column)
            keys[column] = ""
            continue
        allowed = _allowed_keys(name, column)
        if text not in allowed:
            raise InputError(file, f"{name} needs a {column} from {', '.join(allowed)}; got {text!r}", row=number,
                             column=column)
        keys[column] = text
    fy_text = cell.get("financial_year", "")
    fy = None
    if spec.dated == "none":
        if fy_text:
            raise InputError(file, f"{name} has no financial year; leave the column blank", row=number,
                             column="financial_year")
    else:
        fy = parse_fy(fy_text)
        if fy is None:
            raise InputError(file, f"{name} needs a financial year like 2024-25; got {fy_text!r}", row=number,
                             column="financial_year")
    unit = cell["unit"]
    allowed_units = ("GBP", "GBP m") if spec.unit == "GBP" else (spec.unit,)
    if unit not in allowed_units:
        raise InputError(file, f"{name} is in {' or '.join(allowed_units)}; got unit {unit!r}", row=number,
                         column="unit")
    try:
        value = float(cell["value"])
    except ValueError:
        raise InputError(file, f"value {cell['value']!r} is not a number", row=number, column="value") from None
    if not math.isfinite(value):
        raise InputError(file, f"value {cell['value']!r} must be finite", row=number, column="value")
    if unit == "GBP m":
        value *= GBP_PER_MILLION
    if not spec.low <= value <= spec.high:
        raise InputError(file, f"{name} must lie in [{spec.low:g}, {spec.high:g}] {spec.unit}; got {value:g}",
                         row=number, column="value")
    if spec.unit == "flag" and value not in (0.0, 1.0):
        raise InputError(file, f"{name} is a flag: 0 or 1", row=number, column="value")
    if not cell["source"]:
        raise InputError(file, "every finance value needs its source (a data file id or 'assumption: ...')",
                         row=number, column="source")
    return FinanceRow(file, number, name, fy, keys["line"], keys["placement"], keys["cost_type"], value,
                      cell["source"])


def read_finance_rows(path: str | Path, text: str | None = None) -> list[FinanceRow]:
    """Parse and check one finance CSV row by row (see the module docstring)."""
    return _read_rows(str(path), read_text(path) if text is None else text)


def rows_from_table(file: str, key: str, table: object) -> list[FinanceRow]:
    """Finance rows from a scenario's ``[finance]`` table: ``rows = [{name = ..., financial_year
    = ..., value = ..., unit = ..., source = ...}, ...]`` with the CSV's column names."""
    if not isinstance(table, dict) or set(table) != {"rows"} or not isinstance(table["rows"], list):
        raise InputError(file, "a [finance] table holds one key, rows = [ {name = ..., value = ..., ...}, ... ]",
                         key=key)
    lines = [",".join(COLUMNS)]
    for k, entry in enumerate(table["rows"]):
        if not isinstance(entry, dict):
            raise InputError(file, f"finance row {k + 1} must be a table", key=key)
        unknown = sorted(set(entry) - set(COLUMNS))
        if unknown:
            raise InputError(file, f"finance row {k + 1}: unknown key(s) {', '.join(unknown)}", key=key)
        values = [str(entry.get(c, "")).replace('"', '""') for c in COLUMNS]
        lines.append(",".join(f'"{v}"' for v in values))
    try:
        return _read_rows(file, "\n".join(lines) + "\n")
    except InputError as error:
        row = f"finance row {error.row - 1}: " if error.row and error.row > 1 else ""
        raise InputError(file, row + error.rule, key=key, column=error.column) from None


def layer(rows: list[FinanceRow]) -> list[FinanceRow]:
    """Later rows replace earlier ones with the same identity (name, keys, financial year)."""
    out: dict[tuple, FinanceRow] = {}
    for row in rows:
        out.pop(row.identity, None)
        out[row.identity] = row
    return list(out.values())


class FinanceInputs:
    """The layered finance rows and the yearly series derived from them."""

    def __init__(self, rows: list[FinanceRow], files: list[str]) -> None:
        self.rows = layer(rows)
        self.files = files
        self._check()

    # ---- lookups ---------------------------------------------------------------------------
    def _of(self, name: str, **keys: str) -> list[FinanceRow]:
        return [r for r in self.rows if r.name == name and all(getattr(r, k) == v for k, v in keys.items())]

    def _error(self, rule: str, rows: list[FinanceRow] | None = None, column: str | None = None) -> InputError:
        if rows:
            return InputError(rows[0].file, rule, row=rows[0].line_number, column=column)
        return InputError(", ".join(self.files), rule)

    def scalar(self, name: str) -> float:
        """The value of an undated item (required)."""
        found = self._of(name)
        if not found:
            raise self._error(f"finance item {name} is required ({ITEMS[name].description})")
        return found[-1].value

    def year_value(self, name: str, fy: int, **keys: str) -> float | None:
        """The value of a per-year item for exactly that year, or None."""
        for row in self._of(name, **keys):
            if row.financial_year == fy:
                return row.value
        return None

    def in_force(self, name: str, fy: int, default: float | None = None, **keys: str) -> float:
        """The value of a 'from' item in force in ``fy``: the latest row dated on or before it."""
        best = None
        for row in self._of(name, **keys):
            if row.financial_year <= fy and (best is None or row.financial_year > best.financial_year):
                best = row
        if best is not None:
            return best.value
        if default is not None:
            return default
        what = ", ".join(f"{k}={v}" for k, v in keys.items())
        raise self._error(f"finance item {name}{' (' + what + ')' if what else ''} has no row in force in "
                          f"{fy_label(fy)}: add one dated {fy_label(fy)} or earlier")

    def years(self, name: str) -> list[int]:
        return sorted({r.financial_year for r in self._of(name)})

    # ---- validation of the whole set ----------------------------------------------------------
    def _check(self) -> None:
        for placement in codes.PLACEMENTS:
            weights = self._of("placement_cost_weight", placement=placement)
            total = sum(r.value for r in weights)
            if not weights:
                raise self._error(f"placement {placement} has no placement_cost_weight rows")
            if abs(total - 1.0) > WEIGHT_TOLERANCE:
                raise self._error(f"placement_cost_weight rows of {placement} sum to {total:.6g}, not 1", weights,
                                  "value")
        for row in self._of("placement_cost_weight") + self._of("spend_line"):
            if not self._of("cost_growth", cost_type=row.cost_type) and len(
                    self._of("cost_level", cost_type=row.cost_type)) < 2:
                raise self._error(f"cost type {row.cost_type} has neither cost_growth rows nor two cost_level rows",
                                  [row], "cost_type")
        for row in self._of("early_years_block_share"):
            if not self._of("spend_line", line=row.line):
                raise self._error(f"early_years_block_share names line {row.line}, which has no spend_line rows",
                                  [row], "line")
        if not self._of("sv_profile"):
            raise self._error("the Safety Valve profile (sv_profile rows) is required")
        profile_years = self.years("sv_profile")
        if profile_years != list(range(profile_years[0], profile_years[-1] + 1)):
            raise self._error("sv_profile rows must cover consecutive financial years", self._of("sv_profile"),
                              "financial_year")
        for name in ("council_contribution", "dfe_instalment"):
            for row in self._of(name):
                if row.financial_year not in profile_years:
                    raise self._error(f"{name} in {fy_label(row.financial_year)} is outside the agreement "
                                      f"({fy_label(profile_years[0])} to {fy_label(profile_years[-1])})", [row],
                                      "financial_year")

    # ---- cost growth ------------------------------------------------------------------------------
    def cost_growth(self, cost_type: str, fy: int) -> float:
        """Growth of a cost type in ``fy``: the cost_growth row in force; without one, the
        annualised growth between the cost type's first and last cost_level rows."""
        if any(r.financial_year <= fy for r in self._of("cost_growth", cost_type=cost_type)):
            return self.in_force("cost_growth", fy, cost_type=cost_type)
        levels = sorted(self._of("cost_level", cost_type=cost_type), key=lambda r: r.financial_year)
        if len(levels) < 2:
            raise self._error(f"cost type {cost_type} has no growth in force in {fy_label(fy)} (no cost_growth row "
                              "dated then or earlier, and fewer than two cost_level rows)")
        first, last = levels[0], levels[-1]
        return (last.value / first.value) ** (1.0 / (last.financial_year - first.financial_year)) - 1.0

    def cost_index(self, cost_type: str, base_fy: int, fy: int) -> float:
        """Price level of a cost type in ``fy`` relative to ``base_fy`` (1 in the base year)."""
        index = 1.0
        for y in range(base_fy + 1, fy + 1):
            index *= 1.0 + self.cost_growth(cost_type, y)
        for y in range(fy + 1, base_fy + 1):
            index /= 1.0 + self.cost_growth(cost_type, y)
        return index

    def placement_index(self, base_fy: int, fy: int) -> np.ndarray:
        """Price level of each placement in ``fy`` relative to ``base_fy``: the weighted sum of
        its cost types' indices (weights are shares of the base-year unit cost)."""
        out = np.zeros(codes.N_PLACEMENTS)
        for row in self._of("placement_cost_weight"):
            out[codes.PLACEMENTS.index(row.placement)] += row.value * self.cost_index(row.cost_type, base_fy, fy)
        return out

    def placement_growth(self, fy: int, base_fy: int | None = None) -> np.ndarray:
        """Growth of each placement's price in ``fy`` over ``fy - 1``."""
        base = fy - 1 if base_fy is None else base_fy
        return self.placement_index(base, fy) / self.placement_index(base, fy - 1) - 1.0

    def price_growth_rows(self, calendar: Calendar) -> list[ParameterRow]:
        """The engine's ``price_growth`` rows, one per placement dated each April of the run:
        the growth of the placement's price index in the financial year that April starts.
        The engine's unit costs are at the prices of the start month's financial year."""
        base = int(calendar.financial_years()[0])
        last = int(calendar.financial_years()[-1])
        rows = []
        for fy in range(base + 1, last + 1):
            growth = self.placement_index(base, fy) / self.placement_index(base, fy - 1) - 1.0
            for p, placement in enumerate(codes.PLACEMENTS):
                rows.append(ParameterRow(", ".join(self.files), 0, "price_growth", (fy, 4), ((p,),), float(growth[p]),
                                         f"finance cost types: {placement} price index {fy_label(fy)}"))
        return rows

    # ---- spend lines --------------------------------------------------------------------------------
    def spend_line(self, line: str, fy: int) -> float:
        """Spend on a line in ``fy``: the spend_line row in force, at its year's prices, grown by
        its cost type's index to ``fy``; 0 before the line's first row."""
        rows = [r for r in self._of("spend_line", line=line) if r.financial_year <= fy]
        if not rows:
            return 0.0
        row = max(rows, key=lambda r: r.financial_year)
        return row.value * self.cost_index(row.cost_type, row.financial_year, fy)

    def spend_lines(self, fy: int) -> dict[str, float]:
        return {line: self.spend_line(line, fy) for line in SPEND_LINES}

    # ---- income ----------------------------------------------------------------------------------------
    def schools_block(self, fy: int) -> float:
        """The Schools Block: fixed by a year with a known transfer in GBP and its share
        (transfer / share), then moved year by year with schools_block_growth."""
        anchors = [r for r in self._of("schools_block_transfer")]
        if not anchors:
            raise self._error("finance item schools_block_transfer is required (it fixes the Schools Block)")
        anchor = max(anchors, key=lambda r: r.financial_year)
        share = self.in_force("schools_block_transfer_share", anchor.financial_year)
        if share <= 0:
            raise self._error("the schools_block_transfer_share in force in the year of the schools_block_transfer "
                              "row must be positive", [anchor], "value")
        block = anchor.value / share
        for y in range(anchor.financial_year + 1, fy + 1):
            block *= 1.0 + self.in_force("schools_block_growth", y)
        for y in range(fy + 1, anchor.financial_year + 1):
            block /= 1.0 + self.in_force("schools_block_growth", y)
        return block

    def schools_block_transfer_gbp(self, fy: int) -> float:
        return self.in_force("schools_block_transfer_share", fy) * self.schools_block(fy)

    def hnb_allocation(self, fy: int) -> float:
        """The High Needs Block allocation. Anchor: the latest hnb_budget year, whose budget is
        the allocation plus the Schools Block transfer it included (hnb_budget_transfer_share,
        so that a scenario switching the transfer off does not move the allocation). Earlier years step back by the
        hnb_increase of each later year; later years add that year's hnb_increase if given,
        else grow by hnb_growth."""
        budgets = self._of("hnb_budget")
        if not budgets:
            raise self._error("finance item hnb_budget is required (it fixes the High Needs Block)")
        anchor = max(budgets, key=lambda r: r.financial_year)
        a = anchor.financial_year
        included = self.year_value("hnb_budget_transfer_share", a)
        if included is None:
            raise self._error(f"hnb_budget_transfer_share for {fy_label(a)} is required with the hnb_budget row",
                              [anchor], "name")
        allocation = anchor.value - included * self.schools_block(a)
        for y in range(a + 1, fy + 1):
            increase = self.year_value("hnb_increase", y)
            allocation = allocation + increase if increase is not None else allocation * (
                1.0 + self.in_force("hnb_growth", y))
        for y in range(a, fy, -1):
            increase = self.year_value("hnb_increase", y)
            if increase is None:
                raise self._error(f"no hnb_increase for {fy_label(y)}: the allocation of {fy_label(y - 1)} cannot be "
                                  "derived from the hnb_budget year")
            allocation -= increase
        return allocation

    def early_years_block_contribution(self, fy: int) -> float:
        return sum(self.in_force("early_years_block_share", fy, default=0.0, line=line) * self.spend_line(line, fy)
                   for line in SPEND_LINES)

    def ola_recharge(self, fy: int, average_plan_cost_gbp: np.ndarray | float) -> np.ndarray | float:
        """Recharges to other authorities for their looked-after children's plans: plans x the
        year's average cost of a plan x the share recovered."""
        return (self.in_force("ola_lac_plans", fy) * self.in_force("ola_recharge_share", fy)
                * np.asarray(average_plan_cost_gbp, dtype=float))

    def other_blocks(self, fy: int) -> dict[str, float]:
        return {block: self.in_force("other_block_in_year", fy, default=0.0, line=block) for block in OTHER_BLOCKS}

    # ---- Safety Valve -------------------------------------------------------------------------------
    def agreement_years(self) -> list[int]:
        """The financial years of the agreement: those of the profile."""
        return self.years("sv_profile")

    def profile(self, fy: int) -> float | None:
        return self.year_value("sv_profile", fy)

    def outturn(self, fy: int) -> float | None:
        return self.year_value("accumulated_deficit_outturn", fy)

    def hn_in_year_outturn(self, fy: int) -> float | None:
        """Outturn in-year high-needs deficit: the profile's figure plus the outturn variance."""
        profile = self.year_value("hn_in_year_deficit_profile", fy)
        variance = self.year_value("hn_in_year_deficit_variance", fy)
        return None if profile is None or variance is None else profile + variance

    def balancing_council_contribution(self, fy: int) -> float | None:
        """The council's contribution implied by the outturns: opening + in-year high-needs
        deficit + the other blocks' positions - closing. None if an outturn is missing."""
        opening, closing, high_needs = self.outturn(fy - 1), self.outturn(fy), self.hn_in_year_outturn(fy)
        if opening is None or closing is None or high_needs is None:
            return None
        return opening + high_needs + sum(self.other_blocks(fy).values()) - closing

    def council_contribution(self, fy: int) -> float:
        """The council's contribution in ``fy``: its council_contribution row if any; else, in a
        year whose outturns fix it, the balancing item; else an even share of what is left of
        council_contribution_total over the remaining agreement years; 0 outside the agreement."""
        years = self.agreement_years()
        if fy not in years:
            return 0.0
        fixed = {}
        for y in years:
            value = self.year_value("council_contribution", y)
            fixed[y] = value if value is not None else self.balancing_council_contribution(y)
        if fixed[fy] is not None:
            return fixed[fy]
        known = sum(v for v in fixed.values() if v is not None)
        open_years = [y for y in years if fixed[y] is None]
        return (self.scalar("council_contribution_total") - known) / len(open_years)

    def dfe_instalment(self, fy: int) -> float:
        """The Department's instalment due in ``fy``: its dfe_instalment row if any, else an even
        share of what is left of dfe_instalment_total over the remaining agreement years."""
        years = self.agreement_years()
        if fy not in years:
            return 0.0
        value = self.year_value("dfe_instalment", fy)
        if value is not None:
            return value
        given = {y: self.year_value("dfe_instalment", y) for y in years}
        known = sum(v for v in given.values() if v is not None)
        open_years = [y for y in years if given[y] is None]
        return (self.scalar("dfe_instalment_total") - known) / len(open_years)

    def reconcile(self, fy: int) -> list[tuple[str, float]]:
        """The outturn arithmetic of ``fy``, line by line (GBP): opening accumulated deficit,
        in-year high-needs deficit (profile + variance), other blocks, minus the council's
        contribution, equals the closing accumulated deficit. Raises if an outturn is missing."""
        opening, closing = self.outturn(fy - 1), self.outturn(fy)
        profile = self.year_value("hn_in_year_deficit_profile", fy)
        variance = self.year_value("hn_in_year_deficit_variance", fy)
        if None in (opening, closing, profile, variance):
            raise self._error(f"outturns for {fy_label(fy - 1)} and {fy_label(fy)} and the in-year high-needs "
                              f"deficit of {fy_label(fy)} are needed to reconcile {fy_label(fy)}")
        lines = [(f"accumulated deficit 31 March {fy}", opening),
                 ("in-year high-needs deficit, Safety Valve profile", profile),
                 ("in-year high-needs variance at outturn", variance)]
        lines += [(f"{block.replace('_', ' ')} in-year", value) for block, value in self.other_blocks(fy).items()]
        lines.append(("council's contribution (balancing item)", -self.council_contribution(fy)))
        lines.append((f"accumulated deficit 31 March {fy + 1}", closing))
        return lines


def load_finance(paths: list[str | Path]) -> FinanceInputs:
    """Read finance files in order (later files replace rows of earlier ones) and check them."""
    rows: list[FinanceRow] = []
    for path in paths:
        rows.extend(read_finance_rows(path))
    return FinanceInputs(rows, [str(p) for p in paths])


def with_rows(finance: FinanceInputs, extra: list[FinanceRow]) -> FinanceInputs:
    """The finance inputs with ``extra`` rows layered on top (a scenario's [finance] rows)."""
    files = finance.files + sorted({r.file for r in extra} - set(finance.files))
    return FinanceInputs(finance.rows + extra, files)


def reject_price_growth(rows: list[ParameterRow], draw_columns: list[str] | None = None,
                        draws_file: str = "") -> None:
    """Cost growth has one definition, the finance cost types: a parameter row or a draws
    column for ``price_growth`` is an error that says where to change growth instead."""
    rule = ("price_growth is derived from the finance inputs (cost_growth and placement_cost_weight rows, "
            "see docs/money.md); change those with --finance instead")
    for row in rows:
        if row.parameter == "price_growth":
            raise InputError(row.file, rule, row=row.line, column="parameter")
    for column in draw_columns or []:
        if column.split("@", 1)[0] == "price_growth":
            raise InputError(draws_file, rule, column=column)
