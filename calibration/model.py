"""From fitted parameters and directly observed rates to the engine's parameter sets.

A *proposal* is one row of fitted parameters (:mod:`calibration.space`) plus one joint draw
of the directly observed rates (:mod:`calibration.direct`). It gives two parameter sets:

* the **forecast** set, on top of the authority's base parameters (Kent's
  ``inputs/kent/parameters.csv``) from its census cohort (January 2024): exactly what the draws
  file encodes (:mod:`calibration.draws_file`);
* the **hindcast** set, from an earlier January (the origin) to the census: the same rates,
  except the flows SEN2 observed year by year (requests, decisions to assess, assessments
  completed, declines to issue), which are set from each calendar year's counts, review
  capacity (a fitted share of the plans), and maintained special and SRP places (those SEN2
  found filled the next January). In a backtest, years from the cutoff on are forecast (last
  known rates, requests, plans and places growing at the trends seen so far).

Parameter sets are built by replacing the values of the baseline set's arrays (same
effective dates), so every proposal compiles together with the others. Everything the model
knows of the authority comes from its :class:`~sendsim.inputs.derivation.Derivation` (SEN2
series, stated assumptions, local figures) and its base parameter rows: another authority needs
data, not code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sendsim.calibration import space
from sendsim.calibration.authority_targets import placement_history
from sendsim.calibration.direct import MAINSTREAM_FE_DESTINATIONS, SPECIALIST_DESTINATIONS, BetaRate, Rate, direct_rates
from sendsim.inputs.derivation import Derivation
from sendsim.inputs.parameters import ParameterRow, build_parameter_set
from sendsim.inputs.sen2.ages import shift_one_age
from sendsim.inputs.sen2.files import ASSESSMENTS, REQUESTS
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import ParameterSet, ParameterValues

# A review-cease probability is capped below one (a multiplier must not make ceasing certain).
MAX_REVIEW_CEASE = 0.95
# Capacity-limited placements. In the hindcast their places in a calendar year are the children
# SEN2 counted in them the next January (the capacity that was in fact filled; the commissioned
# places of earlier years are not in the data), so demand beyond what was filled overflows to
# independent placements or waits, as the parameters say.
CAPACITY_PLACEMENTS = ("srp", "special")
BAND_OF_CEASE_MULTIPLIER = {"cease_0_10": range(0, 11), "cease_11_15": range(11, 16), "cease_16_17": range(16, 18),
                            "cease_18_19": range(18, 20), "cease_20_25": range(20, 26)}
POST16_TRANSFER = codes.TRANSFERS.index("post16")
POST16_AGE_BEFORE = codes.TRANSFER_AGES[POST16_TRANSFER] - 1
# The year the annual-review backlog team ceased post-19 plans in bulk (Kent's return, Condition
# 3, and the SEN2 ceased-plans series break): the hindcast's ages 20-25 ceasing changes in its
# January. For every authority it is the first year of SEN2's person-level return; the fitted
# extra reviews of that year (backlog_team_reviews) may be none.
BACKLOG_TEAM_YEAR = 2023
YOUNG_REQUEST_AGES = range(0, 5)
# Ages (the nursery year and younger) whose requests take the fitted January-June share
# nursery_requests_first_half.
NURSERY_REQUEST_AGES = range(0, 4)
# Ages (Years 5-7) whose requests take the fitted weight transfer_requests in the request mix.
TRANSFER_REQUEST_AGES = range(9, 12)
SECONDARY_AGES = range(11, 16)
# Ages at which a review ceases the plan of a young person with no place (NEET) at a fitted
# ratio to the others of the same age (the fitted parameter cease_16_19_no_place).
NO_PLACE_CEASE_AGES = range(16, 20)
# Ages whose arrivals from other authorities take their own fitted multipliers (arrivals_11_15,
# arrivals_16_25); the other ages take arrivals.
SECONDARY_ARRIVAL_AGES = range(11, 16)
POST16_ARRIVAL_AGES = range(16, 26)
# Bisection steps on log(c) over [-30, 30]: 60 halvings leave an error below 1e-16.
BISECTION_STEPS = 60


@dataclass(frozen=True)
class YearFlows:
    """The flows of one calendar year in the hindcast, observed or forecast."""

    year: int
    requests: float
    p_assess: str | float     # id of a direct rate (observed year) or a value (forecast year)
    p_decline: str | float
    assessments_completed: float
    plans_in_january: float
    observed: bool
    places: dict[str, float]  # capacity-limited placement -> places in the year


def _year_rates(d: Derivation, year: int) -> tuple[BetaRate, BetaRate]:
    """Beta posteriors of the year's decision to assess and decline to issue (SEN2)."""
    requests = d.authority.request_count(year)
    refused = d.authority.request_count(year, "requests_decided_not_to_assess")
    agreed = d.authority.request_count(year, "requests_decided_to_assess")
    if agreed > 0:
        decided, how = agreed + refused, "requests_decided_to_assess + requests_decided_not_to_assess"
    else:  # before 2023 SEN2 has no count of decisions: every request counts as decided
        decided, how = requests, "requests_received_in_year (decisions not counted before 2023)"
    issued = d.authority.assessment_count(year, "assess_issued")
    not_issued = d.authority.assessment_count(year, "assess_not_issued")
    assess = BetaRate(f"p_assess_{year}", f"decision to assess, {year}", decided - refused, decided,
                      f"{REQUESTS}: 1 - requests_decided_not_to_assess / {how}, {d.name} {year}")
    decline = BetaRate(f"p_decline_{year}", f"decline to issue after assessment, {year}", not_issued,
                       issued + not_issued, f"{ASSESSMENTS}: assess_not_issued / (assess_issued + "
                       f"assess_not_issued), {d.name} {year}")
    return assess, decline


