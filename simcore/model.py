"""The parameters the engine needs: their schema, and their compiled (kernel) form.

A *parameter set* is a dict ``name -> ParameterValues``: for each parameter, a dense array
with a leading epoch axis (one slice per effective date) over the dimensions in
:data:`SCHEMA`. The inputs layer builds parameter sets from CSV files, scenario overrides or
calibration draws; :func:`compile_model` turns one or more parameter sets sharing the same
calendar into :class:`ModelArrays`, the tuple of arrays the numba kernel reads (cumulative
rows for inverse-CDF lookups, month-by-month capacities).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sendsim.simcore import codes

# Dimension name -> size. "to" is the destination placement; "to_move" adds "moved_away".
DIMENSIONS: dict[str, int] = {
    "age": codes.N_AGES,
    "need": codes.N_NEEDS,
    "placement": codes.N_PLACEMENTS,
    "to": codes.N_PLACEMENTS,
    "to_move": codes.N_PLACEMENTS + 1,
    "transfer": codes.N_TRANSFERS,
    "reason": codes.N_CEASE_REASONS,
}
DIMENSION_LABELS: dict[str, tuple[str, ...]] = {
    "age": tuple(str(a) for a in range(codes.N_AGES)),
    "need": codes.NEEDS,
    "placement": codes.PLACEMENTS,
    "to": codes.PLACEMENTS,
    "to_move": codes.MOVE_DESTINATIONS,
    "transfer": codes.TRANSFERS,
    "reason": codes.CEASE_REASONS,
}


@dataclass(frozen=True)
class ParameterSpec:
    """What one parameter is: its dimensions, its kind (which fixes the valid range), whether
    its last dimension is a probability distribution, and what it means."""

    name: str
    dims: tuple[str, ...]
    kind: str  # a key of KIND_RANGES: it fixes the valid range
    description: str
    distribution: bool = False  # last dimension sums to 1
    optional_default: float | None = None  # cells not given take this value (None: required)


_SPECS = (
    # Assessment pipeline
    ParameterSpec("request_rate", ("age",), "rate",
                  "requests for an EHC needs assessment received per month, by academic age"),
    ParameterSpec("request_first_half_share", ("age",), "probability",
                  "share of a year's requests at this academic age received from January to June (request_rate is "
                  "their monthly average): 0.5 is evenly over the year", optional_default=0.5),
    ParameterSpec("request_growth", (), "growth",
                  "annual growth of the request rate (0.05 = +5% a year), compounded monthly"),
    ParameterSpec("request_need_share", ("age", "need"), "probability",
                  "primary need of a new request, by academic age", distribution=True),
    ParameterSpec("decision_hazard", (), "probability",
                  "monthly probability that a pending request gets its decision to assess"),
    ParameterSpec("p_assess", (), "probability", "probability that a decided request is agreed for assessment"),
    ParameterSpec("p_appeal_refusal", (), "probability",
                  "probability that a refusal to assess is appealed to the SEND Tribunal"),
    ParameterSpec("p_appeal_decline", (), "probability",
                  "probability that a decision not to issue a plan is appealed"),
    ParameterSpec("tribunal_hazard", (), "probability", "monthly probability that a lodged appeal is decided"),
    ParameterSpec("p_tribunal_win", (), "probability", "probability that the tribunal decides for the family"),
    ParameterSpec("assessment_capacity", (), "count", "EHC needs assessments the authority completes per month"),
    ParameterSpec("assessment_min_months", (), "months",
                  "months from the decision to assess before an assessment can be completed"),
    ParameterSpec("assessment_priority_months", ("age",), "months",
                  "months added to the wait of an assessment of a child of this age when the month's completions "
                  "are chosen (longest wait first): 0 for every age is first come, first served",
                  optional_default=0.0),
    ParameterSpec("p_placement_appeal", ("age", "placement"), "probability",
                  "probability that the family appeals against the placement named at a phase transfer or an annual "
                  "review (by academic age and the placement named), seeking an independent placement",
                  optional_default=0.0),
    ParameterSpec("placement_appeal_hazard", (), "probability",
                  "monthly probability that a lodged placement appeal is decided", optional_default=0.0),
    ParameterSpec("p_placement_appeal_win", (), "probability",
                  "probability that the tribunal decides a placement appeal for the family (placed where sought)",
                  optional_default=0.0),
    ParameterSpec("p_decline", (), "probability",
                  "probability that a completed assessment ends in a decision not to issue"),
    ParameterSpec("first_placement", ("age", "need", "to"), "probability",
                  "placement named in a new plan, by academic age and need", distribution=True),
    # Annual reviews
    ParameterSpec("review_capacity", (), "count", "annual reviews the authority completes per month"),
    ParameterSpec("review_cease", ("age",), "probability", "probability that an annual review ceases the plan"),
    ParameterSpec("review_cease_ratio", ("age", "placement"), "ratio",
                  "ratio of the probability that a review ceases the plan of a child in this placement to "
                  "review_cease at this age (the product capped at 1): 1 everywhere is ceasing by age alone",
                  optional_default=1.0),
    ParameterSpec("review_change", ("age",), "probability",
                  "probability that a review which keeps the plan changes the placement"),
    ParameterSpec("review_move", ("age", "placement", "to"), "probability",
                  "new placement when a review changes it, by age and current placement", distribution=True),
    ParameterSpec("cease_reason", ("age", "reason"), "probability",
                  "reason recorded when a review ceases a plan", distribution=True),
    # Between reviews
    ParameterSpec("move", ("age", "placement", "to_move"), "probability",
                  "monthly transition between reviews: stay, change placement, or move away", distribution=True),
    ParameterSpec("step_down", (), "probability",
                  "monthly probability that a child in an independent placement takes a free maintained special place"),
    # Capacity
    ParameterSpec("places", ("placement",), "places",
                  "commissioned places (-1 = no limit)", optional_default=-1.0),
    ParameterSpec("max_occupancy", ("placement",), "fraction",
                  "occupancy ceiling as a fraction of commissioned places", optional_default=1.0),
    ParameterSpec("overflow_independent", ("placement",), "probability",
                  "when no place of this placement is found (neither in the authority's own schools nor in "
                  "another authority's): probability of an independent placement instead of waiting",
                  optional_default=0.0),
    ParameterSpec("place_soft_mid", ("placement",), "fraction",
                  "soft limit of the authority's own places: the occupancy (a fraction of the month's capacity, "
                  "places x max_occupancy) at which an in-year request (not a phase transfer) gets a place with "
                  "probability 1/2; free places go to children waiting, or stepping down, only up to this "
                  "occupancy (at most the capacity)", optional_default=1.0),
    ParameterSpec("place_soft_width", ("placement",), "fraction",
                  "soft limit: logistic scale of the chance of an in-year place in occupancy (fraction of capacity): "
                  "1 / (1 + exp((occupancy - place_soft_mid) / width)) below capacity, 0 at capacity; 0 is a wall "
                  "at capacity (phase transfers always meet the wall only: the admission round goes first)",
                  optional_default=0.0),
    ParameterSpec("other_la_share", ("placement",), "probability",
                  "share of the opening plans in this placement whose place is in another authority's school "
                  "(it does not take one of the authority's own places)", optional_default=0.0),
    ParameterSpec("other_la_placement", ("placement",), "probability",
                  "when a child is refused one of the authority's own places: probability of a place of the same "
                  "kind in another authority's school (else overflow_independent decides)", optional_default=0.0),
    ParameterSpec("other_la_cost_ratio", ("placement",), "ratio",
                  "annual cost of a place in another authority's school as a ratio of unit_cost",
                  optional_default=1.0),
    # Phase transfer
    ParameterSpec("phase_transfer", ("transfer", "need", "placement", "to"), "probability",
                  "placement chosen afresh at a phase transfer, by need and current placement", distribution=True),
    # Arrivals
    ParameterSpec("arrival_rate", ("age",), "rate",
                  "children with plans arriving from other authorities per month, by academic age"),
    ParameterSpec("arrival_placement", ("age", "to"), "probability", "placement of an arrival", distribution=True),
    ParameterSpec("arrival_need_share", ("age", "need"), "probability", "primary need of an arrival",
                  distribution=True),
    # Cost
    ParameterSpec("unit_cost", ("age", "placement", "need"), "gbp",
                  "annual high-needs cost of a placement at base-year prices (GBP a year), by academic age at the "
                  "time the placement is taken"),
    ParameterSpec("cost_spread", ("age", "placement"), "sigma",
                  "log-scale spread of the per-child cost multiplier (mean 1, lognormal)", optional_default=0.0),
)
SCHEMA: dict[str, ParameterSpec] = {spec.name: spec for spec in _SPECS}

# Valid range of each kind: (low, high, integer?)
KIND_RANGES: dict[str, tuple[float, float, bool]] = {
    "probability": (0.0, 1.0, False),
    "rate": (0.0, 10_000.0, False),  # a Poisson mean a month: the range the generator is tested for
    "count": (0.0, 1e9, False),
    "months": (0.0, 600.0, True),
    "fraction": (0.0, 10.0, False),
    "growth": (-0.99, 10.0, False),
    "gbp": (0.0, 1e9, False),
    "sigma": (0.0, 5.0, False),
    "places": (-1.0, 1e9, True),
    "ratio": (0.0, 1e6, False),
}


def parameter_shape(name: str) -> tuple[int, ...]:
    """Shape of one epoch's values of parameter ``name``."""
    return tuple(DIMENSIONS[d] for d in SCHEMA[name].dims)


