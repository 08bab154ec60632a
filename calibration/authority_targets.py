"""Derive an authority's calibration targets from the SEN2 library (and, for Kent, its Safety
Valve return).

``python -m sendsim.calibration.authority_targets`` writes Kent's, ``inputs/kent/targets.csv``;
``python -m sendsim.calibration.authority_targets --authority Medway --out medway/targets.csv``
another authority's. Every value comes from a vendored file: for any authority, SEN2 caseload by
placement (January 2019-2024) and by age band (January 2024 from the 2025 release's single ages;
January 2019-2022 from the 2022 release where it has the authority: Kent), SEN2 new and ceased
plans (``inputs/data/``); for an authority with local figures, their extra targets (Kent: the
Safety Valve return's figures, ``inputs/kent/data/seed_targets.csv``). The tolerances are the
named constants below, each with its rationale. The file is regenerated whenever the data
changes (a new SEN2 release adds its January automatically); a modeller can also append rows by
hand to a copy and pass it with ``sendsim calibrate --targets``.

History of the placement series: until January 2022 SEN2 counted children awaiting provision
(``await_prov_2022``) and permanently excluded (``perm_ex_2022``) apart from the placement
columns; they are mapped to ``no_place`` and ``alternative`` here, so that every January's
placements add up to its total. The collection became person-level in 2023 and the general FE
count fell by a third between January 2023 and 2024 while "educated elsewhere" and "placement
unknown" rose (inputs/kent/data/README.md): the post-16 and other settings (FE, specialist
post-16, alternative, no place) are fitted as one group, and shown one by one for reference.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.calibration.targets import COLUMNS
from sendsim.inputs.defaults import KENT_DIR
from sendsim.inputs.derivation import Derivation
from sendsim.inputs.derive import KENT, derivation_for, format_value
from sendsim.inputs.sen2.files import AGE_CASELOAD_2022, CASELOAD, CEASED, NEWPLANS, TRIBUNAL
from sendsim.simcore import codes

# Kent's targets, the built-in default of sendsim calibrate.
TARGETS_PATH = KENT_DIR / "targets.csv"

# =============================================================================================
# Tolerances: the largest gap between model and figure that is not implausible (three standard
# deviations of observation error plus model discrepancy). Assumptions, with their reasons.
# =============================================================================================
# Census totals are exact counts, but a five-year hindcast carries every flow of the model
# (whose inputs - ages within bands, need mix, phase transfers - are approximations): 3%.
TOLERANCE_TOTAL = 0.03
# Age bands and placements: the same plus the approximations of how children spread over
# them (the opening cohort's age-within-band shape is January 2024's): 6% and 8%, with a
# floor for small cells (a few dozen plans are within counting noise of one run).
TOLERANCE_BAND = 0.06
TOLERANCE_PLACEMENT = 0.08
TOLERANCE_FLOOR_PLANS = 60.0
# Shares in percentage points: the seed's figures come from Kent's case system (not SEN2),
# by school year where the model has age bands.
TOLERANCE_SHARE_POINTS = 3.0
# Shares approximated from age bands (the figure's ages cut a band): one point more.
TOLERANCE_PROXY_SHARE_POINTS = 4.0
# Counts approximated from age bands (early years and KS1 are ages 0-6).
TOLERANCE_PROXY_COUNT = 0.15
# Open requests and assessments: "around 2,200", and the seed's two series conflict (1,407 open
# cases in January 2023 against 1,884 requests in process in March 2023): 25%.
TOLERANCE_PIPELINE = 0.25
# Overdue annual reviews: counted by the authority's case system (Risk 2: poor data quality).
TOLERANCE_OVERDUE = 0.10
# New plans a year (SEN2 counts); the hindcast's pipeline approximates the year's decisions.
TOLERANCE_NEW_PLANS = 0.10
# The authority's own projection of new plans (a forecast, not a count).
TOLERANCE_PROJECTION = 0.15
# Plans ceased in 2023: the first person-level year, with the backlog team's bulk ceasing.
TOLERANCE_CEASED = 0.15
# SEND Tribunal appeals registered a year: a yearly count of flows, so the yearly-flow rule of new
# plans (10%).
TOLERANCE_APPEALS = TOLERANCE_NEW_PLANS
# Every appeal type the tribunal statistics count: against a refusal to assess, a refusal to issue
# and the placement named in a plan (codes.APPEAL_EVENTS).
APPEAL_ITEM = "+".join(codes.EVENTS[e] for e in codes.APPEAL_EVENTS)

# Placements fitted one by one, and the group fitted as one across the 2023 series break.
CLEAN_PLACEMENTS = ("early_years", "mainstream", "srp", "special", "independent")
POST16_AND_OTHER = ("fe", "post16_specialist", "alternative", "no_place")
SPECIALIST = ("special", "independent")
SPECIALIST_POST16 = ("special", "independent", "post16_specialist")
MAINSTREAM_SETTINGS = ("mainstream", "srp")          # SEN2 mainstream_total: schools incl. units and SRPs
MAINSTREAM_OR_FE = ("mainstream", "srp", "fe")
EY_KS1_AGES = range(0, 7)       # early years (0-4, Reception at 4) and KS1 (Years 1-2: ages 5-6)
RECEPTION_AGE = 4
Y13_LAST_AGE = 17


def _round(value: float, digits: int = 1) -> float:
    return float(np.round(value, digits))


def placement_history(d: Derivation) -> dict[int, np.ndarray]:
    """Plans by engine placement at each January (SEN2 2025 release), keyed by year (awaiting
    provision and permanently excluded, counted apart until 2022, in no place and alternative)."""
    return d.authority.placements_by_january()


def band_history(d: Derivation) -> dict[int, np.ndarray]:
    """Plans by age band at each January: the 2022 release's (2019-2022, where it has the
    authority) and the census's single ages of the 2025 release."""
    first = min(placement_history(d))
    # Before the placement series a January is not a calibration January.
    out = {year: bands for year, bands in d.authority.age_bands_2022_release().items() if year >= first}
    x = d.crosstab().sum(axis=1)
    out[d.census_year] = np.array([x[codes.AGE_BAND_OF_AGE == b].sum() for b in range(codes.N_AGE_BANDS)],
                                  dtype=float)
    return out


