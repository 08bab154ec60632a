"""Write the built-in Kent scenarios (inputs/kent/scenarios/*.toml) from the vendored data
and the derivation's stated assumptions, so that no figure in them is typed in by hand.

Run ``python -m sendsim.inputs.kent.derive_scenarios``; tests/test_scenarios.py checks that the
committed files regenerate exactly.
"""
from __future__ import annotations

from pathlib import Path

from sendsim.inputs.kent import assumptions, derive
from sendsim.inputs.sen2 import ENGLAND, Authority
from sendsim.inputs.sen2.files import CASELOAD, NEWPLANS, number


def _seed(identifier: str) -> float:
    """A figure of Kent's Safety Valve return (seed_targets.csv)."""
    return derive.derivation().local_figures().value(identifier)


def _finance_figure(identifier: str) -> float:
    """A public finance figure (kent_finance_public.csv)."""
    return derive.derivation().finance_figures.value(identifier)

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
# Levers take effect from the start of financial year 2024-25 unless the lever has its own
# dates: the run starts in January 2024, so the first three months are common to every
# scenario and the paired differences are exactly zero there.
EFFECTIVE_FROM = "2024-04"
# Money levers decided for future years: the 2024-25 figures are agreed in the seed (the 1.2%
# transfer, the national living wage rise), so the scenarios change the years after.
NEXT_DECISION_YEAR = "2025-26"


def _england_reintegration_annual_rate() -> tuple[float, str]:
    """England's special -> mainstream moves per special-school plan per year (SEN2 MI)."""
    england = Authority(ENGLAND)
    moves = sum(england.mi_value("SitomEHC", y) for y in assumptions.MI_YEARS)
    stock = 0.0
    for y in assumptions.MI_YEARS:  # MI year y <-> the January y caseload
        stock += england.caseload_value(y, "special_total")
    note = (f"SEN2 MI {', '.join(str(y) for y in assumptions.MI_YEARS)}: England SitomEHC {moves:.0f} over "
            f"special_total {stock:.0f} (January caseloads)")
    return moves / stock, note


def _third_school_openings() -> list[tuple[str, int]]:
    """A third school like the two approved ones: same size, same phasing (cumulative)."""
    return [(date, round(assumptions.NEW_SPECIAL_SCHOOL_PLACES * fraction))
            for date, fraction in assumptions.NEW_SPECIAL_SCHOOL_PHASING]


def _special_share_of_new_plans(la: str, year: str = "2023") -> float:
    """Share of a year's new plans placed in special schools (SEN2 new plans, all ages)."""
    row = Authority(la).rows(NEWPLANS, period=year, topic="New EHC plans").iloc[0]
    return number(row["special_total"]) / number(row["new_ehc_plans"])


def _special_share_under_5(la: str) -> float:
    """Share of plans of children under 5 in special schools, January 2024 (SEN2 caseload by age)."""
    rows = Authority(la).rows(CASELOAD, period="202324", topic="Child or young persons age")
    under_5 = rows[rows["breakdown"].isin([f"age {a}" for a in range(5)])]
    return sum(map(number, under_5["special_total"])) / sum(map(number, under_5["ehcplans"]))


def half_gap_share(kent: float, england: float) -> float:
    """The share of Kent's special placements to move elsewhere so that Kent's special share
    closes half its gap to England's: 1 - (england + (kent - england) / 2) / kent."""
    return 1.0 - (england + (kent - england) / 2.0) / kent


