"""Derive an authority's parameter file and opening cohort from the SEN2 library and the stated
assumptions.

Kent (the built-in authority) is derived by ``python -m sendsim.inputs.kent.derive``, which
writes ``inputs/kent/parameters.csv`` and ``inputs/kent/cohort.csv`` with its Safety Valve
return as local figures. Any other authority in the vendored SEN2 files is derived from SEN2
alone::

    python -m sendsim.inputs.derive --authority Medway --out medway

writes ``medway/parameters.csv`` and ``medway/cohort.csv`` (then
``python -m sendsim.calibration.authority_targets --authority Medway --out medway/targets.csv``
gives its calibration targets; docs/calibration.md, "Another authority").

Every parameter row carries its ``source`` (a data file and column, a local figure's id, or
``assumption: ...``) and a ``note`` saying how the value was derived. Without local figures the
rows that Kent takes from its return are SEN2's instead, each saying so: the activity year's
decisions to assess and to issue, the assessments completed a month, reviews keeping pace with
the plans falling due (no overdue count), maintained special and SRP places as filled at the
census (no commissioned places) and no scheduled openings. Unit costs are Kent's for every
authority (the only cost data vendored), and say so.
"""
from __future__ import annotations

import argparse
import io
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.inputs.defaults import KENT_AUTHORITY
from sendsim.inputs.derivation import (
    PL,
    STATUTORY_DECISION_WEEKS,
    STATUTORY_PLAN_WEEKS,
    TRANSFER_EXCLUDED,
    WEEKS_PER_MONTH,
    A,
    Derivation,
    N,
    P,
    odds_of_age,
)
from sendsim.inputs.figures import FigureTable
from sendsim.inputs.finance import KENT_FINANCE, load_finance
from sendsim.inputs.kent import assumptions as kent_assumptions
from sendsim.inputs.sen2 import Authority
from sendsim.inputs.sen2.ages import largest_remainder
from sendsim.inputs.sen2.files import ASSESSMENTS, CASELOAD, CEASED, MI_2022, NEWPLANS, REQUESTS, TIMELINESS
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort
from sendsim.simcore.model import SCHEMA

KENT = KENT_AUTHORITY
KENT_DATA = Path(__file__).resolve().parent / "kent" / "data"
KENT_RETURN = KENT_DATA / "seed_targets.csv"
KENT_FINANCE_FIGURES = KENT_DATA / "kent_finance_public.csv"
# The census of the vendored SEN2 files: the January 2024 caseload.
CENSUS = Calendar(2024, 1, 1)
# The 2024-25 unit costs below are deflated to the engine's base year by the 2024-25 growth.
UNIT_COST_PRICE_YEAR = 2024

PARAMETER_COLUMNS = ("parameter", "date", "age", "need", "placement", "to", "transfer", "reason", "value",
                     "source", "note")


@cache
def derivation_for(name: str, census: Calendar = CENSUS) -> Derivation:
    """The derivation of authority ``name`` (as SEN2 names it): Kent with its Safety Valve return
    as local figures; any other authority from SEN2 alone. Both take Kent's stated assumptions
    and cost figures (the only ones written). One instance per authority (its values are cached)."""
    local = FigureTable(KENT_RETURN) if name == KENT else None
    return Derivation(Authority(name), census, kent_assumptions, FigureTable(KENT_FINANCE_FIGURES), KENT_FINANCE,
                      local=local)


def format_value(value) -> str:
    """A value as the parameter and target files write it: whole numbers without a decimal
    point, others to 8 significant digits."""
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
        row.update({"parameter": parameter, "value": format_value(value), "source": source, "note": note})
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
    text = [tuple(format_value(v) for v in np.atleast_1d(matrix[a]).ravel()) for a in range(A)]
    runs = []
    start = 0
    for a in range(1, A + 1):
        if a == A or text[a] != text[start]:
            runs.append((start, a - 1))
            start = a
    return runs


def _span(years) -> str:
    years = list(years)
    return f"{years[0]}-{years[-1]}"


