"""Each rule of the monthly step on a tiny hand-built cohort, with hand-checked outcomes."""
from __future__ import annotations

import numpy as np
import pytest

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, simulate
from tests import builders

EV = codes.EVENTS.index
NONE = codes.PLACEMENT_NONE


def run_once(values, rows, calendar, dated=None, seed=1):
    model = builders.compile_values(values, calendar, dated)
    cohort = builders.cohort(rows, calendar)
    (chunk,) = simulate(cohort, model, calendar, seed=seed, runs=np.array([0]), trace_runs=1)
    return chunk


def placement_series(chunk, record):
    return chunk.trace[0, :, record]


def test_quiet_model_changes_nothing_but_age():
    calendar = Calendar(2024, 1, 24)
    rows = [{"age": a, "placement": p} for a, p in [(3, codes.EARLY_YEARS), (9, codes.MAINSTREAM), (14, codes.SPECIAL)]]
    chunk = run_once(builders.quiet_parameters(), rows, calendar)
    assert (chunk.trace[0, :, :3] == np.array([codes.EARLY_YEARS, codes.MAINSTREAM, codes.SPECIAL])).all()
    assert chunk.stock[0].sum(axis=(1, 2, 3)).tolist() == [3] * 24
    # Ages 3, 9, 14 in January 2024 become 4, 10, 15 in September 2024 (month 8) and 5, 11, 16
    # in September 2025 (month 20).
    bands = chunk.stock[0].sum(axis=(2, 3))
    assert bands[7].tolist() == [1, 1, 1, 0, 0]
    assert bands[8].tolist() == [1, 1, 1, 0, 0]
    assert bands[20].tolist() == [0, 1, 1, 1, 0]


def test_plan_ends_at_the_september_after_the_age_limit():
    calendar = Calendar(2024, 1, 12)
    chunk = run_once(builders.quiet_parameters(), [{"age": 24, "placement": codes.FE}, {"age": 23}], calendar)
    series = placement_series(chunk, 0)
    assert (series[:8] == codes.FE).all()          # January to August 2024
    assert (series[8:] == -1 - codes.CEASED).all()  # September 2024 on
    assert chunk.flows[0, 8, codes.EV_MAX_AGE, codes.FE, NONE] == 1
    assert (placement_series(chunk, 1) == codes.MAINSTREAM).all()  # turns 24: stays


@pytest.mark.parametrize("age,transfer", [(3, "reception"), (10, "secondary"), (15, "post16"), (18, "post19")])
def test_phase_transfer_in_september(age, transfer):
    calendar = Calendar(2024, 6, 6)  # June to November 2024: September is month 3
    values = builders.quiet_parameters()
    t = codes.TRANSFERS.index(transfer)
    values["phase_transfer"][t, :, :, :] = 0.0
    values["phase_transfer"][t, :, :, codes.SPECIAL] = 1.0
    chunk = run_once(values, [{"age": age, "placement": codes.MAINSTREAM}, {"age": age + 1}], calendar)
    assert placement_series(chunk, 0).tolist() == [codes.MAINSTREAM] * 3 + [codes.SPECIAL] * 3
    assert (placement_series(chunk, 1) == codes.MAINSTREAM).all()  # not at a transfer age
    assert chunk.flows[0, 3, codes.EV_PHASE_TRANSFER, codes.MAINSTREAM, codes.SPECIAL] == 1


def test_capacity_overflow_to_independent():
    calendar = Calendar(2024, 8, 3)
    values = builders.quiet_parameters()
    values["phase_transfer"][:, :, :, :] = 0.0
    values["phase_transfer"][:, :, :, codes.SPECIAL] = 1.0
    values["places"][codes.SPECIAL] = 1
    values["overflow_independent"][codes.SPECIAL] = 1.0
    rows = [{"age": 12, "placement": codes.SPECIAL}, {"age": 10}, {"age": 10}]
    chunk = run_once(values, rows, calendar)
    assert chunk.trace[0, 2, :3].tolist() == [codes.SPECIAL, codes.INDEPENDENT, codes.INDEPENDENT]
    assert chunk.flows[0, 1, codes.EV_CAPACITY_REFUSED, codes.SPECIAL, codes.INDEPENDENT] == 2
    assert chunk.measures[0, :, codes.M_SPECIAL_OCCUPIED].tolist() == [1, 1, 1]


