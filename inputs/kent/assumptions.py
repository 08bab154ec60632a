"""The stated assumptions of the built-in Kent dataset: every value here is a judgement, not a
measurement, each with its rationale; the derivation cites them in the parameter file's
``source`` column as ``assumption: <rationale>``.

They were judged for Kent (some cite Kent's Safety Valve return, ``inputs/kent/data/``) and are
the only set written: the derivation of another authority from SEN2 alone
(``python -m sendsim.inputs.derive``) applies them too, and says so in its ``source`` texts.
Values computed from data are not here: they are computed by :mod:`sendsim.inputs.derivation`
from the SEN2 library (:mod:`sendsim.inputs.sen2`).

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
# Placement appeals: after a phase transfer or an annual review, the family of a child not in an
# independent placement appeals against the placement named with this probability, seeking an
# independent placement (decided as other appeals: TRIBUNAL_MEAN_MONTHS, P_TRIBUNAL_WIN). Fitted
# so that every appeal the tribunal statistics count (refusal to assess, refusal to issue,
# placement) comes to Kent's 758 registered in 2023 (send_tribunal_appeal_rate_2014_2023.csv) in the
# first simulated year (see inputs/kent/data/README.md, "Placement appeals").
P_PLACEMENT_APPEAL = 0.006

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

# Kent's own special places apart from places in other authorities' special schools. SEN2 counts
# Kent children wherever they are placed (6,222 in maintained special and special academies in
# January 2024); Kent's own schools held 5,959 x 103.56% = 6,171 pupils in December 2023 (the
# Safety Valve return), some of them other authorities' children. With Kent's cross-border
# ratio of imports to exports (KentOnline, "The special needs system is a bottomless pit":
# 1,199 Kent pupils placed in other authorities' schools, 845 other authorities' pupils in
# Kent's), exports E and imports I = E x 845 / 1,199 satisfy 6,222 - E = 6,171 - I, so
# E = 51 / (1 - 845 / 1,199) = 173: 2.8% of Kent's special-school children.
OTHER_LA_EXPORT_IMPORT = (1199, 845)
OTHER_LA_SOURCE_URL = "https://www.kentonline.co.uk/kent/news/the-special-needs-system-is-a-bottomless-pit-266237/"
# SRPs are units in local mainstream schools: placements across the border are taken as none.
OTHER_LA_SRP_SHARE = 0.0
# A child refused one of Kent's own special places in-year: probability of a place in another
# authority's special school (Medway, Bexley, Bromley, East Sussex take most of Kent's exports).
# Fitted with the soft limit (PLACE_SOFT_*) to SEN2's annual changes of special and independent
# placements (see the tuning record in inputs/kent/data/README.md, "Soft limit of Kent's places").
OTHER_LA_PLACEMENT = {"special": 0.5, "srp": 0.0}
# Annual cost of a place in another authority's special school relative to Kent's own: the host's
# place funding (10,000, recouped) plus its own top-up rates, which are above Kent's (Kent's cost
# per special pupil, 24,252 in 2024-25, is among the lowest of the neighbouring authorities').
OTHER_LA_COST_RATIO = 1.2
# The soft limit of Kent's own SRP and special places: the chance that an in-year request gets a
# place falls as a logistic in occupancy (a fraction of the capacity, places x occupancy ceiling),
# 1/2 at PLACE_SOFT_MID; the admission round (phase transfers) meets the ceiling only. Fitted
# (see OTHER_LA_PLACEMENT).
PLACE_SOFT_MID = 0.99
PLACE_SOFT_WIDTH = 0.01

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


# Age pools for the ceasing and moving-away rates (single-age counts are thin).
RATE_POOLS = ((0, 4), (5, 10), (11, 15), (16, 17), (18, 19), (20, 25))

# The SEN2 management-information years behind the escalation and reintegration rates: the
# last three of the 2022 release (2021 is the last year the MI items were collected).
MI_YEARS = (2019, 2020, 2021)

# The Safety Valve return (Condition 3): "it is anticipated that this backlog of assessments will
# be cleared by July" 2024; the last month of the backlog-clearing capacity (used with Kent's
# return only).
BACKLOG_CLEARED_BY = "2024-07"

# An authority without management-information rows (the vendored 2022-release MI items are
# Kent's and England's) takes England's escalation and reintegration rates: the national rate
# is the only other measured one.
MI_FALLBACK_AUTHORITY = "England"
