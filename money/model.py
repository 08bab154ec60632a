"""The money model: from each run's placement spend to the DSG deficit against the Safety Valve profile.

For every run and every complete financial year after the opening year (the year whose outturn
the runs start from), in this order (the rules are documented in ``docs/money.md``):

1. **Spend** (high-needs block): the engine's placement spend by placement (``plans_<placement>``,
   at each month's prices: :mod:`sendsim.money.prices`), plus the other
   high-needs lines (central SEN services, outreach, hospital education, alternative provision,
   early-years inclusion) at that year's prices.
2. **Income** (high-needs block): the High Needs Block allocation, the Schools Block transfer, the
   Early Years Block contribution and the recharges for other authorities' looked-after children
   (their plans x the run's average cost of a plan that year).
3. **In-year high-needs deficit** = spend - income; the **DSG in-year deficit** adds the other
   blocks' positions.
4. **Accumulated DSG deficit** (the basis of the Safety Valve profile: after the council's
   contributions, before the Department's instalments) = last year's + DSG in-year deficit -
   the council's contribution.
5. **Comparison with the profile**: variance = accumulated - profile; the year meets the profile
   (on track) when the variance is <= 0; RAG: green on track, amber above by at most
   ``rag_amber_tolerance`` of the profile, red beyond.
6. **After the Department's instalments**: last year's + DSG in-year deficit - council -
   the instalment paid (only if the year is on track, when ``dfe_instalments_conditional``);
   the deficit is **cleared** in a year when this is <= 0 (the agreement's aim for its last year).

Nothing here draws random numbers: the distribution comes from the engine's runs (and
parameter draws). Memory is small: a few numbers per run and year.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sendsim.money.book import FinanceBook
from sendsim.money.schema import OTHER_BLOCKS, SPEND_LINES, FinanceRuleError, fy_label
from sendsim.simcore import codes

INCOME_LINES: tuple[str, ...] = ("high_needs_block", "schools_block_transfer", "early_years_block_contribution",
                                 "ola_recharges")
PLAN_LINES: tuple[str, ...] = tuple(f"plans_{p}" for p in codes.PLACEMENTS)
# Every line of the finance table, with its kind: spend and income of the high-needs account,
# the other DSG blocks' in-year positions, and the Safety Valve contributions.
LINE_KINDS: dict[str, str] = {
    **{line: "spend" for line in PLAN_LINES + SPEND_LINES},
    **{line: "income" for line in INCOME_LINES},
    **{block: "other_blocks" for block in OTHER_BLOCKS},
    "council_contribution": "contribution",
    "dfe_instalment": "contribution",
}
RAG_LEVELS: tuple[str, ...] = ("green", "amber", "red")
DEFICIT_COLUMNS: tuple[str, ...] = ("spend_gbp", "income_gbp", "in_year_deficit_gbp", "dsg_in_year_deficit_gbp",
                                    "accumulated_deficit_gbp", "accumulated_deficit_after_contributions_gbp",
                                    "sv_target_gbp", "variance_gbp")


def year_lines(finance: FinanceBook, fy: int, plan_spend_gbp: np.ndarray, plans: np.ndarray) -> dict[str, np.ndarray]:
    """Every spend, income and other-block line of one financial year, per run.

    Parameters
    ----------
    finance
        The finance inputs.
    fy
        Financial year (the year it starts in).
    plan_spend_gbp
        [R, P] placement spend of each run in the year, GBP at that year's prices.
    plans
        [R] plans at the year's January census (for the average cost of a plan).
    """
    runs = plan_spend_gbp.shape[0]
    ones = np.ones(runs)
    lines: dict[str, np.ndarray] = {}
    for p, line in enumerate(PLAN_LINES):
        lines[line] = plan_spend_gbp[:, p].astype(float)
    for line, amount in finance.spend_lines(fy).items():
        lines[line] = amount * ones
    plan_total = plan_spend_gbp.sum(axis=1)
    average = np.divide(plan_total, plans, out=np.zeros(runs), where=plans > 0)
    lines["high_needs_block"] = finance.hnb_allocation(fy) * ones
    lines["schools_block_transfer"] = finance.schools_block_transfer_gbp(fy) * ones
    lines["early_years_block_contribution"] = finance.early_years_block_contribution(fy) * ones
    lines["ola_recharges"] = finance.ola_recharge(fy, average)
    for block, amount in finance.other_blocks(fy).items():
        lines[block] = amount * ones
    return lines


def totals(lines: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(spend, income, other blocks) of a year's lines."""
    spend = sum(lines[k] for k, kind in LINE_KINDS.items() if kind == "spend" and k in lines)
    income = sum(lines[k] for k, kind in LINE_KINDS.items() if kind == "income" and k in lines)
    other = sum(lines[k] for k in OTHER_BLOCKS if k in lines)
    return spend, income, other


