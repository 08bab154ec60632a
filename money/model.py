"""The money model: from each run's placement spend to the DSG deficit against the Safety Valve profile.

For every run and every complete financial year after the opening year (the year whose outturn
the runs start from), in this order (the rules are documented in ``docs/money.md``):

1. **Spend** (high-needs block, gross): the engine's placement spend by placement
   (``plans_<placement>``, at each month's prices: :mod:`sendsim.money.prices`), and the lines
   outside individual plans (the specialist teaching service, high-needs funding for mainstream
   pupils without a plan, pupil referral units, hospital education, the early-years inclusion
   fund, the pay grants rolled into the block), each with its own price and volume driver.
2. **Income** (gross): the High Needs Block allocation before the Department's deductions
   (published increases; drawn per run in years with a distribution), the Schools Block
   transfer, the pay grants rolled in, the Early Years Block contribution, the recharges for
   other authorities' looked-after children and the NHS's joint funding.
3. **The net basis**: the place funding the Department deducts at source and pays to academies,
   FE colleges, specialist post-16 and non-maintained providers leaves income
   (``hnb_deductions``) and spend (``less_places_funded_directly``) alike, so the deficit is
   the same on either basis.
4. **In-year high-needs deficit** = spend - income; the **DSG in-year deficit** adds the other
   blocks' positions.
5. **Accumulated DSG deficit** (the basis of the Safety Valve profile: after the council's
   contributions, before the Department's instalments) = last year's + DSG in-year deficit -
   the council's contribution.
6. **Comparison with the profile**: variance = accumulated - profile; the year meets the profile
   (on track) when the variance is <= 0; RAG: green on track, amber above by at most
   ``rag_amber_tolerance`` of the profile, red beyond.
7. **After the Department's instalments**: last year's + DSG in-year deficit - council -
   the instalment paid (only if the year is on track, when ``dfe_instalments_conditional``);
   the deficit is **cleared** in a year when this is <= 0 (the agreement's aim for its last year).

The money model's own random numbers (the allocation's growth where it is a distribution) are
pure functions of (seed, run, key) (:mod:`sendsim.money.draws`): common random numbers across
scenarios. Memory is small: a few numbers per run and year.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from sendsim.money.book import FinanceBook
from sendsim.money.draws import uniforms
from sendsim.money.schema import OTHER_BLOCKS, SPEND_LINES, FinanceRuleError, fy_label
from sendsim.simcore import codes

INCOME_LINES: tuple[str, ...] = ("hnb_allocation_gross", "hnb_deductions", "schools_block_transfer",
                                 "pay_grants_rolled_in", "early_years_block_contribution", "ola_recharges",
                                 "health_contribution")
PLAN_LINES: tuple[str, ...] = tuple(f"plans_{p}" for p in codes.PLACEMENTS)
# On the net basis (the cash the authority receives and pays) the place funding of places the
# Department funds directly leaves both sides: income (hnb_deductions) and spend (this line).
NET_BASIS_SPEND_LINE = "less_places_funded_directly"
# Every line of the finance table, with its kind: spend and income of the high-needs account,
# the other DSG blocks' in-year positions, and the Safety Valve contributions.
LINE_KINDS: dict[str, str] = {
    **{line: "spend" for line in PLAN_LINES + SPEND_LINES + (NET_BASIS_SPEND_LINE,)},
    **{line: "income" for line in INCOME_LINES},
    **{block: "other_blocks" for block in OTHER_BLOCKS},
    "council_contribution": "contribution",
    "dfe_instalment": "contribution",
}
RAG_LEVELS: tuple[str, ...] = ("green", "amber", "red")
DEFICIT_COLUMNS: tuple[str, ...] = ("spend_gbp", "income_gbp", "in_year_deficit_gbp", "dsg_in_year_deficit_gbp",
                                    "accumulated_deficit_gbp", "accumulated_deficit_after_contributions_gbp",
                                    "sv_target_gbp", "variance_gbp")


@dataclass
class RunFigures:
    """What the money model reads of each run, by financial year (index f of ``financial_years``).

    ``plan_spend_gbp`` [R, F, P] placement spend at each month's prices; ``plans`` [R, F] plans
    at the January census in the year (0 where none); ``plans_by_placement`` [R, F, P] the same
    by placement; ``months_by_band`` [R, F, B, P] plan-months by age band and placement (the
    share of a placement's spend in an age band). The last two are optional (None: volume
    drivers flat, deductions and age-targeted lines zero).
    """

    plan_spend_gbp: np.ndarray
    plans: np.ndarray
    plans_by_placement: np.ndarray | None = None
    months_by_band: np.ndarray | None = None


def _band_share(months_by_band: np.ndarray | None, runs: int) -> np.ndarray:
    """[R, B, P] share of each placement's plan-months in each age band (uniform if unknown)."""
    if months_by_band is None:
        return np.full((runs, codes.N_AGE_BANDS, codes.N_PLACEMENTS), 1.0 / codes.N_AGE_BANDS)
    total = months_by_band.sum(axis=1, keepdims=True)
    return np.divide(months_by_band, total, out=np.full(months_by_band.shape, 1.0 / codes.N_AGE_BANDS),
                     where=total > 0)