def derive_parameters(d: Derivation) -> pd.DataFrame:
    """All parameter rows of the authority of ``d``, in file order."""
    a_ = d.assumptions
    name, year, census = d.name, d.activity_year, d.census_year
    local = d.local
    r = _Rows()
    x = d.crosstab()
    needs = codes.NEEDS
    need_assumption = ("assumption: need mix by placement (NEED_MIX_BY_PLACEMENT: approx. England EHCP primary-need "
                       "shares tilted by placement)")
    requests = d.authority.request_count
    assessments = d.authority.assessment_count

    # ---- Requests ---------------------------------------------------------------------------
    req = d.requests_by_age()
    first_20 = a_.AGES_20_PLUS_ENTRY
    for a in range(A):
        if a <= 2:
            src = (f"{REQUESTS}: requests_received_in_year, {name} {year}, 'Aged 2 and under' / 12, "
                   "split over ages 0-2 by assumption AGE_0_2_WEIGHTS")
        elif 20 <= a:
            src = (f"{REQUESTS}: requests_received_in_year, {name} {year}, 'Aged 20 and over' / 12, "
                   f"spread evenly over ages {_span(first_20)} (assumption)")
        else:
            src = f"{REQUESTS}: requests_received_in_year, {name} {year}, by age"
        r.add("request_rate", req[a] / 12.0, src + "; age at the time of request moved to academic age "
              "(academic_from_event_age: half of age a+1, half of age a)",
              f"requests in {year} at this academic age / 12" if a == 0 else "", age=a)
    r.add("request_first_half_share", 0.5,
          "assumption: requests evenly over the year (SEN2 counts requests by calendar year, not by month)",
          ("the seed: 25% of the new requests in Q1 2024 were for Nursery 2 children, against 16% of 2023's requests "
           "at age 3; the calibration fits the share at ages 0-3 and the shipped draws carry it") if local is not None
          else "the calibration fits the share at ages 0-3", age="all")
    years = ", ".join(f"{y}: {int(requests(y))}" for y in d.request_years())
    r.add("request_growth", d.request_growth(),
          f"{REQUESTS}: requests_received_in_year, {name} {_span(d.request_years())}",
          f"exp(slope) - 1 of a least-squares fit of log(requests) on year ({years})")
    fp = d.first_placement()
    for (low, high), mix, _ in fp:
        share = d.need_share_of_placement_mix(mix)
        r.distribution("request_need_share", share, needs,
                       need_assumption + " weighted by the new-plan placement mix at this age",
                       "need mix of the placements new plans take at this age (first_placement)" if low == 0 else "",
                       age=_age_text(low, high))

    # ---- Decisions, appeals, assessments ------------------------------------------------------
    six = requests(year, "request_outcome_six_weeks_pc")
    r.add("decision_hazard", d.decision_hazard(),
          f"{REQUESTS}: request_outcome_six_weeks_pc, {name} {year}",
          f"{six:g}% decided within {STATUTORY_DECISION_WEEKS} weeks: h = 1 - (1 - {six / 100:g})^(1 / "
          f"{STATUTORY_DECISION_WEEKS / WEEKS_PER_MONTH:.4f} months)")
    if local is not None:
        r.add("p_assess", d.p_assess(), f"{local.name}:yes_to_assess_2024_03",
              f"yes to assess {local.value('yes_to_assess_2024_03'):g}% in March 2024 after tighter panels "
              f"({local.value('yes_to_assess_2023_03'):g}% in March 2023)")
    else:
        agreed, decided = d.sen2_p_assess(year)
        r.add("p_assess", d.p_assess(), f"{REQUESTS}: requests_decided_to_assess / (requests_decided_to_assess + "
              f"requests_decided_not_to_assess), {name} {year}",
              f"{int(agreed)} decided to assess / {int(decided)} decided (no local figure)")
    refused = requests(year, "requests_decided_not_to_assess")
    tribunal_refusal = requests(year, "tribunal_related_request")
    r.add("p_appeal_refusal", tribunal_refusal / refused,
          f"{REQUESTS}: tribunal_related_request / requests_decided_not_to_assess, {name} {year}",
          f"{int(tribunal_refusal)} tribunal-related requests / {int(refused)} decisions not to assess")
    not_issued = assessments(year, "assess_not_issued")
    tribunal_assess = assessments(year, "number_assess_tribunal")
    decline_share = a_.DECLINE_SHARE_OF_ASSESSMENT_APPEALS
    r.add("p_appeal_decline", decline_share * tribunal_assess / not_issued,
          f"{ASSESSMENTS}: number_assess_tribunal / assess_not_issued, {name} {year}; assumption: "
          "a quarter of assessment appeals are about a refusal to issue",
          f"number_assess_tribunal ({int(tribunal_assess)}) counts tribunal appeals linked to a {year} assessment, "
          f"which include appeals against the content (placement) of issued plans; {int(tribunal_assess)} x "
          f"DECLINE_SHARE_OF_ASSESSMENT_APPEALS {decline_share:g} / {int(not_issued)} "
          "assessments not issued")
    r.add("tribunal_hazard", 1.0 / a_.TRIBUNAL_MEAN_MONTHS,
          f"assumption: appeals decided about {a_.TRIBUNAL_MEAN_MONTHS:g} months after lodging on average (hearing "
          "waits 6-12 months)", "1 / TRIBUNAL_MEAN_MONTHS")
    r.add("p_tribunal_win", a_.P_TRIBUNAL_WIN,
          "assumption: most decided appeals go at least partly the family's way; some are withdrawn",
          "P_TRIBUNAL_WIN")
    if local is not None:
        r.add("p_placement_appeal", a_.P_PLACEMENT_APPEAL,
              "assumption: fitted so that all appeal types come to Kent's 758 appeals registered in 2023 "
              "(send_tribunal_appeal_rate_2014_2023.csv: appeals_registered) in the first simulated year",
              "P_PLACEMENT_APPEAL: after a phase transfer or an annual review, against the placement named "
              "(independent placements do not appeal)", age="all", placement="all")
        r.add("placement_appeal_hazard", 1.0 / a_.TRIBUNAL_MEAN_MONTHS,
              f"assumption: placement appeals decided about {a_.TRIBUNAL_MEAN_MONTHS:g} months after lodging, as "
              "other appeals", "1 / TRIBUNAL_MEAN_MONTHS")
        r.add("p_placement_appeal_win", a_.P_TRIBUNAL_WIN,
              "assumption: as other appeals, most go at least partly the family's way (national tribunal outcomes); "
              "a win places the child where sought, independent", "P_TRIBUNAL_WIN")
    completed = assessments(year, "assess_in_year")
    if local is not None:
        pn = d.pipeline_numbers()
        r.add("assessment_capacity", round(pn["capacity_feb_apr"]),
              f"{local.name}:open_cases_2024_01, open_cases_2024_04, yes_to_assess_2024_03; "
              f"{REQUESTS}: requests_received_in_year, {name} {year}",
              f"Feb-Apr 2024: open cases {local.value('open_cases_2024_01'):g} (Jan) -> "
              f"{local.value('open_cases_2024_04'):g} (end "
              f"April); requests pending a decision held at the steady state {pn['pending']:.0f} (= "
              f"{pn['monthly_requests']:.1f} requests a month / decision_hazard), so assessments open fall "
              f"{pn['assessing_jan']:.0f} -> {pn['assessing_apr']:.0f}: capacity = fall / {pn['first_span']} + inflow "
              f"{pn['inflow']:.1f} a month (requests x p_assess)")
        r.add("assessment_capacity", round(pn["capacity_may_jul"]),
              f"{local.name}:ehcp_vs_jan25_forecast_2024_05 (backlog of assessments expected cleared by July 2024)",
              f"May-Jul 2024: assessments open fall from {pn['assessing_apr']:.0f} to the no-backlog level "
              f"{pn['steady']:.0f} (inflow x assessment_min_months) over {pn['second_span']} months, plus the inflow",
              date=pn["second_start"])
        r.add("assessment_capacity", round(pn["capacity_from_aug"]),
              f"{ASSESSMENTS}: assess_in_year, {name} {year}",
              f"from Aug 2024: {int(completed)} assessments completed in {year} / 12 "
              "(above the inflow: no backlog)", date=pn["third_start"])
    else:
        r.add("assessment_capacity", round(d.steady_pipeline()["capacity"]),
              f"{ASSESSMENTS}: assess_in_year, {name} {year}",
              f"{int(completed)} assessments completed in {year} / 12 (no local figures on the backlog)")
    min_weeks = STATUTORY_PLAN_WEEKS - STATUTORY_DECISION_WEEKS
    r.add("assessment_min_months", d.assessment_min_months(),
          f"statutory {STATUTORY_PLAN_WEEKS}-week limit from request to final plan (SEND Regulations 2014, reg. 13)",
          f"{STATUTORY_PLAN_WEEKS} weeks less the {STATUTORY_DECISION_WEEKS} weeks allowed for the decision to assess "
          f"(modelled by decision_hazard) = {min_weeks} weeks, whole months")
    r.add("assessment_priority_months", 0,
          "assumption: first come, first served (the calibration fits a priority at ages 0-4 from the stocks)",
          f"SEN2 {year} timeliness by age ({TIMELINESS}) suggests young children go first; "
          "the shipped draws carry the fitted priority", age="all")
    if local is not None:
        r.add("p_decline", d.p_decline(), f"{local.name}:decline_to_issue_2024_03",
              f"decline to issue {local.value('decline_to_issue_2024_03'):g}% in March 2024 "
              f"({local.value('decline_to_issue_2023_03'):g}% in March 2023)")
    else:
        declined, done = d.sen2_p_decline(year)
        r.add("p_decline", d.p_decline(), f"{ASSESSMENTS}: assess_not_issued / (assess_issued + assess_not_issued), "
              f"{name} {year}", f"{int(declined)} not issued / {int(done)} assessments completed (no local figure)")
    for (low, high), mix, note in fp:
        r.distribution("first_placement", mix, codes.PLACEMENTS,
                       f"{NEWPLANS}: new plans by 'Age when plan started' x placement, {name}",
                       note + "; need dependence absent (no need data: same mix for every need)",
                       age=_age_text(low, high), need="all")

    # ---- Reviews -----------------------------------------------------------------------------------
    if local is not None:
        ov = d.overdue_numbers()
        r.add("review_capacity", round(ov["capacity"]),
              f"{local.name}:overdue_reviews_2023_03, overdue_reviews_2024_03; {CASELOAD}: "
              f"ehcplans, {name} January {census}",
              f"reviews falling due a month ({ov['stock']:.0f} plans - {ov['january_2024']:.0f} overdue in January "
              f"{census} (interpolated between {ov['march_2023']:.0f} in March 2023 and {ov['march_2024']:.0f} in "
              f"March 2024)) / 12 = {ov['falling_due']:.1f}, plus the monthly fall of the overdue count "
              f"({ov['march_2023']:.0f} - {ov['march_2024']:.0f}) / 12 = {ov['drain']:.1f}")
    else:
        stock = float(x.sum())
        r.add("review_capacity", round(stock / 12.0),
              f"{CASELOAD}: ehcplans, {name} January {census}; assumption: reviews keep pace with the plans "
              "falling due (SEN2 counts no reviews and there are no local overdue figures)",
              f"{stock:.0f} plans / 12")
    cease_source = (f"{CEASED}: 'Age plan ceased' x reason, {name} {year}; "
                    f"{CASELOAD}: ehcplans by age, {name} January {census}")
    ceased = d.authority.ceased_count
    before = f"{ceased(year - 1):,.0f} ceased in {year - 1}, {ceased(year):,.0f} in {year}"
    why = ", the backlog team ceasing post-19 plans" if local is not None else ""
    for (low, high), p, _mix, note in d.review_cease_and_reasons():
        r.add("review_cease", p, cease_source,
              note + f". {year} is the first person-level year (series break: {before}{why}); ceasing happens "
                     "mainly at annual reviews",
              age=_age_text(low, high))
    r.add("review_cease_ratio", 1,
          "assumption: ceasing by age alone (SEN2 counts ceased plans by age and reason, not by placement)",
          "the calibration fits a higher ratio for young people aged 16-19 without a place (NEET), the group the "
          "'no longer engaging' reason describes; the shipped draws carry it", age="all", placement="all")
    for (low, high), _p, mix, note in d.review_cease_and_reasons():
        r.distribution("cease_reason", mix, codes.CEASE_REASONS, cease_source,
                       note.split("reason mix: ")[1] + ("; needs_met = needs_met; education_or_employment = he + "
                       "employ; disengaged = no_engage; other = deceased + not_rec + other; max_age is the engine's "
                       "age-25 rule and transfer / moved_outside_eng are the move parameter's moved_away"
                       if low == 0 else ""), age=_age_text(low, high))
    p_change, review_move = d.review_change_and_move()
    mi = d.mi_rates()
    mi_name = d.mi_authority().name
    mi_span = _span(a_.MI_YEARS)
    fallback = "" if mi_name == name else f" (no MI rows for {name}: MI_FALLBACK_AUTHORITY)"
    mi_source = (f"{MI_2022}: MtosiEHC, SitomEHC, {mi_name} {mi_span}{fallback}; {CASELOAD}: "
                 f"mainstream_total, special_total, {mi_name} Jan {mi_span}; assumption: half of placement changes "
                 "decided at annual reviews (REVIEW_SHARE_OF_PLACEMENT_CHANGES)")
    mi_note = (f"escalation mainstream -> special/independent {mi['escalation']:.4f} a year ({mi['moves_ms']:.0f} "
               f"transfers / {mi['stock_m']:.0f} mainstream plan-years), split special:independent as the January "
               f"{census} mix at that age; mainstream -> srp {a_.MAINSTREAM_TO_SRP_RATE:g} (assumption); srp -> "
               f"special/independent at {a_.SRP_ESCALATION_FACTOR:g} x the mainstream rate; reintegration special/"
               f"independent/srp -> mainstream {mi['reintegration']:.4f} a year ({mi['moves_sm']:.0f} / "
               f"{mi['stock_s']:.0f} special plan-years)")
    for low, high in _age_runs(p_change):
        r.add("review_change", p_change[low], mi_source,
              (mi_note + "; review_change = the largest review share of these over placements at that age")
              if low == 0 or p_change[low] > 0 else "no placement changes at reviews at these ages",
              age=_age_text(low, high))
    for p, placement in enumerate(codes.PLACEMENTS):
        r.add("review_move", "rest", mi_source, "stay (the review keeps the placement)" if p == 0 else "",
              age="all", placement=placement, to=placement)
    for p, placement in enumerate(codes.PLACEMENTS):
        for q, to in enumerate(codes.PLACEMENTS):
            if q == p or not np.any(review_move[:, p, q] > 0):
                continue
            for low, high in _age_runs(review_move[:, p, q]):
                if review_move[low, p, q] > 0:
                    r.add("review_move", review_move[low, p, q], mi_source,
                          "REVIEW_SHARE x annual change rate / review_change", age=_age_text(low, high),
                          placement=placement, to=to)

    # ---- Between reviews -----------------------------------------------------------------------------
    move = d.move_matrix()
    moved = d.moved_away_rates()
    moved_note = "; ".join(f"ages {lo}-{hi}: {m} moved / ({s} + {m})" for (lo, hi), _, m, s in moved)
    for p, placement in enumerate(codes.PLACEMENTS):
        r.add("move", "rest", f"derived: 1 - the other destinations ({MI_2022}, "
              f"{CASELOAD}, {CEASED}, assumptions; see their rows)",
              "stay: 1 - the monthly probabilities of the other destinations" if p == 0 else "",
              age="all", placement=placement, to=placement)
    change, other = d.transition_rates()
    for p, placement in enumerate(codes.PLACEMENTS):
        for q, to in enumerate(codes.MOVE_DESTINATIONS):
            if q == p or not np.any(move[:, p, q] > 0):
                continue
            for low, high in _age_runs(move[:, p, q]):
                value = move[low, p, q]
                if value <= 0:
                    continue
                if q == codes.MOVED_AWAY:
                    src = (f"{CEASED}: transfer + moved_outside_eng by age, {name} {year}; "
                           f"{CASELOAD}: ehcplans by age, Jan {census}")
                    note = "annual rate per age pool, monthly with the other moves as competing risks; " + moved_note
                elif change[low, p, q] > 0:
                    src = mi_source.replace("half of placement changes decided at annual reviews",
                                            "the other half between reviews")
                    note = "(1 - REVIEW_SHARE) x annual rate (see review_change), monthly"
                elif low >= 16:
                    src = (f"assumption: post-16 churn POST16_CHURN_RATE a year to the Jan {census} post-16 mix at "
                           f"that age ({CASELOAD})")
                    note = f"destination share of the January {census} mix at that age among post-16 settings, monthly"
                else:
                    src = ("assumption: school-age churn SCHOOL_CHURN_RATE a year among mainstream, alternative, no "
                           f"place, to the Jan {census} mix at that age ({CASELOAD})")
                    note = f"destination share of the January {census} mix at that age, monthly"
                r.add("move", value, src, note, age=_age_text(low, high), placement=placement, to=to)
    r.add("step_down", a_.STEP_DOWN,
          f"assumption: {a_.STEP_DOWN * 12:.0%} a year of independent placements would take a free maintained special "
          "place", "only used when a special place is free")

    # ---- Capacity ----------------------------------------------------------------------------------------
    if local is not None:
        special_places = local.value("special_places_commissioned")
        r.add("places", special_places, f"{local.name}:special_places_commissioned",
              "commissioned special school places, pre and post 16", placement="special")
        r.add("places", local.value("srp_places_commissioned"), f"{local.name}:srp_places_commissioned",
              "commissioned specialist resource provision places", placement="srp")
        n_schools = local.value("new_special_schools")
        for date, fraction in a_.NEW_SPECIAL_SCHOOL_PHASING:
            r.add("places", round(special_places + n_schools * a_.NEW_SPECIAL_SCHOOL_PLACES * fraction),
                  f"{local.name}:new_special_schools; assumption: {a_.NEW_SPECIAL_SCHOOL_PLACES} places per school, "
                  f"opening in thirds from September 2025",
                  f"{special_places:g} + {n_schools:g} schools x {a_.NEW_SPECIAL_SCHOOL_PLACES} places x "
                  f"{fraction:.3f}", date=date, placement="special")
        r.add("max_occupancy", local.value("special_occupancy_2023_12") / 100.0,
              f"{local.name}:special_occupancy_2023_12",
              f"special schools at {local.value('special_occupancy_2023_12'):g}% of commissioned places in December "
              "2023", placement="special")
        r.add("max_occupancy", local.value("srp_occupancy_2023_12") / 100.0, f"{local.name}:srp_occupancy_2023_12",
              f"SRPs at {local.value('srp_occupancy_2023_12'):g}% in December 2023", placement="srp")
    else:
        for placement in ("special", "srp"):
            filled = float(x[:, PL[placement]].sum())
            r.add("places", filled, f"{CASELOAD}: {placement} placements (mapped), {name} January {census}; "
                  "assumption: the places filled at the census are the places (no local figure of commissioned "
                  "places, no scheduled openings)", f"{filled:.0f} {name} children placed there in January {census}",
                  placement=placement)
        for placement in ("special", "srp"):
            r.add("max_occupancy", 1, "assumption: no place beyond those filled at the census (no local figure)",
                  "the places are the filled ones", placement=placement)
    for placement, value in a_.OVERFLOW_INDEPENDENT.items():
        r.add("overflow_independent", value,
              "assumption: when a maintained place is not there, a child often goes independent (seed Risk 3)",
              "OVERFLOW_INDEPENDENT; special: about half, as the seed's estimates for unplaced phase-transfer "
              "children (independent 41 of 95 at Year 6-7, 97 of 170 at post-16); srp: most wait in mainstream",
              placement=placement)

    if local is not None:
        exports, imports = a_.OTHER_LA_EXPORT_IMPORT
        occupied = special_places * local.value("special_occupancy_2023_12") / 100.0
        in_special = float(x[:, PL["special"]].sum())
        exported = (in_special - occupied) / (1.0 - imports / exports)
        r.add("other_la_share", round(exported / in_special, 4),
              f"{CASELOAD}: special placements, {name} January {census}; {local.name}:special_places_commissioned, "
              f"special_occupancy_2023_12; {a_.OTHER_LA_SOURCE_URL} (Kent pupils in other authorities' schools "
              f"{exports}, other authorities' pupils in Kent's {imports})",
              f"exports E with imports E x {imports}/{exports}: {in_special:.0f} - E = {occupied:.0f} - I, E = "
              f"{exported:.0f} of {in_special:.0f}", placement="special")
        r.add("other_la_share", a_.OTHER_LA_SRP_SHARE,
              "assumption: SRPs are units in local mainstream schools, no placements across the border",
              "OTHER_LA_SRP_SHARE", placement="srp")
        for placement, value in a_.OTHER_LA_PLACEMENT.items():
            r.add("other_la_placement", value,
                  "assumption: fitted with the soft limit to SEN2's 2019-2024 annual changes of special and "
                  "independent placements (inputs/kent/data/README.md, soft limit of Kent's places)" if value > 0
                  else "assumption: SRPs are units in local mainstream schools, no placements across the border",
                  "OTHER_LA_PLACEMENT", placement=placement)
        r.add("other_la_cost_ratio", a_.OTHER_LA_COST_RATIO,
              "assumption: the host authority's place funding (recouped) plus its own top-up rates, above Kent's "
              "(kent_finance_public.csv:unit_cost_special_maintained_2024_25 is among the lowest)",
              "OTHER_LA_COST_RATIO", placement="special")
        for placement in ("special", "srp"):
            r.add("place_soft_mid", a_.PLACE_SOFT_MID,
                  "assumption: fitted to SEN2's 2019-2024 annual changes of special and independent placements "
                  "(inputs/kent/data/README.md, soft limit of Kent's places)",
                  "PLACE_SOFT_MID: occupancy (fraction of places x max_occupancy) at which an in-year request gets "
                  "an own place with probability 1/2", placement=placement)
            r.add("place_soft_width", a_.PLACE_SOFT_WIDTH,
                  "assumption: fitted to SEN2's 2019-2024 annual changes of special and independent placements "
                  "(inputs/kent/data/README.md, soft limit of Kent's places)",
                  "PLACE_SOFT_WIDTH: logistic scale in occupancy", placement=placement)

    # ---- Phase transfer ----------------------------------------------------------------------------------
    pt = d.phase_transfers()
    for t, age in zip(codes.TRANSFERS, codes.TRANSFER_AGES):
        matrix = pt[t]
        for p, placement in enumerate(codes.PLACEMENTS):
            r.distribution("phase_transfer", matrix[p], codes.PLACEMENTS,
                           f"{CASELOAD}: placement mix at ages {age - 1} and {age}, {name} Jan {census}; "
                           "assumption: tier affinity PHASE_CROSS_TIER_AFFINITY",
                           (f"maximal-stay coupling of the age-{age - 1} mix to the age-{age} mix: the share "
                            f"staying is "
                            f"min(before, after); leavers go to growing placements by iterative proportional fitting "
                            f"from the tier affinity prior; excluded destinations: "
                            f"{', '.join(TRANSFER_EXCLUDED[t])}; same for every need (no need data)")
                           if p == 0 else "",
                           transfer=t, need="all", placement=placement)

    # ---- Arrivals ----------------------------------------------------------------------------------------
    transfers = d.transfers_out_by_age()
    for a in range(A):
        r.add("arrival_rate", a_.ARRIVAL_TO_TRANSFER_RATIO * transfers[a] / 12.0,
              f"{CEASED}: transfer by age, {name} {year}; assumption: arrivals equal "
              "transfers out (ARRIVAL_TO_TRANSFER_RATIO)",
              f"plans transferred to other authorities in {year} at this academic age / 12 ('20 and over' spread over "
              f"{_span(first_20)}; age when the plan ceased moved to academic age by academic_from_event_age)"
              if a == 0 else "", age=a)
    xf = x.astype(float)
    for a in range(A):
        mix, (low, high) = d.pooled_age_mix(xf, a)
        r.distribution("arrival_placement", mix, codes.PLACEMENTS,
                       f"{CASELOAD}: placement mix by age, {name} Jan {census}",
                       f"opening placement mix at ages {low}-{high}", age=a)
    for a in range(A):
        mix, _ = d.pooled_age_mix(xf, a)
        r.distribution("arrival_need_share", d.need_share_of_placement_mix(mix), needs,
                       need_assumption + f" weighted by the Jan {census} placement mix at that age",
                       "need mix of the opening cohort at that age" if a == 0 else "", age=a)

    # ---- Cost ------------------------------------------------------------------------------------------
    # Cost growth has one definition: the finance inputs' cost types (inputs/kent/finance.csv).
    # The 2024-25 values below are deflated to 2023-24 prices (the engine's base year) by each
    # placement's 2024-25 price growth from there; the engine's price_growth rows are derived
    # from the same cost types at run time (so parameters.csv has no price_growth rows).
    growth = dict(zip(codes.PLACEMENTS, load_finance([d.finance_inputs]).placement_growth(UNIT_COST_PRICE_YEAR)))
    figures = d.finance_figures
    fin = figures.name
    place_special = figures.value("national_place_funding_special")
    place_srp = figures.value("national_place_funding_srp")
    fe_element2 = figures.value("national_fe_element2")
    costs = {
        "special": (figures.value("unit_cost_special_maintained_2024_25"),
                    f"{fin}:unit_cost_special_maintained_2024_25", "Kent cost per pupil"),
        "independent": (figures.value("unit_cost_independent_2024_25"),
                        f"{fin}:unit_cost_independent_2024_25", "Kent cost per pupil"),
        "srp": (place_srp + a_.SRP_TOPUP_2024_25,
                f"{fin}:national_place_funding_srp; assumption: SRP top-up {a_.SRP_TOPUP_2024_25:,}",
                f"place funding {place_srp:g} + SRP_TOPUP_2024_25 {a_.SRP_TOPUP_2024_25}"),
        "mainstream": (a_.MAINSTREAM_TOPUP_2024_25,
                       f"assumption: average mainstream top-up {a_.MAINSTREAM_TOPUP_2024_25:,} above the "
                       f"{figures.value('national_mainstream_threshold'):,.0f} threshold "
                       f"({fin}:national_mainstream_threshold)",
                       f"the school meets the first {figures.value('national_mainstream_threshold'):,.0f} from its "
                       "notional SEN budget; the high-needs block pays the top-up"),
        "fe": (fe_element2 + a_.FE_TOPUP_2024_25,
               f"{fin}:national_fe_element2; assumption: FE top-up {a_.FE_TOPUP_2024_25:,}",
               f"element 2 {fe_element2:g} + FE_TOPUP_2024_25 {a_.FE_TOPUP_2024_25}"),
        "post16_specialist": (place_special + a_.POST16_SPECIALIST_TOPUP_2024_25,
                              f"{fin}:national_place_funding_special; assumption: specialist post-16 top-up "
                              f"{a_.POST16_SPECIALIST_TOPUP_2024_25:,} (post-19 out-of-county average "
                              f"{figures.value('unit_cost_post19_out_of_county'):,.0f}: {fin}:"
                              "unit_cost_post19_out_of_county, in the cost_spread tail)",
                              f"place funding {place_special:g} + POST16_SPECIALIST_TOPUP_2024_25 "
                              f"{a_.POST16_SPECIALIST_TOPUP_2024_25}"),
        "early_years": (a_.EARLY_YEARS_2024_25,
                        f"assumption: early-years SEN inclusion funding / top-up {a_.EARLY_YEARS_2024_25:,}",
                        "EARLY_YEARS_2024_25"),
        "alternative": (a_.ALTERNATIVE_2024_25,
                        f"assumption: AP place 10,000 + top-up, or an EOTAS package: {a_.ALTERNATIVE_2024_25:,}",
                        "ALTERNATIVE_2024_25"),
        "no_place": (a_.NO_PLACE_2024_25, f"assumption: interim tuition while no place is named: "
                     f"{a_.NO_PLACE_2024_25:,}", "NO_PLACE_2024_25"),
    }
    for placement in codes.PLACEMENTS:
        value_2024, src, how = costs[placement]
        g = growth[placement]
        r.add("unit_cost", round(value_2024 / (1.0 + g)), src,
              f"{how}; 2024-25 value {value_2024:,.0f} deflated to 2023-24 prices by this placement's 2024-25 price "
              f"growth {g:.4f} (finance.csv cost types)", placement=placement, need="all")
    for placement in codes.PLACEMENTS:
        r.add("cost_spread", a_.COST_SPREAD[placement],
              "assumption: log-scale spread of individual packages; long upper tail for independent and specialist "
              "post-16", "COST_SPREAD", placement=placement)
    return r.frame()