@dataclass
class MoneyResult:
    """Per-run results: row j is run ``runs[j]``, column k is financial year ``years[k]``."""

    runs: np.ndarray
    years: np.ndarray
    columns: dict[str, np.ndarray]       # DEFICIT_COLUMNS -> [R, Y] GBP (sv_target NaN outside the agreement)
    meets_target: np.ndarray             # [R, Y] bool
    rag: np.ndarray                      # [R, Y] int index into RAG_LEVELS
    cleared: np.ndarray                  # [R, Y] bool: deficit after all contributions <= 0
    lines: dict[str, np.ndarray]         # LINE_KINDS -> [R, Y] GBP
    opening_year: int
    opening_gbp: float
    opening_after_contributions_gbp: float


def opening_year(financial_years: np.ndarray, complete: np.ndarray) -> int:
    """The year whose outturn runs start from: the one before the first complete year."""
    full = np.asarray(financial_years)[np.asarray(complete, dtype=bool)]
    if full.size == 0:
        raise FinanceRuleError("--months", "the money model needs at least one complete financial year (April to March)")
    return int(full[0]) - 1


def run_money(finance: FinanceBook, runs: np.ndarray, financial_years: np.ndarray, complete: np.ndarray,
              spend_by_fy_placement: np.ndarray, plans_by_fy: np.ndarray) -> MoneyResult:
    """The money model for every run (see the module docstring).

    Parameters
    ----------
    finance
        Finance inputs.
    runs
        [R] run numbers.
    financial_years, complete
        [F] the financial years the run's months fall in, and which are complete.
    spend_by_fy_placement
        [R, F, P] placement spend (GBP, nominal) by financial year.
    plans_by_fy
        [R, F] plans at the January census in each financial year (0 where none).
    """
    opening = opening_year(financial_years, complete)
    opening_gbp = finance.outturn(opening)
    if opening_gbp is None:
        raise FinanceRuleError(", ".join(finance.files), f"runs start from the accumulated deficit at 31 March "
                         f"{opening + 1}: add an accumulated_deficit_outturn row for {fy_label(opening)}")
    paid_before = sum(finance.dfe_instalment(y) for y in finance.agreement_years() if y <= opening)
    opening_after = opening_gbp - paid_before
    years = np.array([y for y, c in zip(financial_years, complete) if c and y > opening], dtype=np.int64)
    R, Y = runs.size, years.size
    columns = {name: np.zeros((R, Y)) for name in DEFICIT_COLUMNS}
    lines_out = {line: np.zeros((R, Y)) for line in LINE_KINDS}
    meets = np.zeros((R, Y), dtype=bool)
    rag = np.zeros((R, Y), dtype=np.int8)
    cleared = np.zeros((R, Y), dtype=bool)
    tolerance = finance.scalar("rag_amber_tolerance")
    conditional = finance.scalar("dfe_instalments_conditional") == 1.0
    accumulated = np.full(R, opening_gbp)
    after = np.full(R, opening_after)
    fy_index = {int(y): k for k, y in enumerate(financial_years)}
    for k, fy in enumerate(years):
        fy = int(fy)
        f = fy_index[fy]
        lines = year_lines(finance, fy, spend_by_fy_placement[:, f, :], plans_by_fy[:, f])
        spend, income, other = totals(lines)
        in_year = spend - income
        dsg_in_year = in_year + other
        council = finance.council_contribution(fy)
        accumulated = accumulated + dsg_in_year - council
        profile = finance.profile(fy)
        if profile is None:
            target = np.full(R, np.nan)
            on_track = np.ones(R, dtype=bool)  # no profile: nothing to miss, no instalment due
        else:
            target = np.full(R, profile)
            on_track = accumulated <= profile
        due = finance.dfe_instalment(fy)
        paid = np.where(on_track, due, 0.0) if conditional else np.full(R, due)
        after = after + dsg_in_year - council - paid
        variance = accumulated - target
        lines["council_contribution"] = np.full(R, council)
        lines["dfe_instalment"] = paid
        for name, values in (("spend_gbp", spend), ("income_gbp", income), ("in_year_deficit_gbp", in_year),
                             ("dsg_in_year_deficit_gbp", dsg_in_year), ("accumulated_deficit_gbp", accumulated),
                             ("accumulated_deficit_after_contributions_gbp", after), ("sv_target_gbp", target),
                             ("variance_gbp", variance)):
            columns[name][:, k] = values
        for line in LINE_KINDS:
            lines_out[line][:, k] = lines[line]
        meets[:, k] = (variance <= 0) if profile is not None else False
        if profile is not None:
            rag[:, k] = np.where(variance <= 0, 0, np.where(variance <= tolerance * abs(profile), 1, 2))
        cleared[:, k] = after <= 0
    return MoneyResult(runs=np.asarray(runs), years=years, columns=columns, meets_target=meets, rag=rag,
                       cleared=cleared, lines=lines_out, opening_year=opening, opening_gbp=opening_gbp,
                       opening_after_contributions_gbp=opening_after)