def year_lines(finance: FinanceBook, fy: int, figures: RunFigures, f: int, f_of_year: dict[int, int],
               anchor_gross: np.ndarray, growth_uniforms: dict[int, np.ndarray]) -> dict[str, np.ndarray]:
    """Every spend, income and other-block line of one financial year, per run (see the module
    docstring); ``f`` is the year's index in the figures, ``f_of_year`` maps years to indices."""
    plan_spend = figures.plan_spend_gbp[:, f, :].astype(float)
    runs = plan_spend.shape[0]
    ones = np.ones(runs)
    lines: dict[str, np.ndarray] = {}
    for p, line in enumerate(PLAN_LINES):
        lines[line] = plan_spend[:, p]
    plans_by_placement = figures.plans_by_placement
    for line in SPEND_LINES:
        amount = finance.spend_line(line, fy) * ones
        driver = finance.spend_line_volume_placement(line)
        row = finance.spend_line_row(line, fy)
        if driver is not None and row is not None and plans_by_placement is not None and \
                row.financial_year in f_of_year:
            p = codes.PLACEMENTS.index(driver)
            now, then = plans_by_placement[:, f, p], plans_by_placement[:, f_of_year[row.financial_year], p]
            amount = amount * np.divide(now, then, out=np.ones(runs), where=then > 0)
        lines[line] = amount
    rolled_in = finance.pay_grants_rolled_in(fy)
    lines["pay_grants_passed_on"] = lines["pay_grants_passed_on"] + rolled_in * ones
    deductions = np.zeros(runs)
    if plans_by_placement is not None:
        deductions = plans_by_placement[:, f, :].astype(float) @ finance.deduction_per_plan(fy)
    lines[NET_BASIS_SPEND_LINE] = -deductions
    plan_total = plan_spend.sum(axis=1)
    plans = figures.plans[:, f]
    average = np.divide(plan_total, plans, out=np.zeros(runs), where=plans > 0)
    lines["hnb_allocation_gross"] = np.asarray(finance.hnb_gross(fy, anchor_gross, growth_uniforms), dtype=float) * ones
    lines["hnb_deductions"] = -deductions
    lines["schools_block_transfer"] = finance.schools_block_transfer_gbp(fy) * ones
    lines["pay_grants_rolled_in"] = rolled_in * ones
    lines["early_years_block_contribution"] = sum((finance.early_years_block_share(line, fy) * lines[line]
                                                   for line in SPEND_LINES), np.zeros(runs))
    lines["ola_recharges"] = np.asarray(finance.ola_recharge(fy, average))
    share = _band_share(None if figures.months_by_band is None else figures.months_by_band[:, f], runs)
    health = finance.health_contribution_share(fy)  # [B, P]
    lines["health_contribution"] = np.einsum("rbp,bp,rp->r", share, health, plan_spend)
    for block, value in finance.other_blocks(fy).items():
        lines[block] = value * ones
    return lines