def parameters_csv_text(frame: pd.DataFrame) -> str:
    """A parameter frame as the file's text."""
    return frame.to_csv(index=False, lineterminator="\n")


# =============================================================================================
# Cohort
# =============================================================================================
def birth_months(rng: np.random.Generator, ages: np.ndarray, census: Calendar) -> np.ndarray:
    """Absolute birth month index consistent with academic age on the 31 August before the
    census month, uniform over the 12 months of the academic year (September to August)."""
    year, month = census.year_month(0)
    august = (year if month >= 9 else year - 1) * 12 + 7
    return (august - 12 * ages - rng.integers(0, 12, size=ages.shape[0])).astype(np.int64)


def derive_cohort(d: Derivation) -> Cohort:
    """The authority's opening cohort at the census (see :func:`build_cohort`)."""
    n_open, n_pending = d.opening_pipeline()
    return build_cohort(d, d.crosstab(), d.census, d.overdue_probability_by_age(), n_open, n_pending,
                        d.requests_by_age(), d.decision_hazard(), d.pipeline_need_share())


def build_cohort(d: Derivation, x: np.ndarray, census: Calendar, p_overdue: np.ndarray, n_open: int,
                 n_pending: int, request_ages: np.ndarray, decision_hazard_monthly: float,
                 pipe_need_share: np.ndarray, cohort_seed: int | None = None) -> Cohort:
    """An opening cohort reproducing a census cross-tab exactly, plus an opening pipeline.

    Parameters
    ----------
    d
        The derivation whose need mix and assumptions (overdue months, assessment stages, the
        cohort seed) the records take.
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
        Seed of the synthetic attributes (need, birth month, review timing, pipeline); default
        the assumptions' COHORT_SEED.
    """
    a_ = d.assumptions
    rng = np.random.default_rng(a_.COHORT_SEED if cohort_seed is None else cohort_seed)
    # ---- Plans: one record per child, exactly the census cross-tab.
    ages = np.repeat(np.repeat(np.arange(A), P), x.reshape(-1))
    placements = np.repeat(np.tile(np.arange(P), A), x.reshape(-1))
    order = rng.permutation(ages.shape[0])  # no age or placement order in the record list
    ages, placements = ages[order], placements[order]
    n_plans = ages.shape[0]
    cdf = np.cumsum(d.need_mix(), axis=1)
    u = rng.random(n_plans)
    need = np.minimum((u[:, None] >= cdf[placements]).sum(axis=1), N - 1)
    birth = birth_months(rng, ages, census)
    # Reviews: exactly round(expected) overdue plans at each age, chosen at random.
    months = rng.integers(0, 12, size=n_plans)
    for a in range(A):
        members = np.flatnonzero(ages == a)
        k = int(round(p_overdue[a] * members.shape[0]))
        chosen = rng.choice(members, size=k, replace=False) if k else np.zeros(0, dtype=np.int64)
        mean = odds_of_age(a_.OVERDUE_EXTRA_MONTHS_MEAN, a)
        extra = np.minimum(rng.geometric(1.0 / (mean + 1.0), size=k) - 1, a_.OVERDUE_EXTRA_MONTHS_MAX)
        months[chosen] = 12 + extra
    # ---- Opening pipeline: requests pending a decision and assessments in progress.
    pipe_ages = np.repeat(np.arange(A), largest_remainder(n_open, request_ages))
    pipe_ages = pipe_ages[rng.permutation(n_open)]
    pipe_status = np.full(n_open, codes.ASSESSMENT, dtype=np.int64)
    pipe_status[:n_pending] = codes.REQUEST_PENDING
    stage = np.where(pipe_status == codes.REQUEST_PENDING,
                     rng.geometric(decision_hazard_monthly, size=n_open) - 1,
                     rng.integers(0, a_.ASSESSMENT_OPEN_STAGE_MAX + 1, size=n_open))
    pcdf = np.cumsum(pipe_need_share, axis=1)
    u = rng.random(n_open)
    pipe_need = np.minimum((u[:, None] >= pcdf[pipe_ages]).sum(axis=1), N - 1)
    pipe_birth = birth_months(rng, pipe_ages, census)
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


