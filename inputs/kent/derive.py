"""Derive the built-in Kent dataset from the public data in ``inputs/kent/data/``.

Run ``python -m sendsim.inputs.kent.derive`` from the repository root. It reads only the vendored
files in ``inputs/kent/data/`` and writes, deterministically,

* ``inputs/kent/parameters.csv``: every engine parameter (docs/parameters.md format), each
  row with its ``source`` (a data file and column, a ``seed_targets.csv`` id, or
  ``assumption: ...``) and a ``note`` saying how the value was derived;
* ``inputs/kent/cohort.csv``: one record per child with an EHCP in Kent in January 2024
  (reproducing the SEN2 January 2024 cross-tab of single-year age by placement exactly) plus
  the opening assessment pipeline (requests pending a decision and assessments in progress).

Values that come from data are computed here from the vendored files; values that are
assumptions are the named constants in the "Assumptions" block below, each with its
rationale, and appear in the CSV ``source`` column as ``assumption: <rationale>``.

Placement mapping of the SEN2 caseload / new-plan columns to the engine's placement codes is
:data:`PLACEMENT_COLUMNS` (documented in ``inputs/kent/data/README.md``). ``x`` (not
available) and ``z`` (not applicable) count as 0.

Tuning record (plausibility run: 50 runs of 51 months from January 2024, seed 1; the figures
are in ``inputs/kent/data/README.md``, section "Plausibility of the defaults"). Only assumption
constants were varied, never data-derived values:

* ``OVERFLOW_INDEPENDENT["special"]``: tried 0.5, 0.3 and 0.15. Maintained special schools start
  above their ceiling (SEN2 6,222 vs 5,959 x 103.56% = 6,171), so every new demand for special
  overflows or waits. By January 2025, 0.5 gives independent +309 and 161 children waiting for
  a special place (no place 1,352); 0.3 gives +208 and 253 waiting (no place 1,443); 0.15 gives
  +131 and 323 waiting (no place 1,512, against the seed's 906 "with no place"). Kept 0.5: it is
  what the seed's own estimates of unplaced phase-transfer children imply (independent 41 of 95
  at Year 6-7 and 97 of 170 at post-16: 52%).
* ``MIN_POOL_COUNT``: lowered from 40 to 30 so that the first placements at ages 0-3 come from
  plans started at 0-3 (nursery settings) rather than being swamped by the reception-age (4)
  plans of a wider pool.
* Kept at their first values, because the run already matched: ``OVERDUE_ODDS_BY_AGE`` and
  ``OVERDUE_EXTRA_MONTHS_MEAN`` (9,855 overdue at the start, 9,381 in March 2024 against the
  seed's 9,402); ``TRIBUNAL_MEAN_MONTHS`` 9 and ``P_TRIBUNAL_WIN`` 0.85 (2,305 new plans in the
  first twelve months against the seed's projection of 2,228); ``REVIEW_SHARE_OF_PLACEMENT_CHANGES``,
  ``SCHOOL_CHURN_RATE`` and ``POST16_CHURN_RATE`` (post-16 specialist share 35.6% -> 36.6%, seed
  35.3% -> 37.1%); ``ARRIVAL_TO_TRANSFER_RATIO`` 1 (298 arrivals a year).
* Not tuned towards the ceased-plans figure: the run ceases about 1,250 plans a year against
  2,001 in SEN2 2023, a year inflated by the backlog team ceasing post-19 plans; raising it
  would need changing the data-derived review_cease values (see the README).
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.inputs.finance import KENT_FINANCE, load_finance
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort
from sendsim.simcore.model import SCHEMA

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PARAMETERS_PATH = HERE / "parameters.csv"
COHORT_PATH = HERE / "cohort.csv"

START = Calendar(2024, 1, 1)  # the opening snapshot: January 2024 census
P = codes.N_PLACEMENTS
N = codes.N_NEEDS
A = codes.N_AGES
PL = {name: k for k, name in enumerate(codes.PLACEMENTS)}

# =============================================================================================
# Assumptions. Every value here is a judgement, not a measurement; each appears in the CSV
# `source` column as "assumption: <rationale>".
# =============================================================================================

# Fixed seed of the synthetic cohort (need, birth month, review timing, pipeline records).
COHORT_SEED = 20240117

# SEN2 groups ages 0-2 ("under 3", "2 and under"): split over single ages 0, 1, 2 with these
# weights. Almost all plans and requests under 3 concern two-year-olds approaching nursery
# entry; a few concern infants with complex medical needs.
AGE_0_2_WEIGHTS = (0.1, 0.3, 0.6)

# SEN2 groups "20 and over": requests, new plans and arrivals are spread evenly over ages
# 20-24 (a plan ends at the end of the academic year in which the holder turns 25, so nobody
# starts a plan at 25); rates of ceasing and moving use ages 20-25 pooled.
AGES_20_PLUS_ENTRY = tuple(range(20, 25))
AGES_20_PLUS_POOL = tuple(range(20, 26))

# Primary-need mix by placement (no need data is in the vendored SEN2 files). Base: rounded
# England shares of primary need among pupils with EHC plans (ASD largest, then SLCN, SEMH,
# MLD, SLD), tilted towards SLD/PMLD/ASD in maintained special schools, towards ASD and SEMH
# in independent and alternative provision and among those with no place, towards SLCN in
# early years, and towards MLD/SpLD in FE. Weights are normalised per placement. The seed's
# children awaiting phase-transfer places (41-50% ASD, 14-35% SEMH) are the hardest to
# place; the independent/alternative mixes are of that kind.
NEED_MIX_BY_PLACEMENT: dict[str, dict[str, float]] = {
    "early_years":       {"asd": 28, "semh": 2, "slcn": 36, "mld": 3, "sld": 7, "pmld": 6, "spld": 0,
                          "hi": 3, "vi": 2, "msi": 1, "pd": 8, "other": 4},
    "mainstream":        {"asd": 30, "semh": 17, "slcn": 25, "mld": 10, "sld": 2, "pmld": 0.5, "spld": 5,
                          "hi": 2.5, "vi": 1.5, "msi": 0.5, "pd": 4, "other": 2},
    "srp":               {"asd": 45, "semh": 6, "slcn": 24, "mld": 10, "sld": 3, "pmld": 0.5, "spld": 3,
                          "hi": 4, "vi": 1, "msi": 0.5, "pd": 2, "other": 1},
    "special":           {"asd": 38, "semh": 9, "slcn": 8, "mld": 12, "sld": 16, "pmld": 6, "spld": 0.5,
                          "hi": 1, "vi": 0.5, "msi": 0.5, "pd": 5, "other": 3.5},
    "independent":       {"asd": 50, "semh": 30, "slcn": 5, "mld": 3, "sld": 3, "pmld": 1, "spld": 2,
                          "hi": 1, "vi": 0.5, "msi": 0.5, "pd": 2, "other": 2},
    "fe":                {"asd": 26, "semh": 15, "slcn": 12, "mld": 20, "sld": 5, "pmld": 0.5, "spld": 7,
                          "hi": 3, "vi": 2, "msi": 0.5, "pd": 5, "other": 4},
    "post16_specialist": {"asd": 36, "semh": 10, "slcn": 5, "mld": 10, "sld": 18, "pmld": 9, "spld": 1,
                          "hi": 1.5, "vi": 1, "msi": 0.5, "pd": 6, "other": 2},
    "alternative":       {"asd": 36, "semh": 38, "slcn": 6, "mld": 6, "sld": 2, "pmld": 1, "spld": 3,
                          "hi": 1, "vi": 0.5, "msi": 0.5, "pd": 3, "other": 3},
    "no_place":          {"asd": 35, "semh": 34, "slcn": 8, "mld": 9, "sld": 2, "pmld": 1, "spld": 4,
                          "hi": 1, "vi": 0.5, "msi": 0.5, "pd": 2, "other": 3},
}

# Overdue annual reviews in the opening cohort: relative odds of a plan being overdue, by
# academic age (plans issued in 2023 cannot be overdue). Post-19 plans were the backlog
# team's caseload (seed: all 3,720 post-19 cases), older plans are more often overdue; the
# early-years/KS1 backlog was nearly cleared (seed: none left by end May 2024). The base odds
# are solved so that the expected total equals the January 2024 target.
OVERDUE_ODDS_BY_AGE = {range(0, 7): 0.5, range(7, 16): 1.0, range(16, 19): 4.0, range(19, 26): 15.0}
# Months overdue beyond the 12-month review date: geometric with this mean, by age (older
# plans have waited longer), capped at OVERDUE_EXTRA_MONTHS_MAX.
OVERDUE_EXTRA_MONTHS_MEAN = {range(0, 16): 6.0, range(16, 19): 9.0, range(19, 26): 12.0}
OVERDUE_EXTRA_MONTHS_MAX = 36

# Opening assessments: months since the decision to assess, uniform on 0..this maximum
# (SEN2 2023: only 18% of Kent plans issued within 20 weeks, 70% within a year, 12% later).
ASSESSMENT_OPEN_STAGE_MAX = 9

# Thin counts: pool adjacent ages (and 2022 with 2023 for new plans) until at least this
# many events support a distribution.
MIN_POOL_COUNT = 30
# Share of events counted at age a (SEN2: age on the day) that happen at academic age a: the
# share whose birthday is still to come in that academic year, half with events and birthdays
# spread evenly over the year (academic_from_event_age).
EVENT_AGE_STAYS = 0.5

# Share of the tribunal appeals recorded against EHC needs assessments (SEN2
# number_assess_tribunal) that are about a decision not to issue; the rest are about the
# content of issued plans (sections B, F, I: mostly the named placement).
DECLINE_SHARE_OF_ASSESSMENT_APPEALS = 0.25

# Lodged SEND Tribunal appeals are decided (hearing, or withdrawal/concession) after about
# this many months on average (hearing waits in 2023-24 were typically 6-12 months).
TRIBUNAL_MEAN_MONTHS = 9.0
# Probability that an appeal ends the family's way (hearing upheld at least in part, or the
# authority concedes); most decided appeals go the family's way (DOMAIN.md), some are
# withdrawn by the family.
P_TRIBUNAL_WIN = 0.85

# Placement changes outside phase transfers (escalation, reintegration): this share is
# decided at the annual review, the rest between reviews (emergency reviews, interim moves).
REVIEW_SHARE_OF_PLACEMENT_CHANGES = 0.5
# Escalation and reintegration apply at school ages Reception to Year 11.
SCHOOL_AGES = range(4, 16)
# Annual rate mainstream -> SRP (the SEN2 MI counts only moves to special schools).
MAINSTREAM_TO_SRP_RATE = 0.01
# Escalation from SRP to special/independent, relative to the mainstream rate.
SRP_ESCALATION_FACTOR = 1.0
# Annual churn among mainstream, alternative provision and no place at school ages
# (exclusions, elective home education, returns to school); destinations follow the
# January 2024 mix at that age, so the mix is stationary.
SCHOOL_CHURN_RATE = 0.05
# Annual churn among post-16 settings (sixth form, FE, specialist post-16, alternative, no
# place), ages 16-24; destinations follow the January 2024 mix at that age.
POST16_CHURN_RATE = 0.10
# An early-years setting ends at compulsory school age: from age 5 a child still in one (a
# deferred Reception start, or a first placement recorded there) moves to a school placement,
# with the Reception transfer's destinations from early years, within months. SEN2 January
# 2024: 1 of Kent's 739 plans at age 5 is in early years. Annual probability; with moving away
# the row's total reaches the 0.999 cap of _annual_to_monthly, about 44% a month.
COMPULSORY_SCHOOL_AGE = 5
EARLY_YEARS_EXIT_AT_SCHOOL_AGE = 0.99

# Phase transfer: prior affinity of a move between placement "tiers" (mainstream-type:
# early years, mainstream, SRP, FE; specialist: special, independent, specialist post-16)
# relative to a move within a tier; alternative and no place are reachable from all.
PHASE_CROSS_TIER_AFFINITY = 0.25

# Monthly probability that a child in an independent placement takes a maintained special
# place when one is free (Safety Valve policy: bring children back to maintained provision).
STEP_DOWN = 0.002

# New special schools: the seed says 2 of 3 approved, phased opening from September 2025.
NEW_SPECIAL_SCHOOL_PLACES = 200  # places per school (typical Kent special school size)
NEW_SPECIAL_SCHOOL_PHASING = (("2025-09", 1 / 3), ("2026-09", 2 / 3), ("2027-09", 1.0))

# When a maintained special / SRP place is not available: probability of an independent
# placement instead of waiting (seed Risk 3: failing maintained capacity forces placements
# into the independent sector). Special: about half, as the seed's estimates for unplaced
# phase-transfer children (independent 41 of 95 at Year 6-7, 97 of 170 at post-16). SRP: a
# child refused an SRP place mostly stays in mainstream and waits. See the tuning record.
OVERFLOW_INDEPENDENT = {"special": 0.5, "srp": 0.2}

# Children with plans arriving from other authorities per year, relative to the SEN2 2023
# 'transfer' outflow at the same age (no inflow data; Kent is a net importer of looked-after
# children but their plans stay with the placing authority).
ARRIVAL_TO_TRANSFER_RATIO = 1.0

# Unit costs not in the finance data (GBP a year, 2024-25 prices, high-needs block only):
MAINSTREAM_TOPUP_2024_25 = 7_500   # element 3 top-up above the school's 6,000 notional SEN budget
SRP_TOPUP_2024_25 = 10_000         # top-up on the 6,000 SRP place funding
FE_TOPUP_2024_25 = 5_000           # top-up on the 6,000 FE element 2
POST16_SPECIALIST_TOPUP_2024_25 = 25_000  # top-up on the 10,000 specialist post-16 place funding
EARLY_YEARS_2024_25 = 5_000        # SEN inclusion funding / top-up in a nursery setting
ALTERNATIVE_2024_25 = 18_000       # AP place (10,000) plus top-up, or an EOTAS package
NO_PLACE_2024_25 = 4_000           # interim tuition / support while no place is named
# Log-scale spread of the per-child cost multiplier (lognormal, mean 1). Long upper tail for
# independent and specialist post-16 (post-19 out-of-county placements average 141,750).
COST_SPREAD = {"early_years": 0.5, "mainstream": 0.5, "srp": 0.35, "special": 0.35, "independent": 0.6,
               "fe": 0.5, "post16_specialist": 0.8, "alternative": 0.6, "no_place": 0.8}

# =============================================================================================
# Placement mapping of SEN2 columns to engine placement codes.
# =============================================================================================
PLACEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "early_years": ("nm_early_years",),
    "mainstream": ("mainstream_la_maintained", "mainstream_academy", "mainstream_free_school",
                   "mainstream_independent"),
    "srp": ("mainstream_la_maintained_resourced_provision", "mainstream_la_maintained_senunit",
            "mainstream_academy_resourced_provision", "mainstream_academy_senunit",
            "mainstream_free_school_resourced_provision", "mainstream_free_school_senunit"),
    "special": ("special_la_maintained", "special_academy_free"),
    "independent": ("special_independent", "special_non_maintained"),
    "fe": ("general_fe_tertiary_colleges", "ukrlp_provider"),
    "post16_specialist": ("specialist_post_16_institutions",),
    "alternative": ("ap_pru_total", "elective_home_education", "other_arrangements_la",
                    "other_arrangements_parents", "other_placement_settings"),
    "no_place": ("neet", "neet_ntci", "neet_other", "neet_other_csa", "placement_unknown"),
}
assert tuple(PLACEMENT_COLUMNS) == codes.PLACEMENTS

CASELOAD = "sen2_2025release_caseload.csv"
NEWPLANS = "sen2_2025release_newplans.csv"
REQUESTS = "sen2_2025release_requests.csv"
ASSESSMENTS = "sen2_2025release_assessments.csv"
CEASED = "sen2_2025release_ceased_plans.csv"
MI = "sen2_2022release_mi.csv"
SEED = "seed_targets.csv"
FINANCE = "kent_finance_public.csv"

WEEKS_PER_MONTH = 365.25 / 12 / 7
# Statutory time limits (SEND Regulations 2014): a final plan within 20 weeks of the request,
# the decision whether to assess within 6 weeks.
STATUTORY_PLAN_WEEKS = 20
STATUTORY_DECISION_WEEKS = 6
# The seed (Condition 3): "it is anticipated that this backlog of assessments will be cleared by
# July" 2024; the last month of the backlog-clearing capacity.
BACKLOG_CLEARED_BY = "2024-07"


# =============================================================================================
# Reading the vendored data
# =============================================================================================
@lru_cache(maxsize=None)
def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


def _number(text: str) -> float:
    text = str(text).strip()
    if text in ("", "x", "z", "c", "u"):
        return 0.0
    return float(text)


def _kent(name: str, period: str, topic: str | None = None) -> pd.DataFrame:
    t = _table(name)
    rows = t[(t["la_name"] == "Kent") & (t["time_period"] == period)]
    if topic is not None:
        rows = rows[rows["breakdown_topic"] == topic]
    if rows.empty:
        raise ValueError(f"{name}: no Kent rows for {period} {topic}")
    return rows


def _row_value(row: pd.Series, column: str) -> float:
    return _number(row[column])


def seed(identifier: str) -> float:
    t = _table(SEED)
    value = t.loc[t["id"] == identifier, "value"]
    if value.empty:
        raise KeyError(f"{SEED}: no id {identifier}")
    return float(value.iloc[0])


def seed_period(identifier: str) -> str:
    t = _table(SEED)
    return str(t.loc[t["id"] == identifier, "period"].iloc[0])


def month_number(period: str) -> int:
    """Absolute month index of 'YYYY-MM'."""
    year, month = period[:7].split("-")
    return int(year) * 12 + int(month) - 1


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def finance(identifier: str) -> float:
    t = _table(FINANCE)
    value = t.loc[t["id"] == identifier, "value"]
    if value.empty:
        raise KeyError(f"{FINANCE}: no id {identifier}")
    return float(value.iloc[0])


def shift_one_age(values: np.ndarray, share: float) -> np.ndarray:
    """Counts by age [A, ...] with ``share`` of each age moved one age down (``share`` > 0) or
    ``-share`` of each age moved one age up (``share`` < 0). The end age a move would leave
    (0 going down, the last going up) keeps its count. Totals are kept exactly."""
    share = float(share)
    if not -1.0 <= share <= 1.0:
        raise ValueError(f"the share of events moved one age must be in [-1, 1], got {share}")
    values = np.asarray(values, dtype=float)
    moved = abs(share)
    out = (1.0 - moved) * values
    if share >= 0.0:
        out[:-1] += moved * values[1:]
        out[0] += moved * values[0]
    else:
        out[1:] += moved * values[:-1]
        out[-1] += moved * values[-1]
    return out


def academic_from_event_age(values: np.ndarray, stays: float | None = None) -> np.ndarray:
    """Counts by age at the time of an event [A, ...] re-expressed by academic age [A, ...].

    SEN2 counts the January caseload by academic age (age on the 31 August before the census:
    1 plan at 25 in January 2024, as plans end in the academic year the holder turns 25), and
    requests and ceased plans by the child's age at the time ("age at the time of request").
    The engine keeps academic age, so an event at age ``a`` happened at academic age ``a`` if the
    birthday had not yet come in that academic year and ``a - 1`` if it had. With birthdays and
    event dates spread evenly over the year, each happens half the time: half of the count at
    age ``a`` moves to academic age ``a - 1`` (at age 0 it stays; the engine counts academic age
    -1 as 0). ``stays`` (default :data:`EVENT_AGE_STAYS`) is the share that keeps its age. The
    calibration fits the mapping for requests in both directions (``request_age_shift``; see
    docs/calibration.md, "Two age conventions in SEN2"). Totals are kept exactly.
    """
    stays = EVENT_AGE_STAYS if stays is None else float(stays)
    if not 0.0 <= stays <= 1.0:
        raise ValueError(f"the share of events keeping their age must be in [0, 1], got {stays}")
    return shift_one_age(values, 1.0 - stays)


def _ages_of_label(label: str, plus_ages: tuple[int, ...]) -> tuple[int, ...]:
    """Single academic ages covered by a SEN2 age label."""
    text = label.strip().lower()
    if text in ("under 3", "age 2 and under", "aged 2 and under"):
        return (0, 1, 2)
    if text in ("age 20 and over", "aged 20 and over"):
        return plus_ages
    for prefix in ("aged ", "age "):
        if text.startswith(prefix) and text[len(prefix):].isdigit():
            return (int(text[len(prefix):]),)
    raise ValueError(f"unrecognised SEN2 age label {label!r}")


def _placement_vector(row: pd.Series) -> np.ndarray:
    return np.array([sum(_row_value(row, c) for c in PLACEMENT_COLUMNS[p]) for p in codes.PLACEMENTS])


def _by_age_labels(name: str, period: str, topic: str, value_columns: list[str] | None = None,
                   total_column: str | None = None) -> dict[str, np.ndarray]:
    """SEN2 rows by age label: placement vectors (value_columns None) or the named columns."""
    out = {}
    for _, row in _kent(name, period, topic).iterrows():
        if value_columns is None:
            vector = _placement_vector(row)
            if total_column is not None and abs(vector.sum() - _row_value(row, total_column)) > 0.5:
                raise ValueError(f"{name} {period} {row['breakdown']}: mapped placements sum to {vector.sum():g}, "
                                 f"{total_column} is {_row_value(row, total_column):g}")
        else:
            vector = np.array([_row_value(row, c) for c in value_columns])
        out[row["breakdown"]] = vector
    return out


def largest_remainder(total: int, weights) -> np.ndarray:
    """Split a whole number over weights into whole numbers (largest remainder, ties to the
    earlier index)."""
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() <= 0:
        return np.zeros(w.shape[0], dtype=np.int64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    order = sorted(range(w.shape[0]), key=lambda j: (-(exact[j] - base[j]), j))
    for j in order[:short]:
        base[j] += 1
    return base


def _spread(values_by_label: dict[str, np.ndarray], plus_ages: tuple[int, ...], zero_weights=AGE_0_2_WEIGHTS,
            integer: bool = False) -> np.ndarray:
    """Values by single age [A, ...] from SEN2 age labels: 0-2 by AGE_0_2_WEIGHTS, 20+ evenly."""
    first = next(iter(values_by_label.values()))
    out = np.zeros((A,) + first.shape)
    for label, vector in values_by_label.items():
        ages = _ages_of_label(label, plus_ages)
        if len(ages) == 1:
            out[ages[0]] += vector
            continue
        weights = np.array(zero_weights if ages == (0, 1, 2) else [1.0] * len(ages), dtype=float)
        if integer:
            for k in range(vector.shape[0]):
                out[list(ages), k] += largest_remainder(int(round(vector[k])), weights)
        else:
            out[list(ages)] += np.outer(weights / weights.sum(), vector)
    return out


# ---- Caseload (January 2024) ----------------------------------------------------------------
@lru_cache(maxsize=None)
def caseload_labels() -> dict[str, np.ndarray]:
    """Kent January 2024 caseload by SEN2 age label, mapped to the engine's placements."""
    return _by_age_labels(CASELOAD, "202324", "Child or young persons age", total_column="ehcplans")


