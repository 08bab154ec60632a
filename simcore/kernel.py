"""The compiled monthly step and the parallel run loop.

Only numerics live here: arrays and scalars in, output arrays written in place. The public,
validating entry point is :func:`simcore.engine.simulate`.

Order of the rules within a month (month ``m >= 1``; month 0 is the opening snapshot):

1. **September roll-over**: every live record's academic age goes up by one. A plan whose
   holder reaches 25 ends (end of the academic year in which they turn 25); a request whose
   subject reaches 25 closes. At the key moves (into Reception at 4, Year 7 at 11, Year 12
   at 16, and at 19) the placement is chosen afresh from ``phase_transfer`` by need and
   current placement.
2. **Between reviews**: one draw per plan against the monthly ``move`` row for its age and
   placement: stay, change placement (escalation, reintegration, other) or move away.
   Children in independent placements draw for a ``step_down`` (served in step 4).
3. **Annual reviews**: a plan is due 12 months after its last review. At most
   ``review_capacity`` reviews happen; the longest overdue go first (among plans due in the
   same month, the one scheduled first; plans overdue by 255 months or more count as equally
   overdue); the rest stay overdue. A review ceases the plan (``review_cease`` by age times
   ``review_cease_ratio`` by age and placement, with a reason from ``cease_reason``), changes
   the placement (``review_change``, ``review_move``) or keeps it.
4. **Places**: free SRP and special places go to children waiting for them, longest wait
   first; then to independent children who drew a step-down.
5. **Assessment pipeline**: pending requests get their decision (``decision_hazard``, then
   ``p_assess``; refusals may be appealed); tribunals decide lodged appeals; at most
   ``assessment_capacity`` assessments that have run ``assessment_min_months`` complete, the
   longest waiting first (a child's wait counting ``assessment_priority_months`` more, by
   age), each issuing a plan or declining (``p_decline``; declines may be appealed). Plans issued (by assessment or tribunal) take a first placement.
6. **Entrants**: new requests (Poisson by age, ``request_rate`` x growth x the half-year
   factor from ``request_first_half_share``) and arrivals from
   other authorities (Poisson by age, ``arrival_rate``).
7. **Cost and snapshot**: each plan costs its annual cost / 12 (at the prices of the run's first
   financial year: price growth is the money model's), summed by placement; the stock by age band, placement and need, the pipeline
   measures and the run-time invariants are recorded.

Capacity: a child may enter an SRP or special place only while occupancy is below the
month's capacity. Otherwise, with probability ``overflow_independent`` the child goes to an
independent placement; if not, the child waits: in the current placement when the demand
came from a move or a review, with no place when the old placement ended (new plan, arrival,
phase transfer).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from sendsim.simcore import codes
from sendsim.simcore._jit import jit, jit_inline, jit_parallel
from sendsim.simcore.rng import (
    DEC_APPEAL, DEC_ARRIVAL_PLACEMENT, DEC_ASSESS, DEC_CEASE_REASON, DEC_COST, DEC_DECIDE,
    DEC_FIRST_PLACEMENT, DEC_ISSUE, DEC_MOVE, DEC_NEED, DEC_OVERFLOW_ARRIVAL, DEC_OVERFLOW_MOVE,
    DEC_OVERFLOW_NEW, DEC_OVERFLOW_PHASE, DEC_OVERFLOW_REVIEW, DEC_PHASE, DEC_REVIEW,
    DEC_REVIEW_MOVE, DEC_REVIEW_PHASE, DEC_STEP_DOWN, DEC_TRIBUNAL, DEC_TRIBUNAL_WIN,
    CELL_KEY_BASE, KIND_ARRIVAL, KIND_REQUEST, child_stream, entrant_key, poisson, run_key, uniform,
)

# Plain-int copies of the codes (compile-time constants inside the kernels).
P_N = codes.N_PLACEMENTS
P_NONE = codes.PLACEMENT_NONE
EARLY_YEARS = codes.EARLY_YEARS
SRP = codes.SRP
SPECIAL = codes.SPECIAL
INDEPENDENT = codes.INDEPENDENT
NO_PLACE = codes.NO_PLACE
MOVED_AWAY = codes.MOVED_AWAY
MAX_AGE = codes.MAX_AGE
N_AGES = codes.N_AGES
N_NEEDS = codes.N_NEEDS
N_BANDS = codes.N_AGE_BANDS
NO_WAIT = codes.NO_WAIT
REVIEW_INTERVAL_MONTHS = 12
WAIT_HISTOGRAM_BINS = 256

REQUEST_PENDING = codes.REQUEST_PENDING
ASSESSMENT = codes.ASSESSMENT
APPEAL_REFUSAL = codes.APPEAL_REFUSAL
APPEAL_DECLINE = codes.APPEAL_DECLINE
ACTIVE = codes.ACTIVE
CEASED = codes.CEASED
CLOSED = codes.CLOSED

# Error codes written to ``errors[i, 0]`` (month in column 1, detail in column 2).
ERR_NONE = 0
ERR_RECORD_CAPACITY = 1
ERR_CONSERVATION = 2
ERR_NEGATIVE = 3
ERR_CAPACITY = 4
ERROR_MESSAGES = {
    ERR_RECORD_CAPACITY: "record capacity exceeded (more entrants than preallocated)",
    ERR_CONSERVATION: "conservation: stock change differs from entries minus exits for placement {detail}",
    ERR_NEGATIVE: "negative count in the stock for placement {detail}",
    ERR_CAPACITY: "capacity exceeded for placement {detail}",
}

# Age band of each academic age, and phase-transfer index (-1: none), as kernel constants.
_BAND = tuple(int(b) for b in codes.AGE_BAND_OF_AGE)
_TRANSFER = tuple(int(t) for t in codes.TRANSFER_OF_AGE)
_IS_MOVEMENT = tuple(bool(x) for x in codes.EVENT_IS_MOVEMENT)


@jit
def inverse_normal_cdf(p: float) -> float:
    """Standard normal quantile (Wichura's AS241, PPND16: relative error about 1e-16)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
                   + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
                + 133.14166789178437745) * r + 3.387132872796366608)
        den = (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
                   + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
                + 42.313330701600911252) * r + 1.0)
        return q * num / den
    r = p if q < 0.0 else 1.0 - p
    if r <= 0.0:
        return -38.5 if q < 0.0 else 38.5
    r = np.sqrt(-np.log(r))
    if r <= 5.0:
        r -= 1.6
        num = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                   + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                + 4.6303378461565452959) * r + 1.42343711074968357734)
        den = (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                   + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                + 2.05319162663775882187) * r + 1.0)
    else:
        r -= 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                   + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                + 5.4637849111641143699) * r + 6.6579046435011037772)
        den = (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                   + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                + 0.59983220655588793769) * r + 1.0)
    value = num / den
    return -value if q < 0.0 else value


