"""The monthly step written the way a capable modeller writes it in plain NumPy: the yardstick.

Same model, same rules, same order within a month as the engine (``simcore/kernel.py``, see its
module docstring), but no numba: each rule is a vectorised pass over the records it concerns
(boolean masks, fancy indexing, ``np.bincount``), with a Python loop only where the rule is
sequential by nature (places handed out first come, first served while a placement is full).
Random numbers come from ``numpy.random.Generator`` (PCG64), as a modeller would use, so
results agree with the engine in distribution, not draw for draw (``tests/test_numpy_reference.py``
checks that, within sampling error).

Fair to NumPy by design:

- runs are simulated one after the other, each vectorised over its 20,000-odd records, so a
  NumPy call works on arrays long enough for its per-call overhead (about a microsecond) to
  be small next to the work;
- every rule touches only the records it concerns (the between-review move draws are done for
  all plans, the destination lookup only for the ~1% who leave, and so on);
- a pass whose requests cannot fill a capacity-limited placement is fully vectorised; only
  when a placement may run out are the requests and exits touching SRP or special places
  replayed in order in Python (tens of records a month).

It also counts, by kind, the uniform draws the engine makes at the same decision points (the
counts follow the engine's rules: a draw per plan per month for the move, one per
independent plan for the step-down, one per review, ...; ``draws_by_kind``), and the
inverse-CDF lookups. ``benchmarks.draws`` uses them as the engine's draws per child-month.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort, record_capacity
from sendsim.simcore.model import ModelArrays
from sendsim.simcore.rng import POISSON_PIECE_MEAN

P = codes.N_PLACEMENTS
NONE = codes.PLACEMENT_NONE
INDEPENDENT = codes.INDEPENDENT
NO_PLACE = codes.NO_PLACE
SPECIAL = codes.SPECIAL
SRP = codes.SRP
ACTIVE = codes.ACTIVE
CEASED = codes.CEASED
CLOSED = codes.CLOSED
PENDING = codes.REQUEST_PENDING
ASSESSMENT = codes.ASSESSMENT
APPEAL_REFUSAL = codes.APPEAL_REFUSAL
APPEAL_DECLINE = codes.APPEAL_DECLINE
NO_WAIT = codes.NO_WAIT
UNLIMITED = codes.UNLIMITED_PLACES
REVIEW_INTERVAL_MONTHS = 12   # as the engine: a plan is due 12 months after its last review
WAIT_BINS = 256               # as the engine: waits of 255 months or more tie
COUNTER_MAX = 32767           # as the engine: int16 month counters saturate
BAND_OF_AGE = codes.AGE_BAND_OF_AGE.astype(np.int64)
TRANSFER_OF_AGE = codes.TRANSFER_OF_AGE.astype(np.int64)
KIND_REQUEST = 1
KIND_ARRIVAL = 2

DRAW_KINDS: tuple[str, ...] = (
    "move", "step_down", "phase", "review", "review_move", "cease_reason", "overflow", "cost",
    "decide", "assess", "appeal", "tribunal", "tribunal_win", "issue", "first_placement", "need",
    "review_phase", "arrival_placement", "poisson",
)


def inverse_cdf(cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row by row, the first index j with ``u < cdf[j]`` (the engine's ``lookup``); a draw at
    or past the last value (rounding) takes the last index with positive probability."""
    j = (u[:, None] >= cdf_rows).sum(axis=1)
    past = j >= cdf_rows.shape[1]
    if past.any():
        rows = cdf_rows[past]
        steps = np.diff(rows, axis=1, prepend=0.0) > 0.0
        last = rows.shape[1] - 1 - np.argmax(steps[:, ::-1], axis=1)
        j[past] = np.where(steps.any(axis=1), last, 0)
    return j


def longest_waiting_first(wait_months: np.ndarray, capacity: int) -> np.ndarray:
    """Boolean mask of the (at most) ``capacity`` longest waits, earlier entries first among
    equal waits (waits are binned as in the engine)."""
    chosen = np.zeros(wait_months.shape[0], dtype=bool)
    if capacity <= 0 or wait_months.shape[0] == 0:
        return chosen
    if capacity >= wait_months.shape[0]:
        chosen[:] = True
        return chosen
    binned = np.clip(wait_months, 0, WAIT_BINS - 1)
    chosen[np.argsort(-binned, kind="stable")[:capacity]] = True
    return chosen