def new_plans_by_year(d: Derivation) -> dict[int, float]:
    return d.authority.new_plans_by_year()


def _age_weight(d: Derivation, ages, band: int, placements: tuple[str, ...] | None = None) -> float:
    """Share of band ``band``'s plans (in ``placements``) that are at ``ages`` at the census."""
    x = d.crosstab().astype(float)
    columns = np.array([codes.PLACEMENTS.index(p) for p in placements] if placements else range(codes.N_PLACEMENTS),
                       dtype=np.int64)
    in_band = np.flatnonzero(codes.AGE_BAND_OF_AGE == band)
    chosen = np.array([a for a in in_band if a in ages], dtype=np.int64)
    return float(x[np.ix_(chosen, columns)].sum() / x[np.ix_(in_band, columns)].sum())


def _weighted_bands(d: Derivation, ages, placements: tuple[str, ...] | None = None) -> str:
    """The age_band text covering single ``ages``: whole bands, and cut bands with the share
    of their plans at those ages at the census."""
    parts = []
    for b, name in enumerate(codes.AGE_BANDS):
        in_band = set(np.flatnonzero(codes.AGE_BAND_OF_AGE == b))
        covered = in_band & set(ages)
        if not covered:
            continue
        if covered == in_band:
            parts.append(name)
        else:
            parts.append(f"{name}*{_age_weight(d, covered, b, placements):.4f}")
    return "+".join(parts)


class _Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def add(self, id: str, measure: str, date: str, value: float, tolerance: float, role: str, source: str,
            note: str = "", **cells: str) -> None:
        row = {c: "" for c in COLUMNS}
        row.update({"id": id, "measure": measure, "date": date, "value": format_value(value),
                    "tolerance": format_value(_round(tolerance, 1)), "role": role, "source": source, "note": note})
        for key, text in cells.items():
            row[key] = str(text)
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(COLUMNS))