def totals(lines: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(spend, income, other blocks) of a year's lines."""
    # A year's lines hold every spend and income line, so each sum is an array (never the 0 of an
    # empty sum).
    spend = cast(np.ndarray, sum(lines[k] for k, kind in LINE_KINDS.items() if kind == "spend" and k in lines))
    income = cast(np.ndarray, sum(lines[k] for k, kind in LINE_KINDS.items() if kind == "income" and k in lines))
    other = cast(np.ndarray, sum(lines[k] for k in OTHER_BLOCKS if k in lines))
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
        raise FinanceRuleError("--months",
                               "the money model needs at least one complete financial year (April to March)")
    return int(full[0]) - 1


def growth_draws(finance: FinanceBook, seed: int, runs: np.ndarray, years: np.ndarray) -> dict[int, np.ndarray]:
    """The uniform number of each run for each year whose allocation growth is drawn (common
    random numbers: a function of the seed, the run and the year only)."""
    return {int(y): uniforms(seed, runs, f"hnb_growth:{fy_label(int(y))}") for y in years
            if finance.hnb_growth_is_drawn(int(y))}


def anchor_gross_allocation(finance: FinanceBook, figures: RunFigures, f_of_year: dict[int, int],
                            runs: int) -> np.ndarray:
    """[R] gross allocation of the budget's anchor year: the published figure, plus the
    deductions that year when the figure is net of them."""
    a, value, gross = finance.hnb_anchor()
    if gross:
        return np.full(runs, value)
    if figures.plans_by_placement is None or a not in f_of_year:
        raise FinanceRuleError(", ".join(finance.files), f"the {fy_label(a)} budget is net of deductions "
                               "(hnb_budget_is_gross 0): the run must cover its January census to add them back")
    plans = figures.plans_by_placement[:, f_of_year[a], :].astype(float)
    return value + plans @ finance.deduction_per_plan(a)


def run_money(finance: FinanceBook, runs: np.ndarray, financial_years: np.ndarray, complete: np.ndarray,
              spend_by_fy_placement: np.ndarray, plans_by_fy: np.ndarray, *, seed: int = 1,
              plans_by_fy_placement: np.ndarray | None = None,
              months_by_fy_band_placement: np.ndarray | None = None) -> MoneyResult:
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
    seed
        The run's master seed (the money model's own draws are functions of it, the run and a key).
    plans_by_fy_placement, months_by_fy_band_placement
        [R, F, P] January plans by placement and [R, F, B, P] plan-months by age band and
        placement (optional: see :class:`RunFigures`).
    """
    opening = opening_year(financial_years, complete)
    opening_gbp = finance.outturn(opening)
    if opening_gbp is None:
        raise FinanceRuleError(", ".join(finance.files), f"runs start from the accumulated deficit at 31 March "
                         f"{opening + 1}: add an accumulated_deficit_outturn row for {fy_label(opening)}")
    figures = RunFigures(spend_by_fy_placement, plans_by_fy, plans_by_fy_placement, months_by_fy_band_placement)
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
    anchor = anchor_gross_allocation(finance, figures, fy_index, R)
    draws = growth_draws(finance, seed, runs, years)
    for k, fy in enumerate(years):
        fy = int(fy)
        f = fy_index[fy]
        lines = year_lines(finance, fy, figures, f, fy_index, anchor, draws)
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
              np.zeros((1, len(financial_years)), dtype=np.int64), plans_by_fy_placement=zeros,
              months_by_fy_band_placement=np.zeros((1, len(financial_years), codes.N_AGE_BANDS, codes.N_PLACEMENTS)))


def expected_plan_cost(placement: np.ndarray, age: np.ndarray, need: np.ndarray, unit_cost: np.ndarray,
                       other_la_share: np.ndarray | None = None,
                       other_la_cost_ratio: np.ndarray | None = None) -> np.ndarray:
    """Expected annual cost (GBP, base-year prices) of a set of plans by placement: the unit
    cost by age, placement and need of each plan (the per-child multiplier has mean 1), and, as
    the engine opens a run, the share of each placement's plans held in another authority's
    school at that place's cost ratio.

    Parameters
    ----------
    placement, age, need
        [n] codes of each plan (academic age clipped to 0..25).
    unit_cost
        [A, P, N] unit costs (the ``unit_cost`` parameter's values in force).
    other_la_share, other_la_cost_ratio
        [P] the ``other_la_share`` and ``other_la_cost_ratio`` parameters' values in force
        (None: every place is the authority's own, at unit cost).
    """
    age = np.clip(np.asarray(age), 0, codes.MAX_AGE)
    costs = unit_cost[age, placement, need]
    if other_la_share is not None and other_la_cost_ratio is not None:
        costs = costs * (1.0 + other_la_share[placement] * (other_la_cost_ratio[placement] - 1.0))
    return np.bincount(placement, weights=costs, minlength=codes.N_PLACEMENTS)


def cost_level_year(finance: FinanceBook, fy: int, plan_cost_by_placement_gbp: np.ndarray,
                    plans_by_placement: np.ndarray, months_by_band: np.ndarray | None = None
                    ) -> tuple[dict[str, float], float]:
    """The high-needs account of one year for a single costed cohort (the cost-level check):
    every line and the in-year high-needs deficit (spend - income), GBP, at the central
    growth of the allocation.

    Parameters
    ----------
    plan_cost_by_placement_gbp
        [P] the cohort's annual cost by placement at the year's prices.
    plans_by_placement
        [P] the cohort's plans by placement (the deductions, the volume drivers' base).
    months_by_band
        [B, P] plans (or plan-months) by age band and placement (age-targeted lines).
    """
    by_placement = np.asarray(plans_by_placement, dtype=float)
    figures = RunFigures(np.asarray(plan_cost_by_placement_gbp, dtype=float)[None, None, :],
                         np.array([[by_placement.sum()]]), by_placement[None, None, :],
                         None if months_by_band is None else np.asarray(months_by_band, dtype=float)[None, None])
    anchor = anchor_gross_allocation(finance, figures, {fy: 0}, 1)
    lines = year_lines(finance, fy, figures, 0, {fy: 0}, anchor, {})
    spend, income, _ = totals(lines)
    return {k: float(v[0]) for k, v in lines.items()}, float((spend - income)[0])


def run_money_grouped(books: list[FinanceBook], group_of_run: np.ndarray, runs: np.ndarray,
                      financial_years: np.ndarray, complete: np.ndarray, *, seed: int,
                      spend_by_fy_placement: np.ndarray, plans_by_fy: np.ndarray,
                      plans_by_fy_placement: np.ndarray | None = None,
                      months_by_fy_band_placement: np.ndarray | None = None) -> MoneyResult:
    """The money model when runs use different finance books (a plan's money mitigations,
    delivered in some runs and not others): run ``j`` uses ``books[group_of_run[j]]``. Each
    group is one call of :func:`run_money`; the results are put back in run order (every draw
    is a function of the seed and the run, so grouping changes nothing)."""
    group_of_run = np.asarray(group_of_run)
    if len(books) == 1:
        return run_money(books[0], runs, financial_years, complete, spend_by_fy_placement, plans_by_fy, seed=seed,
                         plans_by_fy_placement=plans_by_fy_placement,
                         months_by_fy_band_placement=months_by_fy_band_placement)
    parts = []
    for g in np.unique(group_of_run):
        rows = np.flatnonzero(group_of_run == g)

        def pick(a: np.ndarray | None, rows: np.ndarray = rows) -> np.ndarray | None:
            return None if a is None else a[rows]

        parts.append((rows, run_money(books[int(g)], runs[rows], financial_years, complete,
                                      spend_by_fy_placement[rows], plans_by_fy[rows], seed=seed,
                                      plans_by_fy_placement=pick(plans_by_fy_placement),
                                      months_by_fy_band_placement=pick(months_by_fy_band_placement))))
    first = parts[0][1]
    R = runs.size

    def gather(get) -> np.ndarray:
        template = get(first)
        out = np.empty((R,) + template.shape[1:], dtype=template.dtype)
        for rows, result in parts:
            out[rows] = get(result)
        return out
    return MoneyResult(runs=np.asarray(runs), years=first.years,
                       columns={name: gather(lambda r, n=name: r.columns[n]) for name in DEFICIT_COLUMNS},
                       meets_target=gather(lambda r: r.meets_target), rag=gather(lambda r: r.rag),
                       cleared=gather(lambda r: r.cleared),
                       lines={line: gather(lambda r, n=line: r.lines[n]) for line in LINE_KINDS},
                       opening_year=first.opening_year, opening_gbp=first.opening_gbp,
                       opening_after_contributions_gbp=first.opening_after_contributions_gbp)