@dataclass
class ReferenceResult:
    """Outputs of the NumPy reference, shaped as :class:`simcore.engine.ChunkResult`'s."""

    runs: np.ndarray
    stock: np.ndarray      # [R,T,B,P,N]
    flows: np.ndarray      # [R,T,EV,P+1,P+1] (shape (0, ...) without flows)
    cost: np.ndarray       # [R,T,P]
    measures: np.ndarray   # [R,T,M]
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    child_months: int = 0
    draws_by_kind: dict[str, int] = field(default_factory=dict)
    lookups: int = 0       # inverse-CDF searches

    @property
    def draws(self) -> int:
        return int(sum(self.draws_by_kind.values()))


class _Run:
    """One Monte Carlo run: the records as NumPy arrays, stepped month by month."""

    def __init__(self, model: ModelArrays, s: int, calendar: Calendar, cohort: Cohort, ages: np.ndarray,
                 capacity: int, rng: np.random.Generator, draws: dict[str, int], out: dict[str, np.ndarray],
                 record_flows: bool) -> None:
        self.mdl, self.s, self.calendar, self.rng, self.draws, self.out = model, s, calendar, rng, draws, out
        self.record_flows = record_flows
        self.lookups = 0
        n = cohort.n
        self.n = n
        self.capacity = capacity
        self.age = np.zeros(capacity, dtype=np.int64)
        self.placement = np.full(capacity, -1, dtype=np.int64)
        self.need = np.zeros(capacity, dtype=np.int64)
        self.status = np.full(capacity, CLOSED, dtype=np.int64)
        self.msr = np.zeros(capacity, dtype=np.int64)
        self.stage = np.zeros(capacity, dtype=np.int64)
        self.waiting = np.full(capacity, NO_WAIT, dtype=np.int64)
        self.annual_cost = np.zeros(capacity, dtype=np.float64)
        self.age[:n] = ages
        self.placement[:n] = cohort.placement
        self.need[:n] = cohort.need
        self.status[:n] = cohort.status
        self.msr[:n] = cohort.months_since_review
        self.stage[:n] = cohort.stage_months
        self.waiting[:n] = cohort.waiting_for
        self.active = np.flatnonzero(self.status[:n] == ACTIVE)
        self.requests = np.flatnonzero(self.status[:n] <= APPEAL_DECLINE)
        e0 = int(model.epoch_of_month[0])
        # Opening plans keep a given annual cost; the others draw one from the unit cost.
        self.annual_cost[:n] = cohort.annual_cost_gbp
        to_draw = self.active[cohort.annual_cost_gbp[self.active] < 0]
        self.annual_cost[to_draw] = self._draw_costs(to_draw, self.placement[to_draw], e0)
        # Children in each placement, kept up to date by every placement change and exit.
        self.occupancy = np.bincount(self.placement[self.active], minlength=P)
        self.flows_scratch = np.zeros((codes.N_EVENTS, P + 1, P + 1), dtype=np.int32)

    # ---- small helpers -------------------------------------------------------------------
    def _uniform(self, kind: str, size: int) -> np.ndarray:
        self.draws[kind] += size
        return self.rng.random(size)

    def _lookup(self, cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        self.lookups += u.shape[0]
        return inverse_cdf(cdf_rows, u)

    def _draw_costs(self, records: np.ndarray, q: np.ndarray, e: int) -> np.ndarray:
        """Annual cost of placement ``q`` for ``records``: unit cost x lognormal(mean 1)."""
        unit = self.mdl.unit_cost[self.s, e][self.age[records], q, self.need[records]]
        spread = self.mdl.cost_spread[self.s, e][self.age[records], q]
        self.draws["cost"] += int(np.count_nonzero(spread > 0.0))
        z = self.rng.standard_normal(records.shape[0])
        return np.rint(np.minimum(unit * np.exp(spread * z - 0.5 * spread * spread), codes.MAX_DRAWN_ANNUAL_COST_GBP))

    def _flow(self, event, src, dst) -> None:
        np.add.at(self.flows, (event, src, dst), 1)

    def _set_placement(self, records: np.ndarray, q, e: int) -> None:
        """Move ``records`` (active, with a placement or -1) to ``q``, with new annual costs."""
        q = np.broadcast_to(np.asarray(q, dtype=np.int64), records.shape)
        old = self.placement[records]
        self.occupancy -= np.bincount(old[old >= 0], minlength=P)
        self.occupancy += np.bincount(q, minlength=P)
        self.annual_cost[records] = self._draw_costs(records, q, e)
        self.placement[records] = q

    def _cease(self, records: np.ndarray, events) -> None:
        p = self.placement[records]
        self._flow(events, p, NONE)
        self.occupancy -= np.bincount(p, minlength=P)
        self.status[records] = CEASED
        self.waiting[records] = NO_WAIT

    # ---- places: the capacity rule -------------------------------------------------------
    def _targets(self, records: np.ndarray, q: np.ndarray, positions: np.ndarray, leaving: bool,
                 exits: np.ndarray, exit_positions: np.ndarray, capacity_now: np.ndarray,
                 overflow: np.ndarray, overflow_u: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Where each request ends up, given the capacity rule and the exits of the same pass.

        Requests (``records`` asking for ``q``) and exits happen in the order of their
        positions in the pass. Returns (target placement, refused mask).
        """
        p = self.placement[records]
        limited = capacity_now < UNLIMITED
        contested = limited[q] & (p != q)
        target = q.copy()
        refused = np.zeros(records.shape[0], dtype=bool)
        if not contested.any():
            return target, refused
        occupancy = self.occupancy
        asked = np.bincount(q[contested], minlength=P)
        if np.all((occupancy + asked <= capacity_now) | (asked == 0)):
            return target, refused  # nobody can be refused: no placement asked for fills up in this pass
        # A limited placement may fill up: replay, in order, the requests and exits that touch
        # limited placements (the rest cannot change their occupancy).
        exit_p = self.placement[exits]
        touching_requests = np.flatnonzero(contested | (limited[np.maximum(p, 0)] & (p >= 0)))
        touching_exits = np.flatnonzero(limited[exit_p])
        order = np.argsort(np.concatenate([positions[touching_requests], exit_positions[touching_exits]]),
                           kind="stable")
        events = np.concatenate([touching_requests, -1 - touching_exits])[order].tolist()
        occ = occupancy.tolist()
        cap = capacity_now.tolist()
        lim = limited.tolist()
        q_list, p_list = q.tolist(), p.tolist()
        exit_p_list = exit_p.tolist()
        overflow_list = overflow.tolist()
        pre_u = None if overflow_u is None else overflow_u.tolist()
        for k in events:
            if k < 0:
                occ[exit_p_list[-1 - k]] -= 1
                continue
            qk, pk = q_list[k], p_list[k]
            tk = qk
            if lim[qk] and pk != qk and occ[qk] >= cap[qk]:
                refused[k] = True
                self.draws["overflow"] += 1
                u = self.rng.random() if pre_u is None or pre_u[k] != pre_u[k] else pre_u[k]  # NaN: not drawn yet
                if u < overflow_list[qk]:
                    tk = INDEPENDENT
                else:
                    tk = NO_PLACE if (leaving or pk < 0) else pk
                target[k] = tk
            if tk != pk:
                if pk >= 0 and lim[pk]:
                    occ[pk] -= 1
                if lim[tk]:
                    occ[tk] += 1
        return target, refused

    def _request_places(self, records: np.ndarray, q: np.ndarray, events, leaving: bool, m: int, e: int,
                        positions: np.ndarray | None = None, exits: np.ndarray | None = None,
                        exit_positions: np.ndarray | None = None, overflow_u: np.ndarray | None = None) -> None:
        """``records`` ask for placements ``q`` (in this order, interleaved by position with
        ``exits``, which the caller applies afterwards): the capacity rule, the waiting list,
        new costs and the flows."""
        if records.shape[0] == 0:
            return
        empty = np.zeros(0, dtype=np.int64)
        target, refused = self._targets(records, q, np.arange(records.shape[0]) if positions is None else positions,
                                        leaving, empty if exits is None else exits,
                                        empty if exit_positions is None else exit_positions,
                                        self.mdl.place_capacity[self.s, m], self.mdl.overflow_independent[self.s, e],
                                        overflow_u)
        p = self.placement[records]
        waits = refused & (target != INDEPENDENT)
        # A new wait starts (months waited from 0) unless refused again for the same place.
        restart = waits & (self.waiting[records] != q)
        self.stage[records[restart]] = 0
        self.waiting[records] = np.where(waits, q, NO_WAIT)
        if refused.any():
            self._flow(codes.EV_CAPACITY_REFUSED, q[refused], target[refused])
        events = np.broadcast_to(np.asarray(events, dtype=np.int64), records.shape)
        # A phase transfer chooses the placement afresh: a new cost even when it stays the same.
        moves = (target != p) | (events == codes.EV_PHASE_TRANSFER)
        self._flow(events[moves], np.where(p[moves] < 0, NONE, p[moves]), target[moves])
        self._set_placement(records[moves], target[moves], e)

    # ---- the month -------------------------------------------------------------------------
    def step(self, m: int) -> tuple[int, int]:
        """Steps 1 to 6 of month ``m`` (in the engine's order). Returns (plans due for review,
        reviews held)."""
        e = int(self.mdl.epoch_of_month[m])
        if (self.calendar.start_calendar_month + m) % 12 == 8:
            self._september(m, e)
        due, waitlist, step_downs = self._between_reviews(m, e)
        queue, new_plans = self._requests_pass(m, e)
        n_reviews = self._reviews(m, e, due)
        self._places(m, e, waitlist, step_downs)
        self._assessments(m, e, queue, new_plans)
        self._entrants(m, e)
        return due.shape[0], n_reviews

    def _september(self, m: int, e: int) -> None:
        """Step 1: ages up; plans and requests at the age limit end; phase transfers."""
        act = self.active[self.status[self.active] == ACTIVE]
        new_age = self.age[act] + 1
        ending = new_age >= codes.MAX_AGE
        exits, exit_positions = act[ending], np.flatnonzero(ending)
        staying = np.flatnonzero(~ending)
        self.age[act[staying]] = new_age[staying]
        transfer = TRANSFER_OF_AGE[new_age[staying]]
        at_transfer = transfer >= 0
        positions = staying[at_transfer]
        movers = act[positions]
        if movers.shape[0]:
            rows = self.mdl.phase_cdf[self.s, e][transfer[at_transfer], self.need[movers], self.placement[movers]]
            q = self._lookup(rows, self._uniform("phase", movers.shape[0]))
            # Plans ending at 25 free their places in list order, interleaved with the transfers;
            # transfers to another capacity-limited placement come after the pass (the admission
            # round), those who would go independent if refused first (the engine's rule; this
            # reference has no places in other authorities' schools: the wall-only workload).
            contested = (self.mdl.place_capacity[self.s, m][q] < UNLIMITED) & (q != self.placement[movers])
            overflow_u = np.full(movers.shape[0], np.nan)
            overflow_u[contested] = self.rng.random(int(np.count_nonzero(contested)))
            leave = contested & (overflow_u < self.mdl.overflow_independent[self.s, e][q])
            positions = positions.astype(np.int64).copy()
            n_act = act.shape[0]
            positions[leave] = n_act + np.arange(int(np.count_nonzero(leave)))
            rest = contested & ~leave
            positions[rest] = 2 * n_act + np.arange(int(np.count_nonzero(rest)))
            self._request_places(movers, q, codes.EV_PHASE_TRANSFER, True, m, e, positions, exits, exit_positions,
                                 overflow_u)
        self._cease(exits, codes.EV_MAX_AGE)
        req = self.requests[self.status[self.requests] <= APPEAL_DECLINE]
        req_age = self.age[req] + 1
        closing = req_age >= codes.MAX_AGE
        self.status[req[closing]] = CLOSED
        self.flows[codes.EV_REQUEST_CLOSED, NONE, NONE] += int(np.count_nonzero(closing))
        self.age[req[~closing]] = req_age[~closing]

    def _between_reviews(self, m: int, e: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step 2: a move draw per plan (stay first), moves and exits, the step-down draws,
        the review clock and the waiting clock."""
        mdl, s = self.mdl, self.s
        act = self.active[self.status[self.active] == ACTIVE]
        a, p = self.age[act], self.placement[act]
        u = self._uniform("move", act.shape[0])
        stay = mdl.move_stay[s, e][a, p]
        leave = np.flatnonzero(u >= stay)
        q = self._lookup(mdl.move_cdf[s, e][a[leave], p[leave]], u[leave] - stay[leave])
        away = q == codes.MOVED_AWAY
        change = ~away & (q != p[leave])
        exits, exit_positions = act[leave[away]], leave[away]
        movers, positions = act[leave[change]], leave[change]
        q_movers = q[change]
        events = mdl.between_review_event[p[leave[change]], q_movers]
        self._request_places(movers, q_movers, events, False, m, e, positions, exits, exit_positions)
        self._cease(exits, codes.EV_MOVED_AWAY)
        kept = np.ones(act.shape[0], dtype=bool)
        kept[exit_positions] = False
        act = act[kept]
        self.active = act
        step_downs = np.zeros(0, dtype=np.int64)
        p_step_down = mdl.step_down[s, e]
        if p_step_down > 0.0:
            independent = act[self.placement[act] == INDEPENDENT]
            step_downs = independent[self._uniform("step_down", independent.shape[0]) < p_step_down]
        self.msr[act] = np.minimum(self.msr[act] + 1, COUNTER_MAX)
        due = act[self.msr[act] >= REVIEW_INTERVAL_MONTHS]
        waitlist = act[self.waiting[act] != NO_WAIT]
        self.stage[waitlist] = np.minimum(self.stage[waitlist] + 1, COUNTER_MAX)
        return due, waitlist, step_downs

    def _requests_pass(self, m: int, e: int) -> tuple[np.ndarray, np.ndarray]:
        """Step 5, uncapacitated part: decisions to assess, appeals and tribunals."""
        mdl, s = self.mdl, self.s
        req = self.requests[self.status[self.requests] <= APPEAL_DECLINE]
        self.stage[req] = np.minimum(self.stage[req] + 1, COUNTER_MAX)
        st = self.status[req]
        pending = req[st == PENDING]
        decided = pending[self._uniform("decide", pending.shape[0]) < mdl.decision_hazard[s, e]]
        agreed_mask = self._uniform("assess", decided.shape[0]) < mdl.p_assess[s, e]
        agreed, refused = decided[agreed_mask], decided[~agreed_mask]
        self.status[agreed] = ASSESSMENT
        self.stage[agreed] = 0
        appealed_mask = self._uniform("appeal", refused.shape[0]) < mdl.p_appeal_refusal[s, e]
        appealed, closed = refused[appealed_mask], refused[~appealed_mask]
        self.status[appealed] = APPEAL_REFUSAL
        self.stage[appealed] = 0
        self.status[closed] = CLOSED
        flows = self.flows
        flows[codes.EV_AGREED, NONE, NONE] += agreed.shape[0]
        flows[codes.EV_REFUSED, NONE, NONE] += refused.shape[0]
        flows[codes.EV_APPEAL_REFUSAL, NONE, NONE] += appealed.shape[0]
        flows[codes.EV_REQUEST_CLOSED, NONE, NONE] += closed.shape[0]
        in_assessment = st == ASSESSMENT
        queue = req[in_assessment & (self.stage[req] >= mdl.assessment_min_months[s, e])]
        appeal_positions = np.flatnonzero((st == APPEAL_REFUSAL) | (st == APPEAL_DECLINE))
        appeals = req[appeal_positions]
        heard = appeals[self._uniform("tribunal", appeals.shape[0]) < mdl.tribunal_hazard[s, e]]
        won_mask = self._uniform("tribunal_win", heard.shape[0]) < mdl.p_tribunal_win[s, e]
        won, lost = heard[won_mask], heard[~won_mask]
        flows[codes.EV_TRIBUNAL_UPHELD, NONE, NONE] += won.shape[0]
        flows[codes.EV_TRIBUNAL_DISMISSED, NONE, NONE] += lost.shape[0]
        flows[codes.EV_REQUEST_CLOSED, NONE, NONE] += lost.shape[0]
        self.status[lost] = CLOSED
        won_refusal = won[self.status[won] == APPEAL_REFUSAL]
        new_plans = won[self.status[won] == APPEAL_DECLINE]  # in request order
        self.status[won_refusal] = ASSESSMENT
        self.stage[won_refusal] = 0
        self.requests = req[self.status[req] != CLOSED]
        return queue, new_plans

    def _reviews(self, m: int, e: int, due: np.ndarray) -> int:
        """Step 3: reviews, longest overdue first, within the month's capacity."""
        mdl, s = self.mdl, self.s
        chosen = longest_waiting_first(self.msr[due], int(mdl.review_capacity[s, m]))
        positions = np.flatnonzero(chosen)
        reviewed = due[positions]
        self.msr[reviewed] = 0
        a = self.age[reviewed]
        u = self._uniform("review", reviewed.shape[0])
        p_cease = mdl.review_cease[s, e][a, self.placement[reviewed]]
        cease = u < p_cease
        change = ~cease & (u < p_cease + (1.0 - p_cease) * mdl.review_change[s, e][a])
        ceasing = reviewed[cease]
        reason = self._lookup(mdl.cease_reason_cdf[s, e][a[cease]], self._uniform("cease_reason", ceasing.shape[0]))
        changing = reviewed[change]
        p = self.placement[changing]
        q = self._lookup(mdl.review_move_cdf[s, e][a[change], p], self._uniform("review_move", changing.shape[0]))
        keep = ~cease & ~change
        kept = np.concatenate([reviewed[keep], changing[q == p]])
        self._flow(codes.EV_REVIEW_KEPT, self.placement[kept], self.placement[kept])
        moving = q != p
        movers, q_movers, move_positions = changing[moving], q[moving], positions[change][moving]
        exit_positions = positions[cease]
        self._request_places(movers, q_movers, codes.EV_REVIEW_MOVED, False, m, e, move_positions, ceasing,
                             exit_positions)
        self._cease(ceasing, codes.EV_REVIEW_CEASED_FIRST + reason)
        return reviewed.shape[0]

    def _places(self, m: int, e: int, waitlist: np.ndarray, step_downs: np.ndarray) -> None:
        """Step 4: free SRP and special places to the longest waiting, then step-downs."""
        capacity_now = self.mdl.place_capacity[self.s, m]
        for q in (SRP, SPECIAL):
            free = waitlist.shape[0] if capacity_now[q] >= UNLIMITED else int(capacity_now[q] - self.occupancy[q])
            if free <= 0:
                continue
            candidates = waitlist[(self.status[waitlist] == ACTIVE) & (self.waiting[waitlist] == q)]
            if candidates.shape[0] == 0:
                continue
            placed = candidates[longest_waiting_first(self.stage[candidates], free)]
            self._flow(codes.EV_WAITING_PLACED, self.placement[placed], q)
            self.waiting[placed] = NO_WAIT
            self._set_placement(placed, q, e)
        valid = step_downs[(self.status[step_downs] == ACTIVE) & (self.placement[step_downs] == INDEPENDENT)]
        if valid.shape[0]:
            free = valid.shape[0] if capacity_now[SPECIAL] >= UNLIMITED else max(
                0, int(capacity_now[SPECIAL] - self.occupancy[SPECIAL]))
            taken = valid[:free]
            self._flow(codes.EV_STEP_DOWN, INDEPENDENT, np.full(taken.shape[0], SPECIAL))
            self._set_placement(taken, SPECIAL, e)

    def _assessments(self, m: int, e: int, queue: np.ndarray, new_plans: np.ndarray) -> None:
        """Step 5, capacity part: completed assessments, then first placements of new plans."""
        mdl, s = self.mdl, self.s
        wait = self.stage[queue].astype(np.int64) + mdl.assessment_priority_months[s, e][self.age[queue]]
        done = queue[longest_waiting_first(wait, int(mdl.assessment_capacity[s, m]))]
        declined_mask = self._uniform("issue", done.shape[0]) < mdl.p_decline[s, e]
        declined, issued = done[declined_mask], done[~declined_mask]
        appealed_mask = self._uniform("appeal", declined.shape[0]) < mdl.p_appeal_decline[s, e]
        appealed, closed = declined[appealed_mask], declined[~appealed_mask]
        self.flows[codes.EV_DECLINED, NONE, NONE] += declined.shape[0]
        self.flows[codes.EV_APPEAL_DECLINE, NONE, NONE] += appealed.shape[0]
        self.flows[codes.EV_REQUEST_CLOSED, NONE, NONE] += closed.shape[0]
        self.status[appealed] = APPEAL_DECLINE
        self.stage[appealed] = 0
        self.status[closed] = CLOSED
        plans = np.concatenate([new_plans, issued])
        if plans.shape[0] == 0:
            return
        self.status[plans] = ACTIVE
        self.msr[plans] = 0
        self.placement[plans] = -1
        self.waiting[plans] = NO_WAIT
        q = self._lookup(mdl.first_placement_cdf[s, e][self.age[plans], self.need[plans]],
                         self._uniform("first_placement", plans.shape[0]))
        self._request_places(plans, q, codes.EV_NEW_PLAN, True, m, e)
        self.active = np.concatenate([self.active, plans])

    def _entrants(self, m: int, e: int) -> None:
        """Step 6: new requests and arrivals, Poisson by academic age (age-major, requests
        before arrivals at each age, as the engine numbers its records)."""
        mdl, s = self.mdl, self.s
        half = 1 if (self.calendar.start_calendar_month + m) % 12 < 6 else 0  # January-June
        means = np.stack([mdl.request_rate[s, e] * mdl.request_multiplier[s, m] * mdl.request_season[s, e, :, half],
                          mdl.arrival_rate[s, e]], axis=1)
        positive = means > 0.0
        # The engine draws a Poisson count as ceil(mean / 30) inversions (pieces of mean 30).
        self.draws["poisson"] += int(np.ceil(means[positive] / POISSON_PIECE_MEAN).sum())
        counts = np.zeros(means.shape, dtype=np.int64)
        counts[positive] = self.rng.poisson(means[positive])
        total = int(counts.sum())
        if total == 0:
            return
        start = self.n
        if start + total > self.capacity:
            raise RuntimeError(f"record capacity exceeded in month {m}")
        self.n += total
        records = np.arange(start, start + total)
        ages = np.repeat(np.repeat(np.arange(codes.N_AGES), 2), counts.ravel())
        kinds = np.repeat(np.tile(np.array([KIND_REQUEST, KIND_ARRIVAL]), codes.N_AGES), counts.ravel())
        self.age[records] = ages
        is_request = kinds == KIND_REQUEST
        requests, arrivals = records[is_request], records[~is_request]
        self.need[requests] = self._lookup(mdl.request_need_cdf[s, e][self.age[requests]],
                                           self._uniform("need", requests.shape[0]))
        self.status[requests] = PENDING
        self.flows[codes.EV_REQUEST, NONE, NONE] += requests.shape[0]
        self.requests = np.concatenate([self.requests, requests])
        if arrivals.shape[0] == 0:
            return
        arrival_age = self.age[arrivals]
        self.need[arrivals] = self._lookup(mdl.arrival_need_cdf[s, e][arrival_age],
                                           self._uniform("need", arrivals.shape[0]))
        self.status[arrivals] = ACTIVE
        self.msr[arrivals] = (self._uniform("review_phase", arrivals.shape[0]) * 12.0).astype(np.int64)
        q = self._lookup(mdl.arrival_placement_cdf[s, e][arrival_age],
                         self._uniform("arrival_placement", arrivals.shape[0]))
        self._request_places(arrivals, q, codes.EV_ARRIVAL, True, m, e)
        self.active = np.concatenate([self.active, arrivals])

    def snapshot(self, m: int, n_due: int, n_reviews: int, row: int) -> int:
        """Step 7: stock, cost and measures of month ``m`` into output row ``row``.
        Returns the active child-months of the month."""
        mdl, s, out = self.mdl, self.s, self.out
        live = self.active[self.status[self.active] == ACTIVE]
        p = self.placement[live]
        cell = (BAND_OF_AGE[self.age[live]] * P + p) * codes.N_NEEDS + self.need[live]
        out["stock"][row, m] = np.bincount(cell, minlength=codes.N_AGE_BANDS * P * codes.N_NEEDS).reshape(
            codes.N_AGE_BANDS, P, codes.N_NEEDS)
        by_placement = np.bincount(p, minlength=P)
        cost_sum = np.bincount(p, weights=self.annual_cost[live], minlength=P)
        out["cost"][row, m] = cost_sum / 12.0
        capacity_now = mdl.place_capacity[s, m]
        req_status = self.status[self.requests]
        measures = out["measures"][row, m]
        measures[codes.M_REQUESTS_PENDING] = np.count_nonzero(req_status == PENDING)
        measures[codes.M_ASSESSMENTS_OPEN] = np.count_nonzero(req_status == ASSESSMENT)
        measures[codes.M_APPEALS_OPEN] = np.count_nonzero((req_status == APPEAL_REFUSAL)
                                                          | (req_status == APPEAL_DECLINE))
        measures[codes.M_REVIEWS_DUE] = n_due
        measures[codes.M_REVIEWS_DONE] = n_reviews
        if m == 0:
            measures[codes.M_REVIEWS_OVERDUE] = np.count_nonzero(self.msr[live] >= REVIEW_INTERVAL_MONTHS)
        else:
            measures[codes.M_REVIEWS_OVERDUE] = n_due - n_reviews
        measures[codes.M_WAITING] = np.count_nonzero(self.waiting[live] != NO_WAIT)
        measures[codes.M_SRP_OCCUPIED] = by_placement[SRP]
        measures[codes.M_SRP_CAPACITY] = min(int(capacity_now[SRP]), UNLIMITED)
        measures[codes.M_SPECIAL_OCCUPIED] = by_placement[SPECIAL]
        measures[codes.M_SPECIAL_CAPACITY] = min(int(capacity_now[SPECIAL]), UNLIMITED)
        return int(live.shape[0])

    def run(self, row: int) -> int:
        """All months; returns the active child-months of the run."""
        child_months = 0
        for m in range(self.calendar.n_months):
            self.flows = self.out["flows"][row, m] if self.record_flows else self.flows_scratch
            n_due = n_reviews = 0
            if m > 0:
                n_due, n_reviews = self.step(m)
            child_months += self.snapshot(m, n_due, n_reviews, row)
        return child_months


def simulate_numpy(cohort: Cohort, model: ModelArrays, calendar: Calendar, *, seed: int, runs: np.ndarray,
                   parameter_set_of_run: np.ndarray | None = None, record_flows: bool = True) -> ReferenceResult:
    """Simulate ``runs`` with the NumPy reference (one run after the other, single-threaded).

    Parameters
    ----------
    cohort, model, calendar
        As for :func:`simcore.engine.simulate` (validated inputs).
    seed
        Seed of the NumPy generator; run ``r`` uses ``np.random.default_rng([seed, r])``.
    runs
        Run numbers.
    parameter_set_of_run
        Parameter set of each run (default all 0).
    record_flows
        Keep the flows table (as the engine's option of that name).
    """
    runs = np.asarray(runs, dtype=np.int64)
    sets = np.zeros(runs.shape[0], dtype=np.int64) if parameter_set_of_run is None else np.asarray(
        parameter_set_of_run, dtype=np.int64)
    R, T = runs.shape[0], calendar.n_months
    B, N = codes.N_AGE_BANDS, codes.N_NEEDS
    out: dict[str, np.ndarray] = {
        "stock": np.zeros((R, T, B, P, N), dtype=np.int32),
        "flows": np.zeros((R if record_flows else 0, T, codes.N_EVENTS, P + 1, P + 1), dtype=np.int32),
        "cost": np.zeros((R, T, P), dtype=np.float64),
        "measures": np.zeros((R, T, codes.N_MEASURES), dtype=np.int64),
    }
    ages = np.clip(calendar.academic_age(cohort.birth_month), 0, codes.MAX_AGE).astype(np.int64)
    capacity = record_capacity(cohort, model, T)
    draws = {kind: 0 for kind in DRAW_KINDS}
    lookups = 0
    child_months = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for row, (run, s) in enumerate(zip(runs.tolist(), sets.tolist())):
        rng = np.random.default_rng([seed, run])
        one = _Run(model, s, calendar, cohort, ages, capacity, rng, draws, out, record_flows)
        child_months += one.run(row)
        lookups += one.lookups
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return ReferenceResult(runs=runs, stock=out["stock"], flows=out["flows"], cost=out["cost"],
                           measures=out["measures"], seconds=seconds, cpu_seconds=cpu_seconds,
                           child_months=child_months,
                           draws_by_kind=draws, lookups=lookups)