@jit
def lookup(cdf_row: np.ndarray, u: float) -> int:
    """Inverse-CDF lookup: the first index j with u < cdf_row[j]. A draw at or above the last
    value (rounding) falls back to the last index with positive probability."""
    n = cdf_row.shape[0]
    for j in range(n):
        if u < cdf_row[j]:
            return j
    last = n - 1
    while last > 0 and cdf_row[last] <= cdf_row[last - 1]:
        last -= 1
    return last


@jit_inline
def draw_annual_cost(stream: np.uint64, month: int, unit_cost_gbp: float, spread: float) -> int:
    """Annual cost of a placement for one child: unit cost x a lognormal multiplier of mean 1."""
    if spread <= 0.0:
        return int(np.rint(unit_cost_gbp))
    z = inverse_normal_cdf(uniform(stream, month, DEC_COST))
    return int(np.rint(unit_cost_gbp * np.exp(spread * z - 0.5 * spread * spread)))


# Indices of the per-run counters in ``counts``.
C_WAITING = 0   # children waiting for a place
C_PENDING = 1   # requests awaiting the decision to assess
C_ASSESS = 2    # agreed to assess, outcome not reached
C_APPEAL = 3    # appeals lodged, not decided
C_DUE = 4       # plans due (or overdue) for review at the current month
C_MONTH = 5     # the current month
N_COUNTS = 6
# Review schedule: each active plan sits in the bucket of the month its review falls due (a
# singly linked list per month, in order of scheduling). Reviews take plans from the oldest
# bucket on, so the monthly pass needs no review bookkeeping at all. A plan that ends stays in
# its list until the reviews reach it (lazy removal); the bucket sizes and the due count are
# updated when it ends. Months due more than 255 months before the start share the first bucket.
REVIEW_BUCKET_FLOOR = REVIEW_INTERVAL_MONTHS - (WAIT_HISTOGRAM_BINS - 1)


@jit
def cut_off(histogram: np.ndarray, capacity: int) -> tuple[int, int]:
    """From a histogram of waits, the wait bin at which ``capacity`` runs out and how many of
    that bin can still be taken: everyone in a higher bin is taken, ``take`` of the cut-off
    bin (the first met), nobody below. ``(-1, 0)`` when everyone fits."""
    remaining = capacity
    for w in range(histogram.shape[0] - 1, -1, -1):
        if histogram[w] <= remaining:
            remaining -= histogram[w]
        else:
            return w, remaining
    return -1, 0


@jit
def select_longest_waiting(candidates: np.ndarray, n_candidates: int, wait_months: np.ndarray, age: np.ndarray,
                           priority_months: np.ndarray, capacity: int, histogram: np.ndarray,
                           selected: np.ndarray) -> int:
    """Mark (in ``selected[:n_candidates]``) up to ``capacity`` candidates with the longest waits.

    A candidate's wait counts ``priority_months[age]`` months more than it is (an age given
    priority goes ahead of those who have waited up to that much longer). Waits are binned
    (the last bin holds all longer waits); among equal waits at the cut-off the earlier
    entries of ``candidates`` go first. Returns the number selected.
    """
    bins = histogram.shape[0]
    histogram[:] = 0
    for j in range(n_candidates):
        i = candidates[j]
        histogram[min(max(int(wait_months[i]) + priority_months[age[i]], 0), bins - 1)] += 1
    threshold, take = cut_off(histogram, capacity)
    n_selected = 0
    for j in range(n_candidates):
        i = candidates[j]
        w = min(max(int(wait_months[i]) + priority_months[age[i]], 0), bins - 1)
        chosen = w > threshold
        if w == threshold and take > 0:
            chosen = True
            take -= 1
        selected[j] = chosen
        if chosen:
            n_selected += 1
    return n_selected


