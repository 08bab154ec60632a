"""How many random draws the engine makes per child-month, counted from its own outputs.

Every draw of the engine is one decision of one record in one month (``simcore/rng.py``, the
``DEC_*`` identifiers), and almost every decision leaves a trace in the flows and pipeline
measures of that month. For month ``m >= 1`` of a run:

========================  ===========================================================  ======
decision                  count                                                        exact?
========================  ===========================================================  ======
move (``DEC_MOVE``)       plans at the start of the month's pass: stock at ``m-1``     yes
                          minus plans ended at 25 in this September
step-down                 independent plans after their move (stock at ``m-1``, plus   yes
                          phase transfers and between-review moves in, minus out;
                          only when ``step_down > 0``)
phase transfer            ``phase_transfer`` flows                                     yes
overflow                  ``capacity_refused`` flows                                   yes
review                    ``reviews_done``                                             yes
cease reason              ``review_ceased_*`` flows                                    yes
review move               ``review_moved`` flows (a review that draws a change and     lower
                          lands on the same placement leaves no trace)                 bound
cost                      flows that set a placement (new plan, arrival, phase         yes*
                          transfer, review move, escalation, reintegration, other
                          move, step-down, placed from waiting) into a placement whose
                          cost spread is positive at every age; plus, in month 0, one
                          per opening plan without a given cost
decide                    ``requests_pending`` at ``m-1``                              yes**
assess                    ``agreed_to_assess`` + ``refused_to_assess``                 yes
appeal                    ``refused_to_assess`` + ``declined_to_issue``                yes
tribunal                  ``appeals_open`` at ``m-1``                                  yes**
tribunal outcome          ``tribunal_upheld`` + ``tribunal_dismissed``                 yes
issue                     ``declined_to_issue`` + ``new_plan`` - ``tribunal_upheld``   lower
                                                                                       bound
first placement           ``new_plan``                                                 yes
need                      ``request`` + ``arrival``                                    yes
arrival (review month,    ``arrival`` each                                             yes
placement)
Poisson counts            ceil(mean / 30) per age and kind with a positive mean        yes
========================  ===========================================================  ======

(*) exact where the spread is positive at all ages or at none (Kent: every placement);
(**) but for the requests that close at 25 in September, before the pass (a handful a year).

The two lower bounds and the exclusions make the count at most a few tenths of a per cent low,
which makes the engine's share of the limit (its draws per second over the limit's) a little
conservative. ``benchmarks.numpy_reference`` counts the same decisions in its own runs; a test
checks that both counts agree within sampling error.
"""
from __future__ import annotations

import numpy as np

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, ChunkResult, Cohort
from sendsim.simcore.model import ModelArrays

# simcore.rng.poisson: one inversion per piece of mean at most POISSON_PIECE_MEAN (ceil(mean / 30)).
from sendsim.simcore.rng import POISSON_PIECE_MEAN

# Events that give a record a (new) placement, so a new annual cost draw.
PLACEMENT_SETTING_EVENTS: tuple[int, ...] = (
    codes.EV_NEW_PLAN, codes.EV_ARRIVAL, codes.EV_PHASE_TRANSFER, codes.EV_REVIEW_MOVED, codes.EV_ESCALATION,
    codes.EV_REINTEGRATION, codes.EV_MOVE_OTHER, codes.EV_STEP_DOWN, codes.EV_WAITING_PLACED,
)
# Events that happen only in the between-review pass (step 2), before the step-down draw.
BETWEEN_REVIEW_EVENTS: tuple[int, ...] = (codes.EV_ESCALATION, codes.EV_REINTEGRATION, codes.EV_MOVE_OTHER,
                                          codes.EV_MOVED_AWAY)
REVIEW_CEASED_EVENTS: tuple[int, ...] = tuple(codes.EV_REVIEW_CEASED_FIRST + r for r in range(codes.N_CEASE_REASONS))


def _net_into(flows_m: np.ndarray, events: tuple[int, ...], q: int) -> np.ndarray:
    """Per run, children moved into placement ``q`` minus out of it by ``events`` in one month.
    ``flows_m`` is [R, EV, P+1, P+1]."""
    f = flows_m[:, list(events)]
    into = f[:, :, :, q].sum(axis=(1, 2)) - f[:, :, q, q].sum(axis=1)
    out = f[:, :, q, :].sum(axis=(1, 2)) - f[:, :, q, q].sum(axis=1)
    return into - out