@dataclass
class ParameterValues:
    """Values of one parameter: ``values[k]`` applies from month ``starts[k]`` (months after
    the run's start month; ``starts[0] == 0``) until the next start."""

    starts: np.ndarray  # int, strictly increasing, starts[0] == 0
    values: np.ndarray  # float64, shape (len(starts),) + parameter_shape(name)

    def at_month(self, month: int) -> np.ndarray:
        """The values in force in run month ``month``."""
        k = int(np.searchsorted(self.starts, month, side="right")) - 1
        return self.values[k]


ParameterSet = dict  # name -> ParameterValues


class ModelArrays(NamedTuple):
    """Compiled parameters as the kernel reads them. Leading axis S: parameter set (one per
    calibration draw, or a single set); E: epoch (a span of months with constant values,
    see ``epoch_of_month``); T: month of the run; A age; N need; P placement."""

    epoch_of_month: np.ndarray        # [T] int64
    request_rate: np.ndarray          # [S,E,A] requests per month
    request_multiplier: np.ndarray    # [S,T] cumulative growth factor
    request_season: np.ndarray        # [S,E,A,2] request_rate factor from July to December [0], January to June [1]
    first_half_of_month: np.ndarray   # [T] int64 1 if the month is January to June, else 0
    request_need_cdf: np.ndarray      # [S,E,A,N]
    decision_hazard: np.ndarray       # [S,E]
    p_assess: np.ndarray              # [S,E]
    p_appeal_refusal: np.ndarray      # [S,E]
    p_appeal_decline: np.ndarray      # [S,E]
    tribunal_hazard: np.ndarray       # [S,E]
    p_tribunal_win: np.ndarray        # [S,E]
    p_decline: np.ndarray             # [S,E]
    p_placement_appeal: np.ndarray    # [S,E,A,P]
    placement_appeal_hazard: np.ndarray  # [S,E]
    p_placement_appeal_win: np.ndarray   # [S,E]
    assessment_min_months: np.ndarray # [S,E] int64
    assessment_priority_months: np.ndarray  # [S,E,A] int64
    assessment_capacity: np.ndarray   # [S,T] int64
    review_capacity: np.ndarray       # [S,T] int64
    first_placement_cdf: np.ndarray   # [S,E,A,N,P]
    review_cease: np.ndarray          # [S,E,A,P] review_cease x review_cease_ratio, at most 1
    review_change: np.ndarray         # [S,E,A]
    review_move_cdf: np.ndarray       # [S,E,A,P,P]
    cease_reason_cdf: np.ndarray      # [S,E,A,R]
    move_stay: np.ndarray             # [S,E,A,P] probability of staying put this month
    move_cdf: np.ndarray              # [S,E,A,P,P+1] cumulative over destinations, stay excluded
    step_down: np.ndarray             # [S,E]
    place_capacity: np.ndarray        # [S,T,P] int64 places available (huge = unlimited)
    overflow_independent: np.ndarray  # [S,E,P]
    in_year_capacity: np.ndarray      # [S,T,P] int64 own places free places fill up to (soft limit's midpoint)
    place_soft_mid: np.ndarray        # [S,E,P]
    place_soft_width: np.ndarray      # [S,E,P] 0: a wall at capacity
    other_la_share: np.ndarray        # [S,E,P]
    other_la_placement: np.ndarray    # [S,E,P]
    other_la_cost_ratio: np.ndarray   # [S,E,P]
    phase_cdf: np.ndarray             # [S,E,4,N,P,P]
    arrival_rate: np.ndarray          # [S,E,A]
    arrival_placement_cdf: np.ndarray # [S,E,A,P]
    arrival_need_cdf: np.ndarray      # [S,E,A,N]
    unit_cost: np.ndarray             # [S,E,A,P,N] GBP a year at base prices
    cost_spread: np.ndarray           # [S,E,A,P]
    between_review_event: np.ndarray  # [P,P] int64 event code of a move between reviews