def history_plan(d: Derivation, origin: int, census: int, cutoff: int) -> tuple[list[YearFlows], dict[str, Rate]]:
    """The hindcast's years ``origin .. census - 1``: observed before ``cutoff``, forecast from it.

    A forecast year takes the last observed year's rates and completions, requests growing at
    the log-linear trend of the observed years (none with a single year), and January plans
    growing at the observed trend (for review capacity).
    """
    if not origin < cutoff <= census:
        raise ValueError(f"cutoff {cutoff} must lie after the origin {origin} and not after {census}")
    history = placement_history(d)
    plans = {year: float(v.sum()) for year, v in history.items()}
    filled = {name: {year: float(v[codes.PLACEMENTS.index(name)]) for year, v in history.items()}
              for name in CAPACITY_PLACEMENTS}
    rates: dict[str, Rate] = {}
    years: list[YearFlows] = []
    observed_years = list(range(origin, cutoff))
    for year in observed_years:
        assess, decline = _year_rates(d, year)
        rates[assess.id] = assess
        rates[decline.id] = decline
        completed = (d.authority.assessment_count(year, "assess_issued")
                     + d.authority.assessment_count(year, "assess_not_issued"))
        years.append(YearFlows(year, d.authority.request_count(year), assess.id, decline.id, completed, plans[year],
                               True, {name: filled[name][year + 1] for name in CAPACITY_PLACEMENTS}))
    known_requests = np.array([y.requests for y in years])
    request_trend = (math.exp(np.polyfit(np.arange(len(years)), np.log(known_requests), 1)[0])
                     if len(years) > 1 else 1.0)
    known_plans = [plans[y] for y in range(origin, cutoff + 1)]
    plans_trend = (known_plans[-1] / known_plans[0]) ** (1.0 / (len(known_plans) - 1))
    last = years[-1]
    span = cutoff - origin
    places_trend = {name: (filled[name][cutoff] / filled[name][origin]) ** (1.0 / span) for name in CAPACITY_PLACEMENTS}
    for year in range(cutoff, census):
        k = year - last.year
        years.append(YearFlows(year, last.requests * request_trend ** k, last.p_assess, last.p_decline,
                               last.assessments_completed, known_plans[-1] * plans_trend ** (year - cutoff), False,
                               {name: round(filled[name][cutoff] * places_trend[name] ** (year - cutoff + 1))
                                for name in CAPACITY_PLACEMENTS}))
    return years, rates


def _replace(values: ParameterValues, new_values: np.ndarray) -> ParameterValues:
    return ParameterValues(values.starts, np.asarray(new_values, dtype=np.float64))