@lru_cache(maxsize=None)
def crosstab() -> np.ndarray:
    """Kent January 2024 plans by single academic age and placement [A, P] (whole numbers)."""
    return _spread(caseload_labels(), (), integer=True).astype(np.int64)


@lru_cache(maxsize=None)
def caseload_history() -> pd.DataFrame:
    """Kent 'All EHC plans' caseload by January (time_period 201819 = January 2019)."""
    t = _table(CASELOAD)
    rows = t[(t["la_name"] == "Kent") & (t["breakdown_topic"] == "All EHC plans")]
    return rows.set_index("time_period")


def _mix(vector: np.ndarray) -> np.ndarray:
    total = vector.sum()
    return vector / total if total > 0 else np.full(vector.shape, 1.0 / vector.shape[0])


def pooled_age_mix(counts: np.ndarray, age: int,
                   min_count: float = MIN_POOL_COUNT) -> tuple[np.ndarray, tuple[int, int]]:
    """Mix over the last axis at ``age``, widening the age window until it holds min_count."""
    low = high = age
    while counts[low:high + 1].sum() < min_count and (low > 0 or high < A - 1):
        low, high = max(low - 1, 0), min(high + 1, A - 1)
    return _mix(counts[low:high + 1].sum(axis=0)), (low, high)