def test_waiting_list_longest_wait_first():
    """Two children wait for the only special place; when it frees, the longer wait wins."""
    calendar = Calendar(2024, 1, 6)
    values = builders.quiet_parameters()
    values["places"][codes.SPECIAL] = 1
    # The child in special (age 20) moves away in month 3 (the move table differs by age).
    values["move"][20, codes.SPECIAL, :] = 0.0
    values["move"][20, codes.SPECIAL, codes.MOVED_AWAY] = 1.0
    dated = {"move": [(3, values["move"])]}
    base = builders.quiet_parameters()
    base["places"] = values["places"]
    rows = [{"age": 20, "placement": codes.SPECIAL},
            {"age": 8, "placement": codes.NO_PLACE, "waiting": codes.SPECIAL, "stage": 1},
            {"age": 8, "placement": codes.MAINSTREAM, "waiting": codes.SPECIAL, "stage": 4}]
    chunk = run_once(base, rows, calendar, dated)
    assert chunk.measures[0, :, codes.M_WAITING].tolist() == [2, 2, 2, 1, 1, 1]
    assert chunk.trace[0, 3, :3].tolist() == [-1 - codes.CEASED, codes.NO_PLACE, codes.SPECIAL]
    assert chunk.flows[0, 3, codes.EV_WAITING_PLACED, codes.MAINSTREAM, codes.SPECIAL] == 1


def test_waiting_with_no_place_when_the_old_placement_ends():
    calendar = Calendar(2024, 8, 3)
    values = builders.quiet_parameters()
    values["phase_transfer"][:, :, :, :] = 0.0
    values["phase_transfer"][:, :, :, codes.SRP] = 1.0
    values["places"][codes.SRP] = 0
    chunk = run_once(values, [{"age": 10}], calendar)
    assert placement_series(chunk, 0).tolist() == [codes.MAINSTREAM, codes.NO_PLACE, codes.NO_PLACE]
    assert chunk.measures[0, 1, codes.M_WAITING] == 1


def test_reviews_longest_overdue_first_up_to_capacity():
    calendar = Calendar(2024, 1, 3)
    values = builders.quiet_parameters()
    values["review_capacity"][...] = 1
    values["review_cease"][:] = 1.0
    rows = [{"age": 9, "msr": 11}, {"age": 9, "msr": 20}, {"age": 9, "msr": 15}, {"age": 9, "msr": 3}]
    chunk = run_once(values, rows, calendar)
    assert chunk.trace[0, 1, :4].tolist() == [codes.MAINSTREAM, -1 - codes.CEASED, codes.MAINSTREAM, codes.MAINSTREAM]
    assert chunk.trace[0, 2, :4].tolist() == [codes.MAINSTREAM, -1 - codes.CEASED, -1 - codes.CEASED,
                                             codes.MAINSTREAM]
    ev = codes.EV_REVIEW_CEASED_FIRST + codes.REASON_NEEDS_MET
    assert chunk.flows[0, 1, ev, codes.MAINSTREAM, NONE] == 1
    assert chunk.measures[0, 0, codes.M_REVIEWS_OVERDUE] == 2  # msr 20 and 15 at the opening
    assert chunk.measures[0, 1, codes.M_REVIEWS_DUE] == 3 and chunk.measures[0, 1, codes.M_REVIEWS_OVERDUE] == 2
    assert chunk.measures[0, 2, codes.M_REVIEWS_DUE] == 2 and chunk.measures[0, 2, codes.M_REVIEWS_OVERDUE] == 1