def sv_plan_text() -> str:
    """Kent's Safety Valve plan as the seed describes it: each measure a mitigation with a start,
    a ramp, a target group, an effect and a probability of delivery, every figure sourced."""
    new_kent, new_england = _special_share_of_new_plans("Kent"), _special_share_of_new_plans("England")
    locality = half_gap_share(new_kent, new_england)
    u5_kent, u5_england = _special_share_under_5("Kent"), _special_share_under_5("England")
    early_years = half_gap_share(u5_kent, u5_england)
    offered, ongoing = _seed("pt_post16_offered_2024_04"), _seed("pt_post16_ongoing_2024_04")
    specialist_share = 1.0 - _seed("pt_post16_offer_mainstream_fe_share") / 100.0
    post16 = 100.0 / ((offered + ongoing) * specialist_share)
    annual, note = _england_reintegration_annual_rate()
    monthly = 1.0 - (1.0 - annual) ** (1.0 / 12.0)
    hold = _seed("price_hold_target") / 100.0
    fee_growth = (_finance_figure("unit_cost_independent_2024_25") / _finance_figure("unit_cost_independent_2020_21")
                  ) ** 0.25 - 1.0
    entries = [
        ("independent_vfm_review",
         "Value-for-money review of independent placements (the December 2023 short-term action plan, QA of "
         "placements outside the DPS): the price of independent placements falls by one year's fee growth.",
         f"seed summary: impact 'predominately reflected during 2024-25'; Condition 4: QA of independent schools; "
         f"size: one year's growth of Kent's independent cost per pupil, {fee_growth:.2%} (kent_finance_public.csv:"
         "unit_cost_independent_2020_21 and _2024_25, annualised); no published saving",
         "2024-04", 12, 0.5, "seed Risk 6: 'may provide some compensating savings'; no saving published since: "
         "even odds", {"placement": "independent"}, {"kind": "price_saving", "share": round(fee_growth, 6)}),
        ("nhs_joint_funding",
         "Joint funding of 18-25 specialist and independent placements with NHS Kent and Medway (the joint "
         "funding process, a continuing-care lead, six-weekly reviews of every 17.5+ young adult).",
         "seed Condition 7: 239 referrals since October 2022, agreement time down 29%, a Joint Funding Protocol "
         "drafted; size: assumption, the NHS pays 5% of these placements' cost (no amount published)",
         "2024-06", 12, 0.7, "seed Condition 7: business as usual, the lead post made permanent; 'issues with "
         "equity of funding on different NHS pathways'",
         {"placement": ["independent", "post16_specialist"], "age": "18-25"},
         {"kind": "health_contribution", "share": 0.05}),
        ("post16_pathways",
         "Post-16 pathways: at the post-16 transfer, about 100 fewer young people a year placed in special, "
         "independent or specialist post-16 settings, placed in FE colleges instead.",
         f"seed Condition 6: the Safety Valve target at post-16 transfer is about 100 fewer special or independent "
         f"placements, of {offered + ongoing:.0f} transfers ({offered:.0f} offered + {ongoing:.0f} ongoing, "
         f"seed pt_post16_offered_2024_04, pt_post16_ongoing_2024_04) of which {specialist_share:.0%} specialist "
         f"(pt_post16_offer_mainstream_fe_share): {post16:.1%} of those placements move to FE",
         "2024-09", 0, 0.5, "seed Condition 5 rated amber: the post-16 specialist share rose from 35.3% to 37.1%",
         {}, {"kind": "shift", "parameter": "phase_transfer", "transfer": "post16",
              "from": ["special", "independent", "post16_specialist"], "to": "fe", "share": round(post16, 6)}),
        ("price_hold",
         f"Prices held to {hold:.0%} a year from 2025-26 (2024-25 was decided at 2%): every placement's price "
         "growth capped, whatever its providers' costs do.",
         "seed Risk 6: 'our original intention to hold prices at 1% over the medium term' (seed_targets.csv:"
         "price_hold_target)",
         "2025-04", 0, 0.25, "seed Risk 6: 'proving challenging' after the national living wage rose just under 10%; "
         "the 2024-25 uplift was 2% (decision 23/00125); the 2026-27 uplift is 'informed by central government "
         "announcements' (decision 25/00108)", {}, {"kind": "price_hold", "growth": hold}),
        ("early_years_review",
         "Early years review: alternatives to special school before key stage 2; at the Reception transfer half "
         "the gap between Kent's and England's special share is closed.",
         f"seed Condition 2 and Risk 1; size: under-5 plans in special schools, Kent {u5_kent:.1%} against England "
         f"{u5_england:.1%} (sen2_2025release_caseload.csv, January 2024, ages 0-4): {early_years:.1%} of Reception "
         "special placements move to mainstream, as the plan's aim to move towards the national picture",
         "2025-09", 0, 0.4, "seed Condition 2 rated amber, Risk 1 amber ('outside anticipated numbers'); decision "
         "24/00061 took the review's recommendations",
         {}, {"kind": "shift", "parameter": "phase_transfer", "transfer": "reception", "from": ["special"],
              "to": "mainstream", "share": round(early_years, 6)}),
        ("locality_model",
         "The locality model (Communities of Schools from September 2025, the banding system from September "
         "2026): more new plans at school age met in mainstream, half the gap to England's special share of new "
         "plans closed over two years.",
         f"seed Condition 8 and Condition 1 (mainstream share 34% against 45% nationally); size: new plans placed in "
         f"special schools, Kent {new_kent:.1%} against England {new_england:.1%} in 2023 (sen2_2025release_newplans."
         f"csv): {locality:.1%} of Kent's move to mainstream; decisions 24/00120 and 25/00108 for the dates",
         "2025-09", 24, 0.6, "seed Condition 8 rated green; the Community of Schools budgets started September 2025 "
         "(decision 25/00108)",
         {"age": "5-15"}, {"kind": "shift", "parameter": "first_placement", "from": ["special", "independent"],
                          "to": "mainstream", "share": round(locality, 6)}),
        ("reintegration",
         "Reintegration from special schools back to mainstream at England's rate.",
         f"seed Condition 4; size: {note}, {annual:.2%} a year ({monthly:.4%} a month)",
         "2025-09", 12, 0.1, "seed Condition 4 rated red: 'we have not seen a financial impact', no pilot school "
         "signed up", {"placement": "special"},
         {"kind": "shift", "parameter": "move", "from": ["special"], "to": "mainstream", "share": round(monthly, 8)}),
        ("srp_expansion",
         "More commissioned SRP places from the SRP review (20m of high-needs capital, decision 25/00085).",
         "decision 25/00085 (https://democracy.kent.gov.uk/mgDecisionDetails.aspx?IId=70069&Opt=1) and the "
         "committee minutes' 'net increase of 55 new SRPs' (https://democracy.kent.gov.uk/mgAi.aspx?ID=68192): 55 "
         "places",
         "2026-09", 0, 0.5, "seed Condition 7 rated amber; the minutes' 55 may count units or places: even odds",
         {}, {"kind": "places", "placement": "srp", "add": 55}),
        ("special_school_review",
         "Special school review: only the most severe and complex needs admitted to special schools from "
         "September 2026; a fifth of special placements at the school phase transfers go to SRPs instead.",
         "seed Condition 7 ('only the most severe and complex needs are supported in special schools'); size: "
         "assumption, a fifth; https://letstalk.kent.gov.uk/special-schools-review for the date",
         "2026-09", 0, 0.05, "shelved in April 2025 after the heads threatened judicial review "
         "(https://schoolsweek.co.uk/kent-councils-controversial-special-school-inclusion-plans-shelved): "
         "only a revival would deliver it",
         {"need": ["mld", "semh", "slcn", "spld", "other"]},
         {"kind": "shift", "parameter": "phase_transfer", "transfer": ["reception", "secondary"],
          "from": ["special"], "to": "srp", "share": 0.2}),
    ]
    parts = ['name = "sv_plan"\n'
             'description = "Kent\'s Safety Valve plan as the seed (Q1 2024-25) describes it: each measure a '
             'mitigation '
             'with a start, a ramp, a target group, an effect and a probability of delivery; the baseline is the plan '
             'undelivered."\n']
    for name, description, source, start, ramp, delivery, delivery_source, target, effect in entries:
        parts.append("\n[[mitigation]]\n"
                     f"name = {_toml(name)}\n"
                     f"description = {_toml(description)}\n"
                     f"source = {_toml(source)}\n"
                     f"start = {_toml(start)}\n"
                     f"ramp_months = {ramp}\n"
                     f"delivery = {delivery:g}\n"
                     f"delivery_source = {_toml(delivery_source)}\n"
                     + (f"target = {_toml(target)}\n" if target else "")
                     + f"effect = {_toml(effect)}\n")
    return "".join(parts)