# ---- Need mix --------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def need_mix() -> np.ndarray:
    """Assumed primary-need mix by placement [P, N] (rows sum to 1)."""
    out = np.zeros((P, N))
    for p, name in enumerate(codes.PLACEMENTS):
        weights = NEED_MIX_BY_PLACEMENT[name]
        out[p] = [weights[n] for n in codes.NEEDS]
        out[p] /= out[p].sum()
    return out


# ---- Requests, assessments, new plans, ceased plans --------------------------------------------
@lru_cache(maxsize=None)
def requests_by_event_age() -> np.ndarray:
    """Kent requests received in 2023 by SEN2's age at the time of request [A] (0-2 and 20+
    split by assumption)."""
    labels = _by_age_labels(REQUESTS, "2023", "Child or young persons age", ["requests_received_in_year"])
    return _spread(labels, AGES_20_PLUS_ENTRY)[:, 0]


@lru_cache(maxsize=None)
def requests_by_age() -> np.ndarray:
    """Kent requests received in 2023 by single academic age [A] (the age at the time of
    request moved to academic age by :func:`academic_from_event_age`)."""
    return academic_from_event_age(requests_by_event_age())


def _requests_total(year: str) -> float:
    row = _kent(REQUESTS, year, "All requests for EHC needs assessments").iloc[0]
    return _row_value(row, "requests_received_in_year")


@lru_cache(maxsize=None)
def request_growth() -> float:
    """Annual growth of requests: least-squares slope of log(requests) on year, 2019-2023."""
    years = np.arange(2019, 2024)
    values = np.array([_requests_total(str(y)) for y in years])
    slope = np.polyfit(years - years.mean(), np.log(values), 1)[0]
    return float(np.exp(slope) - 1.0)


def _requests_all_2023(column: str) -> float:
    row = _kent(REQUESTS, "2023", "All requests for EHC needs assessments").iloc[0]
    return _row_value(row, column)


def _assessments_all(year: str, column: str) -> float:
    row = _kent(ASSESSMENTS, year, "All EHC needs assessments").iloc[0]
    return _row_value(row, column)


@lru_cache(maxsize=None)
def decision_hazard() -> float:
    """Monthly hazard h with 1 - (1 - h)^(6 weeks in months) = share decided within 6 weeks."""
    share = _requests_all_2023("request_outcome_six_weeks_pc") / 100.0
    months = STATUTORY_DECISION_WEEKS / WEEKS_PER_MONTH
    return 1.0 - (1.0 - share) ** (1.0 / months)


def assessment_min_months() -> int:
    """Statutory 20 weeks from request to final plan, less the 6 weeks allowed for the
    decision to assess (modelled by decision_hazard): 14 weeks, in whole months."""
    return int(math.floor((STATUTORY_PLAN_WEEKS - STATUTORY_DECISION_WEEKS) / WEEKS_PER_MONTH))


@lru_cache(maxsize=None)
def newplans_by_age(year: str) -> dict[str, np.ndarray]:
    return _by_age_labels(NEWPLANS, year, "Age when plan started", total_column="new_ehc_plans")


def _unit_ages() -> list[tuple[int, ...]]:
    """Age units of the new-plan tables: 0-2, 3, ..., 19, 20-25."""
    return [(0, 1, 2)] + [(a,) for a in range(3, 20)] + [AGES_20_PLUS_POOL]


def _unit_counts(labels: dict[str, np.ndarray]) -> list[np.ndarray]:
    units = _unit_ages()
    out = [np.zeros(P) for _ in units]
    for label, vector in labels.items():
        ages = _ages_of_label(label, AGES_20_PLUS_POOL)
        out[units.index(ages)] += vector
    return out


@lru_cache(maxsize=None)
def first_placement() -> list[tuple[tuple[int, int], np.ndarray, str]]:
    """First placement mix by age unit: [(age range, mix [P], note)].

    Unlike requests, new plans keep SEN2's age when the plan started as the academic age: the
    placement a plan names depends on when in the year it starts (nursery-year plans issued
    after the fourth birthday name the Reception school; 8% of 2023's plans started at 4 name an
    early-years setting, while 40 of the 53 plans held at academic age 3 in January 2024 are in
    one), which an even split over two academic ages would blur.
    """
    return [(ages, _mix(counts), note) for ages, counts, note in first_placement_counts()]