def test_review_cease_ratio_ceases_by_placement():
    """review_cease x review_cease_ratio (capped at 1): with review_cease 0.5 at 17, a ratio of
    2 for no place ends every such plan at its review and a ratio of 0 for FE ends none; a
    ratio at another age changes nothing at 17."""
    calendar = Calendar(2024, 1, 2)
    values = builders.quiet_parameters()
    values["review_capacity"][...] = 100
    values["review_cease"][:] = 0.5
    values["review_cease_ratio"][17, codes.NO_PLACE] = 2.0
    values["review_cease_ratio"][17, codes.FE] = 0.0
    values["review_cease_ratio"][18, codes.MAINSTREAM] = 0.0
    rows = ([{"age": 17, "msr": 12, "placement": codes.NO_PLACE}] * 20
            + [{"age": 17, "msr": 12, "placement": codes.FE}] * 20)
    chunk = run_once(values, rows, calendar)
    ended = chunk.trace[0, 1, :40] < 0
    assert ended[:20].all() and not ended[20:].any()
    ev = codes.EV_REVIEW_CEASED_FIRST + codes.REASON_NEEDS_MET
    assert chunk.flows[0, 1, ev, codes.NO_PLACE, NONE] == 20 and chunk.flows[0, 1, ev, codes.FE, NONE] == 0


def test_review_keeps_and_resets_the_clock():
    calendar = Calendar(2024, 1, 14)
    values = builders.quiet_parameters()
    values["review_capacity"][...] = 10
    chunk = run_once(values, [{"age": 9, "msr": 11}], calendar)
    kept = chunk.flows[0, :, codes.EV_REVIEW_KEPT, codes.MAINSTREAM, codes.MAINSTREAM]
    assert np.flatnonzero(kept).tolist() == [1, 13]  # due at 12 months, then 12 months later


def test_review_changes_placement():
    calendar = Calendar(2024, 1, 2)
    values = builders.quiet_parameters()
    values["review_capacity"][...] = 10
    values["review_change"][:] = 1.0
    values["review_move"][:, :, :] = 0.0
    values["review_move"][:, :, codes.SRP] = 1.0
    chunk = run_once(values, [{"age": 9, "msr": 11}], calendar)
    assert chunk.flows[0, 1, codes.EV_REVIEW_MOVED, codes.MAINSTREAM, codes.SRP] == 1


@pytest.mark.parametrize("src,dst,event", [(codes.MAINSTREAM, codes.SPECIAL, "escalation"),
                                           (codes.INDEPENDENT, codes.MAINSTREAM, "reintegration"),
                                           (codes.FE, codes.POST16_SPECIALIST, "move_other")])
def test_moves_between_reviews_are_classified(src, dst, event):
    calendar = Calendar(2024, 1, 2)
    values = builders.quiet_parameters()
    values["move"][:, src, :] = 0.0
    values["move"][:, src, dst] = 1.0
    chunk = run_once(values, [{"age": 12, "placement": src}], calendar)
    assert chunk.flows[0, 1, EV(event), src, dst] == 1


def test_step_down_takes_a_free_special_place():
    calendar = Calendar(2024, 1, 3)
    values = builders.quiet_parameters()
    values["step_down"][...] = 1.0
    values["places"][codes.SPECIAL] = 1
    rows = [{"age": 12, "placement": codes.INDEPENDENT}, {"age": 12, "placement": codes.INDEPENDENT}]
    chunk = run_once(values, rows, calendar)
    assert chunk.trace[0, 1, :2].tolist() == [codes.SPECIAL, codes.INDEPENDENT]  # one place only
    assert chunk.flows[0, 1, codes.EV_STEP_DOWN, codes.INDEPENDENT, codes.SPECIAL] == 1


def test_assessment_pipeline_to_a_plan():
    calendar = Calendar(2024, 1, 6)
    values = builders.quiet_parameters()
    values["assessment_capacity"][...] = 5
    values["assessment_min_months"][...] = 2
    values["first_placement"][:, :, :] = 0.0
    values["first_placement"][:, :, codes.SRP] = 1.0
    chunk = run_once(values, [{"age": 6, "status": codes.REQUEST_PENDING, "placement": -1}], calendar)
    series = placement_series(chunk, 0)
    assert series.tolist() == [-1 - codes.REQUEST_PENDING, -1 - codes.ASSESSMENT, -1 - codes.ASSESSMENT,
                               codes.SRP, codes.SRP, codes.SRP]
    assert chunk.flows[0, 1, codes.EV_AGREED, NONE, NONE] == 1
    assert chunk.flows[0, 3, codes.EV_NEW_PLAN, NONE, codes.SRP] == 1
    assert chunk.measures[0, :, codes.M_ASSESSMENTS_OPEN].tolist() == [0, 1, 1, 0, 0, 0]


