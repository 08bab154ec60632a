"""What the money model reads: the finance items, their keys and units, and the error its rules raise.

The money model's own schema, as :mod:`sendsim.simcore.model` holds the engine's: the inputs layer
reads finance files into :class:`FinanceRow` objects checked against :data:`ITEMS`, and the
money model (:class:`~sendsim.money.book.FinanceBook`) derives every yearly series from them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

GBP_PER_MILLION = 1_000_000.0
WEIGHT_TOLERANCE = 1e-6


class FinanceRuleError(ValueError):
    """A finance rule the rows break (a required item missing, weights not summing to one).
    The inputs layer turns it into its own error naming the file, the line and the column.

    Parameters
    ----------
    file
        The file (or files) the rows came from.
    rule
        What is wrong, in words.
    row
        The line of the row at fault, if one is.
    column
        The column at fault, if one is.
    """

    def __init__(self, file: str, rule: str, *, row: int | None = None, column: str | None = None) -> None:
        self.file = str(file)
        self.rule = rule
        self.row = row
        self.column = column
        where = [self.file] + ([f"line {row}"] if row is not None else []) + (
            [f"column {column!r}"] if column is not None else [])
        super().__init__(f"{', '.join(where)}: {rule}")

    def __reduce__(self):
        return (_rebuild, (self.file, self.rule, self.row, self.column))


def _rebuild(file: str, rule: str, row: int | None, column: str | None) -> FinanceRuleError:
    return FinanceRuleError(file, rule, row=row, column=column)


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
             "the council's contribution in a year (years without a row: see FinanceBook.council_contribution)"),
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


