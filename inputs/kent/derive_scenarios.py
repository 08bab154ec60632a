"""Write the built-in Kent scenarios (inputs/kent/scenarios/*.toml) from the vendored data
and the derivation's stated assumptions, so that no figure in them is typed in by hand.

Run ``python -m sendsim.inputs.kent.derive_scenarios``; tests/test_scenarios.py checks that the
committed files regenerate exactly.
"""
from __future__ import annotations

from pathlib import Path

from sendsim.inputs.kent import assumptions, derive
from sendsim.inputs.sen2 import ENGLAND, Authority

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
    seed = derive.derivation().local.value  # Kent's Safety Valve return
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
    return texts


def main() -> None:
    SCENARIO_DIR.mkdir(exist_ok=True)
    for name, text in scenario_texts().items():
        (SCENARIO_DIR / f"{name}.toml").write_text(text, encoding="utf-8")
    print(f"wrote {len(scenario_texts())} scenarios to {SCENARIO_DIR}")


if __name__ == "__main__":
    main()