def _with_cells(values: ParameterValues, cells: tuple, value: float) -> ParameterValues:
    """``values`` with the cells ``cells`` (an index after the epoch axis) set to ``value`` in
    every epoch."""
    new_values = values.values.copy()
    new_values[(slice(None),) + cells] = value
    return _replace(values, new_values)


class CalibrationModel:
    """Parameter sets of proposals for an authority's forecast (from the cohort month) and hindcast.

    Parameters
    ----------
    derivation
        The authority: its SEN2 series, stated assumptions and local figures (the directly
        observed rates, the hindcast's yearly flows and the shapes the rates are spread over).
    base_rows
        Rows of the authority's base parameters (Kent: ``inputs/kent/parameters.csv``, and any
        overrides) under every proposal.
    forecast
        Calendar of the forecast segment (starts at the cohort month).
    hindcast
        Calendar of the hindcast (starts at the origin January, ends at the cohort month), or
        None for a forecast-only model.
    cutoff
        First calendar year of the hindcast that is forecast rather than observed (the
        cohort year for a calibration; earlier for a backtest).
    """

    def __init__(self, derivation: Derivation, base_rows: list[ParameterRow], forecast: Calendar,
                 hindcast: Calendar | None = None, cutoff: int | None = None) -> None:
        self.derivation = derivation
        self.base_rows = base_rows
        self.forecast = forecast
        self.hindcast = hindcast
        self.rates: dict[str, Rate] = direct_rates(derivation)
        self.forecast_base = build_parameter_set(base_rows, forecast)
        self.years: list[YearFlows] = []
        self.hindcast_base: ParameterSet | None = None
        if hindcast is not None:
            census = forecast.start_year
            self.years, year_rates = history_plan(derivation, hindcast.start_year, census,
                                                  census if cutoff is None else cutoff)
            self.rates.update(year_rates)
            self.hindcast_base = self._hindcast_base(build_parameter_set(base_rows, hindcast))
        x = derivation.crosstab().astype(float)
        self._post16_weights = x[POST16_AGE_BEFORE] / x[POST16_AGE_BEFORE].sum()

    # ---- the hindcast's own effective dates --------------------------------------------------
    def _hindcast_calendar(self) -> Calendar:
        if self.hindcast is None:
            raise ValueError("the calibration model was made without a hindcast calendar")
        return self.hindcast

    def _year_starts(self) -> np.ndarray:
        calendar = self._hindcast_calendar()
        return np.array([calendar.month_index(y.year, 1) for y in self.years], dtype=np.int64)

    def _hindcast_base(self, base: ParameterSet) -> ParameterSet:
        starts = self._year_starts()
        n = starts.shape[0]
        out = dict(base)
        shape_requests = base["request_rate"].values[0]
        for name, shape in (("request_rate", shape_requests.shape), ("p_assess", ()), ("p_decline", ()),
                            ("assessment_capacity", ()), ("review_capacity", ())):
            out[name] = ParameterValues(starts, np.zeros((n,) + shape))
        out["request_growth"] = ParameterValues(np.array([0]), np.zeros(1))
        hindcast = self._hindcast_calendar()
        backlog = hindcast.month_index(BACKLOG_TEAM_YEAR, 1)
        if 0 < backlog < hindcast.n_months:
            cease = base["review_cease"].values[:1]
            out["review_cease"] = ParameterValues(np.array([0, backlog]), np.concatenate([cease, cease]))
        places = np.repeat(base["places"].values[:1], n, axis=0)
        ceiling = np.repeat(base["max_occupancy"].values[:1], n, axis=0)
        for name in CAPACITY_PLACEMENTS:
            p = codes.PLACEMENTS.index(name)
            places[:, p] = [y.places[name] for y in self.years]
            ceiling[:, p] = 1.0
        out["places"] = ParameterValues(starts, places)
        out["max_occupancy"] = ParameterValues(starts, ceiling)
        return out

    # ---- proposals -> parameter sets -------------------------------------------------------------
    def _shared(self, base: ParameterSet, theta: dict[str, float], phi: dict[str, np.ndarray]) -> ParameterSet:
        """Overrides common to the forecast and the hindcast: the rates that do not change by year."""
        d = self.derivation
        ps = dict(base)
        cease = base["review_cease"].values.copy()
        for (low, high), *_ in d.review_cease_counts():
            multiplier = next(theta[name] for name, ages in BAND_OF_CEASE_MULTIPLIER.items() if low in ages)
            cease[:, low:high + 1] = min(float(phi[f"review_cease_{low}_{high}"]) * multiplier, MAX_REVIEW_CEASE)
        ps["review_cease"] = _replace(base["review_cease"], cease)
        ps["review_cease_ratio"] = _with_cells(base["review_cease_ratio"], (
            list(NO_PLACE_CEASE_AGES), codes.PLACEMENTS.index("no_place")), theta["cease_16_19_no_place"])
        ps["request_first_half_share"] = _with_cells(base["request_first_half_share"], (list(NURSERY_REQUEST_AGES),),
                                                     theta["nursery_requests_first_half"])
        reasons = base["cease_reason"].values.copy()
        for (low, high), *_ in d.review_cease_counts():
            reasons[:, low:high + 1] = phi[f"cease_reason_{low}_{high}"]
        ps["cease_reason"] = _replace(base["cease_reason"], reasons)
        moved = [float(phi[f"moved_away_{low}_{high}"]) for low, high in d.assumptions.RATE_POOLS]
        escalation = np.full(codes.N_AGES, float(phi["escalation_mi"]) * theta["escalation"])
        escalation[list(SECONDARY_AGES)] *= theta["escalation_secondary"]
        change, other = d.transition_rates_for(escalation, d.assumptions.MAINSTREAM_TO_SRP_RATE * theta["srp_entry"],
                                               float(phi["reintegration"]), moved)
        move = d.move_matrix_for(change, other)
        review_change, review_move = d.review_change_and_move_for(change)
        ps["move"] = _replace(base["move"], np.broadcast_to(move, base["move"].values.shape))
        ps["review_change"] = _replace(base["review_change"],
                                       np.broadcast_to(review_change, base["review_change"].values.shape))
        ps["review_move"] = _replace(base["review_move"],
                                     np.broadcast_to(review_move, base["review_move"].values.shape))
        arrivals = np.full(codes.N_AGES, theta["arrivals"])
        arrivals[list(SECONDARY_ARRIVAL_AGES)] = theta["arrivals_11_15"]
        arrivals[list(POST16_ARRIVAL_AGES)] = theta["arrivals_16_25"]
        ps["arrival_rate"] = _replace(base["arrival_rate"], base["arrival_rate"].values * arrivals)
        ps["overflow_independent"] = _with_cells(base["overflow_independent"], (codes.PLACEMENTS.index("special"),),
                                                 theta["overflow_independent"])
        first = base["first_placement"].values.copy()
        for (low, high), _, _ in d.first_placement_counts():
            first[:, low:high + 1, :, :] = phi[f"first_placement_{low}_{high}"]
        ps["first_placement"] = _replace(base["first_placement"], first)
        priority = np.zeros(base["assessment_priority_months"].values.shape)
        priority[:, list(YOUNG_REQUEST_AGES)] = float(round(theta["young_assessment_priority"]))  # whole months
        ps["assessment_priority_months"] = _replace(base["assessment_priority_months"], priority)
        ps["assessment_min_months"] = _replace(base["assessment_min_months"], np.full(
            base["assessment_min_months"].values.shape, float(round(theta["assessment_min_months"]))))
        ps["p_appeal_refusal"] = _replace(
            base["p_appeal_refusal"], np.full(base["p_appeal_refusal"].values.shape, float(phi["p_appeal_refusal"])))
        appeal_decline = (float(phi["assessment_appeals_per_decline"])
                          * d.assumptions.DECLINE_SHARE_OF_ASSESSMENT_APPEALS)
        ps["p_appeal_decline"] = _replace(base["p_appeal_decline"],
                                          np.full(base["p_appeal_decline"].values.shape, min(appeal_decline, 1.0)))
        return ps

    def request_age_mix(self, young_weight: float, transfer_weight: float, age_shift: float) -> np.ndarray:
        """The academic-age mix of requests (sums to 1): SEN2's activity-year requests by age at
        the request, the share ``age_shift`` of each age moved one academic age down (``age_shift``
        > 0) or the share ``-age_shift`` moved one age up (< 0), ages 0-4 then weighted by
        ``young_weight`` and ages 9-11 by ``transfer_weight``."""
        mix = shift_one_age(self.derivation.requests_by_event_age(), age_shift)
        mix[list(YOUNG_REQUEST_AGES)] *= young_weight
        mix[list(TRANSFER_REQUEST_AGES)] *= transfer_weight
        return mix / mix.sum()

    def _post16_transfer(self, values: np.ndarray, share: float) -> np.ndarray:
        """The post-16 phase-transfer rows rescaled so that, over the placements at 15, the share
        of mainstream/SRP/FE among mainstream/SRP/FE and specialist destinations is ``share``.

        Each row keeps its mass to alternative and no place and its mass to mainstream-type plus
        specialist destinations; the mainstream-type cells are multiplied by one factor (found
        by bisection) and the specialist cells take the rest of that mass.
        """
        out = values.copy()
        mainstream = [codes.PLACEMENTS.index(p) for p in MAINSTREAM_FE_DESTINATIONS]
        specialist = [codes.PLACEMENTS.index(p) for p in SPECIALIST_DESTINATIONS]
        weights = self._post16_weights
        rows = values[:, POST16_TRANSFER]                       # [E, N, P, P]
        g = rows[..., mainstream].sum(axis=-1)                   # [E, N, P]
        s = rows[..., specialist].sum(axis=-1)
        mass = (weights * (g + s)).sum(axis=-1)                  # [E, N]

        def scale_of(c: np.ndarray) -> np.ndarray:
            denominator = c[..., None] * g + s
            return np.divide(g + s, denominator, out=np.zeros_like(g), where=denominator > 0)

        # Bisection on log c, all epochs and needs at once (the aggregate rises with c).
        low = np.full(mass.shape, -30.0)
        high = np.full(mass.shape, 30.0)
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (low + high)
            c = np.exp(mid)
            aggregate = np.divide((weights * c[..., None] * g * scale_of(c)).sum(axis=-1), mass,
                                  out=np.zeros_like(mass), where=mass > 0)
            below = aggregate < share
            low = np.where(below, mid, low)
            high = np.where(below, high, mid)
        c = np.exp(0.5 * (low + high))
        scale = scale_of(c)
        new = rows.copy()
        new[..., mainstream] = rows[..., mainstream] * (c[..., None] * scale)[..., None]
        new[..., specialist] = rows[..., specialist] * scale[..., None]
        out[:, POST16_TRANSFER] = new
        return out

    def post16_share(self, values: np.ndarray) -> float:
        """The aggregate post-16 mainstream/FE share of phase-transfer values (first epoch, first need)."""
        rows = values[0, POST16_TRANSFER, 0]
        mainstream = [codes.PLACEMENTS.index(p) for p in MAINSTREAM_FE_DESTINATIONS]
        specialist = [codes.PLACEMENTS.index(p) for p in SPECIALIST_DESTINATIONS]
        g = (self._post16_weights * rows[:, mainstream].sum(axis=1)).sum()
        s = (self._post16_weights * rows[:, specialist].sum(axis=1)).sum()
        return float(g / (g + s))

    def forecast_set(self, theta: dict[str, float], phi: dict[str, np.ndarray]) -> ParameterSet:
        """The forecast parameter set of one proposal (what the draws file encodes)."""
        base = self.forecast_base
        ps = self._shared(base, theta, phi)
        # The seed's post-16 offers (April 2024) are the September 2024 transfer: the forecast's.
        # The hindcast's earlier Septembers take a fitted share (hindcast_set).
        ps["phase_transfer"] = _replace(base["phase_transfer"],
                                        self._post16_transfer(base["phase_transfer"].values,
                                                              float(phi["post16_mainstream_fe"])))
        ps["request_growth"] = _replace(base["request_growth"],
                                        np.full(base["request_growth"].values.shape, theta["request_growth"]))
        rates = base["request_rate"].values
        totals = rates.sum(axis=-1, keepdims=True)
        ps["request_rate"] = _replace(base["request_rate"], self.request_age_mix(
            theta["young_requests"], theta["transfer_requests"], theta["request_age_shift"])[None, :] * totals)
        capacity = base["assessment_capacity"].values.copy()
        capacity[0] = capacity[0] * theta["assessment_capacity"]
        ps["assessment_capacity"] = _replace(base["assessment_capacity"], capacity)
        ps["review_capacity"] = _replace(base["review_capacity"], base["review_capacity"].values
                                         * theta["review_capacity"])
        for name in ("p_assess", "p_decline"):
            ps[name] = _replace(base[name], np.full(base[name].values.shape, float(phi[name])))
        return ps

    def hindcast_set(self, theta: dict[str, float], phi: dict[str, np.ndarray]) -> ParameterSet:
        """The hindcast parameter set of one proposal."""
        if self.hindcast_base is None:
            raise ValueError("this model has no hindcast")
        ps = self._shared(self.hindcast_base, theta, phi)
        requests_shape = self.request_age_mix(theta["young_requests"], theta["transfer_requests"],
                                              theta["request_age_shift"])
        return self.hindcast_overrides(ps, theta, phi, requests_shape)

    def hindcast_overrides(self, ps: ParameterSet, theta: dict[str, float], phi: dict[str, np.ndarray],
                           requests_shape: np.ndarray) -> ParameterSet:
        """The hindcast's own values on top of ``ps`` (a parameter set with the shared rates and
        the hindcast base's effective dates): ages 20-25 ceasing before the backlog team's year,
        the post-16 share before 2024, each year's requests (spread over ages by
        ``requests_shape``), decisions, declines, assessments and reviews.

        Parameters
        ----------
        theta
            Fitted values; the hindcast reads ``cease_20_25_before_2023``,
            ``post16_mainstream_fe_before_2024``, ``history_review_capacity`` and
            ``backlog_team_reviews``.
        phi
            Directly observed rates; the hindcast reads each observed year's ``p_assess_YYYY``
            and ``p_decline_YYYY``.
        """
        if self.hindcast_base is None:
            raise ValueError("this model has no hindcast")
        base = self.hindcast_base
        ps = dict(ps)
        n = len(self.years)
        if ps["review_cease"].values.shape[0] > 1:  # ages 20-25 before the backlog team's year
            cease = ps["review_cease"].values.copy()
            ages = list(BAND_OF_CEASE_MULTIPLIER["cease_20_25"])
            cease[0, ages] = np.minimum(cease[0, ages] * theta["cease_20_25_before_2023"], MAX_REVIEW_CEASE)
            ps["review_cease"] = _replace(ps["review_cease"], cease)
        ps["phase_transfer"] = _replace(base["phase_transfer"], self._post16_transfer(
            base["phase_transfer"].values, theta["post16_mainstream_fe_before_2024"]))
        ps["request_rate"] = _replace(base["request_rate"],
                                      np.stack([requests_shape * y.requests / 12.0 for y in self.years]))
        ps["p_assess"] = _replace(base["p_assess"], np.array([_value(y.p_assess, phi) for y in self.years]))
        ps["p_decline"] = _replace(base["p_decline"], np.array([_value(y.p_decline, phi) for y in self.years]))
        ps["assessment_capacity"] = _replace(base["assessment_capacity"],
                                             np.array([y.assessments_completed / 12.0 for y in self.years]))
        ps["review_capacity"] = _replace(base["review_capacity"], np.array(
            [(theta["history_review_capacity"]
              + (theta["backlog_team_reviews"] if y.year == BACKLOG_TEAM_YEAR else 0.0))
             * y.plans_in_january / 12.0 for y in self.years]))
        assert ps["request_rate"].values.shape[0] == n
        return ps

    def sample_rates(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """``n`` joint draws of the directly observed rates (this model's, incl. yearly ones)."""
        return {key: rate.sample(rng, n) for key, rate in self.rates.items()}


def _value(reference: str | float, phi: dict[str, np.ndarray]) -> float:
    return float(phi[reference]) if isinstance(reference, str) else float(reference)


def theta_dict(values: np.ndarray) -> dict[str, float]:
    """A row of fitted-parameter values as a name -> value dict."""
    return {name: float(v) for name, v in zip(space.NAMES, values)}


def phi_row(phi: dict[str, np.ndarray], d: int) -> dict[str, np.ndarray]:
    """Draw ``d`` of every directly observed rate."""
    return {key: values[d] for key, values in phi.items()}
