"""Hand-built parameter sets and cohorts for tests (dense arrays, no files)."""
from __future__ import annotations

import numpy as np

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort
from sendsim.simcore.model import SCHEMA, ParameterValues, compile_model, parameter_shape

P, N, A = codes.N_PLACEMENTS, codes.N_NEEDS, codes.N_AGES


def _point(name: str, value) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), parameter_shape(name)).copy()


def identity_distribution(name: str) -> np.ndarray:
    """A distribution parameter where the destination equals the current placement."""
    values = np.zeros(parameter_shape(name))
    dims = SCHEMA[name].dims
    src = dims.index("placement")
    for p in range(P):
        index = [slice(None)] * len(dims)
        index[src] = p
        index[-1] = p
        values[tuple(index)] = 1.0
    return values


def one_hot(name: str, code: int) -> np.ndarray:
    values = np.zeros(parameter_shape(name))
    values[..., code] = 1.0
    return values


def quiet_parameters() -> dict[str, np.ndarray]:
    """A parameter set in which nothing happens: no requests, arrivals, moves or reviews;
    phase transfers keep the placement. Tests switch on one rule at a time."""
    move = np.zeros(parameter_shape("move"))
    for p in range(P):
        move[:, p, p] = 1.0
    values = {
        "request_rate": _point("request_rate", 0.0),
        "request_growth": _point("request_growth", 0.0),
        "request_first_half_share": _point("request_first_half_share", 0.5),
        "request_need_share": one_hot("request_need_share", 0),
        "decision_hazard": _point("decision_hazard", 1.0),
        "p_assess": _point("p_assess", 1.0),
        "p_appeal_refusal": _point("p_appeal_refusal", 0.0),
        "p_appeal_decline": _point("p_appeal_decline", 0.0),
        "tribunal_hazard": _point("tribunal_hazard", 0.0),
        "p_tribunal_win": _point("p_tribunal_win", 0.0),
        "assessment_capacity": _point("assessment_capacity", 0.0),
        "assessment_min_months": _point("assessment_min_months", 0.0),
        "assessment_priority_months": _point("assessment_priority_months", 0.0),
        "p_decline": _point("p_decline", 0.0),
        "first_placement": one_hot("first_placement", codes.MAINSTREAM),
        "review_capacity": _point("review_capacity", 0.0),
        "review_cease": _point("review_cease", 0.0),
        "review_cease_ratio": _point("review_cease_ratio", 1.0),
        "review_change": _point("review_change", 0.0),
        "review_move": identity_distribution("review_move"),
        "cease_reason": one_hot("cease_reason", codes.REASON_NEEDS_MET),
        "move": move,
        "step_down": _point("step_down", 0.0),
        "places": _point("places", -1.0),
        "max_occupancy": _point("max_occupancy", 1.0),
        "overflow_independent": _point("overflow_independent", 0.0),
        "phase_transfer": identity_distribution("phase_transfer"),
        "arrival_rate": _point("arrival_rate", 0.0),
        "arrival_placement": one_hot("arrival_placement", codes.MAINSTREAM),
        "arrival_need_share": one_hot("arrival_need_share", 0),
        "unit_cost": _point("unit_cost", 12000.0),
        "cost_spread": _point("cost_spread", 0.0),
        "place_soft_mid": _point("place_soft_mid", 1.0),
        "place_soft_width": _point("place_soft_width", 0.0),
        "other_la_share": _point("other_la_share", 0.0),
        "other_la_placement": _point("other_la_placement", 0.0),
        "other_la_cost_ratio": _point("other_la_cost_ratio", 1.0),
        "p_placement_appeal": _point("p_placement_appeal", 0.0),
        "placement_appeal_hazard": _point("placement_appeal_hazard", 0.0),
        "p_placement_appeal_win": _point("p_placement_appeal_win", 0.0),
    }
    return values


def parameter_set(values: dict[str, np.ndarray], dated: dict[str, list[tuple[int, np.ndarray]]] | None = None
                  ) -> dict[str, ParameterValues]:
    """Wrap dense values (constant in time) as a parameter set; ``dated`` adds later epochs:
    name -> [(start month, values), ...]."""
    out = {}
    for name in SCHEMA:
        starts, arrays = [0], [np.asarray(values[name], dtype=float)]
        for start, array in (dated or {}).get(name, []):
            starts.append(start)
            arrays.append(np.broadcast_to(np.asarray(array, dtype=float), parameter_shape(name)))
        out[name] = ParameterValues(np.array(starts, dtype=np.int64), np.stack(arrays))
    return out


def compile_values(values, calendar: Calendar, dated=None):
    return compile_model([parameter_set(values, dated)], calendar.n_months, calendar.start_calendar_month)


def cohort(rows: list[dict], calendar: Calendar) -> Cohort:
    """Cohort from dicts with keys: age (academic, at the start), placement, need (default 0),
    status (default active), msr, stage, waiting, cost, key."""
    year, month = calendar.year_month(0)
    august_year = year if month >= 9 else year - 1
    birth = []
    for row in rows:
        # Born in January of the year that gives the requested academic age.
        birth.append((august_year - row["age"]) * 12 + 0)
    n = len(rows)
    return Cohort(
        child_key=np.array([row.get("key", i) for i, row in enumerate(rows)]),
        birth_month=np.array(birth),
        placement=np.array([row.get("placement", codes.MAINSTREAM) for row in rows]),
        need=np.array([row.get("need", 0) for row in rows]),
        status=np.array([row.get("status", codes.ACTIVE) for row in rows]),
        months_since_review=np.array([row.get("msr", 0) for row in rows]),
        stage_months=np.array([row.get("stage", 0) for row in rows]),
        waiting_for=np.array([row.get("waiting", codes.NO_WAIT) for row in rows]),
        annual_cost_gbp=np.array([row.get("cost", -1) for row in rows]),
    ) if n else None