@lru_cache(maxsize=None)
def first_placement_counts() -> list[tuple[tuple[int, int], np.ndarray, str]]:
    """New plans by first placement behind each age unit's mix: [(age range, counts [P], note)]."""
    units = _unit_ages()
    c2023 = _unit_counts(newplans_by_age("2023"))
    c2022 = _unit_counts(newplans_by_age("2022"))
    out = []
    for k, ages in enumerate(units):
        counts = c2023[k].copy()
        note = "Kent new plans 2023"
        if counts.sum() < MIN_POOL_COUNT:
            counts = c2023[k] + c2022[k]
            note = "Kent new plans 2022+2023 pooled (thin)"
            low = high = k
            while counts.sum() < MIN_POOL_COUNT:
                low, high = max(low - 1, 0), min(high + 1, len(units) - 1)
                counts = sum(c2023[j] + c2022[j] for j in range(low, high + 1))
                note = (f"Kent new plans 2022+2023 pooled over ages {units[low][0]}-{units[high][-1]} (thin)")
        out.append(((ages[0], ages[-1]), counts, f"{note}: {int(counts.sum())} plans, mapped placements"))
    return out


def _pooled_reasons(pooled: list) -> list:
    """Append to each age pool's (ages, p, reasons, n_cease, n_stock) the reason counts its mix
    is taken from (widened to neighbouring pools until MIN_POOL_COUNT) and how."""
    out = []
    for k, ((low, high), p, reasons, n_cease, n_stock) in enumerate(pooled):
        first = last = k
        total = reasons.copy()
        while total.sum() < MIN_POOL_COUNT and (first > 0 or last < len(pooled) - 1):
            first, last = max(first - 1, 0), min(last + 1, len(pooled) - 1)
            total = sum(pooled[j][2] for j in range(first, last + 1))
        if first == last:
            how = "reasons at these ages"
        else:
            how = (f"too few at these ages: reasons at ages {pooled[first][0][0]}-{pooled[last][0][1]} "
                   f"({int(total.sum())} plans)")
        out.append(((low, high), p, reasons, n_cease, n_stock, total, how))
    return out


@lru_cache(maxsize=None)
def review_cease_counts() -> list[tuple[tuple[int, int], float, float, np.ndarray]]:
    """Per age pool: (ages, plans ceased in 2023 for review reasons, exposure (January 2024 plans
    + those ceased), reason counts behind the pool's reason mix [R])."""
    return [(ages, float(n_cease), float(n_stock + n_cease), total)
            for ages, _, _, n_cease, n_stock, total, _ in _pooled_reasons(_review_cease_pools())]


def _review_cease_pools() -> list:
    ceased = _ceased_by_single_age()
    stock = crosstab().sum(axis=1)
    review_cols = [j for j, c in enumerate(CEASED_COLUMNS) if REVIEW_REASON_OF[c] is not None]
    pooled = []
    for low, high in RATE_POOLS:
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


# Age pools for ceasing and moving-away rates (thin single-age counts).
RATE_POOLS = ((0, 4), (5, 10), (11, 15), (16, 17), (18, 19), (20, 25))


@lru_cache(maxsize=None)
def ceased_by_age() -> dict[str, np.ndarray]:
    """Kent plans ceased in 2023 by age label: columns of CEASED_COLUMNS."""
    return _by_age_labels(CEASED, "2023", "Age plan ceased", list(CEASED_COLUMNS))


CEASED_COLUMNS = ("max_age", "needs_met", "he", "employ", "transfer", "no_engage", "moved_outside_eng",
                  "deceased", "not_rec", "other")
# SEN2 reason -> engine cease reason at a review (None: not a review outcome).
REVIEW_REASON_OF = {"needs_met": "needs_met", "he": "education_or_employment", "employ": "education_or_employment",
                    "no_engage": "disengaged", "deceased": "other", "not_rec": "other", "other": "other",
                    "max_age": None, "transfer": None, "moved_outside_eng": None}


def _ceased_by_single_age() -> np.ndarray:
    """[A, len(CEASED_COLUMNS)] ceased 2023 by single age; '20 and over' kept whole at age 20
    (it is only used in the 20-25 pool)."""
    out = np.zeros((A, len(CEASED_COLUMNS)))
    for label, vector in ceased_by_age().items():
        ages = _ages_of_label(label, AGES_20_PLUS_POOL)
        out[ages[0]] += vector
    return out


@lru_cache(maxsize=None)
def review_cease_and_reasons() -> list[tuple[tuple[int, int], float, np.ndarray, str]]:
    """Per age pool: (ages, probability a review ceases the plan, reason mix, note)."""
    out = []
    pooled = _review_cease_pools()
    for (low, high), p, reasons, n_cease, n_stock, total, how in _pooled_reasons(pooled):
        mix = total / total.sum()
        note = (f"ages {low}-{high}: {int(n_cease)} plans ceased in 2023 for review reasons (needs met, HE, "
                f"employment, no longer engaging, deceased, not recorded, other; excluding max age, transfer and "
                f"moved outside England) / ({int(n_stock)} plans in Jan 2024 + those ceased); reason mix: {how}")
        out.append(((low, high), float(p), mix, note))
    return out


@lru_cache(maxsize=None)
def moved_away_rates() -> list[tuple[tuple[int, int], float, int, int]]:
    """Per age pool: (ages, annual probability of moving away, moved 2023, stock Jan 2024)."""
    ceased = _ceased_by_single_age()
    stock = crosstab().sum(axis=1)
    cols = [CEASED_COLUMNS.index("transfer"), CEASED_COLUMNS.index("moved_outside_eng")]
    out = []
    for low, high in RATE_POOLS:
        moved = ceased[low:high + 1][:, cols].sum()
        n_stock = stock[low:high + 1].sum()
        out.append(((low, high), float(moved / (n_stock + moved)), int(moved), int(n_stock)))
    return out


@lru_cache(maxsize=None)
def transfers_out_by_age() -> np.ndarray:
    """Kent plans transferred to another authority in 2023, by single academic age (20+ spread
    over 20-24; age when the plan ceased moved to academic age by :func:`academic_from_event_age`)."""
    labels = {label: vector[[CEASED_COLUMNS.index("transfer")]] for label, vector in ceased_by_age().items()}
    return academic_from_event_age(_spread(labels, AGES_20_PLUS_ENTRY))[:, 0]


# ---- Between-review transitions ---------------------------------------------------------------
def _mi(column: str, year: str, la: str = "Kent") -> float:
    t = _table(MI)
    row = t[(t["la_name"] == la) & (t["time_period"] == year)].iloc[0]
    return _number(row[column])


MI_YEARS = ("2019", "2020", "2021")


def _caseload_period_of_mi_year(year: str) -> str:
    y = int(year)
    return f"{y - 1}{y % 100:02d}"  # MI 2021 (SEN2 2021 return) <-> January 2021 caseload


@lru_cache(maxsize=None)
def mi_rates() -> dict[str, float]:
    """Annual mainstream->special and special->mainstream transfer rates, Kent, SEN2 MI
    2019-2021, over the January caseload in mainstream (incl. units) / special schools."""
    history = caseload_history()
    moves_ms = sum(_mi("MtosiEHC", y) for y in MI_YEARS)
    moves_sm = sum(_mi("SitomEHC", y) for y in MI_YEARS)
    stock_m = sum(_number(history.loc[_caseload_period_of_mi_year(y), "mainstream_total"]) for y in MI_YEARS)
    stock_s = sum(_number(history.loc[_caseload_period_of_mi_year(y), "special_total"]) for y in MI_YEARS)
    return {"escalation": moves_ms / stock_m, "reintegration": moves_sm / stock_s,
            "moves_ms": moves_ms, "moves_sm": moves_sm, "stock_m": stock_m, "stock_s": stock_s}


def _annual_to_monthly(rates: np.ndarray) -> np.ndarray:
    """Competing annual probabilities -> monthly probabilities with the same split."""
    total = rates.sum()
    if total <= 0:
        return np.zeros_like(rates)
    monthly_total = 1.0 - (1.0 - min(total, 0.999)) ** (1.0 / 12.0)
    return rates * monthly_total / total


@lru_cache(maxsize=None)
def transition_rates() -> tuple[np.ndarray, np.ndarray]:
    """Annual placement-change probabilities [A, P, P+1] by kind: (escalation/reintegration,
    other moves incl. moving away). The diagonal is zero."""
    rates = mi_rates()
    return transition_rates_for(rates["escalation"], MAINSTREAM_TO_SRP_RATE, rates["reintegration"],
                                [rate for _, rate, _, _ in moved_away_rates()])


