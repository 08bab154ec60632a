"""What an authority's SEN2 series and the stated assumptions give: the rates, mixes and opening
numbers behind its parameter file and opening cohort.

A :class:`Derivation` binds one authority's SEN2 series (:class:`sendsim.inputs.sen2.Authority`),
its census month, a set of stated assumptions (a module such as ``inputs/kent/assumptions.py``)
and, optionally, the authority's own figures beyond SEN2 (``local``: for Kent, its Safety Valve
return, ``seed_targets.csv``). :mod:`sendsim.inputs.derive` writes the parameter rows and the
cohort from it; the calibration draws its directly observed rates, hindcast flows and earlier
cohorts from it.

With local figures the decision rates, assessment and review capacity, the opening pipeline and
overdue reviews come from them (Kent: the return's March 2024 rates, open cases and overdue
counts). Without, from SEN2 alone: the year's decisions, assessments completed, the steady state
of the pipeline, and reviews on time (SEN2 counts no reviews).

Periods: the census is a January (January 2024 for the vendored data); SEN2 activity (requests,
assessments, new and ceased plans) is by calendar year, and the year before the census (2023)
is the latest complete one, :attr:`Derivation.activity_year`.
"""
from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from sendsim.inputs.figures import FigureTable
from sendsim.inputs.sen2 import Authority
from sendsim.inputs.sen2.ages import academic_from_event_age, ages_of_label, share_out_unknown_age, spread
from sendsim.inputs.sen2.mapping import CEASED_COLUMNS, MOVED_AWAY_COLUMNS, REVIEW_REASON_OF
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

P = codes.N_PLACEMENTS
N = codes.N_NEEDS
A = codes.N_AGES
PL = {name: k for k, name in enumerate(codes.PLACEMENTS)}

WEEKS_PER_MONTH = 365.25 / 12 / 7
# Statutory time limits (SEND Regulations 2014): a final plan within 20 weeks of the request,
# the decision whether to assess within 6 weeks.
STATUTORY_PLAN_WEEKS = 20
STATUTORY_DECISION_WEEKS = 6
# Escalation and reintegration apply at school ages Reception to Year 11 (academic ages 4-15);
# churn among post-16 settings at ages 16-24 (nobody is 25 for a whole year: a plan ends in the
# academic year the holder turns 25), with a school sixth form (mainstream) among them up to 18.
SCHOOL_AGES = range(4, 16)
POST16_AGES = range(16, 25)
LAST_SIXTH_FORM_AGE = 18

# Phase transfers: placement "tiers" (mainstream-type; specialist; alternative and no place,
# reachable from all) and the destinations a transfer cannot reach.
TIER = {"early_years": 0, "mainstream": 0, "srp": 0, "fe": 0, "special": 1, "independent": 1,
        "post16_specialist": 1, "alternative": 2, "no_place": 2}
TRANSFER_EXCLUDED = {
    "reception": ("fe", "post16_specialist"),
    "secondary": ("early_years", "fe", "post16_specialist"),
    "post16": ("early_years",),
    "post19": ("early_years", "mainstream", "srp"),
}
# Iterative proportional fitting of phase-transfer flows: at most this many sweeps, stopping
# when every column is within this of its target.
TRANSFER_IPF_SWEEPS = 2000
TRANSFER_IPF_TOLERANCE = 1e-13
# Competing annual probabilities are capped below 1 before they are made monthly.
MAX_ANNUAL_TOTAL = 0.999
# Bisection for the base odds of overdue reviews: bounds and steps.
OVERDUE_ODDS_BOUNDS = (1e-6, 1e6)
OVERDUE_BISECTION_STEPS = 200


def month_number(period: str) -> int:
    """Absolute month index of 'YYYY-MM'."""
    year, month = period[:7].split("-")
    return int(year) * 12 + int(month) - 1


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def mix(vector: np.ndarray) -> np.ndarray:
    """Shares of a vector (uniform when it is all zero)."""
    total = vector.sum()
    return vector / total if total > 0 else np.full(vector.shape, 1.0 / vector.shape[0])


def annual_to_monthly(rates: np.ndarray) -> np.ndarray:
    """Competing annual probabilities -> monthly probabilities with the same split."""
    total = rates.sum()
    if total <= 0:
        return np.zeros_like(rates)
    monthly_total = 1.0 - (1.0 - min(total, MAX_ANNUAL_TOTAL)) ** (1.0 / 12.0)
    return rates * monthly_total / total