def test_assessment_capacity_queues_the_rest():
    calendar = Calendar(2024, 1, 4)
    values = builders.quiet_parameters()
    values["assessment_capacity"][...] = 1
    rows = [{"age": 6, "status": codes.ASSESSMENT, "placement": -1, "stage": s} for s in (1, 5, 3)]
    chunk = run_once(values, rows, calendar)
    assert chunk.trace[0, 1, :3].tolist() == [-1 - codes.ASSESSMENT, codes.MAINSTREAM, -1 - codes.ASSESSMENT]
    assert chunk.trace[0, 2, :3].tolist() == [-1 - codes.ASSESSMENT, codes.MAINSTREAM, codes.MAINSTREAM]


def test_assessment_priority_by_age_goes_ahead_of_longer_waits():
    # Capacity 1 a month; the 3-year-old has waited 2 months, the 6-year-olds 4 and 3. With a
    # priority of 3 months at age 3 its wait counts as 5: it goes first, then the longest wait.
    calendar = Calendar(2024, 1, 4)
    values = builders.quiet_parameters()
    values["assessment_capacity"][...] = 1
    values["assessment_priority_months"][3] = 3
    rows = [{"age": 6, "status": codes.ASSESSMENT, "placement": -1, "stage": 4},
            {"age": 3, "status": codes.ASSESSMENT, "placement": -1, "stage": 2},
            {"age": 6, "status": codes.ASSESSMENT, "placement": -1, "stage": 3}]
    chunk = run_once(values, rows, calendar)
    waiting = -1 - codes.ASSESSMENT
    assert chunk.trace[0, 1, :3].tolist() == [waiting, codes.MAINSTREAM, waiting]
    assert chunk.trace[0, 2, :3].tolist() == [codes.MAINSTREAM, codes.MAINSTREAM, waiting]
    # Without the priority the same cohort is first come, first served.
    values["assessment_priority_months"][3] = 0
    chunk = run_once(values, rows, calendar)
    assert chunk.trace[0, 1, :3].tolist() == [codes.MAINSTREAM, waiting, waiting]


def test_decline_appeal_and_tribunal_win():
    calendar = Calendar(2024, 1, 4)
    values = builders.quiet_parameters()
    values.update({k: np.array(v, dtype=float) for k, v in dict(
        assessment_capacity=5, p_decline=1.0, p_appeal_decline=1.0, tribunal_hazard=1.0, p_tribunal_win=1.0).items()})
    chunk = run_once(values, [{"age": 6, "status": codes.ASSESSMENT, "placement": -1}], calendar)
    assert placement_series(chunk, 0).tolist() == [-1 - codes.ASSESSMENT, -1 - codes.APPEAL_DECLINE,
                                                   codes.MAINSTREAM, codes.MAINSTREAM]
    assert chunk.flows[0, 1, codes.EV_DECLINED, NONE, NONE] == 1
    assert chunk.flows[0, 1, codes.EV_APPEAL_DECLINE, NONE, NONE] == 1
    assert chunk.flows[0, 2, codes.EV_TRIBUNAL_UPHELD, NONE, NONE] == 1
    assert chunk.flows[0, 2, codes.EV_NEW_PLAN, NONE, codes.MAINSTREAM] == 1


def test_refusal_not_appealed_closes_the_request():
    calendar = Calendar(2024, 1, 3)
    values = builders.quiet_parameters()
    values["p_assess"][...] = 0.0
    chunk = run_once(values, [{"age": 6, "status": codes.REQUEST_PENDING, "placement": -1}], calendar)
    assert placement_series(chunk, 0).tolist() == [-1 - codes.REQUEST_PENDING, -1 - codes.CLOSED,
                                                   -1 - codes.CLOSED]
    assert chunk.flows[0, 1, codes.EV_REFUSED, NONE, NONE] == 1