def transition_rates_for(escalation: float, mainstream_to_srp: float, reintegration: float,
                         moved_away_by_pool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`transition_rates` for given annual rates (calibration draws use this).

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
        Annual probability of moving away, one per age pool of :data:`RATE_POOLS`.
    """
    x = crosstab().astype(float)
    escalation_by_age = np.broadcast_to(np.asarray(escalation, dtype=float), (A,))
    change = np.zeros((A, P, P + 1))
    other = np.zeros((A, P, P + 1))
    ms, srp, sp, ind = PL["mainstream"], PL["srp"], PL["special"], PL["independent"]
    for a in SCHOOL_AGES:
        split = _mix(x[a, [sp, ind]])
        change[a, ms, sp] = escalation_by_age[a] * split[0]
        change[a, ms, ind] = escalation_by_age[a] * split[1]
        change[a, ms, srp] = mainstream_to_srp
        change[a, srp, sp] = escalation_by_age[a] * SRP_ESCALATION_FACTOR * split[0]
        change[a, srp, ind] = escalation_by_age[a] * SRP_ESCALATION_FACTOR * split[1]
        for p in (srp, sp, ind):
            change[a, p, ms] = reintegration
        group = [ms, PL["alternative"], PL["no_place"]]
        target, _ = pooled_age_mix(x[:, group], a)
        for i, p in enumerate(group):
            for j, q in enumerate(group):
                if p != q:
                    other[a, p, q] = SCHOOL_CHURN_RATE * target[j]
    for a in range(16, 25):
        group = [PL["fe"], PL["post16_specialist"], PL["alternative"], PL["no_place"]]
        if a <= 18:
            group = [ms] + group
        target, _ = pooled_age_mix(x[:, group], a)
        sources = group + ([ms, srp] if a > 18 else [])
        for p in sources:
            for j, q in enumerate(group):
                if p != q:
                    other[a, p, q] = POST16_CHURN_RATE * target[j]
    ey = PL["early_years"]
    school = phase_transfers()["reception"][ey].copy()
    school[ey] = 0.0
    for a in range(COMPULSORY_SCHOOL_AGE, A):
        other[a, ey, :P] = EARLY_YEARS_EXIT_AT_SCHOOL_AGE * _mix(school)
    for (low, high), rate in zip(RATE_POOLS, moved_away_by_pool):
        other[low:high + 1, :, codes.MOVED_AWAY] = rate
    return change, other


@lru_cache(maxsize=None)
def move_matrix() -> np.ndarray:
    """Monthly between-review transition probabilities [A, P, P+1], stay on the diagonal."""
    return move_matrix_for(*transition_rates())


def move_matrix_for(change: np.ndarray, other: np.ndarray) -> np.ndarray:
    """:func:`move_matrix` from given annual rates (see :func:`transition_rates_for`)."""
    out = np.zeros((A, P, P + 1))
    for a in range(A):
        for p in range(P):
            annual = (1.0 - REVIEW_SHARE_OF_PLACEMENT_CHANGES) * change[a, p] + other[a, p]
            out[a, p] = _annual_to_monthly(annual)
            out[a, p, p] = 1.0 - out[a, p].sum()
    return out


@lru_cache(maxsize=None)
def review_change_and_move() -> tuple[np.ndarray, np.ndarray]:
    """review_change [A] and review_move [A, P, P] from the review share of changes."""
    return review_change_and_move_for(transition_rates()[0])


def review_change_and_move_for(change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`review_change_and_move` from given annual change rates."""
    at_review = REVIEW_SHARE_OF_PLACEMENT_CHANGES * change[:, :, :P]
    p_change = at_review.sum(axis=2).max(axis=1)
    move = np.zeros((A, P, P))
    for a in range(A):
        for p in range(P):
            if p_change[a] > 0:
                move[a, p] = at_review[a, p] / p_change[a]
            move[a, p, p] = 1.0 - move[a, p].sum()
    return p_change, move


# ---- Phase transfer ----------------------------------------------------------------------------
TIER = {"early_years": 0, "mainstream": 0, "srp": 0, "fe": 0, "special": 1, "independent": 1,
        "post16_specialist": 1, "alternative": 2, "no_place": 2}
TRANSFER_EXCLUDED = {
    "reception": ("fe", "post16_specialist"),
    "secondary": ("early_years", "fe", "post16_specialist"),
    "post16": ("early_years",),
    "post19": ("early_years", "mainstream", "srp"),
}


def _affinity() -> np.ndarray:
    out = np.ones((P, P))
    for p, pn in enumerate(codes.PLACEMENTS):
        for q, qn in enumerate(codes.PLACEMENTS):
            if TIER[pn] != TIER[qn] and TIER[pn] != 2 and TIER[qn] != 2:
                out[p, q] = PHASE_CROSS_TIER_AFFINITY
    np.fill_diagonal(out, 0.0)
    return out


def transfer_matrix(before: np.ndarray, after: np.ndarray, excluded: tuple[str, ...]) -> np.ndarray:
    """Placement transition [P, P] mapping the mix before a transfer to the mix after it.

    As many children as possible keep their placement (stay = min(before, after) share); the
    rest move from the placements that shrink to those that grow, split by iterative
    proportional fitting from the tier affinity prior (PHASE_CROSS_TIER_AFFINITY). Rows of
    placements nobody holds before the transfer take the after-mix.
    """
    b = _mix(before.astype(float))
    f = after.astype(float).copy()
    for name in excluded:
        f[PL[name]] = 0.0
    f = _mix(f)
    stay = np.minimum(b, f)
    leave = b - stay
    gain = f - stay
    flows = _affinity() * np.outer(leave, gain)
    for _ in range(2000):
        col = flows.sum(axis=0)
        flows *= np.divide(gain, col, out=np.zeros(P), where=col > 0)[None, :]
        row = flows.sum(axis=1)
        flows *= np.divide(leave, row, out=np.zeros(P), where=row > 0)[:, None]
        if np.abs(flows.sum(axis=0) - gain).max() < 1e-13:
            break
    out = np.zeros((P, P))
    for p in range(P):
        if b[p] > 0:
            out[p] = flows[p] / b[p]
            out[p, p] += stay[p] / b[p]
        else:
            out[p] = f
    return out


@lru_cache(maxsize=None)
def phase_transfers() -> dict[str, np.ndarray]:
    x = crosstab()
    return {t: transfer_matrix(x[a - 1], x[a], TRANSFER_EXCLUDED[t])
            for t, a in zip(codes.TRANSFERS, codes.TRANSFER_AGES)}


# ---- Pipeline ------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def pipeline_numbers() -> dict[str, float]:
    """Opening pipeline and assessment capacities (see the assessment_capacity notes)."""
    monthly_requests = requests_by_age().sum() / 12.0
    h = decision_hazard()
    p_assess = seed("yes_to_assess_2024_03") / 100.0
    open_jan = seed("open_cases_2024_01")
    open_apr = seed("open_cases_2024_04")
    pending = monthly_requests / h  # steady state of a queue with monthly hazard h
    assessing_jan = open_jan - pending
    assessing_apr = open_apr - pending
    inflow = monthly_requests * p_assess
    steady = inflow * assessment_min_months()
    # Months from the January count to the end-of-April count, and from then to the clearing.
    first_span = month_number(seed_period("open_cases_2024_04")) - month_number(seed_period("open_cases_2024_01"))
    second_span = month_number(BACKLOG_CLEARED_BY) - month_number(seed_period("open_cases_2024_04"))
    return {
        "first_span": first_span,
        "second_span": second_span,
        "second_start": month_label(month_number(seed_period("open_cases_2024_04")) + 1),
        "third_start": month_label(month_number(BACKLOG_CLEARED_BY) + 1),
        "monthly_requests": monthly_requests,
        "pending": pending,
        "assessing_jan": assessing_jan,
        "assessing_apr": assessing_apr,
        "inflow": inflow,
        "steady": steady,
        "capacity_feb_apr": (assessing_jan - assessing_apr) / first_span + inflow,
        "capacity_may_jul": (assessing_apr - steady) / second_span + inflow,
        "capacity_from_aug": _assessments_all("2023", "assess_in_year") / 12.0,
    }


@lru_cache(maxsize=None)
def overdue_numbers() -> dict[str, float]:
    march_2023 = seed("overdue_reviews_2023_03")
    march_2024 = seed("overdue_reviews_2024_03")
    m23, m24 = (month_number(seed_period(i)) for i in ("overdue_reviews_2023_03", "overdue_reviews_2024_03"))
    january_2024 = march_2023 + (march_2024 - march_2023) * (START.start_index - m23) / (m24 - m23)
    stock = float(crosstab().sum())
    falling_due = (stock - january_2024) / 12.0
    drain = (march_2023 - march_2024) / 12.0
    return {"march_2023": march_2023, "march_2024": march_2024, "january_2024": january_2024,
            "stock": stock, "falling_due": falling_due, "drain": drain, "capacity": falling_due + drain}


# =============================================================================================
# Parameter rows
# =============================================================================================
PARAMETER_COLUMNS = ("parameter", "date", "age", "need", "placement", "to", "transfer", "reason", "value",
                     "source", "note")


def _fmt(value) -> str:
    if isinstance(value, str):
        return value
    value = float(value)
    if abs(value - round(value)) < 1e-12 and abs(value) < 1e12:
        return str(int(round(value)))
    # Rounded to 12 significant digits first: the last bits of a derived value differ between
    # numpy releases (summation order), and a value on a tie at 8 digits would flip.
    return f"{float(f'{value:.12g}'):.8g}"


def _age_text(low: int, high: int) -> str:
    if low == 0 and high == A - 1:
        return "all"
    return str(low) if low == high else f"{low}-{high}"


class _Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def add(self, parameter: str, value, source: str, note: str = "", **dims) -> None:
        row = {c: "" for c in PARAMETER_COLUMNS}
        row.update({"parameter": parameter, "value": _fmt(value), "source": source, "note": note})
        for key, text in dims.items():
            row[key] = str(text)
        self.rows.append(row)

    def distribution(self, parameter: str, values: np.ndarray, labels: tuple[str, ...], source: str, note: str,
                     rest_at: int | None = None, **dims) -> None:
        """One row per nonzero cell of a distribution; the largest (or rest_at) cell is 'rest'."""
        values = np.asarray(values, dtype=float)
        last = SCHEMA[parameter].dims[-1]
        column = "to" if last in ("to", "to_move") else last
        rest = int(np.argmax(values)) if rest_at is None else rest_at
        first = True
        for j, label in enumerate(labels):
            if j != rest and values[j] <= 0:
                continue
            value = "rest" if j == rest else values[j]
            self.add(parameter, value, source, note if first else "", **{column: label}, **dims)
            first = False

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(PARAMETER_COLUMNS))