# A run's records are a tuple of arrays (struct of arrays):
# rec = (stream, age, placement, need, status, cease_reason, review_due, stage, waiting,
#        annual_cost, next_in_bucket). review_due is the month the next annual review falls due;
# next_in_bucket links the review schedule. A record's key (its identity) is needed only to
# derive its stream, once, when it is created; only the stream is kept.
# Its running totals and schedule: acc = (stock[B,P,N], occupancy[P], cost_sum[P],
# counts[N_COUNTS], bucket_head, bucket_tail, bucket_size), buckets indexed by due month minus
# REVIEW_BUCKET_FLOOR.


@jit_inline
def _set_placement(i, q, rec, acc, month, unit_cost, cost_spread):
    """Move record i (active) from its placement (or none) to q (possibly the same), keeping
    stock, occupancy and cost sums in step; the placement draws a new annual cost."""
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    stock, occupancy, cost_sum, counts, head, tail, size = acc
    p = placement[i]
    band = _BAND[age[i]]
    if p >= 0:
        stock[band, p, need[i]] -= 1
        occupancy[p] -= 1
        cost_sum[p] -= annual_cost[i]
    cost = draw_annual_cost(stream[i], month, unit_cost[age[i], q, need[i]], cost_spread[age[i], q])
    annual_cost[i] = cost
    placement[i] = q
    stock[band, q, need[i]] += 1
    occupancy[q] += 1
    cost_sum[q] += cost


@jit_inline
def _request_place(i, q, leaving, overflow_decision, event, month, rec, acc, capacity_now, overflow_independent,
                   unit_cost, cost_spread, flows):
    """Record i asks for placement q: apply the capacity rule and record the flows.

    ``leaving``: the current placement is ending (new plan, arrival, phase transfer), so a
    child who must wait for a full placement waits with no place.
    """
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    counts = acc[3]
    p = placement[i]
    target = q
    if capacity_now[q] < codes.UNLIMITED_PLACES and acc[1][q] >= capacity_now[q] and p != q:
        if uniform(stream[i], month, overflow_decision) < overflow_independent[q]:
            target = INDEPENDENT
            if waiting[i] != NO_WAIT:  # placed after all: off the waiting list
                waiting[i] = NO_WAIT
                counts[C_WAITING] -= 1
        else:
            if waiting[i] == NO_WAIT:
                counts[C_WAITING] += 1
            if waiting[i] != q:  # a new wait starts; refused again for the same place: the wait goes on
                stage[i] = 0
            waiting[i] = q
            target = NO_PLACE if (leaving or p < 0) else p
        flows[codes.EV_CAPACITY_REFUSED, q, target] += 1
    elif waiting[i] != NO_WAIT:
        waiting[i] = NO_WAIT
        counts[C_WAITING] -= 1
    src = P_NONE if p < 0 else p
    if target != p or event == codes.EV_PHASE_TRANSFER:
        # A phase transfer chooses the placement afresh: a new cost is drawn even when the
        # child stays where it was (the provision and its price are set again at that age).
        _set_placement(i, target, rec, acc, month, unit_cost, cost_spread)
        flows[event, src, target] += 1


@jit_inline
def _cease(i, reason_code, event, rec, acc, flows):
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    stock, occupancy, cost_sum, counts, head, tail, size = acc
    p = placement[i]
    stock[_BAND[age[i]], p, need[i]] -= 1
    occupancy[p] -= 1
    cost_sum[p] -= annual_cost[i]
    status[i] = CEASED
    reason[i] = reason_code
    # Off the review schedule (the list entry is dropped when the reviews reach it).
    size[review_due[i] - REVIEW_BUCKET_FLOOR] -= 1
    if review_due[i] <= counts[C_MONTH]:
        counts[C_DUE] -= 1
    if waiting[i] != NO_WAIT:
        waiting[i] = NO_WAIT
        counts[C_WAITING] -= 1
    flows[event, p, P_NONE] += 1


@jit_inline
def _schedule(i, due_month, rec, acc):
    """Put plan i on the review schedule: its next review falls due in ``due_month``."""
    review_due, nxt = rec[6], rec[10]
    counts, head, tail, size = acc[3], acc[4], acc[5], acc[6]
    due_month = max(due_month, REVIEW_BUCKET_FLOOR)
    b = due_month - REVIEW_BUCKET_FLOOR
    review_due[i] = due_month
    nxt[i] = -1
    if tail[b] < 0:
        head[b] = i
    else:
        nxt[tail[b]] = i
    tail[b] = i
    size[b] += 1
    if due_month <= counts[C_MONTH]:  # only at the opening: plans already overdue then
        counts[C_DUE] += 1


@jit_inline
def _close_request(i, rec, acc, flows):
    """A request ends without a plan (refusal not appealed, appeal lost, age limit)."""
    status = rec[4]
    counts = acc[3]
    st = status[i]
    if st == REQUEST_PENDING:
        counts[C_PENDING] -= 1
    elif st == ASSESSMENT:
        counts[C_ASSESS] -= 1
    elif st == APPEAL_REFUSAL or st == APPEAL_DECLINE:
        counts[C_APPEAL] -= 1
    status[i] = CLOSED
    flows[codes.EV_REQUEST_CLOSED, P_NONE, P_NONE] += 1