def tier_affinity(cross_tier: float) -> np.ndarray:
    """Prior affinity [P, P] of a phase-transfer move: ``cross_tier`` between the mainstream-type
    and specialist tiers, 1 otherwise, 0 to stay."""
    out = np.ones((P, P))
    for p, pn in enumerate(codes.PLACEMENTS):
        for q, qn in enumerate(codes.PLACEMENTS):
            if TIER[pn] != TIER[qn] and TIER[pn] != 2 and TIER[qn] != 2:
                out[p, q] = cross_tier
    np.fill_diagonal(out, 0.0)
    return out


def transfer_matrix(before: np.ndarray, after: np.ndarray, excluded: tuple[str, ...],
                    cross_tier: float) -> np.ndarray:
    """Placement transition [P, P] mapping the mix before a transfer to the mix after it.

    As many children as possible keep their placement (stay = min(before, after) share); the
    rest move from the placements that shrink to those that grow, split by iterative
    proportional fitting from the tier affinity prior (:func:`tier_affinity`). Rows of
    placements nobody holds before the transfer take the after-mix.
    """
    b = mix(before.astype(float))
    f = after.astype(float).copy()
    for name in excluded:
        f[PL[name]] = 0.0
    f = mix(f)
    stay = np.minimum(b, f)
    leave = b - stay
    gain = f - stay
    flows = tier_affinity(cross_tier) * np.outer(leave, gain)
    for _ in range(TRANSFER_IPF_SWEEPS):
        col = flows.sum(axis=0)
        flows *= np.divide(gain, col, out=np.zeros(P), where=col > 0)[None, :]
        row = flows.sum(axis=1)
        flows *= np.divide(leave, row, out=np.zeros(P), where=row > 0)[:, None]
        if np.abs(flows.sum(axis=0) - gain).max() < TRANSFER_IPF_TOLERANCE:
            break
    out = np.zeros((P, P))
    for p in range(P):
        if b[p] > 0:
            out[p] = flows[p] / b[p]
            out[p, p] += stay[p] / b[p]
        else:
            out[p] = f
    return out


def odds_of_age(table: dict[range, float], age: int) -> float:
    """The value of the age range holding ``age`` in a table keyed by age ranges."""
    for ages, value in table.items():
        if age in ages:
            return value
    raise KeyError(age)