def _age_runs(matrix: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive ages with identical rows (matrix [A, ...])."""
    text = [tuple(_fmt(v) for v in np.atleast_1d(matrix[a]).ravel()) for a in range(A)]
    runs = []
    start = 0
    for a in range(1, A + 1):
        if a == A or text[a] != text[start]:
            runs.append((start, a - 1))
            start = a
    return runs


def _need_share_by_placement_mix(mix: np.ndarray) -> np.ndarray:
    return mix @ need_mix()


def derive_parameters() -> pd.DataFrame:
    """All parameter rows, in file order."""
    r = _Rows()
    x = crosstab()
    needs = codes.NEEDS
    need_assumption = ("assumption: need mix by placement (NEED_MIX_BY_PLACEMENT: approx. England EHCP primary-need "
                       "shares tilted by placement)")

    # ---- Requests ---------------------------------------------------------------------------
    req = requests_by_age()
    for a in range(A):
        if a <= 2:
            src = ("sen2_2025release_requests.csv: requests_received_in_year, Kent 2023, 'Aged 2 and under' / 12, "
                   "split over ages 0-2 by assumption AGE_0_2_WEIGHTS")
        elif 20 <= a:
            src = ("sen2_2025release_requests.csv: requests_received_in_year, Kent 2023, 'Aged 20 and over' / 12, "
                   "spread evenly over ages 20-24 (assumption)")
        else:
            src = "sen2_2025release_requests.csv: requests_received_in_year, Kent 2023, by age"
        r.add("request_rate", req[a] / 12.0, src + "; age at the time of request moved to academic age "
              "(academic_from_event_age: half of age a+1, half of age a)",
              "requests in 2023 at this academic age / 12" if a == 0 else "", age=a)
    r.add("request_first_half_share", 0.5,
          "assumption: requests evenly over the year (SEN2 counts requests by calendar year, not by month)",
          "the seed: 25% of the new requests in Q1 2024 were for Nursery 2 children, against 16% of 2023's requests "
          "at age 3; the calibration fits the share at ages 0-3 and the shipped draws carry it", age="all")
    years = ", ".join(f"{y}: {int(_requests_total(str(y)))}" for y in range(2019, 2024))
    r.add("request_growth", request_growth(),
          "sen2_2025release_requests.csv: requests_received_in_year, Kent 2019-2023",
          f"exp(slope) - 1 of a least-squares fit of log(requests) on year ({years})")
    fp = first_placement()
    for (low, high), mix, _ in fp:
        share = _need_share_by_placement_mix(mix)
        r.distribution("request_need_share", share, needs,
                       need_assumption + " weighted by the new-plan placement mix at this age",
                       "need mix of the placements new plans take at this age (first_placement)" if low == 0 else "",
                       age=_age_text(low, high))

    # ---- Decisions, appeals, assessments ------------------------------------------------------
    six = _requests_all_2023("request_outcome_six_weeks_pc")
    r.add("decision_hazard", decision_hazard(),
          "sen2_2025release_requests.csv: request_outcome_six_weeks_pc, Kent 2023",
          f"{six:g}% decided within 6 weeks: h = 1 - (1 - {six / 100:g})^(1 / {6 / WEEKS_PER_MONTH:.4f} months)")
    r.add("p_assess", seed("yes_to_assess_2024_03") / 100.0, "seed_targets.csv:yes_to_assess_2024_03",
          "yes to assess 37.3% in March 2024 after tighter panels (63.1% in March 2023)")
    refused = _requests_all_2023("requests_decided_not_to_assess")
    tribunal_refusal = _requests_all_2023("tribunal_related_request")
    r.add("p_appeal_refusal", tribunal_refusal / refused,
          "sen2_2025release_requests.csv: tribunal_related_request / requests_decided_not_to_assess, Kent 2023",
          f"{int(tribunal_refusal)} tribunal-related requests / {int(refused)} decisions not to assess")
    not_issued = _assessments_all("2023", "assess_not_issued")
    tribunal_assess = _assessments_all("2023", "number_assess_tribunal")
    r.add("p_appeal_decline", DECLINE_SHARE_OF_ASSESSMENT_APPEALS * tribunal_assess / not_issued,
          "sen2_2025release_assessments.csv: number_assess_tribunal / assess_not_issued, Kent 2023; assumption: "
          "a quarter of assessment appeals are about a refusal to issue",
          f"number_assess_tribunal ({int(tribunal_assess)}) counts tribunal appeals linked to a 2023 assessment, "
          f"which include appeals against the content (placement) of issued plans; {int(tribunal_assess)} x "
          f"DECLINE_SHARE_OF_ASSESSMENT_APPEALS {DECLINE_SHARE_OF_ASSESSMENT_APPEALS:g} / {int(not_issued)} "
          "assessments not issued")
    r.add("tribunal_hazard", 1.0 / TRIBUNAL_MEAN_MONTHS,
          "assumption: appeals decided about 9 months after lodging on average (hearing waits 6-12 months)",
          "1 / TRIBUNAL_MEAN_MONTHS")
    r.add("p_tribunal_win", P_TRIBUNAL_WIN,
          "assumption: most decided appeals go at least partly the family's way; some are withdrawn",
          "P_TRIBUNAL_WIN")
    pn = pipeline_numbers()
    r.add("assessment_capacity", round(pn["capacity_feb_apr"]),
          "seed_targets.csv:open_cases_2024_01, open_cases_2024_04, yes_to_assess_2024_03; "
          "sen2_2025release_requests.csv: requests_received_in_year, Kent 2023",
          f"Feb-Apr 2024: open cases {seed('open_cases_2024_01'):g} (Jan) -> {seed('open_cases_2024_04'):g} (end "
          f"April); requests pending a decision held at the steady state {pn['pending']:.0f} (= "
          f"{pn['monthly_requests']:.1f} requests a month / decision_hazard), so assessments open fall "
          f"{pn['assessing_jan']:.0f} -> {pn['assessing_apr']:.0f}: capacity = fall / {pn['first_span']} + inflow "
          f"{pn['inflow']:.1f} a month (requests x p_assess)")
    r.add("assessment_capacity", round(pn["capacity_may_jul"]),
          "seed_targets.csv:ehcp_vs_jan25_forecast_2024_05 (backlog of assessments expected cleared by July 2024)",
          f"May-Jul 2024: assessments open fall from {pn['assessing_apr']:.0f} to the no-backlog level "
          f"{pn['steady']:.0f} (inflow x assessment_min_months) over {pn['second_span']} months, plus the inflow",
          date=pn["second_start"])
    r.add("assessment_capacity", round(pn["capacity_from_aug"]),
          "sen2_2025release_assessments.csv: assess_in_year, Kent 2023",
          f"from Aug 2024: {int(_assessments_all('2023', 'assess_in_year'))} assessments completed in 2023 / 12 "
          "(above the inflow: no backlog)", date=pn["third_start"])
    r.add("assessment_min_months", assessment_min_months(),
          "statutory 20-week limit from request to final plan (SEND Regulations 2014, reg. 13)",
          "20 weeks less the 6 weeks allowed for the decision to assess (modelled by decision_hazard) = 14 weeks, "
          "whole months")
    r.add("assessment_priority_months", 0,
          "assumption: first come, first served (the calibration fits a priority at ages 0-4 from the stocks)",
          "SEN2 2023 timeliness by age (sen2_2025release_timeliness_20_week.csv) suggests young children go first; "
          "the shipped draws carry the fitted priority", age="all")
    r.add("p_decline", seed("decline_to_issue_2024_03") / 100.0, "seed_targets.csv:decline_to_issue_2024_03",
          "decline to issue 21.8% in March 2024 (12.1% in March 2023)")
    for (low, high), mix, note in fp:
        r.distribution("first_placement", mix, codes.PLACEMENTS,
                       "sen2_2025release_newplans.csv: new plans by 'Age when plan started' x placement, Kent",
                       note + "; need dependence absent (no need data: same mix for every need)",
                       age=_age_text(low, high), need="all")

    # ---- Reviews -----------------------------------------------------------------------------------
    ov = overdue_numbers()
    r.add("review_capacity", round(ov["capacity"]),
          "seed_targets.csv:overdue_reviews_2023_03, overdue_reviews_2024_03; sen2_2025release_caseload.csv: "
          "ehcplans, Kent January 2024",
          f"reviews falling due a month ({ov['stock']:.0f} plans - {ov['january_2024']:.0f} overdue in January 2024 "
          f"(interpolated between {ov['march_2023']:.0f} in March 2023 and {ov['march_2024']:.0f} in March 2024)) / 12"
          f" = {ov['falling_due']:.1f}, plus the monthly fall of the overdue count ({ov['march_2023']:.0f} - "
          f"{ov['march_2024']:.0f}) / 12 = {ov['drain']:.1f}")
    cease_source = ("sen2_2025release_ceased_plans.csv: 'Age plan ceased' x reason, Kent 2023; "
                    "sen2_2025release_caseload.csv: ehcplans by age, Kent January 2024")
    for (low, high), p, mix, note in review_cease_and_reasons():
        r.add("review_cease", p, cease_source,
              note + ". 2023 is the first person-level year (series break: 940 ceased in 2022, 2,001 in 2023, "
                     "the backlog team ceasing post-19 plans); ceasing happens mainly at annual reviews",
              age=_age_text(low, high))
    r.add("review_cease_ratio", 1,
          "assumption: ceasing by age alone (SEN2 counts ceased plans by age and reason, not by placement)",
          "the calibration fits a higher ratio for young people aged 16-19 without a place (NEET), the group the "
          "'no longer engaging' reason describes; the shipped draws carry it", age="all", placement="all")
    for (low, high), p, mix, note in review_cease_and_reasons():
        r.distribution("cease_reason", mix, codes.CEASE_REASONS, cease_source,
                       note.split("reason mix: ")[1] + ("; needs_met = needs_met; education_or_employment = he + "
                       "employ; disengaged = no_engage; other = deceased + not_rec + other; max_age is the engine's "
                       "age-25 rule and transfer / moved_outside_eng are the move parameter's moved_away"
                       if low == 0 else ""), age=_age_text(low, high))
    p_change, review_move = review_change_and_move()
    mi = mi_rates()
    mi_source = ("sen2_2022release_mi.csv: MtosiEHC, SitomEHC, Kent 2019-2021; sen2_2025release_caseload.csv: "
                 "mainstream_total, special_total, Kent Jan 2019-2021; assumption: half of placement changes "
                 "decided at annual reviews (REVIEW_SHARE_OF_PLACEMENT_CHANGES)")
    mi_note = (f"escalation mainstream -> special/independent {mi['escalation']:.4f} a year ({mi['moves_ms']:.0f} "
               f"transfers / {mi['stock_m']:.0f} mainstream plan-years), split special:independent as the January "
               f"2024 mix at that age; mainstream -> srp {MAINSTREAM_TO_SRP_RATE:g} (assumption); srp -> special/"
               f"independent at {SRP_ESCALATION_FACTOR:g} x the mainstream rate; reintegration special/independent/"
               f"srp -> mainstream {mi['reintegration']:.4f} a year ({mi['moves_sm']:.0f} / {mi['stock_s']:.0f} "
               "special plan-years)")
    for low, high in _age_runs(p_change):
        r.add("review_change", p_change[low], mi_source,
              (mi_note + "; review_change = the largest review share of these over placements at that age")
              if low == 0 or p_change[low] > 0 else "no placement changes at reviews at these ages",
              age=_age_text(low, high))
    for p, name in enumerate(codes.PLACEMENTS):
        r.add("review_move", "rest", mi_source, "stay (the review keeps the placement)" if p == 0 else "",
              age="all", placement=name, to=name)
    for p, name in enumerate(codes.PLACEMENTS):
        for q, to in enumerate(codes.PLACEMENTS):
            if q == p or not np.any(review_move[:, p, q] > 0):
                continue
            for low, high in _age_runs(review_move[:, p, q]):
                if review_move[low, p, q] > 0:
                    r.add("review_move", review_move[low, p, q], mi_source,
                          "REVIEW_SHARE x annual change rate / review_change", age=_age_text(low, high),
                          placement=name, to=to)

    # ---- Between reviews -----------------------------------------------------------------------------
    move = move_matrix()
    moved = moved_away_rates()
    moved_note = "; ".join(f"ages {lo}-{hi}: {m} moved / ({s} + {m})" for (lo, hi), _, m, s in moved)
    for p, name in enumerate(codes.PLACEMENTS):
        r.add("move", "rest", "derived: 1 - the other destinations (sen2_2022release_mi.csv, "
              "sen2_2025release_caseload.csv, sen2_2025release_ceased_plans.csv, assumptions; see their rows)",
              "stay: 1 - the monthly probabilities of the other destinations" if p == 0 else "",
              age="all", placement=name, to=name)
    change, other = transition_rates()
    for p, name in enumerate(codes.PLACEMENTS):
        for q, to in enumerate(codes.MOVE_DESTINATIONS):
            if q == p or not np.any(move[:, p, q] > 0):
                continue
            for low, high in _age_runs(move[:, p, q]):
                value = move[low, p, q]
                if value <= 0:
                    continue
                if q == codes.MOVED_AWAY:
                    src = ("sen2_2025release_ceased_plans.csv: transfer + moved_outside_eng by age, Kent 2023; "
                           "sen2_2025release_caseload.csv: ehcplans by age, Jan 2024")
                    note = "annual rate per age pool, monthly with the other moves as competing risks; " + moved_note
                elif change[low, p, q] > 0:
                    src = mi_source.replace("half of placement changes decided at annual reviews",
                                            "the other half between reviews")
                    note = "(1 - REVIEW_SHARE) x annual rate (see review_change), monthly"
                elif low >= 16:
                    src = ("assumption: post-16 churn POST16_CHURN_RATE a year to the Jan 2024 post-16 mix at that "
                           "age (sen2_2025release_caseload.csv)")
                    note = "destination share of the January 2024 mix at that age among post-16 settings, monthly"
                else:
                    src = ("assumption: school-age churn SCHOOL_CHURN_RATE a year among mainstream, alternative, no "
                           "place, to the Jan 2024 mix at that age (sen2_2025release_caseload.csv)")
                    note = "destination share of the January 2024 mix at that age, monthly"
                r.add("move", value, src, note, age=_age_text(low, high), placement=name, to=to)
    r.add("step_down", STEP_DOWN,
          "assumption: 2% a year of independent placements would take a free maintained special place",
          "only used when a special place is free")

    # ---- Capacity ----------------------------------------------------------------------------------------
    special_places = seed("special_places_commissioned")
    r.add("places", special_places, "seed_targets.csv:special_places_commissioned",
          "commissioned special school places, pre and post 16", placement="special")
    r.add("places", seed("srp_places_commissioned"), "seed_targets.csv:srp_places_commissioned",
          "commissioned specialist resource provision places", placement="srp")
    n_schools = seed("new_special_schools")
    for date, fraction in NEW_SPECIAL_SCHOOL_PHASING:
        r.add("places", round(special_places + n_schools * NEW_SPECIAL_SCHOOL_PLACES * fraction),
              "seed_targets.csv:new_special_schools; assumption: 200 places per school, opening in thirds from "
              "September 2025",
              f"{special_places:g} + {n_schools:g} schools x {NEW_SPECIAL_SCHOOL_PLACES} places x {fraction:.3f}",
              date=date, placement="special")
    r.add("max_occupancy", seed("special_occupancy_2023_12") / 100.0, "seed_targets.csv:special_occupancy_2023_12",
          "special schools at 103.56% of commissioned places in December 2023", placement="special")
    r.add("max_occupancy", seed("srp_occupancy_2023_12") / 100.0, "seed_targets.csv:srp_occupancy_2023_12",
          "SRPs at 98.32% in December 2023", placement="srp")
    for name, value in OVERFLOW_INDEPENDENT.items():
        r.add("overflow_independent", value,
              "assumption: when a maintained place is not there, a child often goes independent (seed Risk 3)",
              "OVERFLOW_INDEPENDENT; special: about half, as the seed's estimates for unplaced phase-transfer "
              "children (independent 41 of 95 at Year 6-7, 97 of 170 at post-16); srp: most wait in mainstream",
              placement=name)

    # ---- Phase transfer ----------------------------------------------------------------------------------
    pt = phase_transfers()
    for t, age in zip(codes.TRANSFERS, codes.TRANSFER_AGES):
        matrix = pt[t]
        for p, name in enumerate(codes.PLACEMENTS):
            r.distribution("phase_transfer", matrix[p], codes.PLACEMENTS,
                           f"sen2_2025release_caseload.csv: placement mix at ages {age - 1} and {age}, Kent Jan 2024; "
                           "assumption: tier affinity PHASE_CROSS_TIER_AFFINITY",
                           (f"maximal-stay coupling of the age-{age - 1} mix to the age-{age} mix: the share "
                            f"staying is "
                            f"min(before, after); leavers go to growing placements by iterative proportional fitting "
                            f"from the tier affinity prior; excluded destinations: "
                            f"{', '.join(TRANSFER_EXCLUDED[t])}; same for every need (no need data)")
                           if p == 0 else "",
                           transfer=t, need="all", placement=name)

    # ---- Arrivals ----------------------------------------------------------------------------------------
    transfers = transfers_out_by_age()
    for a in range(A):
        r.add("arrival_rate", ARRIVAL_TO_TRANSFER_RATIO * transfers[a] / 12.0,
              "sen2_2025release_ceased_plans.csv: transfer by age, Kent 2023; assumption: arrivals equal "
              "transfers out (ARRIVAL_TO_TRANSFER_RATIO)",
              "plans transferred to other authorities in 2023 at this academic age / 12 ('20 and over' spread over "
              "20-24; age when the plan ceased moved to academic age by academic_from_event_age)"
              if a == 0 else "", age=a)
    xf = x.astype(float)
    for a in range(A):
        mix, (low, high) = pooled_age_mix(xf, a)
        r.distribution("arrival_placement", mix, codes.PLACEMENTS,
                       "sen2_2025release_caseload.csv: placement mix by age, Kent Jan 2024",
                       f"opening placement mix at ages {low}-{high}", age=a)
    for a in range(A):
        mix, _ = pooled_age_mix(xf, a)
        r.distribution("arrival_need_share", _need_share_by_placement_mix(mix), needs,
                       need_assumption + " weighted by the Jan 2024 placement mix at that age",
                       "need mix of the opening cohort at that age" if a == 0 else "", age=a)

    # ---- Cost ------------------------------------------------------------------------------------------
    # Cost growth has one definition: the finance inputs' cost types (inputs/kent/finance.csv).
    # The 2024-25 values below are deflated to 2023-24 prices (the engine's base year) by each
    # placement's 2024-25 price growth from there; the engine's price_growth rows are derived
    # from the same cost types at run time (so parameters.csv has no price_growth rows).
    price_year = 2024  # the 2024-25 unit costs below
    growth = dict(zip(codes.PLACEMENTS, load_finance([KENT_FINANCE]).placement_growth(price_year)))
    place_special = finance("national_place_funding_special")
    place_srp = finance("national_place_funding_srp")
    fe_element2 = finance("national_fe_element2")
    costs = {
        "special": (finance("unit_cost_special_maintained_2024_25"),
                    "kent_finance_public.csv:unit_cost_special_maintained_2024_25", "Kent cost per pupil"),
        "independent": (finance("unit_cost_independent_2024_25"),
                        "kent_finance_public.csv:unit_cost_independent_2024_25", "Kent cost per pupil"),
        "srp": (place_srp + SRP_TOPUP_2024_25,
                "kent_finance_public.csv:national_place_funding_srp; assumption: SRP top-up 10,000",
                f"place funding {place_srp:g} + SRP_TOPUP_2024_25 {SRP_TOPUP_2024_25}"),
        "mainstream": (MAINSTREAM_TOPUP_2024_25,
                       "assumption: average mainstream top-up 7,500 above the 6,000 threshold "
                       "(kent_finance_public.csv:national_mainstream_threshold)",
                       "the school meets the first 6,000 from its notional SEN budget; the high-needs block pays the "
                       "top-up"),
        "fe": (fe_element2 + FE_TOPUP_2024_25,
               "kent_finance_public.csv:national_fe_element2; assumption: FE top-up 5,000",
               f"element 2 {fe_element2:g} + FE_TOPUP_2024_25 {FE_TOPUP_2024_25}"),
        "post16_specialist": (place_special + POST16_SPECIALIST_TOPUP_2024_25,
                              "kent_finance_public.csv:national_place_funding_special; assumption: specialist post-16 "
                              "top-up 25,000 (post-19 out-of-county average 141,750: kent_finance_public.csv:"
                              "unit_cost_post19_out_of_county, in the cost_spread tail)",
                              f"place funding {place_special:g} + POST16_SPECIALIST_TOPUP_2024_25 "
                              f"{POST16_SPECIALIST_TOPUP_2024_25}"),
        "early_years": (EARLY_YEARS_2024_25, "assumption: early-years SEN inclusion funding / top-up 5,000",
                        "EARLY_YEARS_2024_25"),
        "alternative": (ALTERNATIVE_2024_25, "assumption: AP place 10,000 + top-up, or an EOTAS package: 18,000",
                        "ALTERNATIVE_2024_25"),
        "no_place": (NO_PLACE_2024_25, "assumption: interim tuition while no place is named: 4,000",
                     "NO_PLACE_2024_25"),
    }
    for name in codes.PLACEMENTS:
        value_2024, src, how = costs[name]
        g = growth[name]
        r.add("unit_cost", round(value_2024 / (1.0 + g)), src,
              f"{how}; 2024-25 value {value_2024:,.0f} deflated to 2023-24 prices by this placement's 2024-25 price "
              f"growth {g:.4f} (finance.csv cost types)", placement=name, need="all")
    for name in codes.PLACEMENTS:
        r.add("cost_spread", COST_SPREAD[name],
              "assumption: log-scale spread of individual packages; long upper tail for independent and specialist "
              "post-16", "COST_SPREAD", placement=name)
    return r.frame()


def parameters_csv_text(frame: pd.DataFrame | None = None) -> str:
    if frame is None:
        frame = derive_parameters()
    return frame.to_csv(index=False, lineterminator="\n")


# =============================================================================================
# Cohort
# =============================================================================================
def _odds_of_age(table: dict[range, float], age: int) -> float:
    for ages, value in table.items():
        if age in ages:
            return value
    raise KeyError(age)


@lru_cache(maxsize=None)
def recent_plans_by_age() -> np.ndarray:
    """Plans issued in 2023 by age (cannot be overdue in January 2024), capped by the stock."""
    counts = _spread(newplans_by_age("2023"), AGES_20_PLUS_ENTRY).sum(axis=1)
    return np.minimum(counts, crosstab().sum(axis=1))


@lru_cache(maxsize=None)
def overdue_probability_by_age() -> np.ndarray:
    """P(overdue | age) among all plans at that age, with odds OVERDUE_ODDS_BY_AGE x base
    odds solved so that the expected total equals the January 2024 target."""
    stock = crosstab().sum(axis=1).astype(float)
    eligible = stock - recent_plans_by_age()
    weights = np.array([_odds_of_age(OVERDUE_ODDS_BY_AGE, a) for a in range(A)])
    target = overdue_numbers()["january_2024"]
    low, high = 1e-6, 1e6
    for _ in range(200):
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


def _birth_months(rng: np.random.Generator, ages: np.ndarray, census: Calendar = START) -> np.ndarray:
    """Absolute birth month index consistent with academic age on the 31 August before the
    census month, uniform over the 12 months of the academic year (September to August)."""
    year, month = census.year_month(0)
    august = (year if month >= 9 else year - 1) * 12 + 7
    return (august - 12 * ages - rng.integers(0, 12, size=ages.shape[0])).astype(np.int64)


def pipeline_need_share() -> np.ndarray:
    """Need mix of open requests by age [A, N]: that of the placements new plans take."""
    share = np.zeros((A, N))
    for (low, high), mix, _ in first_placement():
        share[low:high + 1] = _need_share_by_placement_mix(mix)
    return share


def derive_cohort() -> Cohort:
    """The January 2024 opening cohort (see :func:`build_cohort`)."""
    pn = pipeline_numbers()
    return build_cohort(crosstab(), START, overdue_probability_by_age(), int(round(seed("open_cases_2024_01"))),
                        int(round(pn["pending"])), requests_by_age(), decision_hazard(), pipeline_need_share())


def build_cohort(x: np.ndarray, census: Calendar, p_overdue: np.ndarray, n_open: int, n_pending: int,
                 request_ages: np.ndarray, decision_hazard_monthly: float, pipe_need_share: np.ndarray,
                 cohort_seed: int = COHORT_SEED) -> Cohort:
    """An opening cohort reproducing a census cross-tab exactly, plus an opening pipeline.

    Parameters
    ----------
    x
        Plans by single academic age and placement [A, P] (whole numbers) at the census.
    census
        The census month (its calendar's month 0).
    p_overdue
        Probability that a plan at each age is overdue for its annual review [A].
    n_open, n_pending
        Open requests and assessments, of which the first ``n_pending`` await the decision
        to assess (the rest are assessments in progress).
    request_ages
        Relative number of requests by age [A] (ages of the open pipeline records).
    decision_hazard_monthly
        Monthly probability that a pending request is decided (months pending are geometric).
    pipe_need_share
        Need mix of the open pipeline records by age [A, N].
    cohort_seed
        Seed of the synthetic attributes (need, birth month, review timing, pipeline).
    """
    rng = np.random.default_rng(cohort_seed)
    # ---- Plans: one record per child, exactly the census cross-tab.
    ages = np.repeat(np.repeat(np.arange(A), P), x.reshape(-1))
    placements = np.repeat(np.tile(np.arange(P), A), x.reshape(-1))
    order = rng.permutation(ages.shape[0])  # no age or placement order in the record list
    ages, placements = ages[order], placements[order]
    n_plans = ages.shape[0]
    cdf = np.cumsum(need_mix(), axis=1)
    u = rng.random(n_plans)
    need = np.minimum((u[:, None] >= cdf[placements]).sum(axis=1), N - 1)
    birth = _birth_months(rng, ages, census)
    # Reviews: exactly round(expected) overdue plans at each age, chosen at random.
    months = rng.integers(0, 12, size=n_plans)
    for a in range(A):
        members = np.flatnonzero(ages == a)
        k = int(round(p_overdue[a] * members.shape[0]))
        chosen = rng.choice(members, size=k, replace=False) if k else np.zeros(0, dtype=np.int64)
        mean = _odds_of_age(OVERDUE_EXTRA_MONTHS_MEAN, a)
        extra = np.minimum(rng.geometric(1.0 / (mean + 1.0), size=k) - 1, OVERDUE_EXTRA_MONTHS_MAX)
        months[chosen] = 12 + extra
    # ---- Opening pipeline: requests pending a decision and assessments in progress.
    pipe_ages = np.repeat(np.arange(A), largest_remainder(n_open, request_ages))
    pipe_ages = pipe_ages[rng.permutation(n_open)]
    pipe_status = np.full(n_open, codes.ASSESSMENT, dtype=np.int64)
    pipe_status[:n_pending] = codes.REQUEST_PENDING
    stage = np.where(pipe_status == codes.REQUEST_PENDING,
                     rng.geometric(decision_hazard_monthly, size=n_open) - 1,
                     rng.integers(0, ASSESSMENT_OPEN_STAGE_MAX + 1, size=n_open))
    pcdf = np.cumsum(pipe_need_share, axis=1)
    u = rng.random(n_open)
    pipe_need = np.minimum((u[:, None] >= pcdf[pipe_ages]).sum(axis=1), N - 1)
    pipe_birth = _birth_months(rng, pipe_ages, census)
    n = n_plans + n_open
    return Cohort(
        child_key=np.arange(n, dtype=np.int64),
        birth_month=np.concatenate([birth, pipe_birth]),
        placement=np.concatenate([placements, np.full(n_open, -1)]),
        need=np.concatenate([need, pipe_need]),
        status=np.concatenate([np.full(n_plans, codes.ACTIVE), pipe_status]),
        months_since_review=np.concatenate([months, np.zeros(n_open, dtype=np.int64)]),
        stage_months=np.concatenate([np.zeros(n_plans, dtype=np.int64), stage]),
        waiting_for=np.full(n, codes.NO_WAIT),
        annual_cost_gbp=np.full(n, -1),
    )


def cohort_csv_text(cohort: Cohort | None = None) -> str:
    import io

    from sendsim.inputs.cohort import write_cohort_csv
    if cohort is None:
        cohort = derive_cohort()
    buffer = io.StringIO()
    write_cohort_csv(cohort, buffer)
    return buffer.getvalue()


def main() -> None:
    PARAMETERS_PATH.write_text(parameters_csv_text(), encoding="utf-8")
    COHORT_PATH.write_text(cohort_csv_text(), encoding="utf-8")
    print(f"wrote {PARAMETERS_PATH} and {COHORT_PATH}")


if __name__ == "__main__":
    main()