@jit
def _september(active, n_active, requests, n_requests, m, s, e, mdl, rec, acc, capacity_now, overflow_independent,
               unit_cost, cost_spread, flows):
    """Step 1: ages up by one; plans and requests at the age limit end; phase transfers.
    Plans are taken in the order of the active list (places are first come, first served)."""
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    stock = acc[0]
    for j in range(n_active):
        i = active[j]
        if status[i] != ACTIVE:
            continue
        a_new = age[i] + 1
        if a_new >= MAX_AGE:
            _cease(i, codes.REASON_MAX_AGE, codes.EV_MAX_AGE, rec, acc, flows)
            continue
        p = placement[i]
        b_old = _BAND[age[i]]
        b_new = _BAND[a_new]
        if b_old != b_new:
            stock[b_old, p, need[i]] -= 1
            stock[b_new, p, need[i]] += 1
        age[i] = a_new
        t = _TRANSFER[a_new]
        if t >= 0:
            q = lookup(mdl.phase_cdf[s, e, t, need[i], p], uniform(stream[i], m, DEC_PHASE))
            _request_place(i, q, True, DEC_OVERFLOW_PHASE, codes.EV_PHASE_TRANSFER, m, rec, acc, capacity_now,
                           overflow_independent, unit_cost, cost_spread, flows)
    for j in range(n_requests):
        i = requests[j]
        if status[i] > APPEAL_DECLINE:
            continue
        a_new = age[i] + 1
        if a_new >= MAX_AGE:
            _close_request(i, rec, acc, flows)
        else:
            age[i] = a_new


@jit
def _between_reviews(active, n_active, m, rec, acc, stay_table, move_table, p_step_down, event_of, capacity_now,
                     overflow_independent, unit_cost, cost_spread, flows, waitlist, step_down_list):
    """Step 2, the hot loop: one draw per plan against its monthly ``move`` row (stay first),
    step-down draws, and the lists step 4 works from. (Reviews need nothing here: the review
    schedule is kept by month due.)

    It walks the active list (plans in the order they became active) and drops from it the
    plans that have ended, so that ended plans cost nothing month after month.

    Returns (active plans, children waiting for a place, step-down candidates). A function of
    its own with the arrays it needs, so that the compiler keeps the loop tight.
    """
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    n_wait = 0
    n_step = 0
    n_kept = 0
    for j in range(n_active):
        i = active[j]
        if status[i] != ACTIVE:
            continue
        p = placement[i]
        a = age[i]
        u = uniform(stream[i], m, DEC_MOVE)
        stay = stay_table[a, p]
        if u >= stay:
            q = lookup(move_table[a, p], u - stay)
            if q == MOVED_AWAY:
                _cease(i, codes.REASON_MOVED_AWAY, codes.EV_MOVED_AWAY, rec, acc, flows)
                continue
            if q != p:
                _request_place(i, q, False, DEC_OVERFLOW_MOVE, event_of[p, q], m, rec, acc, capacity_now,
                               overflow_independent, unit_cost, cost_spread, flows)
                p = placement[i]
        active[n_kept] = i
        n_kept += 1
        if p == INDEPENDENT and p_step_down > 0.0:
            if uniform(stream[i], m, DEC_STEP_DOWN) < p_step_down:
                step_down_list[n_step] = i
                n_step += 1
        if waiting[i] != NO_WAIT:
            if stage[i] < 32767:
                stage[i] += 1
            waitlist[n_wait] = i
            n_wait += 1
    return n_kept, n_wait, n_step


@jit
def _reviews(m, s, e, mdl, rec, acc, cursor, capacity_now, overflow_independent, unit_cost, cost_spread, flows):
    """Step 3: up to ``review_capacity`` reviews, longest overdue first: the review schedule's
    buckets from the oldest due month up to this month, each in the order its plans were
    scheduled. A plan reviewed and kept is scheduled again 12 months on.

    ``cursor`` is the oldest bucket that may hold plans. Returns (reviews held, new cursor).
    """
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    counts, head, tail, size = acc[3], acc[4], acc[5], acc[6]
    capacity = mdl.review_capacity[s, m]
    last = m - REVIEW_BUCKET_FLOOR  # the bucket of plans falling due this month
    n_reviews = 0
    b = cursor
    while b <= last and n_reviews < capacity:
        i = head[b]
        if i < 0:
            b += 1
            continue
        head[b] = nxt[i]
        if head[b] < 0:
            tail[b] = -1
        if status[i] != ACTIVE:  # ended since it was scheduled (counted off then)
            continue
        n_reviews += 1
        a = age[i]
        p = placement[i]
        u = uniform(stream[i], m, DEC_REVIEW)
        p_cease = mdl.review_cease[s, e, a, p]
        if u < p_cease:
            why = lookup(mdl.cease_reason_cdf[s, e, a], uniform(stream[i], m, DEC_CEASE_REASON))
            _cease(i, why, codes.EV_REVIEW_CEASED_FIRST + why, rec, acc, flows)
            continue
        size[b] -= 1
        counts[C_DUE] -= 1
        if u < p_cease + (1.0 - p_cease) * mdl.review_change[s, e, a]:
            q = lookup(mdl.review_move_cdf[s, e, a, p], uniform(stream[i], m, DEC_REVIEW_MOVE))
            if q == p:
                flows[codes.EV_REVIEW_KEPT, p, p] += 1
            else:
                _request_place(i, q, False, DEC_OVERFLOW_REVIEW, codes.EV_REVIEW_MOVED, m, rec, acc, capacity_now,
                               overflow_independent, unit_cost, cost_spread, flows)
        else:
            flows[codes.EV_REVIEW_KEPT, p, p] += 1
        _schedule(i, m + REVIEW_INTERVAL_MONTHS, rec, acc)
    while cursor <= last and head[cursor] < 0:
        cursor += 1
    return n_reviews, cursor