def cohort_csv_text(cohort: Cohort) -> str:
    """A cohort as the file's text."""
    from sendsim.inputs.cohort import write_cohort_csv
    buffer = io.StringIO()
    write_cohort_csv(cohort, buffer)
    return buffer.getvalue()


def write(d: Derivation, folder: Path) -> tuple[Path, Path]:
    """Write ``parameters.csv`` and ``cohort.csv`` of the authority of ``d`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    parameters, cohort = folder / "parameters.csv", folder / "cohort.csv"
    parameters.write_text(parameters_csv_text(derive_parameters(d)), encoding="utf-8")
    cohort.write_text(cohort_csv_text(derive_cohort(d)), encoding="utf-8")
    return parameters, cohort


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sendsim.inputs.derive",
                                     description="Derive an authority's parameters.csv and cohort.csv from the "
                                                 "vendored SEN2 data (any English local authority by its SEN2 name).")
    parser.add_argument("--authority", required=True, help="local authority as SEN2 names it, e.g. Medway")
    parser.add_argument("--out", type=Path, required=True, help="folder to write parameters.csv and cohort.csv to")
    args = parser.parse_args(argv)
    try:
        d = derivation_for(args.authority)
    except ValueError as error:  # an authority SEN2 does not name: say so, with the closest names
        parser.error(str(error))
    parameters, cohort = write(d, args.out)
    print(f"wrote {parameters} and {cohort}")


if __name__ == "__main__":
    main()