def _relative(value: float, share: float, floor: float = 0.0) -> float:
    return max(value * share, floor)


def derive_targets(d: Derivation) -> pd.DataFrame:
    """Every target row of the authority of ``d``, in file order: SEN2's, then those of its
    local figures (if any)."""
    r = _Rows()
    sen2_targets(d, r)
    if d.local is not None:
        local_targets(d, r)
    return r.frame()


def sen2_targets(d: Derivation, r: _Rows) -> None:
    """The SEN2 targets of any authority: January stocks by placement and age band, new plans
    and ceased plans."""
    authority = d.name
    placements = placement_history(d)
    bands = band_history(d)
    origin = min(placements)
    census = d.census_year
    caseload_source = f"{CASELOAD}: ehcplans and placement columns (inputs/kent/data/README.md mapping), {authority}"
    # The latest census is the forecast's starting point: its fitted figures weigh, in the
    # distance, as much as those of the hindcast's earlier Januaries together.
    census_weight = {"weight": str(sum(1 for y in placements if origin < y < census))}
    # ---- SEN2 January stocks (the origin's January is the opening cohort: not a target) ----------------
    for year in sorted(placements):
        if year == origin:
            continue
        date = f"{year}-01"
        weight = census_weight if year == census else {}
        vector = placements[year]
        total = float(vector.sum())
        r.add(f"sen2_{year}_01_total", "plans", date, total, _relative(total, TOLERANCE_TOTAL), "fit",
              caseload_source + f", January {year}", **weight)
        if year in bands:
            source = (f"{AGE_CASELOAD_2022}: Total_ehc by age band, {authority}" if year < census else
                      f"{CASELOAD}: ehcplans by single age (Child or young persons age), {authority}")
            for b, name in enumerate(codes.AGE_BANDS):
                value = float(bands[year][b])
                r.add(f"sen2_{year}_01_band_{name}", "plans", date, value,
                      _relative(value, TOLERANCE_BAND, TOLERANCE_FLOOR_PLANS), "fit", source + f", January {year}",
                      age_band=name, placement="all", **weight)
        for name in CLEAN_PLACEMENTS:
            value = float(vector[codes.PLACEMENTS.index(name)])
            r.add(f"sen2_{year}_01_{name}", "plans", date, value,
                  _relative(value, TOLERANCE_PLACEMENT, TOLERANCE_FLOOR_PLANS), "fit", caseload_source +
                  f", January {year}", age_band="all", placement=name, **weight)
        group = float(sum(vector[codes.PLACEMENTS.index(p)] for p in POST16_AND_OTHER))
        r.add(f"sen2_{year}_01_post16_and_other", "plans", date, group,
              _relative(group, TOLERANCE_PLACEMENT, TOLERANCE_FLOOR_PLANS), "fit", caseload_source +
              f", January {year}", "FE, specialist post-16, alternative and no place together: the 2023 "
              "person-level return moved children between them", age_band="all", placement="+".join(POST16_AND_OTHER),
              **weight)
        for name in POST16_AND_OTHER:
            value = float(vector[codes.PLACEMENTS.index(name)])
            r.add(f"sen2_{year}_01_{name}", "plans", date, value,
                  _relative(value, TOLERANCE_PLACEMENT, TOLERANCE_FLOOR_PLANS), "report", caseload_source +
                  f", January {year}", "shown one by one: fitted as the post-16 and other group (series break)",
                  age_band="all", placement=name)
        share = 100.0 * float(sum(vector[codes.PLACEMENTS.index(p)] for p in MAINSTREAM_SETTINGS)) / total
        r.add(f"sen2_{year}_01_mainstream_share", "share", date, _round(share), TOLERANCE_SHARE_POINTS, "fit",
              f"{CASELOAD}: mainstream_total / ehcplans (mainstream_total_pc), {authority}, January {year}",
              "the SEN2 definition of the share in mainstream: the one the calibration reproduces"
              + (" (the seed's 34%)" if d.local is not None else ""),
              age_band="all", placement="+".join(MAINSTREAM_SETTINGS), denominator="all", **weight)
    # ---- SEN2 flows --------------------------------------------------------------------------------
    for year, value in sorted(new_plans_by_year(d).items()):
        if year <= origin or year >= census:
            continue  # the origin's year is not whole in the hindcast (flows start in February)
        r.add(f"sen2_{year}_new_plans", "events", f"{year}-12", value, _relative(value, TOLERANCE_NEW_PLANS), "fit",
              f"{NEWPLANS}: new_ehc_plans, {authority}, calendar year {year}", "", months="12", item="new_plan")
    year = d.activity_year
    total_ceased = d.authority.ceased_count(year)
    moved = d.authority.ceased_count(year, "transfer") + d.authority.ceased_count(year, "moved_outside_eng")
    at_max_age = d.authority.ceased_count(year, "max_age")
    r.add(f"sen2_{year}_ceased", "events", f"{year}-12", total_ceased, _relative(total_ceased, TOLERANCE_CEASED),
          "fit", f"{CEASED}: total_ceased, {authority}, {year}",
          "the backlog team's year: many post-19 plans ceased" if d.local is not None else
          "the first year of the person-level return", months="12", item="ceased")
    r.add(f"sen2_{year}_ceased_moved_away", "events", f"{year}-12", moved,
          _relative(moved, TOLERANCE_CEASED, TOLERANCE_FLOOR_PLANS), "fit",
          f"{CEASED}: transfer + moved_outside_eng, {authority}, {year}", "", months="12",
          item="moved_away+review_ceased_moved_away")
    r.add(f"sen2_{year}_ceased_max_age", "events", f"{year}-12", at_max_age,
          _relative(at_max_age, TOLERANCE_CEASED, TOLERANCE_FLOOR_PLANS), "report",
          f"{CEASED}: max_age, {authority}, {year}", "the engine ends plans at 25 in September; SEN2 records some "
          "later or at other ages", months="12", item="max_age+review_ceased_max_age")
    value = d.authority.ceased_count(year - 1)
    r.add(f"sen2_{year - 1}_ceased", "events", f"{year - 1}-12", value, _relative(value, TOLERANCE_CEASED), "report",
          f"{CEASED}: total_ceased, {authority}, {year - 1}", "aggregate return before the person-level series: "
          f"not comparable with {year} (series break)", months="12", item="ceased")
    appeal_targets(d, r, origin)


