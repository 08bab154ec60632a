"""Calibration pieces without the engine: posteriors, the earlier cohort, parameter sets from
proposals, the draws file, scores, the variance split and the history-matching sampler."""
from __future__ import annotations

import numpy as np
import pytest

from sendsim.calibration import backtest, draws_file, history_matching, space, variance
from sendsim.calibration.authority_targets import band_history, placement_history
from sendsim.calibration.direct import BetaRate, DirichletMix
from sendsim.calibration.model import CalibrationModel, theta_dict
from sendsim.calibration.origin import origin_crosstab, rake
from sendsim.inputs.defaults import KENT_PARAMETERS
from sendsim.inputs.kent import assumptions, derive
from sendsim.inputs.parameters import read_parameter_rows
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

CALENDAR = Calendar(2024, 1, 51)
KENT = derive.derivation()


@pytest.fixture(scope="module")
def rows():
    return read_parameter_rows(KENT_PARAMETERS)


@pytest.fixture(scope="module")
def model(rows):
    return CalibrationModel(KENT, rows, CALENDAR, Calendar(2019, 1, 61))


def _centre(model: CalibrationModel) -> tuple[dict, dict]:
    """Multipliers at 1 and every directly observed rate at the value the baseline derives."""
    theta = {p.name: 1.0 for p in space.SPACE}
    d = model.derivation
    theta.update(nursery_requests_first_half=0.5, arrivals=assumptions.ARRIVAL_TO_TRANSFER_RATIO,
                 arrivals_11_15=assumptions.ARRIVAL_TO_TRANSFER_RATIO,
                 arrivals_16_25=assumptions.ARRIVAL_TO_TRANSFER_RATIO, request_growth=d.request_growth(),
                 assessment_min_months=d.assessment_min_months(), history_review_capacity=1.0,
                 backlog_team_reviews=0.0, request_age_shift=1.0 - assumptions.EVENT_AGE_STAYS)
    mi = d.mi_rates()
    phi = {"escalation_mi": mi["escalation"], "reintegration": mi["reintegration"],
           "p_assess": d.p_assess(), "p_decline": d.p_decline(),
           "p_appeal_refusal": model.rates["p_appeal_refusal"].successes / model.rates["p_appeal_refusal"].trials,
           "assessment_appeals_per_decline": model.rates["assessment_appeals_per_decline"].successes
           / model.rates["assessment_appeals_per_decline"].trials}
    for (low, high), rate, _, _ in d.moved_away_rates():
        phi[f"moved_away_{low}_{high}"] = rate
    for (low, high), p, mix, _ in d.review_cease_and_reasons():
        phi[f"review_cease_{low}_{high}"] = p
        phi[f"cease_reason_{low}_{high}"] = mix
    for (low, high), mix, _ in d.first_placement():
        phi[f"first_placement_{low}_{high}"] = mix
    phi["post16_mainstream_fe"] = model.post16_share(model.forecast_base["phase_transfer"].values)
    return theta, phi


def test_posteriors_have_the_conjugate_means():
    rng = np.random.default_rng(3)
    rate = BetaRate("r", "", 30, 200, "test")
    assert rate.mean == pytest.approx(30.5 / 201)
    assert rate.sample(rng, 20000).mean() == pytest.approx(rate.mean, abs=0.002)
    mix = DirichletMix("m", "", np.array([10.0, 0.0, 30.0]), ("a", "b", "c"), "test")
    draws = mix.sample(rng, 20000)
    assert (draws[:, 1] == 0).all()  # a category never observed stays impossible
    np.testing.assert_allclose(draws.mean(axis=0), mix.mean, atol=0.005)
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)


def test_rake_matches_both_margins_and_keeps_empty_cells():
    shape = np.zeros((codes.N_AGES, codes.N_PLACEMENTS))
    shape[3:20, 1] = 5.0
    shape[5:16, 3] = 2.0
    shape[16:26, 5] = 1.0
    bands = np.array([100.0, 400.0, 300.0, 250.0, 50.0])
    places = np.zeros(codes.N_PLACEMENTS)
    places[[1, 3, 5]] = [600.0, 300.0, 200.0]
    table = rake(shape, bands, places)
    np.testing.assert_allclose(table.sum(axis=0), places, rtol=1e-9)
    for b in range(codes.N_AGE_BANDS):
        assert table[codes.AGE_BAND_OF_AGE == b].sum() == pytest.approx(bands[b], rel=1e-6)
    assert (table[shape == 0] == 0).all()
    with pytest.raises(ValueError, match="differ"):
        rake(shape, bands, places * 2)