def _toml(value) -> str:
    """A value as TOML (strings, numbers, lists, inline tables)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.12g}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


def scenario_texts() -> dict[str, str]:
    """File name -> TOML text of each built-in scenario."""
    texts: dict[str, str] = {}
    texts["baseline"] = (
        'name = "baseline"\n'
        'description = "The Kent baseline: the defaults in inputs/kent/parameters.csv, with the two approved new '
        'special schools opening in phases from September 2025."\n')
    openings = ", ".join(f'{{ from = "{d}", add = {n} }}' for d, n in _third_school_openings())
    texts["third_special_school"] = (
        'name = "third_special_school"\n'
        'description = "All three requested new special schools approved: a third school of '
        f'{assumptions.NEW_SPECIAL_SCHOOL_PLACES} places phased like the other two (seed Risk 3: 2 of 3 approved)."\n\n'
        '[levers.special_places]\n'
        f'openings = [{openings}]\n')
    seed = derive.derivation().local_figures().value  # Kent's Safety Valve return
    first_opening = assumptions.NEW_SPECIAL_SCHOOL_PHASING[0][0]
    commissioned = int(seed("special_places_commissioned"))
    texts["no_new_special_schools"] = (
        'name = "no_new_special_schools"\n'
        'description = "Neither new special school opens: commissioned special places stay at '
        f'{commissioned} (seed special_places_commissioned)."\n\n'
        '[levers.special_places]\n'
        f'openings = [{{ from = "{first_opening}", places = {commissioned} }}]\n')
    march_2023 = seed("yes_to_assess_2023_03") / 100.0
    texts["assessment_tightening_reversed"] = (
        'name = "assessment_tightening_reversed"\n'
        'description = "The decision to assess goes back to the March 2023 rate '
        f'({march_2023:.1%}, seed yes_to_assess_2023_03) from April 2024, undoing the tighter panels."\n\n'
        '[levers.decision_to_assess]\n'
        f'from = "{EFFECTIVE_FROM}"\n'
        f'value = {march_2023:.6g}\n')
    rate, note = _england_reintegration_annual_rate()
    texts["reintegration_england_rate"] = (
        'name = "reintegration_england_rate"\n'
        f'description = "Moves back to mainstream from SRP, special and independent placements at the England rate '
        f'({rate:.2%} a year; {note}) from April 2024, against Kent\'s own (seed: reintegration rated red)."\n\n'
        '[levers.reintegration]\n'
        f'from = "{EFFECTIVE_FROM}"\n'
        f'annual_rate = {rate:.12g}\n')
    pay = seed("support_staff_pay_growth_2024_25") / 100.0
    texts["support_staff_pay_10pct"] = (
        'name = "support_staff_pay_10pct"\n'
        'description = "Support-staff pay keeps growing at '
        f'{pay:.0%} a year (seed support_staff_pay_growth_2024_25, the national living wage rise) from 2025-26 '
        'instead of settling back: raises the price of every placement weighted on support-staff pay."\n\n'
        '[levers.cost_growth]\n'
        'cost_type = "support_staff_pay"\n'
        f'from = "{NEXT_DECISION_YEAR}"\n'
        f'value = {pay:.6g}\n')
    transfer = seed("block_transfer_2024_25") / 100.0
    texts["no_block_transfer"] = (
        'name = "no_block_transfer"\n'
        f'description = "No Schools Block transfer after the agreed 2024-25 one ({transfer:.1%}, seed '
        'block_transfer_2024_25): from 2025-26 the transfer that was expected to continue each year stops."\n\n'
        '[levers.block_transfer]\n'
        f'from = "{NEXT_DECISION_YEAR}"\n'
        'share = 0\n')
    texts["sv_plan"] = sv_plan_text()
    return texts


def main() -> None:
    SCENARIO_DIR.mkdir(exist_ok=True)
    for name, text in scenario_texts().items():
        (SCENARIO_DIR / f"{name}.toml").write_text(text, encoding="utf-8")
    print(f"wrote {len(scenario_texts())} scenarios to {SCENARIO_DIR}")


if __name__ == "__main__":
    main()