def test_requests_and_arrivals_enter_at_their_age():
    calendar = Calendar(2024, 1, 13)
    values = builders.quiet_parameters()
    values["request_rate"][7] = 3.0
    values["arrival_rate"][14] = 2.0
    values["arrival_placement"][:, :] = 0.0
    values["arrival_placement"][:, codes.SRP] = 1.0
    chunk = run_once(values, [{"age": 9}], calendar)
    requests = chunk.flows[0, :, codes.EV_REQUEST, NONE, NONE]
    arrivals = chunk.flows[0, :, codes.EV_ARRIVAL, NONE, codes.SRP]
    assert requests[0] == 0 and arrivals[0] == 0
    assert 15 < requests.sum() < 60 and 8 < arrivals.sum() < 45  # Poisson(36) and Poisson(24)
    srp_by_band = chunk.stock[0, :, :, codes.SRP].sum(axis=2)
    assert srp_by_band[12].sum() == arrivals.sum()
    assert srp_by_band[7, 2] == arrivals[:8].sum()  # age 14: band 11_15 until September
    # Decision hazard 1 and p_assess 1: a request is decided the month after it arrives, then
    # waits in the assessment queue (assessment capacity 0 here).
    assert chunk.measures[0, 12, codes.M_REQUESTS_PENDING] == requests[12]
    assert chunk.measures[0, 12, codes.M_ASSESSMENTS_OPEN] == requests[:12].sum()


def test_requests_follow_their_half_year_share():
    """request_first_half_share 1 at an age: all its requests arrive January to June, at twice
    the monthly average; 0: all July to December. Arrivals are not affected."""
    calendar = Calendar(2024, 1, 25)  # January 2024 to January 2026
    first_half = ((calendar.start_calendar_month + np.arange(calendar.n_months)) % 12) < 6
    for share, months in ((1.0, first_half), (0.0, ~first_half)):
        values = builders.quiet_parameters()
        values["request_rate"][7] = 3.0
        values["request_first_half_share"][7] = share
        values["arrival_rate"][7] = 2.0
        chunk = run_once(values, [{"age": 9}], calendar)
        requests = chunk.flows[0, :, codes.EV_REQUEST, NONE, NONE]
        arrivals = chunk.flows[0, :, codes.EV_ARRIVAL, NONE, codes.MAINSTREAM]
        assert requests[~months].sum() == 0
        n_months = int(months[1:].sum())  # the start month has no entrants
        assert abs(requests.sum() - 6.0 * n_months) < 4.5 * np.sqrt(6.0 * n_months)  # Poisson(6 a month)
        assert arrivals[1:][~months[1:]].sum() > 0 and arrivals[1:][months[1:]].sum() > 0


def test_cost_is_monthly_annual_cost_at_base_prices():
    """The engine costs every month at the run's base prices (the money model applies growth:
    tests/test_money.py)."""
    calendar = Calendar(2024, 1, 16)
    values = builders.quiet_parameters()
    chunk = run_once(values, [{"age": 9}, {"age": 9, "placement": codes.SPECIAL, "cost": 24000}], calendar)
    np.testing.assert_allclose(chunk.cost[0, :, codes.MAINSTREAM], 1000.0)  # unit cost 12,000 a year
    np.testing.assert_allclose(chunk.cost[0, :, codes.SPECIAL], 2000.0)  # the cohort's own cost


def test_cost_spread_has_mean_one():
    calendar = Calendar(2024, 1, 1)
    values = builders.quiet_parameters()
    values["cost_spread"][:, codes.INDEPENDENT] = 0.6
    rows = [{"age": 12, "placement": codes.INDEPENDENT, "key": k} for k in range(4000)]
    chunk = run_once(values, rows, calendar)
    mean_annual = chunk.cost[0, 0, codes.INDEPENDENT] * 12 / 4000
    # lognormal sigma 0.6: sd of the multiplier = sqrt(exp(0.36) - 1) = 0.66; se = 0.66/sqrt(4000)
    assert mean_annual == pytest.approx(12000.0, rel=5 * 0.66 / np.sqrt(4000))