@jit
def _places(m, rec, acc, waitlist, n_wait, step_down_list, n_step, candidates, histogram, selected, no_priority,
            capacity_now, unit_cost, cost_spread, flows):
    """Step 4: free SRP and special places to the waiting list (longest wait first, no age
    given priority: ``no_priority`` is zero for every age), then to independent children who
    drew a step-down."""
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    occupancy = acc[1]
    counts = acc[3]
    for q in (SRP, SPECIAL):
        if capacity_now[q] >= codes.UNLIMITED_PLACES:
            free = n_wait
        else:
            free = capacity_now[q] - occupancy[q]
        if free <= 0:
            continue
        n_cand = 0
        for j in range(n_wait):
            i = waitlist[j]
            if status[i] == ACTIVE and waiting[i] == q:
                candidates[n_cand] = i
                n_cand += 1
        if n_cand == 0:
            continue
        select_longest_waiting(candidates, n_cand, stage, age, no_priority, free, histogram, selected)
        for j in range(n_cand):
            if selected[j]:
                i = candidates[j]
                src = placement[i]
                waiting[i] = NO_WAIT
                counts[C_WAITING] -= 1
                _set_placement(i, q, rec, acc, m, unit_cost, cost_spread)
                flows[codes.EV_WAITING_PLACED, src, q] += 1
    for j in range(n_step):
        i = step_down_list[j]
        if status[i] != ACTIVE or placement[i] != INDEPENDENT:
            continue
        if occupancy[SPECIAL] >= capacity_now[SPECIAL]:
            break
        _set_placement(i, SPECIAL, rec, acc, m, unit_cost, cost_spread)
        flows[codes.EV_STEP_DOWN, INDEPENDENT, SPECIAL] += 1


@jit
def _assessments(m, s, e, mdl, rec, acc, queue, n_queue, new_plans, n_new, active, n_active, histogram, selected,
                 capacity_now, overflow_independent, unit_cost, cost_spread, flows):
    """Step 5 (capacity part): completed assessments, longest waiting first; then every new
    plan (from an assessment or a tribunal) takes its first placement and joins the active
    list. Returns the length of the active list."""
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    counts = acc[3]
    select_longest_waiting(queue, n_queue, stage, age, mdl.assessment_priority_months[s, e],
                           mdl.assessment_capacity[s, m], histogram, selected)
    p_decline = mdl.p_decline[s, e]
    for j in range(n_queue):
        if not selected[j]:
            continue
        i = queue[j]
        if uniform(stream[i], m, DEC_ISSUE) < p_decline:
            flows[codes.EV_DECLINED, P_NONE, P_NONE] += 1
            if uniform(stream[i], m, DEC_APPEAL) < mdl.p_appeal_decline[s, e]:
                counts[C_ASSESS] -= 1
                counts[C_APPEAL] += 1
                status[i] = APPEAL_DECLINE
                stage[i] = 0
                flows[codes.EV_APPEAL_DECLINE, P_NONE, P_NONE] += 1
            else:
                _close_request(i, rec, acc, flows)
        else:
            new_plans[n_new] = i
            n_new += 1
    for j in range(n_new):
        i = new_plans[j]
        counts[C_ASSESS] -= 1
        status[i] = ACTIVE
        placement[i] = -1
        waiting[i] = NO_WAIT
        q = lookup(mdl.first_placement_cdf[s, e, age[i], need[i]], uniform(stream[i], m, DEC_FIRST_PLACEMENT))
        _request_place(i, q, True, DEC_OVERFLOW_NEW, codes.EV_NEW_PLAN, m, rec, acc, capacity_now,
                       overflow_independent, unit_cost, cost_spread, flows)
        _schedule(i, m + REVIEW_INTERVAL_MONTHS, rec, acc)
        active[n_active] = i
        n_active += 1
    return n_active


@jit
def _entrants(n, m, s, e, mdl, rkey, rec, acc, requests, n_requests, active, n_active, capacity_now,
              overflow_independent, unit_cost, cost_spread, flows):
    """Step 6: new requests and arrivals, Poisson by academic age. New requests join the list
    of open requests, arrivals the active list. Returns (records, open requests, active
    plans); records is -1 if the preallocated records ran out."""
    stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, nxt = rec
    counts = acc[3]
    cap = stream.shape[0]
    multiplier = mdl.request_multiplier[s, m]
    half = mdl.first_half_of_month[m]
    for a in range(N_AGES):
        for kind in (KIND_REQUEST, KIND_ARRIVAL):
            if kind == KIND_REQUEST:
                mean = mdl.request_rate[s, e, a] * multiplier * mdl.request_season[s, e, a, half]
            else:
                mean = mdl.arrival_rate[s, e, a]
            if mean <= 0.0:
                continue
            count = poisson(child_stream(rkey, CELL_KEY_BASE + kind * 64 + a), m, mean)
            for sequence in range(count):
                if n >= cap:
                    return -1, n_requests, n_active
                i = n
                n += 1
                stream[i] = child_stream(rkey, entrant_key(kind, m, a, sequence))
                age[i] = a
                reason[i] = codes.REASON_NONE
                stage[i] = 0
                waiting[i] = NO_WAIT
                annual_cost[i] = 0
                placement[i] = -1
                if kind == KIND_REQUEST:
                    need[i] = lookup(mdl.request_need_cdf[s, e, a], uniform(stream[i], m, DEC_NEED))
                    status[i] = REQUEST_PENDING
                    counts[C_PENDING] += 1
                    requests[n_requests] = i
                    n_requests += 1
                    flows[codes.EV_REQUEST, P_NONE, P_NONE] += 1
                else:
                    need[i] = lookup(mdl.arrival_need_cdf[s, e, a], uniform(stream[i], m, DEC_NEED))
                    status[i] = ACTIVE
                    months_since_review = int(uniform(stream[i], m, DEC_REVIEW_PHASE) * 12.0)
                    _schedule(i, m + REVIEW_INTERVAL_MONTHS - months_since_review, rec, acc)
                    q = lookup(mdl.arrival_placement_cdf[s, e, a], uniform(stream[i], m, DEC_ARRIVAL_PLACEMENT))
                    _request_place(i, q, True, DEC_OVERFLOW_ARRIVAL, codes.EV_ARRIVAL, m, rec, acc, capacity_now,
                                   overflow_independent, unit_cost, cost_spread, flows)
                    active[n_active] = i
                    n_active += 1
    return n, n_requests, n_active


