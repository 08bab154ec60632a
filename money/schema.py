"""What the money model reads: the finance items, their keys and units, and the error its rules raise.

The money model's own schema, as :mod:`sendsim.simcore.model` holds the engine's: the inputs layer
reads finance files into :class:`FinanceRow` objects checked against :data:`ITEMS`, and the
money model (:class:`~sendsim.money.book.FinanceBook`) derives every yearly series from them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sendsim.simcore import codes

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


# Kinds of cost whose prices grow at their own rates: the cost structure of a provider
# (placement_cost_weight) is a weighted mix of these, and each placement's price follows it
# in years the authority has not decided (price_uplift). Pay types may grow by dated awards.
COST_TYPES: tuple[str, ...] = (
    "teacher_pay",             # school teachers' pay (the STRB award each September)
    "support_staff_pay",       # teaching assistants and support staff on the NJC spine (April awards)
    "national_living_wage",    # care and support staff paid near the national living wage (independent sector)
    "non_pay",                 # premises, supplies, services: consumer prices
)
# Cost types that grow by dated pay awards (pay_award rows) rather than yearly growth rows.
PAY_TYPES: tuple[str, ...] = ("teacher_pay", "support_staff_pay")
# High-needs spend that is not a placement of an individual plan (in scope: DSG high-needs
# block). Home-to-school transport is general-fund money and is not a line.
SPEND_LINES: tuple[str, ...] = (
    "specialist_teaching_service",   # STLS: specialist teachers supporting schools, run through special schools
    "mainstream_without_plan",       # high-needs top-ups for mainstream pupils without a plan; from September
                                     # 2025 the locality model's Communities of Schools budget
    "alternative_provision_without_plan",  # pupil referral units and AP for pupils without a plan
    "hospital_education",            # the health needs education service
    "early_years_inclusion",         # SEN inclusion fund for early-years settings
    "pay_grants_passed_on",          # pay and pension grants rolled into the block, passed to special schools and AP
)
OTHER_BLOCKS: tuple[str, ...] = ("schools_block", "central_school_services_block", "early_years_block")
# Age bands of the engine's stock table (academic age on the previous 31 August).
AGE_BANDS: tuple[str, ...] = codes.AGE_BANDS


@dataclass(frozen=True)
class ItemSpec:
    """One kind of finance row: its key columns, how its financial year is read, its unit
    and valid range, and what it means."""

    name: str
    keys: tuple[str, ...]
    dated: str  # "year" | "from" | "none"
    unit: str   # "GBP" | "fraction" | "share" | "plans" | "flag" | "month"
    low: float
    high: float
    description: str


_GBP_MAX = 1e11
ITEMS: dict[str, ItemSpec] = {spec.name: spec for spec in (
    # ---- prices -----------------------------------------------------------------------------------
    ItemSpec("cost_growth", ("cost_type",), "from", "fraction", -0.5, 1.0,
             "growth of the cost type in the financial year over the year before (types without pay_award rows)"),
    ItemSpec("pay_award", ("cost_type",), "year", "fraction", -0.5, 1.0,
             "a pay award of the cost type taking effect in that financial year, in its award_month; the year's "
             "growth is the rise of the average monthly pay level over the year before"),
    ItemSpec("award_month", ("cost_type",), "none", "month", 1.0, 12.0,
             "calendar month in which the cost type's pay awards take effect (9: September)"),
    ItemSpec("pay_award_funded_share", ("placement", "cost_type"), "year", "share", 0.0, 1.0,
             "share of that year's award that providers of the placement receive from a separate national grant "
             "outside the high-needs block (it does not raise the price the authority pays)"),
    ItemSpec("placement_cost_weight", ("placement", "cost_type"), "none", "share", 0.0, 1.0,
             "share of the cost type in the cost of the placement's providers (each placement sums to 1)"),
    ItemSpec("price_uplift", ("placement",), "year", "fraction", -0.5, 1.0,
             "the authority's decided uplift of what it pays for the placement in that year (replaces the cost "
             "structure's growth)"),
    ItemSpec("price_level", ("placement",), "year", "GBP", 0.0, _GBP_MAX,
             "an observed price of the placement (cost per pupil); years between two levels without a "
             "price_uplift row grow at the annualised rate between them"),
    ItemSpec("price_hold", ("placement",), "from", "fraction", -0.5, 1.0,
             "the authority holds the placement's price growth to at most this rate from that year (years "
             "without a decided uplift)"),
    ItemSpec("price_saving", ("placement",), "year", "share", 0.0, 1.0,
             "reduction of the placement's price level in that year (e.g. a value-for-money review), as the "
             "year's average"),
    # ---- spend outside individual plans -------------------------------------------------------------
    ItemSpec("spend_line", ("line", "placement"), "from", "GBP", 0.0, _GBP_MAX,
             "annual spend on a high-needs line outside individual plans, at that year's prices; later years move "
             "with the price of the placement named (the provider the money buys)"),
    ItemSpec("spend_line_volume", ("line", "placement"), "none", "share", 0.0, 1.0,
             "the line's volume follows the run's plans in this placement (their ratio to the line's first year); "
             "without a row the volume is flat"),
    ItemSpec("spend_line_factor", ("line",), "year", "share", 0.0, 10.0,
             "a multiplier of the line in that year (a mitigation's change, the year's average)"),
    ItemSpec("early_years_block_share", ("line",), "from", "share", 0.0, 1.0,
             "share of a spend line funded by the Early Years Block (an income line of the high-needs account)"),
    # ---- income -------------------------------------------------------------------------------------
    ItemSpec("hnb_budget", (), "year", "GBP", 0.0, _GBP_MAX,
             "a published High Needs Block budget figure: the allocation plus the Schools Block transfer of that "
             "year (hnb_budget_transfer)"),
    ItemSpec("hnb_budget_transfer", (), "year", "GBP", 0.0, _GBP_MAX,
             "the Schools Block transfer included in that year's hnb_budget figure"),
    ItemSpec("hnb_budget_is_gross", (), "none", "flag", 0.0, 1.0,
             "1: the hnb_budget allocation is before the Department's deductions for places it funds directly "
             "(gross); 0: after them (net)"),
    ItemSpec("hnb_increase", (), "year", "GBP", -_GBP_MAX, _GBP_MAX,
             "published increase of the gross High Needs Block allocation over the year before"),
    ItemSpec("hnb_growth", (), "from", "fraction", -0.5, 1.0,
             "growth of the gross allocation in years without an hnb_increase row (the mode where "
             "hnb_growth_low/high are in force)"),
    ItemSpec("hnb_growth_low", (), "from", "fraction", -0.5, 1.0,
             "lowest growth of a triangular distribution of the allocation's growth, drawn per run"),
    ItemSpec("hnb_growth_high", (), "from", "fraction", -0.5, 1.0,
             "highest growth of that triangular distribution"),
    ItemSpec("deduction_rate", ("placement",), "from", "GBP", 0.0, _GBP_MAX,
             "place funding per pupil that the Department deducts from the allocation and pays to the provider "
             "directly (academies, free schools, FE colleges, specialist post-16 and non-maintained schools)"),
    ItemSpec("deduction_share", ("placement",), "from", "share", 0.0, 1.0,
             "share of the placement's plans in providers funded directly (their place funding is deducted)"),
    ItemSpec("pay_grants_rolled_in", (), "from", "GBP", 0.0, _GBP_MAX,
             "pay and pension grants for special schools and AP rolled into the block (income; passed on as the "
             "spend line pay_grants_passed_on)"),
    ItemSpec("schools_block_transfer", (), "year", "GBP", 0.0, _GBP_MAX,
             "a decided Schools Block transfer in GBP (with schools_block_transfer_decided_share it fixes the "
             "Schools Block that year)"),
    ItemSpec("schools_block_transfer_decided_share", (), "year", "fraction", 0.0, 0.1,
             "the share of the Schools Block that the decided transfer of that year is"),
    ItemSpec("schools_block_transfer_share", (), "from", "fraction", 0.0, 0.1,
             "share of the Schools Block transferred to the High Needs Block (0 switches the transfer off)"),
    ItemSpec("schools_block_growth", (), "from", "fraction", -0.5, 1.0,
             "growth of the Schools Block in years after the last decided transfer"),
    ItemSpec("ola_lac_plans", (), "from", "plans", 0.0, 1e6,
             "plans of other authorities' looked-after children placed in the area, recharged to them"),
    ItemSpec("ola_recharge_share", (), "from", "share", 0.0, 1.0,
             "share of those plans' average cost recovered from the placing authorities"),
    ItemSpec("health_contribution_share", ("placement", "age_band"), "year", "share", 0.0, 1.0,
             "share of the spend on plans of this placement and age band paid by the NHS (joint funding; the "
             "year's average)"),
    # ---- other blocks, contributions, the profile -------------------------------------------------------
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
    ItemSpec("statutory_override_ends", (), "year", "flag", 1.0, 1.0,
             "the statutory override (DSG deficits kept off the general fund) ends at the end of that financial "
             "year: the deficit then, after the Department's payments, is the council's exposure"),
    ItemSpec("sv_ehcp_estimate", ("age_band",), "year", "plans", 0.0, 1e7,
             "the Safety Valve agreement's estimate of EHCPs by age band at the January of that year's start "
             "(compared in the DSG management plan)"),
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
    age_band: str = ""

    @property
    def identity(self) -> tuple:
        """The keys that make a row unique: a later row with the same identity replaces it."""
        return (self.name, self.financial_year, self.line, self.placement, self.cost_type, self.age_band)

    def where(self) -> str:
        """The file and line, for messages."""
        return f"{self.file}, line {self.line_number}"

    @property
    def year(self) -> int:
        """The financial year of a dated row (items of kind "year" or "from", where the reader
        requires it)."""
        if self.financial_year is None:
            raise ValueError(f"{self.where()}: {self.name} has no financial_year")
        return self.financial_year