class Derivation:
    """The derived rates, mixes and opening numbers of one authority.

    Parameters
    ----------
    authority
        Its SEN2 series.
    census
        Calendar starting at the census month (the opening cohort's month, a January).
    assumptions
        The stated assumptions (a module with the constants of ``inputs/kent/assumptions.py``).
    finance_figures, finance_inputs
        Cost figures by id (``kent_finance_public.csv``) and the finance inputs whose cost types
        give the price growth by placement (``inputs/kent/finance.csv``): the only cost data
        vendored, Kent's.
    local
        The authority's own figures beyond SEN2 (Kent: its Safety Valve return), or None.
    """

    def __init__(self, authority: Authority, census: Calendar, assumptions: ModuleType,
                 finance_figures: FigureTable, finance_inputs: Path, local: FigureTable | None = None) -> None:
        self.authority = authority
        self.census = census
        self.assumptions = assumptions
        self.finance_figures = finance_figures
        self.finance_inputs = Path(finance_inputs)
        self.local = local

    @property
    def name(self) -> str:
        return self.authority.name

    @property
    def census_year(self) -> int:
        """The census January's year."""
        return self.census.start_year

    @property
    def activity_year(self) -> int:
        """The latest complete calendar year of SEN2 activity: the year before the census."""
        return self.census.start_year - 1

    # ---- caseload ---------------------------------------------------------------------------
    def caseload_labels(self) -> dict[str, np.ndarray]:
        """The census caseload by SEN2 age label, mapped to the engine's placements."""
        return self.authority.caseload_by_age(self.census_year)

    @cache
    def crosstab(self) -> np.ndarray:
        """Plans at the census by single academic age and placement [A, P] (whole numbers)."""
        return spread(self.caseload_labels(), (), self.assumptions.AGE_0_2_WEIGHTS, integer=True).astype(np.int64)

    def pooled_age_mix(self, counts: np.ndarray, age: int) -> tuple[np.ndarray, tuple[int, int]]:
        """Mix over the last axis at ``age``, widening the age window until it holds
        MIN_POOL_COUNT."""
        low = high = age
        while counts[low:high + 1].sum() < self.assumptions.MIN_POOL_COUNT and (low > 0 or high < A - 1):
            low, high = max(low - 1, 0), min(high + 1, A - 1)
        return mix(counts[low:high + 1].sum(axis=0)), (low, high)

    @cache
    def need_mix(self) -> np.ndarray:
        """Assumed primary-need mix by placement [P, N] (rows sum to 1)."""
        out = np.zeros((P, N))
        for p, name in enumerate(codes.PLACEMENTS):
            weights = self.assumptions.NEED_MIX_BY_PLACEMENT[name]
            out[p] = [weights[n] for n in codes.NEEDS]
            out[p] /= out[p].sum()
        return out

    def need_share_of_placement_mix(self, placement_mix: np.ndarray) -> np.ndarray:
        """Need mix [N] of children spread over placements as ``placement_mix`` [P]."""
        return placement_mix @ self.need_mix()

    # ---- requests and decisions -----------------------------------------------------------------
    @cache
    def requests_by_event_age(self) -> np.ndarray:
        """Requests received in the activity year by SEN2's age at the time of request [A] (0-2
        and 20+ split by assumption)."""
        labels = share_out_unknown_age(self.authority.requests_by_age(self.activity_year))
        return spread(labels, self.assumptions.AGES_20_PLUS_ENTRY, self.assumptions.AGE_0_2_WEIGHTS)[:, 0]

    @cache
    def requests_by_age(self) -> np.ndarray:
        """Requests received in the activity year by single academic age [A] (the age at the time
        of request moved to academic age by ``academic_from_event_age``)."""
        return academic_from_event_age(self.requests_by_event_age(), self.assumptions.EVENT_AGE_STAYS)

    def request_years(self) -> tuple[int, ...]:
        """The calendar years of SEN2 requests up to the activity year."""
        return tuple(y for y in self.authority.request_years() if y <= self.activity_year)

    @cache
    def request_growth(self) -> float:
        """Annual growth of requests: least-squares slope of log(requests) on year over
        :meth:`request_years`."""
        years = np.array(self.request_years())
        values = np.array([self.authority.request_count(y) for y in years])
        slope = np.polyfit(years - years.mean(), np.log(values), 1)[0]
        return float(np.exp(slope) - 1.0)

    @cache
    def decision_hazard(self) -> float:
        """Monthly hazard h with 1 - (1 - h)^(6 weeks in months) = share decided within 6 weeks."""
        share = self.authority.request_count(self.activity_year, "request_outcome_six_weeks_pc") / 100.0
        months = STATUTORY_DECISION_WEEKS / WEEKS_PER_MONTH
        return 1.0 - (1.0 - share) ** (1.0 / months)

    @staticmethod
    def assessment_min_months() -> int:
        """Statutory 20 weeks from request to final plan, less the 6 weeks allowed for the
        decision to assess (modelled by decision_hazard): 14 weeks, in whole months."""
        return int(math.floor((STATUTORY_PLAN_WEEKS - STATUTORY_DECISION_WEEKS) / WEEKS_PER_MONTH))

    def sen2_p_assess(self, year: int) -> tuple[float, float]:
        """(Requests decided to assess, requests decided) in a year (SEN2 counts decisions from
        2023)."""
        agreed = self.authority.request_count(year, "requests_decided_to_assess")
        refused = self.authority.request_count(year, "requests_decided_not_to_assess")
        return agreed, agreed + refused

    def sen2_p_decline(self, year: int) -> tuple[float, float]:
        """(Assessments that did not lead to a plan, assessments completed) in a year."""
        issued = self.authority.assessment_count(year, "assess_issued")
        not_issued = self.authority.assessment_count(year, "assess_not_issued")
        return not_issued, issued + not_issued

    def p_assess(self) -> float:
        """Probability that a request is assessed: the local figure (Kent: March 2024, after
        tighter panels), or SEN2's activity year."""
        if self.local is not None:
            return self.local.value("yes_to_assess_2024_03") / 100.0
        agreed, decided = self.sen2_p_assess(self.activity_year)
        return agreed / decided

    def p_decline(self) -> float:
        """Probability that an assessment ends without a plan: the local figure (Kent: March
        2024), or SEN2's activity year."""
        if self.local is not None:
            return self.local.value("decline_to_issue_2024_03") / 100.0
        not_issued, completed = self.sen2_p_decline(self.activity_year)
        return not_issued / completed

    # ---- new plans -----------------------------------------------------------------------------------
    def newplans_by_age(self, year: int) -> dict[str, np.ndarray]:
        """New plans of a year by SEN2 age label, mapped to first placements."""
        return share_out_unknown_age(self.authority.new_plans_by_age(year))

    def unit_ages(self) -> list[tuple[int, ...]]:
        """Age units of the new-plan tables: 0-2, 3, ..., 19, 20-25."""
        return [(0, 1, 2)] + [(a,) for a in range(3, 20)] + [self.assumptions.AGES_20_PLUS_POOL]

    def _unit_counts(self, labels: dict[str, np.ndarray]) -> list[np.ndarray]:
        units = self.unit_ages()
        out = [np.zeros(P) for _ in units]
        for label, vector in labels.items():
            ages = ages_of_label(label, self.assumptions.AGES_20_PLUS_POOL)
            out[units.index(ages)] += vector
        return out

    @cache
    def first_placement(self) -> list[tuple[tuple[int, int], np.ndarray, str]]:
        """First placement mix by age unit: [(age range, mix [P], note)].

        Unlike requests, new plans keep SEN2's age when the plan started as the academic age: the
        placement a plan names depends on when in the year it starts (in Kent, nursery-year plans
        issued after the fourth birthday name the Reception school; 8% of 2023's plans started at
        4 name an early-years setting, while 40 of the 53 plans held at academic age 3 in January
        2024 are in one), which an even split over two academic ages would blur.
        """
        return [(ages, mix(counts), note) for ages, counts, note in self.first_placement_counts()]

    @cache
    def first_placement_counts(self) -> list[tuple[tuple[int, int], np.ndarray, str]]:
        """New plans by first placement behind each age unit's mix: [(age range, counts [P], note)];
        the activity year's, pooled with the year before and then with neighbouring ages while
        fewer than MIN_POOL_COUNT."""
        units = self.unit_ages()
        year, before = self.activity_year, self.activity_year - 1
        now = self._unit_counts(self.newplans_by_age(year))
        earlier = self._unit_counts(self.newplans_by_age(before))
        least = self.assumptions.MIN_POOL_COUNT
        out = []
        for k, ages in enumerate(units):
            counts = now[k].copy()
            note = f"{self.name} new plans {year}"
            if counts.sum() < least:
                counts = now[k] + earlier[k]
                note = f"{self.name} new plans {before}+{year} pooled (thin)"
                low = high = k
                while counts.sum() < least:
                    low, high = max(low - 1, 0), min(high + 1, len(units) - 1)
                    counts = sum(now[j] + earlier[j] for j in range(low, high + 1))
                    note = (f"{self.name} new plans {before}+{year} pooled over ages {units[low][0]}-{units[high][-1]} "
                            "(thin)")
            out.append(((ages[0], ages[-1]), counts, f"{note}: {int(counts.sum())} plans, mapped placements"))
        return out

    # ---- ceased plans --------------------------------------------------------------------------------
    @cache
    def ceased_by_age(self) -> dict[str, np.ndarray]:
        """Plans ceased in the activity year by SEN2 age label: columns of CEASED_COLUMNS."""
        return share_out_unknown_age(self.authority.ceased_by_age(self.activity_year))

    def _ceased_by_single_age(self) -> np.ndarray:
        """[A, len(CEASED_COLUMNS)] ceased in the activity year by single age; '20 and over' kept
        whole at age 20 (it is only used in the 20-25 pool)."""
        out = np.zeros((A, len(CEASED_COLUMNS)))
        for label, vector in self.ceased_by_age().items():
            ages = ages_of_label(label, self.assumptions.AGES_20_PLUS_POOL)
            out[ages[0]] += vector
        return out

    def _review_cease_pools(self) -> list:
        ceased = self._ceased_by_single_age()
        stock = self.crosstab().sum(axis=1)
        review_cols = [j for j, c in enumerate(CEASED_COLUMNS) if REVIEW_REASON_OF[c] is not None]
        pooled = []
        for low, high in self.assumptions.RATE_POOLS:
            rows = ceased[low:high + 1]
            reasons = np.zeros(codes.N_CEASE_REASONS)
            for j, c in enumerate(CEASED_COLUMNS):
                target = REVIEW_REASON_OF[c]
                if target is not None:
                    reasons[codes.CEASE_REASONS.index(target)] += rows[:, j].sum()
            n_cease = rows[:, review_cols].sum()
            exposure = stock[low:high + 1].sum() + n_cease
            p = n_cease / exposure if exposure > 0 else 0.0
            pooled.append(((low, high), p, reasons, n_cease, stock[low:high + 1].sum()))
        return pooled

    def _pooled_reasons(self, pooled: list) -> list:
        """Append to each age pool's (ages, p, reasons, n_cease, n_stock) the reason counts its mix
        is taken from (widened to neighbouring pools until MIN_POOL_COUNT) and how."""
        out = []
        for k, ((low, high), p, reasons, n_cease, n_stock) in enumerate(pooled):
            first = last = k
            total = reasons.copy()
            while total.sum() < self.assumptions.MIN_POOL_COUNT and (first > 0 or last < len(pooled) - 1):
                first, last = max(first - 1, 0), min(last + 1, len(pooled) - 1)
                total = sum(pooled[j][2] for j in range(first, last + 1))
            if first == last:
                how = "reasons at these ages"
            else:
                how = (f"too few at these ages: reasons at ages {pooled[first][0][0]}-{pooled[last][0][1]} "
                       f"({int(total.sum())} plans)")
            out.append(((low, high), p, reasons, n_cease, n_stock, total, how))
        return out

    @cache
    def review_cease_counts(self) -> list[tuple[tuple[int, int], float, float, np.ndarray]]:
        """Per age pool: (ages, plans ceased in the activity year for review reasons, exposure
        (census plans + those ceased), reason counts behind the pool's reason mix [R])."""
        return [(ages, float(n_cease), float(n_stock + n_cease), total)
                for ages, _, _, n_cease, n_stock, total, _ in self._pooled_reasons(self._review_cease_pools())]

    @cache
    def review_cease_and_reasons(self) -> list[tuple[tuple[int, int], float, np.ndarray, str]]:
        """Per age pool: (ages, probability a review ceases the plan, reason mix, note)."""
        out = []
        for (low, high), p, _reasons, n_cease, n_stock, total, how in self._pooled_reasons(self._review_cease_pools()):
            reason_mix = total / total.sum()
            note = (f"ages {low}-{high}: {int(n_cease)} plans ceased in {self.activity_year} for review reasons "
                    f"(needs met, HE, employment, no longer engaging, deceased, not recorded, other; excluding max "
                    f"age, transfer and moved outside England) / ({int(n_stock)} plans in Jan {self.census_year} + "
                    f"those ceased); reason mix: {how}")
            out.append(((low, high), float(p), reason_mix, note))
        return out

    @cache
    def moved_away_rates(self) -> list[tuple[tuple[int, int], float, int, int]]:
        """Per age pool: (ages, annual probability of moving away, moved in the activity year,
        census plans)."""
        ceased = self._ceased_by_single_age()
        stock = self.crosstab().sum(axis=1)
        cols = [CEASED_COLUMNS.index(c) for c in MOVED_AWAY_COLUMNS]
        out = []
        for low, high in self.assumptions.RATE_POOLS:
            moved = ceased[low:high + 1][:, cols].sum()
            n_stock = stock[low:high + 1].sum()
            out.append(((low, high), float(moved / (n_stock + moved)), int(moved), int(n_stock)))
        return out

    @cache
    def transfers_out_by_age(self) -> np.ndarray:
        """Plans transferred to another authority in the activity year, by single academic age
        (20+ spread over 20-24; age when the plan ceased moved to academic age)."""
        transfer = CEASED_COLUMNS.index("transfer")
        labels = {label: vector[[transfer]] for label, vector in self.ceased_by_age().items()}
        by_age = spread(labels, self.assumptions.AGES_20_PLUS_ENTRY, self.assumptions.AGE_0_2_WEIGHTS)
        return academic_from_event_age(by_age, self.assumptions.EVENT_AGE_STAYS)[:, 0]

    # ---- between-review transitions ------------------------------------------------------------------
    def mi_authority(self) -> Authority:
        """The authority whose management-information items give the escalation and
        reintegration rates: this one, or MI_FALLBACK_AUTHORITY where it has none."""
        if set(self.assumptions.MI_YEARS) <= set(self.authority.mi_years()):
            return self.authority
        return Authority(self.assumptions.MI_FALLBACK_AUTHORITY)

    @cache
    def mi_rates(self) -> dict[str, float]:
        """Annual mainstream->special and special->mainstream transfer rates from the SEN2 MI
        items of MI_YEARS, over the January caseload in mainstream (incl. units) / special
        schools (MI year y <-> the January y census)."""
        source = self.mi_authority()
        years = self.assumptions.MI_YEARS
        moves_ms = sum(source.mi_value("MtosiEHC", y) for y in years)
        moves_sm = sum(source.mi_value("SitomEHC", y) for y in years)
        stock_m = sum(source.caseload_value(y, "mainstream_total") for y in years)
        stock_s = sum(source.caseload_value(y, "special_total") for y in years)
        return {"escalation": moves_ms / stock_m, "reintegration": moves_sm / stock_s,
                "moves_ms": moves_ms, "moves_sm": moves_sm, "stock_m": stock_m, "stock_s": stock_s}

    @cache
    def transition_rates(self) -> tuple[np.ndarray, np.ndarray]:
        """Annual placement-change probabilities [A, P, P+1] by kind: (escalation/reintegration,
        other moves incl. moving away). The diagonal is zero."""
        rates = self.mi_rates()
        return self.transition_rates_for(rates["escalation"], self.assumptions.MAINSTREAM_TO_SRP_RATE,
                                         rates["reintegration"], [rate for _, rate, _, _ in self.moved_away_rates()])

    def transition_rates_for(self, escalation, mainstream_to_srp: float, reintegration: float,
                             moved_away_by_pool) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`transition_rates` for given annual rates (calibration draws use this).

        Parameters
        ----------
        escalation
            Annual probability of a move mainstream -> special or independent (school ages): one
            value, or one per age [A].
        mainstream_to_srp
            Annual probability of a move mainstream -> SRP (school ages).
        reintegration
            Annual probability of a move from SRP, special or independent back to mainstream.
        moved_away_by_pool
            Annual probability of moving away, one per age pool of RATE_POOLS.
        """
        a_ = self.assumptions
        x = self.crosstab().astype(float)
        escalation_by_age = np.broadcast_to(np.asarray(escalation, dtype=float), (A,))
        change = np.zeros((A, P, P + 1))
        other = np.zeros((A, P, P + 1))
        ms, srp, sp, ind = PL["mainstream"], PL["srp"], PL["special"], PL["independent"]
        for a in SCHOOL_AGES:
            split = mix(x[a, [sp, ind]])
            change[a, ms, sp] = escalation_by_age[a] * split[0]
            change[a, ms, ind] = escalation_by_age[a] * split[1]
            change[a, ms, srp] = mainstream_to_srp
            change[a, srp, sp] = escalation_by_age[a] * a_.SRP_ESCALATION_FACTOR * split[0]
            change[a, srp, ind] = escalation_by_age[a] * a_.SRP_ESCALATION_FACTOR * split[1]
            for p in (srp, sp, ind):
                change[a, p, ms] = reintegration
            group = [ms, PL["alternative"], PL["no_place"]]
            target, _ = self.pooled_age_mix(x[:, group], a)
            for p in group:
                for j, q in enumerate(group):
                    if p != q:
                        other[a, p, q] = a_.SCHOOL_CHURN_RATE * target[j]
        for a in POST16_AGES:
            group = [PL["fe"], PL["post16_specialist"], PL["alternative"], PL["no_place"]]
            if a <= LAST_SIXTH_FORM_AGE:
                group = [ms] + group
            target, _ = self.pooled_age_mix(x[:, group], a)
            sources = group + ([ms, srp] if a > LAST_SIXTH_FORM_AGE else [])
            for p in sources:
                for j, q in enumerate(group):
                    if p != q:
                        other[a, p, q] = a_.POST16_CHURN_RATE * target[j]
        ey = PL["early_years"]
        school = self.phase_transfers()["reception"][ey].copy()
        school[ey] = 0.0
        for a in range(a_.COMPULSORY_SCHOOL_AGE, A):
            other[a, ey, :P] = a_.EARLY_YEARS_EXIT_AT_SCHOOL_AGE * mix(school)
        for (low, high), rate in zip(a_.RATE_POOLS, moved_away_by_pool):
            other[low:high + 1, :, codes.MOVED_AWAY] = rate
        return change, other

    @cache
    def move_matrix(self) -> np.ndarray:
        """Monthly between-review transition probabilities [A, P, P+1], stay on the diagonal."""
        return self.move_matrix_for(*self.transition_rates())

    def move_matrix_for(self, change: np.ndarray, other: np.ndarray) -> np.ndarray:
        """:meth:`move_matrix` from given annual rates (see :meth:`transition_rates_for`)."""
        out = np.zeros((A, P, P + 1))
        for a in range(A):
            for p in range(P):
                annual = (1.0 - self.assumptions.REVIEW_SHARE_OF_PLACEMENT_CHANGES) * change[a, p] + other[a, p]
                out[a, p] = annual_to_monthly(annual)
                out[a, p, p] = 1.0 - out[a, p].sum()
        return out

    @cache
    def review_change_and_move(self) -> tuple[np.ndarray, np.ndarray]:
        """review_change [A] and review_move [A, P, P] from the review share of changes."""
        return self.review_change_and_move_for(self.transition_rates()[0])

    def review_change_and_move_for(self, change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`review_change_and_move` from given annual change rates."""
        at_review = self.assumptions.REVIEW_SHARE_OF_PLACEMENT_CHANGES * change[:, :, :P]
        p_change = at_review.sum(axis=2).max(axis=1)
        move = np.zeros((A, P, P))
        for a in range(A):
            for p in range(P):
                if p_change[a] > 0:
                    move[a, p] = at_review[a, p] / p_change[a]
                move[a, p, p] = 1.0 - move[a, p].sum()
        return p_change, move

    @cache
    def phase_transfers(self) -> dict[str, np.ndarray]:
        """Phase-transfer matrices [P, P]: the census mix at the age before each transfer coupled
        to the mix at the transfer age (:func:`transfer_matrix`)."""
        x = self.crosstab()
        return {t: transfer_matrix(x[a - 1], x[a], TRANSFER_EXCLUDED[t], self.assumptions.PHASE_CROSS_TIER_AFFINITY)
                for t, a in zip(codes.TRANSFERS, codes.TRANSFER_AGES)}

    # ---- the opening pipeline and reviews -------------------------------------------------------------
    @cache
    def steady_pipeline(self) -> dict[str, float]:
        """The assessment pipeline in a steady state with the activity year's flows: requests
        awaiting the decision (monthly requests / decision hazard) and assessments open (monthly
        inflow to assessment x the months an assessment takes at least)."""
        monthly_requests = self.requests_by_age().sum() / 12.0
        pending = monthly_requests / self.decision_hazard()
        inflow = monthly_requests * self.p_assess()
        steady = inflow * self.assessment_min_months()
        return {"monthly_requests": monthly_requests, "pending": pending, "inflow": inflow, "steady": steady,
                "open": pending + steady,
                "capacity": self.authority.assessment_count(self.activity_year, "assess_in_year") / 12.0}

    @cache
    def pipeline_numbers(self) -> dict[str, Any]:  # numbers, and month labels ("YYYY-MM")
        """Opening pipeline and assessment capacities from the local figures (Kent: the return's
        open cases in January and April 2024 and the backlog cleared by July; see the
        assessment_capacity notes)."""
        local = self.local_figures()
        steady = self.steady_pipeline()
        monthly_requests, pending, inflow = steady["monthly_requests"], steady["pending"], steady["inflow"]
        open_jan = local.value("open_cases_2024_01")
        open_apr = local.value("open_cases_2024_04")
        assessing_jan = open_jan - pending
        assessing_apr = open_apr - pending
        # Months from the January count to the end-of-April count, and from then to the clearing.
        cleared = self.assumptions.BACKLOG_CLEARED_BY
        first_span = month_number(local.period("open_cases_2024_04")) - month_number(local.period("open_cases_2024_01"))
        second_span = month_number(cleared) - month_number(local.period("open_cases_2024_04"))
        return {
            "first_span": first_span,
            "second_span": second_span,
            "second_start": month_label(month_number(local.period("open_cases_2024_04")) + 1),
            "third_start": month_label(month_number(cleared) + 1),
            "monthly_requests": monthly_requests,
            "pending": pending,
            "assessing_jan": assessing_jan,
            "assessing_apr": assessing_apr,
            "inflow": inflow,
            "steady": steady["steady"],
            "capacity_feb_apr": (assessing_jan - assessing_apr) / first_span + inflow,
            "capacity_may_jul": (assessing_apr - steady["steady"]) / second_span + inflow,
            "capacity_from_aug": steady["capacity"],
        }

    def opening_pipeline(self) -> tuple[int, int]:
        """Open requests and assessments at the census, and how many await the decision: the
        local count of open cases (Kent: January 2024), or the steady state."""
        steady = self.steady_pipeline()
        n_open = self.local.value("open_cases_2024_01") if self.local is not None else steady["open"]
        return int(round(n_open)), int(round(steady["pending"]))

    @cache
    def overdue_numbers(self) -> dict[str, float]:
        """Overdue annual reviews from the local figures (Kent: March 2023 and March 2024,
        interpolated to the census) and the review capacity that gives their fall."""
        local = self.local_figures()
        first, second = "overdue_reviews_2023_03", "overdue_reviews_2024_03"
        march_2023 = local.value(first)
        march_2024 = local.value(second)
        m23, m24 = (month_number(local.period(i)) for i in (first, second))
        january_2024 = march_2023 + (march_2024 - march_2023) * (self.census.start_index - m23) / (m24 - m23)
        stock = float(self.crosstab().sum())
        falling_due = (stock - january_2024) / 12.0
        drain = (march_2023 - march_2024) / 12.0
        return {"march_2023": march_2023, "march_2024": march_2024, "january_2024": january_2024,
                "stock": stock, "falling_due": falling_due, "drain": drain, "capacity": falling_due + drain}

    @cache
    def recent_plans_by_age(self) -> np.ndarray:
        """Plans issued in the activity year by age (cannot be overdue at the census), capped by
        the stock."""
        counts = spread(self.newplans_by_age(self.activity_year), self.assumptions.AGES_20_PLUS_ENTRY,
                        self.assumptions.AGE_0_2_WEIGHTS).sum(axis=1)
        return np.minimum(counts, self.crosstab().sum(axis=1))

    @cache
    def overdue_probability_by_age(self) -> np.ndarray:
        """P(overdue | age) among all plans at that age [A]: with local overdue counts, odds
        OVERDUE_ODDS_BY_AGE x base odds solved so that the expected total equals the census
        figure; without, none (SEN2 counts no reviews: every plan is taken to be on time)."""
        if self.local is None:
            return np.zeros(A)
        stock = self.crosstab().sum(axis=1).astype(float)
        eligible = stock - self.recent_plans_by_age()
        weights = np.array([odds_of_age(self.assumptions.OVERDUE_ODDS_BY_AGE, a) for a in range(A)])
        target = self.overdue_numbers()["january_2024"]
        low, high = OVERDUE_ODDS_BOUNDS
        for _ in range(OVERDUE_BISECTION_STEPS):
            base = math.sqrt(low * high)
            odds = base * weights
            expected = (eligible * odds / (1 + odds)).sum()
            if expected > target:
                high = base
            else:
                low = base
        odds = math.sqrt(low * high) * weights
        p_eligible = odds / (1 + odds)
        return np.divide(eligible * p_eligible, stock, out=np.zeros(A), where=stock > 0)

    def pipeline_need_share(self) -> np.ndarray:
        """Need mix of open requests by age [A, N]: that of the placements new plans take."""
        share = np.zeros((A, N))
        for (low, high), placement_mix, _ in self.first_placement():
            share[low:high + 1] = self.need_share_of_placement_mix(placement_mix)
        return share

    def local_figures(self) -> FigureTable:
        """The local figures (a monitoring return); raises if the authority has none."""
        if self.local is None:
            raise ValueError(f"{self.name} has no local figures (a monitoring return): this number needs them")
        return self.local