def engine_draw_counts(chunk: ChunkResult, cohort: Cohort, model: ModelArrays, calendar: Calendar,
                       parameter_set_of_run: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Draws of each kind per run of ``chunk`` (which must hold flows), from its outputs.

    Returns kind -> int64 array [R]. Kinds as ``benchmarks.numpy_reference.DRAW_KINDS``.
    """
    if chunk.flows.shape[0] == 0:
        raise ValueError("counting draws needs the flows (simulate with record_flows=True)")
    R, T = chunk.stock.shape[:2]
    sets = np.zeros(R, dtype=np.int64) if parameter_set_of_run is None else np.asarray(parameter_set_of_run)
    flows = chunk.flows.astype(np.int64)       # [R,T,EV,P+1,P+1]
    stock_total = chunk.stock.sum(axis=(2, 3, 4), dtype=np.int64)              # [R,T]
    stock_independent = chunk.stock[:, :, :, codes.INDEPENDENT, :].sum(axis=(2, 3), dtype=np.int64)
    event_totals = flows.sum(axis=(3, 4))      # [R,T,EV]
    measures = chunk.measures
    counts = {name: np.zeros(R, dtype=np.int64) for name in (
        "move", "step_down", "phase", "review", "review_move", "cease_reason", "overflow", "cost", "decide",
        "assess", "appeal", "tribunal", "tribunal_win", "issue", "first_placement", "need", "review_phase",
        "arrival_placement", "poisson")}
    ev = lambda m, *events: event_totals[:, m, list(events)].sum(axis=1)  # noqa: E731 (local shorthand)
    ages = np.clip(calendar.academic_age(cohort.birth_month), 0, codes.MAX_AGE)
    for j in range(R):
        s = int(sets[j])
        e0 = int(model.epoch_of_month[0])
        opening = (cohort.status == codes.ACTIVE) & (cohort.annual_cost_gbp < 0)
        counts["cost"][j] += int(np.count_nonzero(
            model.cost_spread[s, e0][ages[opening], cohort.placement[opening]] > 0.0))
    for m in range(1, T):
        e = model.epoch_of_month[m]
        flows_m = flows[:, m]
        max_age_exits = ev(m, codes.EV_MAX_AGE)
        counts["move"] += stock_total[:, m - 1] - max_age_exits
        p_step_down = model.step_down[sets, e]
        independent_in_pass = (stock_independent[:, m - 1]
                               + _net_into(flows_m, (codes.EV_PHASE_TRANSFER, codes.EV_MAX_AGE), codes.INDEPENDENT)
                               + _net_into(flows_m, BETWEEN_REVIEW_EVENTS, codes.INDEPENDENT))
        counts["step_down"] += np.where(p_step_down > 0.0, independent_in_pass, 0)
        counts["phase"] += ev(m, codes.EV_PHASE_TRANSFER)
        counts["overflow"] += ev(m, codes.EV_CAPACITY_REFUSED)
        counts["review"] += measures[:, m, codes.M_REVIEWS_DONE]
        counts["cease_reason"] += ev(m, *REVIEW_CEASED_EVENTS)
        counts["review_move"] += ev(m, codes.EV_REVIEW_MOVED)
        spread_positive = (model.cost_spread[sets, e] > 0.0).all(axis=1)     # [R,P]
        into = flows_m[:, list(PLACEMENT_SETTING_EVENTS), :, :codes.N_PLACEMENTS].sum(axis=(1, 2))  # [R,P]
        counts["cost"] += (into * spread_positive).sum(axis=1)
        counts["decide"] += measures[:, m - 1, codes.M_REQUESTS_PENDING]
        counts["assess"] += ev(m, codes.EV_AGREED, codes.EV_REFUSED)
        counts["appeal"] += ev(m, codes.EV_REFUSED, codes.EV_DECLINED)
        counts["tribunal"] += measures[:, m - 1, codes.M_APPEALS_OPEN]
        counts["tribunal_win"] += ev(m, codes.EV_TRIBUNAL_UPHELD, codes.EV_TRIBUNAL_DISMISSED)
        counts["issue"] += ev(m, codes.EV_DECLINED, codes.EV_NEW_PLAN) - ev(m, codes.EV_TRIBUNAL_UPHELD)
        counts["first_placement"] += ev(m, codes.EV_NEW_PLAN)
        counts["need"] += ev(m, codes.EV_REQUEST, codes.EV_ARRIVAL)
        counts["review_phase"] += ev(m, codes.EV_ARRIVAL)
        counts["arrival_placement"] += ev(m, codes.EV_ARRIVAL)
        for j in range(R):
            s = int(sets[j])
            means = np.concatenate([model.request_rate[s, e] * model.request_multiplier[s, m],
                                    model.arrival_rate[s, e]])
            counts["poisson"][j] += int(np.ceil(means[means > 0.0] / POISSON_PIECE_MEAN).sum())
    return counts


def draws_per_child_month(chunks: list[ChunkResult], cohort: Cohort, model: ModelArrays,
                          calendar: Calendar) -> tuple[float, dict[str, float]]:
    """The engine's draws per active child-month over ``chunks`` (single parameter set), in
    total and by kind."""
    totals: dict[str, int] = {}
    child_months = 0
    for chunk in chunks:
        for kind, per_run in engine_draw_counts(chunk, cohort, model, calendar).items():
            totals[kind] = totals.get(kind, 0) + int(per_run.sum())
        child_months += chunk.child_months
    by_kind = {kind: total / child_months for kind, total in totals.items()}
    return float(sum(by_kind.values())), by_kind