def random_parameters(rng: np.random.Generator, *, capacity: bool = True) -> dict[str, np.ndarray]:
    """A random, valid, busy parameter set: every rule fires now and then."""
    def dist(name, concentration=1.0):
        x = rng.gamma(concentration, size=parameter_shape(name))
        return x / x.sum(axis=-1, keepdims=True)

    move = rng.random(parameter_shape("move")) * 0.03
    for p in range(P):
        move[:, p, p] = 0.0
        move[:, p, p] = 1.0 - move[:, p].sum(axis=-1)
    places = np.full(P, -1.0)
    if capacity:
        places[codes.SRP] = rng.integers(0, 6)
        places[codes.SPECIAL] = rng.integers(0, 8)
    return {
        "request_rate": rng.random(A) * 0.3,
        "request_growth": _point("request_growth", rng.uniform(-0.1, 0.3)),
        "request_need_share": dist("request_need_share"),
        "decision_hazard": _point("decision_hazard", rng.uniform(0.2, 1.0)),
        "p_assess": _point("p_assess", rng.uniform(0.2, 0.9)),
        "p_appeal_refusal": _point("p_appeal_refusal", rng.uniform(0, 0.6)),
        "p_appeal_decline": _point("p_appeal_decline", rng.uniform(0, 0.6)),
        "tribunal_hazard": _point("tribunal_hazard", rng.uniform(0.1, 0.6)),
        "p_tribunal_win": _point("p_tribunal_win", rng.uniform(0.3, 1.0)),
        "assessment_capacity": _point("assessment_capacity", rng.integers(0, 4)),
        "assessment_min_months": _point("assessment_min_months", rng.integers(0, 4)),
        "p_decline": _point("p_decline", rng.uniform(0, 0.5)),
        "first_placement": dist("first_placement"),
        "review_capacity": _point("review_capacity", rng.integers(0, 6)),
        "review_cease": rng.random(A) * 0.3,
        "review_change": rng.random(A) * 0.5,
        "review_move": dist("review_move"),
        "cease_reason": dist("cease_reason"),
        "move": move,
        "step_down": _point("step_down", rng.uniform(0, 0.3)),
        "places": places,
        "max_occupancy": _point("max_occupancy", 1.0),
        "overflow_independent": rng.random(P),
        "phase_transfer": dist("phase_transfer", 0.5),
        "arrival_rate": rng.random(A) * 0.05,
        "arrival_placement": dist("arrival_placement"),
        "arrival_need_share": dist("arrival_need_share"),
        "unit_cost": rng.uniform(1000, 90000, parameter_shape("unit_cost")).round(),
        "cost_spread": rng.uniform(0, 0.8, (A, P)),
        "assessment_priority_months": rng.integers(0, 4, A).astype(float),
        "review_cease_ratio": rng.uniform(0.0, 4.0, (A, P)),
        "request_first_half_share": rng.uniform(0.1, 0.9, A),
        # Own and other authorities' places: a soft limit (a wall for about a third of the sets).
        "place_soft_mid": rng.uniform(0.3, 1.3, P),
        "place_soft_width": rng.uniform(0.02, 0.5, P) * (rng.random(P) < 0.67),
        "other_la_share": rng.uniform(0.0, 0.5, P),
        "other_la_placement": rng.uniform(0.0, 0.6, P) * (rng.random(P) < 0.67),
        "other_la_cost_ratio": rng.uniform(0.5, 2.0, P),
        # Placement appeals after phase transfers and reviews.
        "p_placement_appeal": rng.random((A, P)) * 0.3,
        "placement_appeal_hazard": _point("placement_appeal_hazard", rng.uniform(0.1, 0.6)),
        "p_placement_appeal_win": _point("p_placement_appeal_win", rng.uniform(0.3, 1.0)),
    }


def random_cohort(rng: np.random.Generator, n: int, calendar: Calendar) -> Cohort:
    """Random opening records, including pipeline records and children waiting for places."""
    rows = []
    for i in range(n):
        status = rng.choice([codes.ACTIVE] * 6 + [codes.REQUEST_PENDING, codes.ASSESSMENT, codes.APPEAL_REFUSAL,
                                                  codes.APPEAL_DECLINE])
        row = {"age": int(rng.integers(0, 26)), "need": int(rng.integers(0, N)), "status": int(status),
               "msr": int(rng.integers(0, 30)), "stage": int(rng.integers(0, 5)), "key": int(i * 7 + 3)}
        if status == codes.ACTIVE:
            row["placement"] = int(rng.integers(0, P))
            if rng.random() < 0.1:
                row["waiting"] = int(rng.choice(codes.CAPACITY_LIMITED))
            if rng.random() < 0.3:
                row["cost"] = int(rng.integers(0, 100000))
        else:
            row["placement"] = -1
        rows.append(row)
    return cohort(rows, calendar)