def appeal_targets(d: Derivation, r: _Rows, origin: int) -> None:
    """SEND Tribunal appeals registered in each calendar year of the hindcast (origin .. the year
    before the census), from the authority's row of the tribunal series; none for an authority
    the series does not have.

    Reported, not fitted: the shipped draws were fitted without them. The origin's year is not
    whole in the hindcast (flows start in February), so its count is compared with February of
    that year to January of the next.
    """
    series = d.authority.tribunal_appeals()
    for year, value in zip(series["year"], series["appeals_registered"]):
        if not origin <= year < d.census_year:
            continue
        whole = year > origin
        r.add(f"tribunal_{year}_appeals", "events", f"{year}-12" if whole else f"{year + 1}-01", float(value),
              _relative(float(value), TOLERANCE_APPEALS), "report",
              f"{TRIBUNAL}: appeals_registered, {d.name}, {year}",
              "appeals against refusals to assess, refusals to issue and placements; the tribunal counts appeals "
              "about the other sections of a plan too" + ("" if whole else
                                                           f"; compared with February {year} - January {year + 1}"),
              months="12", item=APPEAL_ITEM)


def local_targets(d: Derivation, r: _Rows) -> None:
    """The targets of the local figures: Kent's Safety Valve return (``seed_targets.csv``)."""
    census = d.census_year
    local = d.local_figures()
    seed = local.value

    def period(identifier: str) -> str:
        return local.period(identifier)[:7]

    pending_open = "requests_pending+assessments_open"
    for identifier in ("open_cases_2023_01", "requests_in_process_2023_03", "open_cases_2024_01",
                       "requests_in_process_2024_03", "open_cases_2024_04"):
        value = seed(identifier)
        r.add(identifier, "pipeline", period(identifier), value, _relative(value, TOLERANCE_PIPELINE), "fit",
              f"seed_targets.csv:{identifier}", "open requests (awaiting the decision) and assessments: the seed's "
              "'open cases' and 'requests being processed' are taken as one series", item=pending_open)
    for identifier in ("overdue_reviews_2023_03", "overdue_reviews_2024_03"):
        value = seed(identifier)
        r.add(identifier, "pipeline", period(identifier), value, _relative(value, TOLERANCE_OVERDUE), "fit",
              f"seed_targets.csv:{identifier}", "", item="reviews_overdue")
    ey_ks1 = _weighted_bands(d, EY_KS1_AGES)
    ey_ks1_specialist = _weighted_bands(d, EY_KS1_AGES, SPECIALIST)
    for identifier, bands_text, places, what in (
            ("ehcp_ey_ks1_2023_03", ey_ks1, "all", "all plans"),
            ("ehcp_ey_ks1_2024_03", ey_ks1, "all", "all plans"),
            ("special_indep_ey_ks1_2023_03", ey_ks1_specialist, "+".join(SPECIALIST), "special and independent"),
            ("special_indep_ey_ks1_2024_03", ey_ks1_specialist, "+".join(SPECIALIST), "special and independent")):
        value = seed(identifier)
        r.add(identifier, "plans", period(identifier), value, _relative(value, TOLERANCE_PROXY_COUNT), "fit",
              f"seed_targets.csv:{identifier}", f"early years and KS1 are ages 0-6; the model counts by age band: "
              f"under 5 plus the share of the 5-10 band's {what} aged 5-6 in SEN2 January 2024",
              age_band=bands_text, placement=places)
    r6 = _weighted_bands(d, range(RECEPTION_AGE, 11))
    for identifier, bands_text, share_places, proxy in (
            ("specialist_share_r6_2023_10", r6, SPECIALIST, True),
            ("specialist_share_r6_2024_03", r6, SPECIALIST, True),
            ("specialist_share_y7_11_2023_10", "11_15", SPECIALIST, False),
            ("specialist_share_y7_11_2024_03", "11_15", SPECIALIST, False),
            ("specialist_share_y12_14_2023_10", "16_19", SPECIALIST_POST16, True),
            ("specialist_share_y12_14_2024_03", "16_19", SPECIALIST_POST16, True),
            ("post16_specialist_share_2023_10", "16_19+20_25", SPECIALIST_POST16, False),
            ("post16_specialist_share_2024_03", "16_19+20_25", SPECIALIST_POST16, False),
            ("post16_mainstream_fe_share_2023_10", "16_19+20_25", MAINSTREAM_OR_FE, False),
            ("post16_mainstream_fe_share_2024_03", "16_19+20_25", MAINSTREAM_OR_FE, False)):
        value = seed(identifier)
        proxies = {"specialist_share_r6": "Reception-Year 6 is ages 4-10 (age 4 as its share of the under-5 band)",
                   "specialist_share_y12_14": "Years 12-14 are ages 16-18; the 16-19 band includes 19"}
        note = ("school years by age band: " + proxies[identifier.rsplit("_", 2)[0]]) if proxy else ""
        r.add(identifier, "share", period(identifier), value,
              TOLERANCE_PROXY_SHARE_POINTS if proxy else TOLERANCE_SHARE_POINTS, "fit",
              f"seed_targets.csv:{identifier}", note, age_band=bands_text, placement="+".join(share_places),
              denominator="all")
    identifier = "mainstream_share_condition8"
    r.add(identifier, "share", period(identifier), seed(identifier), TOLERANCE_SHARE_POINTS, "fit",
          f"seed_targets.csv:{identifier}", "the chosen definition: mainstream schools incl. SEN units and SRPs over "
          "all plans, ages 0-25 (SEN2 mainstream_total_pc: 34.8% in January 2024)", age_band="all",
          placement="+".join(MAINSTREAM_SETTINGS), denominator="all")
    identifier = "mainstream_share_r_y13_2024_03"
    r.add(identifier, "share", period(identifier), seed(identifier), TOLERANCE_PROXY_SHARE_POINTS, "report",
          f"seed_targets.csv:{identifier}", "Reception-Year 13 (ages 4-17) from the authority's case system: not the "
          "definition fitted (see the 34% row); shown with ages 4-17 approximated by age bands",
          age_band=_weighted_bands(d, range(RECEPTION_AGE, Y13_LAST_AGE + 1)), placement="+".join(MAINSTREAM_SETTINGS),
          denominator="all")
    identifier = "ehcp_obs_2024_04_total"
    value = seed(identifier)
    r.add(identifier, "plans", period(identifier), value, _relative(value, TOLERANCE_TOTAL), "fit",
          f"seed_targets.csv:{identifier}", "30 April 2024 (the authority's count)", age_band="all", placement="all")
    for name in codes.AGE_BANDS:
        identifier = f"ehcp_obs_2024_04_{name.replace('under_5', 'u5')}"
        value = seed(identifier)
        r.add(identifier, "plans", period(identifier), value, _relative(value, TOLERANCE_BAND, TOLERANCE_FLOOR_PLANS),
              "report", f"seed_targets.csv:{identifier}", "current age, not the SEN2 age at 31 August: not comparable "
              "by band", age_band=name, placement="all")
    identifier = "new_ehcp_projection_2024"
    value = seed(identifier)
    r.add(identifier, "events", f"{census + 1}-01", value, _relative(value, TOLERANCE_PROJECTION), "fit",
          f"seed_targets.csv:{identifier}", "the authority's projection for 2024, compared with the 12 months "
          "February 2024 - January 2025", months="12", item="new_plan")
    identifier = "no_place_2024"
    value = seed(identifier)
    r.add(identifier, "plans", period(identifier), value, _relative(value, TOLERANCE_PLACEMENT), "report",
          f"seed_targets.csv:{identifier}", "'CYP with no place' in the authority's count; SEN2's no-place "
          "categories (NEET, placement unknown) are wider", age_band="all", placement="no_place")
    for name in codes.AGE_BANDS:
        identifier = f"ehcp_sv_est_2025_01_{name.replace('under_5', 'u5')}"
        value = seed(identifier)
        r.add(identifier, "plans", period(identifier), value, _relative(value, TOLERANCE_BAND, TOLERANCE_FLOOR_PLANS),
              "report", f"seed_targets.csv:{identifier}", "the Safety Valve plan's estimate, not an observation",
              age_band=name, placement="all")
    identifier = "ehcp_sv_est_2025_01_total"
    value = seed(identifier)
    r.add(identifier, "plans", period(identifier), value, _relative(value, TOLERANCE_TOTAL), "report",
          f"seed_targets.csv:{identifier}", "the Safety Valve plan's estimate, not an observation", age_band="all",
          placement="all")


def targets_csv_text(frame: pd.DataFrame) -> str:
    """A target frame as the file's text."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def kent_targets_csv_text() -> str:
    """The text of ``inputs/kent/targets.csv`` as derived now."""
    return targets_csv_text(derive_targets(derivation_for(KENT)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sendsim.calibration.authority_targets",
                                     description="Derive an authority's calibration targets from the vendored SEN2 "
                                                 "data (and, for Kent, its Safety Valve return).")
    parser.add_argument("--authority", default=KENT, help="local authority as SEN2 names it (default Kent)")
    parser.add_argument("--out", type=Path, default=None,
                        help="targets CSV to write (default for Kent: inputs/kent/targets.csv)")
    args = parser.parse_args(argv)
    if args.out is None and args.authority != KENT:
        parser.error("--out is needed for an authority other than Kent")
    try:
        d = derivation_for(args.authority)
    except ValueError as error:  # an authority SEN2 does not name: say so, with the closest names
        parser.error(str(error))
    out = TARGETS_PATH if args.out is None else args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(targets_csv_text(derive_targets(d)), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