@jit
def _snapshot(m, s, mdl, rec, acc, n_due, n_reviews, previous_by_placement, previous_occupancy, check_flows,
              flows, stock_out, cost_out, measures_out, out_row, errors_out) -> bool:
    """Step 7: cost, stock, measures, and the run-time invariants. Returns False (with the
    error written) when an invariant is broken."""
    stock, occupancy, cost_sum, counts, head, tail, size = acc
    capacity_now = mdl.place_capacity[s, m]
    for p in range(P_N):
        cost_out[out_row, m, p] = cost_sum[p] / 12.0  # base-year prices: the money model applies price growth
    by_placement = np.zeros(P_N, dtype=np.int64)
    for b in range(N_BANDS):
        for p in range(P_N):
            for k in range(N_NEEDS):
                count_now = stock[b, p, k]
                if count_now < 0:
                    errors_out[out_row, 0] = ERR_NEGATIVE
                    errors_out[out_row, 1] = m
                    errors_out[out_row, 2] = p
                    return False
                stock_out[out_row, m, b, p, k] = count_now
                by_placement[p] += count_now
    if check_flows and m > 0:
        # Conservation: the change of each placement's stock equals the movement flows into
        # it minus those out of it (flows and stock are kept by different code paths).
        net = np.zeros(P_N + 1, dtype=np.int64)
        for ev in range(codes.N_EVENTS):
            if not _IS_MOVEMENT[ev]:
                continue
            for src in range(P_N + 1):
                for dst in range(P_N + 1):
                    if src != dst:
                        f = flows[ev, src, dst]
                        net[dst] += f
                        net[src] -= f
        for p in range(P_N):
            if by_placement[p] - previous_by_placement[p] != net[p]:
                errors_out[out_row, 0] = ERR_CONSERVATION
                errors_out[out_row, 1] = m
                errors_out[out_row, 2] = p
                return False
    for q in (SRP, SPECIAL):
        if occupancy[q] > capacity_now[q] and occupancy[q] > previous_occupancy[q]:
            errors_out[out_row, 0] = ERR_CAPACITY
            errors_out[out_row, 1] = m
            errors_out[out_row, 2] = q
            return False
    for p in range(P_N):
        previous_by_placement[p] = by_placement[p]
        previous_occupancy[p] = occupancy[p]
    measures = measures_out[out_row, m]
    measures[codes.M_REQUESTS_PENDING] = counts[C_PENDING]
    measures[codes.M_ASSESSMENTS_OPEN] = counts[C_ASSESS]
    measures[codes.M_APPEALS_OPEN] = counts[C_APPEAL]
    measures[codes.M_REVIEWS_DUE] = n_due
    measures[codes.M_REVIEWS_DONE] = n_reviews
    measures[codes.M_REVIEWS_OVERDUE] = counts[C_DUE]  # due and not reviewed: overdue at month end
    measures[codes.M_WAITING] = counts[C_WAITING]
    measures[codes.M_SRP_OCCUPIED] = occupancy[SRP]
    measures[codes.M_SRP_CAPACITY] = min(capacity_now[SRP], codes.UNLIMITED_PLACES)
    measures[codes.M_SPECIAL_OCCUPIED] = occupancy[SPECIAL]
    measures[codes.M_SPECIAL_CAPACITY] = min(capacity_now[SPECIAL], codes.UNLIMITED_PLACES)
    return True