def _cumulative(probabilities: np.ndarray) -> np.ndarray:
    """Cumulative sums along the last axis, with the last column forced to exactly 1 where the
    row has any mass (so a draw can never fall past the end through rounding)."""
    cdf = np.cumsum(probabilities, axis=-1)
    total = cdf[..., -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf = np.where(total > 0, cdf / np.where(total > 0, total, 1.0), 0.0)
    return cdf


def epoch_starts(parameter_set: ParameterSet) -> np.ndarray:
    """All months at which any parameter changes value, sorted (always includes 0)."""
    starts = {0}
    for values in parameter_set.values():
        starts.update(int(s) for s in values.starts)
    return np.array(sorted(starts), dtype=np.int64)


def _by_epoch(values: ParameterValues, starts: np.ndarray) -> np.ndarray:
    index = np.searchsorted(values.starts, starts, side="right") - 1
    return values.values[index]


def _by_month(values: ParameterValues, n_months: int) -> np.ndarray:
    return _by_epoch(values, np.arange(n_months))


# The parameters read month by month (the others epoch by epoch).
_MONTHLY = ("request_growth", "assessment_capacity", "review_capacity", "places", "max_occupancy")


class _Stacked:
    """One parameter over every set: its values in its own epochs, ``raw`` [S or 1, K, ...]
    (1 when every set shares the same values: a parameter no draw touches), and ``index``
    [E] the own epoch in force in each of the model's epochs (or months). A function of the
    values along their last axis can be computed on ``raw`` and expanded after (:meth:`of`):
    K is often 1 where E is 6, and S is 1 for shared values."""

    def __init__(self, parameter_sets: list[ParameterSet], name: str, starts: np.ndarray) -> None:
        first = parameter_sets[0][name]
        self.n_sets = len(parameter_sets)
        shared = all(ps[name] is first for ps in parameter_sets)
        same_starts = shared or all(np.array_equal(ps[name].starts, first.starts) for ps in parameter_sets)
        if same_starts:
            self.raw = first.values[None] if shared else np.stack([ps[name].values for ps in parameter_sets])
            self.index = np.searchsorted(first.starts, starts, side="right") - 1
        else:  # sets that change value at different months: expanded to the model's epochs
            self.raw = np.stack([_by_epoch(ps[name], starts) for ps in parameter_sets])
            self.index = np.arange(starts.size)

    def of(self, function=None) -> np.ndarray:
        """[S, E, ...] ``function`` of the values (the values themselves if None)."""
        values = self.raw if function is None else function(self.raw)
        values = values[:, self.index]
        if values.shape[0] != self.n_sets:
            values = np.broadcast_to(values, (self.n_sets,) + values.shape[1:])
        return values


class _Expanded(dict):
    """name -> [S, E, ...] values, expanded when first asked for."""

    def __init__(self, stacked: dict[str, _Stacked]) -> None:
        super().__init__()
        self.stacked = stacked

    def __missing__(self, name: str) -> np.ndarray:
        self[name] = values = self.stacked[name].of()
        return values


def _compile_stacked(stacked: dict[str, _Stacked], epoch_of_month: np.ndarray) -> dict:
    """Compile parameters stacked over sets (:class:`_Stacked`: by epoch, by month for the
    monthly ones) into the kernel's arrays, each with its leading S axis."""
    e = _Expanded(stacked)
    out: dict[str, np.ndarray] = {}
    out["request_rate"] = e["request_rate"]
    # Monthly compounding of an annual growth rate: the multiplier at month m is the product
    # of (1 + g)^(1/12) over months 1..m, with g the growth in force in each month.
    monthly = np.array((1.0 + e["request_growth"]) ** (1.0 / 12.0))
    monthly[:, 0] = 1.0
    out["request_multiplier"] = np.cumprod(monthly, axis=1)
    # The monthly average rate times 2 x share in January-June and 2 x (1 - share) in July-December.
    share = e["request_first_half_share"]
    out["request_season"] = np.stack([2.0 * (1.0 - share), 2.0 * share], axis=-1)
    out["request_need_cdf"] = stacked["request_need_share"].of(_cumulative)
    for name in ("decision_hazard", "p_assess", "p_appeal_refusal", "p_appeal_decline", "tribunal_hazard",
                 "p_tribunal_win", "p_decline", "step_down", "p_placement_appeal", "placement_appeal_hazard",
                 "p_placement_appeal_win"):
        out[name] = e[name]
    out["assessment_min_months"] = np.rint(e["assessment_min_months"]).astype(np.int64)
    out["assessment_priority_months"] = np.rint(e["assessment_priority_months"]).astype(np.int64)
    out["assessment_capacity"] = np.rint(e["assessment_capacity"]).astype(np.int64)
    out["review_capacity"] = np.rint(e["review_capacity"]).astype(np.int64)
    out["first_placement_cdf"] = stacked["first_placement"].of(_cumulative)
    out["review_cease"] = np.minimum(e["review_cease"][..., None] * e["review_cease_ratio"], 1.0)
    out["review_change"] = e["review_change"]
    out["review_move_cdf"] = stacked["review_move"].of(_cumulative)
    out["cease_reason_cdf"] = stacked["cease_reason"].of(_cumulative)
    out["move_stay"] = stacked["move"].of(_stay)
    out["move_cdf"] = stacked["move"].of(_leave_cdf)
    places, ceiling = e["places"], e["max_occupancy"]
    capacity = np.where(places < 0, float(codes.UNLIMITED_PLACES), np.floor(places * ceiling + 1e-9))
    out["place_capacity"] = np.minimum(capacity, codes.UNLIMITED_PLACES).astype(np.int64)
    out["overflow_independent"] = e["overflow_independent"]
    # Waiting children and step-downs are placed in-year: up to the soft limit's midpoint (where an
    # in-year request's chance is 1/2), never beyond the capacity; with no soft limit, the capacity.
    mid = e["place_soft_mid"][:, epoch_of_month]
    width = e["place_soft_width"][:, epoch_of_month]
    in_year = np.where(width > 0, np.floor(np.minimum(mid, 1.0) * out["place_capacity"] + 1e-9),
                       out["place_capacity"])
    out["in_year_capacity"] = np.minimum(in_year, out["place_capacity"]).astype(np.int64)
    for name in ("place_soft_mid", "place_soft_width", "other_la_share", "other_la_placement", "other_la_cost_ratio"):
        out[name] = e[name]
    out["phase_cdf"] = stacked["phase_transfer"].of(_cumulative)
    out["arrival_rate"] = e["arrival_rate"]
    out["arrival_placement_cdf"] = stacked["arrival_placement"].of(_cumulative)
    out["arrival_need_cdf"] = stacked["arrival_need_share"].of(_cumulative)
    out["unit_cost"] = e["unit_cost"]
    out["cost_spread"] = e["cost_spread"]
    return out


def _stay(move: np.ndarray) -> np.ndarray:
    stay = np.zeros(move.shape[:-1])
    for p in range(codes.N_PLACEMENTS):
        stay[..., p] = move[..., p, p]
    return stay


def _leave_cdf(move: np.ndarray) -> np.ndarray:
    # Cumulative over the destinations other than "stay": a draw u >= stay is looked up as
    # u - stay in this row (whose total is 1 - stay). Not renormalised: it must add up to
    # 1 - stay exactly as the input row did.
    leave = move.copy()
    for p in range(codes.N_PLACEMENTS):
        leave[..., p, p] = 0.0
    return np.cumsum(leave, axis=-1)


def compile_model(parameter_sets: list[ParameterSet], n_months: int, start_calendar_month: int) -> ModelArrays:
    """Compile parameter sets into kernel arrays.

    Parameters
    ----------
    parameter_sets
        One or more complete parameter sets (validated by the inputs layer). All sets must
        change value at the same months (they share the epoch axis).
    n_months
        Number of months of the run, the start month included.
    start_calendar_month
        Calendar month of the start, 0-based (January = 0).
    """
    if not parameter_sets:
        raise ValueError("compile_model needs at least one parameter set")
    missing = [name for name in SCHEMA if name not in parameter_sets[0]]
    if missing:
        raise ValueError(f"parameter set lacks {', '.join(missing)}")
    starts = epoch_starts(parameter_sets[0])
    for ps in parameter_sets[1:]:
        if not np.array_equal(epoch_starts(ps), starts):
            raise ValueError("parameter sets compiled together must share their effective dates")
    months = np.arange(n_months, dtype=np.int64)
    stacked = {name: _Stacked(parameter_sets, name, months if name in _MONTHLY else starts) for name in SCHEMA}
    epoch_of_month = (np.searchsorted(starts, np.arange(n_months), side="right") - 1).astype(np.int64)
    compiled = _compile_stacked(stacked, epoch_of_month)
    fields = {}
    for name in ModelArrays._fields:
        if name == "epoch_of_month":
            fields[name] = epoch_of_month
        elif name == "first_half_of_month":
            fields[name] = (((start_calendar_month + np.arange(n_months)) % 12) < 6).astype(np.int64)
        elif name == "between_review_event":
            fields[name] = codes.MOVE_EVENT_OF.astype(np.int64)
        else:
            fields[name] = np.ascontiguousarray(compiled[name])
    return ModelArrays(**fields)