def test_origin_cohort_reproduces_the_sen2_january():
    x = origin_crosstab(KENT, 2019)
    np.testing.assert_array_equal(x.sum(axis=0), placement_history(KENT)[2019])
    bands = np.array([x[codes.AGE_BAND_OF_AGE == b].sum() for b in range(codes.N_AGE_BANDS)])
    assert np.abs(bands - band_history(KENT)[2019]).max() <= 3  # whole numbers taken placement by placement


def test_centre_proposal_reproduces_the_baseline_parameters(model):
    theta, phi = _centre(model)
    ps = model.forecast_set(theta, phi)
    base = model.forecast_base
    for name in ("move", "review_change", "review_move", "review_cease", "cease_reason", "first_placement",
                 "arrival_rate", "p_assess", "p_decline", "request_rate", "assessment_capacity", "review_capacity"):
        # parameters.csv holds 8 significant digits
        np.testing.assert_allclose(ps[name].values, base[name].values, rtol=1e-7, atol=1e-8, err_msg=name)
    np.testing.assert_allclose(ps["phase_transfer"].values, base["phase_transfer"].values, atol=1e-9)


def test_post16_transfer_hits_the_drawn_share(model):
    theta, phi = _centre(model)
    for share in (0.5, 0.7, 0.85):
        phi["post16_mainstream_fe"] = share
        values = model.forecast_set(theta, phi)["phase_transfer"].values
        assert model.post16_share(values) == pytest.approx(share, abs=1e-9)
        np.testing.assert_allclose(values.sum(axis=-1), 1.0, atol=1e-12)


def test_hindcast_post16_transfer_takes_the_fitted_share_and_the_forecast_the_offers(model):
    theta, phi = _centre(model)
    phi["post16_mainstream_fe"] = 0.7
    theta["post16_mainstream_fe_before_2024"] = 0.45
    phi.update({key: rate.mean for key, rate in model.rates.items() if key.startswith(("p_assess_", "p_decline_"))})
    assert model.post16_share(model.forecast_set(theta, phi)["phase_transfer"].values) == pytest.approx(0.7)
    assert model.post16_share(model.hindcast_set(theta, phi)["phase_transfer"].values) == pytest.approx(0.45)


def test_request_age_mix_moves_a_share_one_age_down_or_up(model):
    event = KENT.requests_by_event_age()
    np.testing.assert_allclose(model.request_age_mix(1.0, 1.0, 0.0), event / event.sum())
    mix = model.request_age_mix(1.0, 1.0, 0.3)
    expected = 0.7 * event
    expected[:-1] += 0.3 * event[1:]
    expected[0] += 0.3 * event[0]
    np.testing.assert_allclose(mix, expected / event.sum())
    weighted = model.request_age_mix(2.0, 1.0, 0.3)
    young = list(range(5))
    assert weighted[young].sum() / weighted[5:].sum() == pytest.approx(2.0 * mix[young].sum() / mix[5:].sum())
    transfer = model.request_age_mix(1.0, 3.0, 0.3)  # ages 9-11 three times as heavy, the others in proportion
    np.testing.assert_allclose(transfer[9:12] / transfer[0], 3.0 * mix[9:12] / mix[0])
    np.testing.assert_allclose(transfer[12:] / transfer[0], mix[12:] / mix[0])
    assert transfer.sum() == pytest.approx(1.0)
    up = model.request_age_mix(1.0, 1.0, -0.3)  # a negative shift moves the share one age up
    expected = 0.7 * event
    expected[1:] += 0.3 * event[:-1]
    expected[-1] += 0.3 * event[-1]
    np.testing.assert_allclose(up, expected / event.sum())