@jit
def run_one(run, s, seed, start_calendar_month, n_months, open_key, open_age, open_placement, open_need,
            open_status, open_months_since_review, open_stage, open_waiting, open_cost, mdl, record_capacity,
            stock_out, flows_out, cost_out, measures_out, trace_out, errors_out, out_row):
    """Simulate one Monte Carlo run, writing row ``out_row`` of every output array."""
    n_open = open_key.shape[0]
    cap = record_capacity
    stream = np.empty(cap, dtype=np.uint64)
    age = np.empty(cap, dtype=np.int8)
    placement = np.empty(cap, dtype=np.int8)
    need = np.empty(cap, dtype=np.int8)
    status = np.empty(cap, dtype=np.int8)
    reason = np.empty(cap, dtype=np.int8)
    review_due = np.empty(cap, dtype=np.int16)
    stage = np.empty(cap, dtype=np.int16)
    waiting = np.empty(cap, dtype=np.int8)
    annual_cost = np.empty(cap, dtype=np.int32)
    next_in_bucket = np.empty(cap, dtype=np.int32)
    rec = (stream, age, placement, need, status, reason, review_due, stage, waiting, annual_cost, next_in_bucket)
    stock = np.zeros((N_BANDS, P_N, N_NEEDS), dtype=np.int64)
    occupancy = np.zeros(P_N, dtype=np.int64)
    cost_sum = np.zeros(P_N, dtype=np.int64)
    counts = np.zeros(N_COUNTS, dtype=np.int64)
    n_buckets = n_months + REVIEW_INTERVAL_MONTHS - REVIEW_BUCKET_FLOOR + 1
    bucket_head = np.full(n_buckets, -1, dtype=np.int32)
    bucket_tail = np.full(n_buckets, -1, dtype=np.int32)
    bucket_size = np.zeros(n_buckets, dtype=np.int64)
    acc = (stock, occupancy, cost_sum, counts, bucket_head, bucket_tail, bucket_size)
    # Work lists, rebuilt each month.
    candidates = np.empty(cap, dtype=np.int32)
    queue = np.empty(cap, dtype=np.int32)
    waitlist = np.empty(cap, dtype=np.int32)
    step_down_list = np.empty(cap, dtype=np.int32)
    new_plans = np.empty(cap, dtype=np.int32)
    selected = np.empty(cap, dtype=np.bool_)
    requests = np.empty(cap, dtype=np.int32)  # open requests (pipeline records), in record order
    active = np.empty(cap, dtype=np.int32)    # active plans, in the order they became active
    histogram = np.zeros(WAIT_HISTOGRAM_BINS, dtype=np.int64)
    no_priority = np.zeros(codes.N_AGES, dtype=np.int64)
    previous_by_placement = np.zeros(P_N, dtype=np.int64)
    previous_occupancy = np.zeros(P_N, dtype=np.int64)
    # Without a flows table the month's flows go to a scratch buffer, zeroed every month, so
    # that the conservation check runs either way.
    scratch_flows = np.zeros((codes.N_EVENTS, P_N + 1, P_N + 1), dtype=np.int32)
    record_flows = flows_out.shape[0] > 0

    rkey = run_key(seed, run)
    e0 = mdl.epoch_of_month[0]
    n_requests = 0
    n_active = 0
    for i in range(n_open):
        stream[i] = child_stream(rkey, open_key[i])
        age[i] = open_age[i]
        placement[i] = open_placement[i]
        need[i] = open_need[i]
        status[i] = open_status[i]
        reason[i] = codes.REASON_NONE
        stage[i] = open_stage[i]
        waiting[i] = open_waiting[i]
        st = status[i]
        annual_cost[i] = 0
        if st == ACTIVE:
            p = placement[i]
            if open_cost[i] >= 0:
                annual_cost[i] = open_cost[i]
            else:
                annual_cost[i] = draw_annual_cost(stream[i], 0, mdl.unit_cost[s, e0, age[i], p, need[i]],
                                                  mdl.cost_spread[s, e0, age[i], p])
            stock[_BAND[age[i]], p, need[i]] += 1
            occupancy[p] += 1
            cost_sum[p] += annual_cost[i]
            if waiting[i] != NO_WAIT:
                counts[C_WAITING] += 1
            # counts[C_MONTH] is 0: plans overdue at the opening count as due.
            _schedule(i, REVIEW_INTERVAL_MONTHS - min(int(open_months_since_review[i]), WAIT_HISTOGRAM_BINS - 1),
                      rec, acc)
            active[n_active] = i
            n_active += 1
        elif st != CEASED and st != CLOSED:
            requests[n_requests] = i
            n_requests += 1
            if st == REQUEST_PENDING:
                counts[C_PENDING] += 1
            elif st == ASSESSMENT:
                counts[C_ASSESS] += 1
            else:
                counts[C_APPEAL] += 1
    for p in range(P_N):
        previous_occupancy[p] = occupancy[p]
        for b in range(N_BANDS):
            for k in range(N_NEEDS):
                previous_by_placement[p] += stock[b, p, k]

    n = n_open
    n_trace = trace_out.shape[0]
    cursor = 0  # the oldest review bucket that may hold plans
    for m in range(n_months):
        e = mdl.epoch_of_month[m]
        if record_flows:
            flows = flows_out[out_row, m]
        else:
            scratch_flows[:] = 0
            flows = scratch_flows
        capacity_now = mdl.place_capacity[s, m]
        unit_cost = mdl.unit_cost[s, e]
        cost_spread = mdl.cost_spread[s, e]
        overflow_independent = mdl.overflow_independent[s, e]
        n_due = 0
        n_reviews = 0
        if m > 0:
            counts[C_MONTH] = m
            counts[C_DUE] += bucket_size[m - REVIEW_BUCKET_FLOOR]  # plans whose review falls due this month
            if (start_calendar_month + m) % 12 == 8:
                _september(active, n_active, requests, n_requests, m, s, e, mdl, rec, acc, capacity_now,
                           overflow_independent, unit_cost, cost_spread, flows)
            # ---- Step 2: one pass over the plans.
            n_active, n_wait, n_step = _between_reviews(
                active, n_active, m, rec, acc, mdl.move_stay[s, e], mdl.move_cdf[s, e], mdl.step_down[s, e],
                mdl.between_review_event, capacity_now, overflow_independent, unit_cost, cost_spread, flows, waitlist,
                step_down_list)
            decision_hazard = mdl.decision_hazard[s, e]
            p_assess = mdl.p_assess[s, e]
            p_appeal_refusal = mdl.p_appeal_refusal[s, e]
            tribunal_hazard = mdl.tribunal_hazard[s, e]
            p_win = mdl.p_tribunal_win[s, e]
            min_months = mdl.assessment_min_months[s, e]
            # ---- Step 5, uncapacitated part: every open request, in record order. Requests
            # never compete for places or slots here, so a pass of their own gives the same
            # result as interleaving them with the plans, and keeps both loops tight.
            n_queue = 0
            n_new = 0
            n_open_requests = 0
            for j in range(n_requests):
                i = requests[j]
                st = status[i]
                if st > APPEAL_DECLINE:  # became a plan or closed since the last pass: drop it
                    continue
                if stage[i] < 32767:
                    stage[i] += 1
                if st == REQUEST_PENDING:
                    if uniform(stream[i], m, DEC_DECIDE) < decision_hazard:
                        counts[C_PENDING] -= 1
                        if uniform(stream[i], m, DEC_ASSESS) < p_assess:
                            counts[C_ASSESS] += 1
                            status[i] = ASSESSMENT
                            stage[i] = 0
                            flows[codes.EV_AGREED, P_NONE, P_NONE] += 1
                        else:
                            flows[codes.EV_REFUSED, P_NONE, P_NONE] += 1
                            if uniform(stream[i], m, DEC_APPEAL) < p_appeal_refusal:
                                counts[C_APPEAL] += 1
                                status[i] = APPEAL_REFUSAL
                                stage[i] = 0
                                flows[codes.EV_APPEAL_REFUSAL, P_NONE, P_NONE] += 1
                            else:
                                status[i] = CLOSED
                                flows[codes.EV_REQUEST_CLOSED, P_NONE, P_NONE] += 1
                elif st == ASSESSMENT:
                    if stage[i] >= min_months:
                        queue[n_queue] = i
                        n_queue += 1
                elif uniform(stream[i], m, DEC_TRIBUNAL) < tribunal_hazard:  # an appeal is decided
                    counts[C_APPEAL] -= 1
                    if uniform(stream[i], m, DEC_TRIBUNAL_WIN) < p_win:
                        flows[codes.EV_TRIBUNAL_UPHELD, P_NONE, P_NONE] += 1
                        counts[C_ASSESS] += 1  # an open case until assessed (refusal) or issued (decline)
                        if st == APPEAL_REFUSAL:
                            status[i] = ASSESSMENT
                            stage[i] = 0
                        else:
                            new_plans[n_new] = i
                            n_new += 1
                    else:
                        flows[codes.EV_TRIBUNAL_DISMISSED, P_NONE, P_NONE] += 1
                        status[i] = CLOSED
                        flows[codes.EV_REQUEST_CLOSED, P_NONE, P_NONE] += 1
                if status[i] != CLOSED:
                    requests[n_open_requests] = i  # compaction keeps record order
                    n_open_requests += 1
            n_requests = n_open_requests
            # ---- Steps 3 to 6.
            n_due = counts[C_DUE]
            n_reviews, cursor = _reviews(m, s, e, mdl, rec, acc, cursor, capacity_now, overflow_independent,
                                         unit_cost, cost_spread, flows)
            _places(m, rec, acc, waitlist, n_wait, step_down_list, n_step, candidates, histogram, selected,
                    no_priority, capacity_now, unit_cost, cost_spread, flows)
            n_active = _assessments(m, s, e, mdl, rec, acc, queue, n_queue, new_plans, n_new, active, n_active,
                                    histogram, selected, capacity_now, overflow_independent, unit_cost, cost_spread,
                                    flows)
            n, n_requests, n_active = _entrants(n, m, s, e, mdl, rkey, rec, acc, requests, n_requests, active,
                                                n_active, capacity_now, overflow_independent, unit_cost,
                                                cost_spread, flows)
            if n < 0:
                errors_out[out_row, 0] = ERR_RECORD_CAPACITY
                errors_out[out_row, 1] = m
                return
        # ---- Step 7.
        if not _snapshot(m, s, mdl, rec, acc, n_due, n_reviews, previous_by_placement, previous_occupancy,
                         True, flows, stock_out, cost_out, measures_out, out_row, errors_out):
            return
        if out_row < n_trace:
            for i in range(min(n, trace_out.shape[2])):
                st = status[i]
                trace_out[out_row, m, i] = placement[i] if st == ACTIVE else -1 - st


@jit_parallel
def simulate_chunk(runs, sets, seed, start_calendar_month, n_months, open_key, open_age, open_placement, open_need,
                   open_status, open_months_since_review, open_stage, open_waiting, open_cost, mdl, record_capacity,
                   stock_out, flows_out, cost_out, measures_out, trace_out, errors_out):
    """Simulate runs ``runs[j]`` with parameter set ``sets[j]`` into output row j, in parallel.

    Each run's random numbers depend only on (seed, run, child key, month, decision), so the
    output is identical for any number of threads and any split of runs into chunks.
    """
    for j in prange(runs.shape[0]):
        run_one(runs[j], sets[j], seed, start_calendar_month, n_months, open_key, open_age, open_placement,
                open_need, open_status, open_months_since_review, open_stage, open_waiting, open_cost, mdl,
                record_capacity, stock_out, flows_out, cost_out, measures_out, trace_out, errors_out, j)