def modelled(financial_years: np.ndarray, complete: np.ndarray) -> bool:
    """Whether a run's months hold a complete financial year after its opening year."""
    return bool(np.asarray(complete, dtype=bool).any())


def check_money_inputs(finance: FinanceBook, financial_years: np.ndarray, complete: np.ndarray) -> None:
    """Check, before anything is simulated, that the finance inputs give every number the money
    model will ask for (an opening outturn, each year's lines): a dry run on zero spend."""
    if not modelled(financial_years, complete):
        return
    zeros = np.zeros((1, len(financial_years), codes.N_PLACEMENTS))
    run_money(finance, np.zeros(1, dtype=np.int64), financial_years, complete, zeros,
              np.zeros((1, len(financial_years)), dtype=np.int64))


def expected_plan_cost(placement: np.ndarray, age: np.ndarray, need: np.ndarray, unit_cost: np.ndarray) -> np.ndarray:
    """Expected annual cost (GBP, base-year prices) of a set of plans by placement: the unit
    cost by age, placement and need of each plan (the per-child multiplier has mean 1).

    Parameters
    ----------
    placement, age, need
        [n] codes of each plan (academic age clipped to 0..25).
    unit_cost
        [A, P, N] unit costs (the ``unit_cost`` parameter's values in force).
    """
    age = np.clip(np.asarray(age), 0, codes.MAX_AGE)
    costs = unit_cost[age, placement, need]
    return np.bincount(placement, weights=costs, minlength=codes.N_PLACEMENTS)


def cost_level_year(finance: FinanceBook, fy: int, plan_cost_by_placement_gbp: np.ndarray,
                    plans: int) -> tuple[dict[str, float], float]:
    """The high-needs account of one year for a single costed cohort (the cost-level check):
    every line and the in-year high-needs deficit (spend - income), GBP."""
    lines = year_lines(finance, fy, np.asarray(plan_cost_by_placement_gbp, dtype=float)[None, :],
                       np.array([plans]))
    spend, income, _ = totals(lines)
    return {k: float(v[0]) for k, v in lines.items()}, float((spend - income)[0])