def test_secondary_escalation_scales_escalation_at_ages_11_15_only(model):
    theta, phi = _centre(model)
    base = model.forecast_set(theta, phi)["move"].values[0]
    theta["escalation_secondary"] = 3.0
    moved = model.forecast_set(theta, phi)["move"].values[0]
    ms, sp, ind = codes.MAINSTREAM, codes.SPECIAL, codes.INDEPENDENT
    for age in range(codes.N_AGES):
        ratio = moved[age, ms, [sp, ind]] / np.where(base[age, ms, [sp, ind]] > 0, base[age, ms, [sp, ind]], 1.0)
        if age in range(11, 16):
            assert (ratio > 2.9).all(), age      # monthly from annual: close to, not exactly, 3
        else:
            np.testing.assert_allclose(moved[age, ms, [sp, ind]], base[age, ms, [sp, ind]], err_msg=str(age))


def test_no_place_ceasing_ratio_acts_at_16_19_without_a_place_only(model):
    theta, phi = _centre(model)
    phi.update({key: rate.mean for key, rate in model.rates.items() if key.startswith(("p_assess_", "p_decline_"))})
    base = model.forecast_set(theta, phi)
    np.testing.assert_array_equal(base["review_cease_ratio"].values, 1.0)  # at 1: ceasing by age alone
    theta["cease_16_19_no_place"] = 7.0
    for ps in (model.forecast_set(theta, phi), model.hindcast_set(theta, phi)):
        ratio = ps["review_cease_ratio"].values
        expected = np.ones(ratio.shape)
        expected[:, 16:20, codes.NO_PLACE] = 7.0
        np.testing.assert_array_equal(ratio, expected)
        np.testing.assert_array_equal(ps["review_cease"].values[0], base["review_cease"].values[0])


def test_nursery_requests_take_their_half_year_share(model):
    theta, phi = _centre(model)
    phi.update({key: rate.mean for key, rate in model.rates.items() if key.startswith(("p_assess_", "p_decline_"))})
    theta["nursery_requests_first_half"] = 0.8
    for ps in (model.forecast_set(theta, phi), model.hindcast_set(theta, phi)):
        share = ps["request_first_half_share"].values
        np.testing.assert_array_equal(share[:, :4], 0.8)
        np.testing.assert_array_equal(share[:, 4:], 0.5)  # the baseline's even spread elsewhere


def test_secondary_and_post16_arrivals_take_their_own_multipliers(model):
    theta, phi = _centre(model)
    phi.update({key: rate.mean for key, rate in model.rates.items() if key.startswith(("p_assess_", "p_decline_"))})
    base = model.forecast_set(theta, phi)["arrival_rate"].values[0]
    theta["arrivals_11_15"] = 0.5 * theta["arrivals"]
    theta["arrivals_16_25"] = 2.0 * theta["arrivals"]
    for ps in (model.forecast_set(theta, phi), model.hindcast_set(theta, phi)):
        changed = ps["arrival_rate"].values[0]
        np.testing.assert_allclose(changed[:11], base[:11])
        np.testing.assert_allclose(changed[11:16], 0.5 * base[11:16])
        np.testing.assert_allclose(changed[16:], 2.0 * base[16:])


def test_hindcast_uses_each_years_flows(model):
    theta, phi = _centre(model)
    phi.update({key: rate.mean for key, rate in model.rates.items() if key.startswith(("p_assess_", "p_decline_"))})
    theta["history_review_capacity"] = 0.5
    theta["backlog_team_reviews"] = 0.25
    ps = model.hindcast_set(theta, phi)
    years = [y.year for y in model.years]
    assert years == list(range(2019, 2024))
    totals = ps["request_rate"].values.sum(axis=1) * 12
    np.testing.assert_allclose(totals, [KENT.authority.request_count(y) for y in years])
    plans = [placement_history(KENT)[y].sum() for y in years]
    expected = [(0.5 + (0.25 if y == 2023 else 0.0)) * n / 12 for y, n in zip(years, plans)]
    np.testing.assert_allclose(ps["review_capacity"].values, expected)
    special = codes.PLACEMENTS.index("special")
    np.testing.assert_allclose(ps["places"].values[:, special],
                               [placement_history(KENT)[y + 1][special] for y in years])


def test_draws_file_round_trip_through_the_run_loader(model, rows, tmp_path):
    rng = np.random.default_rng(11)
    n = 3
    theta = space.from_unit(rng.random((n, len(space.SPACE))))
    phi = model.sample_rates(rng, n)
    sets = [model.forecast_set(theta_dict(theta[d]), {k: v[d] for k, v in phi.items()}) for d in range(n)]
    frame = draws_file.draws_frame(model.forecast_base, sets, rows)
    assert "review_cease@age=20-25" in frame.columns and "p_assess" in frame.columns
    assert not any(c.startswith("places") or c.startswith("unit_cost") for c in frame.columns)
    path = tmp_path / "draws.parquet"
    draws_file.write(frame, path)
    assert draws_file.verify(path, rows, sets, CALENDAR) <= draws_file.VERIFY_TOLERANCE


def test_age_runs_are_merged_only_where_every_draw_agrees():
    base = np.zeros(codes.N_AGES)
    draws = np.zeros((2, codes.N_AGES))
    draws[:, 3:6] = [[0.1], [0.2]]
    draws[0, 6], draws[1, 6] = 0.1, 0.3
    columns = dict(draws_file.parameter_columns("review_cease", base, draws))
    assert set(columns) == {"review_cease@age=3-5", "review_cease@age=6"}
    np.testing.assert_array_equal(columns["review_cease@age=6"], [0.1, 0.3])


def test_crps_and_coverage():
    assert backtest.crps(np.full(10, 5.0), 5.0) == pytest.approx(0.0)
    assert backtest.crps(np.array([0.0, 1.0]), 0.0) == pytest.approx(0.25)  # 0.5 - |0-1| / 4
    rng = np.random.default_rng(0)
    normal = rng.normal(size=40000)
    assert backtest.crps(normal, 0.0) == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi), abs=0.01)
    assert backtest.covered(normal, 0.5, 0.9) and not backtest.covered(normal, 2.5, 0.9)


def test_variance_split_recovers_known_components():
    rng = np.random.default_rng(1)
    draws, seeds = 2000, 8
    values = rng.normal(0, 3.0, size=(draws, 1)) + rng.normal(0, 1.0, size=(draws, seeds))
    result = variance.split(values, "y", "plans")
    assert result.parameter_variance == pytest.approx(9.0, rel=0.12)
    assert result.monte_carlo_variance == pytest.approx(1.0, rel=0.05)
    assert result.parameter_share == pytest.approx(0.9, abs=0.02)


def test_history_matching_finds_the_region_of_a_toy_model():
    """A toy simulator: two targets read the first two fitted parameters (on their unit scale)
    plus noise; the others are not identified and must keep their prior spread."""
    truth = np.array([0.3, 0.7])

    class Target:  # the few attributes the implausibility and the distance need
        def __init__(self, value):
            self.value, self.tolerance, self.weight = value, 0.15, 1.0

    targets = [Target(v) for v in truth]

    def evaluate(theta, phi):
        unit = space.to_unit(theta)[:, :2]
        noise = np.random.default_rng(0).normal(0, 0.01, size=(theta.shape[0], 3, 2))
        return unit[:, None, :] + noise

    result = history_matching.run(evaluate, lambda rng, n: {"x": rng.random(n)}, targets, proposals_per_wave=256,
                                  waves=3, final_accepted=100, max_final_proposals=256, seed=5, kind="kth", kth=1,
                                  log=lambda _: None)
    assert result.cutoff == history_matching.SIGMA_RULE
    assert result.weights.sum() == pytest.approx(1.0)
    unit = space.to_unit(result.theta)
    estimate = np.average(unit, axis=0, weights=result.weights)
    np.testing.assert_allclose(estimate[:2], truth, atol=0.03)
    assert (np.abs(unit[:, :2] - truth) <= 0.15 + 0.03).all()  # only non-implausible points (and noise)
    # Unidentified: the prior's centre, within sampling error of a weighted mean of uniforms
    # (sd sqrt(1/12) / sqrt(effective sample size); 3.5 sd keeps every one of ~20 within with
    # probability about 0.99).
    effective = 1.0 / np.sum(result.weights ** 2)
    np.testing.assert_allclose(estimate[2:], 0.5, atol=3.5 * np.sqrt(1 / 12 / effective))
    cutoffs = [w.cutoff for w in result.waves]
    assert all(b <= a for a, b in zip(cutoffs, cutoffs[1:]))  # adaptive: the cut-off never rises
    kernel = result.waves[-1].proposal.sigma
    assert (kernel[:2] < 0.2).all() and (kernel[2:] > 0.3).all()  # concentrated where identified only
