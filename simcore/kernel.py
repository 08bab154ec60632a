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
   age), each issuing a plan or declining (``p_decline``; declines may be appealed). Plans
   issued (by assessment or tribunal) take a first placement.
6. **Entrants**: new requests (Poisson by age, ``request_rate`` x growth x the half-year
   factor from ``request_first_half_share``) and arrivals from
   other authorities (Poisson by age, ``arrival_rate``).
7. **Cost and snapshot**: each plan costs its annual cost / 12 (at the prices of the run's first
   financial year: price growth is the money model's), summed by placement; the stock by age
   band, placement and need, the pipeline measures and the run-time invariants are recorded.

Capacity: the capacity of SRP and special places (``places`` x ``max_occupancy``) limits the
authority's own places; a child may also hold a place of the same kind in another authority's
school (``Records.other_la``: counted in the stock, not in the occupancy of the own places, costed
at ``other_la_cost_ratio``). A phase transfer (the admission round, which goes first) gets an own
place while occupancy is below capacity; an in-year request (new plan, arrival, move, review) gets
one with the soft limit's chance, ``1 / (1 + exp((occupancy / capacity - place_soft_mid) /
place_soft_width))`` (none at capacity; a wall when the width is 0). A child refused an own place
gets one in another authority's school with probability ``other_la_placement``; otherwise, with
probability ``overflow_independent`` the child goes to an independent placement; if not, the child
waits: in the current placement when the demand came from a move or a review, with no place when
the old placement ended (new plan, arrival, phase transfer). Free own places go to the waiting,
then to step-downs, up to the in-year capacity (the soft limit's midpoint x capacity, at most the
capacity).

State: a run carries a :class:`RunState` of named structs of arrays (the records, running
totals kept in step with every change, the review schedule, the work lists); each step is a
function of the month (:class:`Month`), the parameters and that state, and :func:`run_one`
calls them in the order above.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from sendsim.simcore import codes
from sendsim.simcore._jit import jit, jit_inline, jit_parallel
from sendsim.simcore.rng import (
    CELL_KEY_BASE,
    DEC_APPEAL,
    DEC_ARRIVAL_PLACEMENT,
    DEC_ASSESS,
    DEC_CEASE_REASON,
    DEC_COST,
    DEC_DECIDE,
    DEC_FIRST_PLACEMENT,
    DEC_ISSUE,
    DEC_MOVE,
    DEC_NEED,
    DEC_OTHER_LA_OPEN,
    DEC_OVERFLOW_ARRIVAL,
    DEC_OVERFLOW_MOVE,
    DEC_OVERFLOW_NEW,
    DEC_OVERFLOW_PHASE,
    DEC_OVERFLOW_REVIEW,
    DEC_PHASE,
    DEC_PLACE_ARRIVAL,
    DEC_PLACE_MOVE,
    DEC_PLACE_NEW,
    DEC_PLACE_PHASE,
    DEC_PLACE_REVIEW,
    DEC_PLACEMENT_APPEAL_PHASE,
    DEC_PLACEMENT_APPEAL_REVIEW,
    DEC_PLACEMENT_TRIBUNAL,
    DEC_PLACEMENT_TRIBUNAL_WIN,
    DEC_REVIEW,
    DEC_REVIEW_MOVE,
    DEC_REVIEW_PHASE,
    DEC_STEP_DOWN,
    DEC_TRIBUNAL,
    DEC_TRIBUNAL_WIN,
    KIND_ARRIVAL,
    KIND_REQUEST,
    child_stream,
    entrant_key,
    poisson,
    run_key,
    uniform,
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
    """Annual cost of a placement for one child: unit cost x a lognormal multiplier of mean 1,
    at most :data:`~simcore.codes.MAX_DRAWN_ANNUAL_COST_GBP` (a far tail of a wide spread on a
    large unit cost would otherwise overflow the 64-bit sums)."""
    if spread <= 0.0:
        return int(np.rint(min(unit_cost_gbp, codes.MAX_DRAWN_ANNUAL_COST_GBP)))
    z = inverse_normal_cdf(uniform(stream, month, DEC_COST))
    cost = unit_cost_gbp * np.exp(spread * z - 0.5 * spread * spread)
    return int(np.rint(min(cost, codes.MAX_DRAWN_ANNUAL_COST_GBP)))


# Indices of the per-run counters in ``Totals.counts``.
C_WAITING = 0        # children waiting for a place
C_PENDING = 1        # requests awaiting the decision to assess
C_ASSESS = 2         # agreed to assess, outcome not reached
C_APPEAL = 3         # appeals lodged, not decided
C_DUE = 4            # plans due (or overdue) for review at the current month
C_MONTH = 5          # the current month
C_RECORDS = 6        # records in use: the first C_RECORDS slots of every ``Records`` array
C_REVIEW_CURSOR = 7  # the oldest review bucket that may still hold plans
C_REVIEWS_DUE = 8    # plans due when this month's reviews began (the month's measure)
C_REVIEWS_DONE = 9   # reviews held this month (the month's measure)
N_COUNTS = 10
# Indices of the list lengths in ``WorkLists.length``.
L_ACTIVE = 0            # active plans
L_REQUESTS = 1          # open requests
L_WAITLIST = 2          # children waiting for a place (this month)
L_STEP_DOWN = 3         # step-down candidates (this month)
L_ASSESSMENT_QUEUE = 4  # assessments that may complete (this month)
L_NEW_PLANS = 5         # plans issued (this month)
L_PLACEMENT_APPEALS = 6  # open placement appeals (carried from month to month)
N_LISTS = 7
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


class Records(NamedTuple):
    """One run's records (requests in the pipeline and plans) as a struct of arrays, one slot
    per record, preallocated to the run's record capacity; ``Totals.counts[C_RECORDS]`` slots are
    in use. A record's key (its identity) is needed only to derive its stream, once, when the
    record is created; only the stream is kept."""

    stream: np.ndarray            # uint64 the record's random stream (from seed, run and key)
    age: np.ndarray               # int8 academic age
    placement: np.ndarray         # int8 placement code; -1 for a request
    need: np.ndarray              # int8 primary need code
    status: np.ndarray            # int8 status code
    cease_reason: np.ndarray      # int8 reason code of a ceased plan, else REASON_NONE
    stage_months: np.ndarray      # int16 months in the current pipeline stage, or waiting for a place
    waiting_for: np.ndarray       # int8 placement waited for, or NO_WAIT
    annual_cost_gbp: np.ndarray   # int64 annual cost of the current placement (products of costs overflow 32 bits)
    other_la: np.ndarray          # int8 1: the SRP or special place is in another authority's school, else 0
    placement_appeal: np.ndarray  # int8 1: an appeal against the placement named is open, else 0


class Totals(NamedTuple):
    """Running totals of one run, kept in step with every change of a record (so that the
    month-end snapshot need not walk the records)."""

    stock: np.ndarray         # [B,P,N] int64 plans by age band, placement and need
    occupancy: np.ndarray     # [P] int64 plans by placement
    cost_sum_gbp: np.ndarray  # [P] int64 annual cost of the plans, by placement
    other_la: np.ndarray      # [P] int64 plans in another authority's school, by placement (in occupancy too)
    counts: np.ndarray        # [N_COUNTS] int64 counters, indexed by the C_* constants


class ReviewSchedule(NamedTuple):
    """The review schedule of one run (see REVIEW_BUCKET_FLOOR): one list of plans per month
    due (buckets indexed by due month minus REVIEW_BUCKET_FLOOR), and each record's place in it."""

    head: np.ndarray            # [buckets] int32 first plan of each bucket, -1 if empty
    tail: np.ndarray            # [buckets] int32 last plan of each bucket, -1 if empty
    size: np.ndarray            # [buckets] int64 active plans in each bucket
    due_month: np.ndarray       # [capacity] int16 month each plan's next annual review falls due
    next_in_bucket: np.ndarray  # [capacity] int32 next plan in the same bucket, -1 at the end


class LastMonthEnd(NamedTuple):
    """Totals at the last month end, for the run-time checks of the snapshot."""

    by_placement: np.ndarray  # [P] int64 plans by placement (conservation check)
    occupancy: np.ndarray     # [P] int64 occupancy of the authority's own places (capacity check)


class WorkLists(NamedTuple):
    """Lists of record indices the steps work from, and their scratch space. The active plans
    and open requests are carried from month to month; the others are rebuilt each month."""

    active: np.ndarray            # [capacity] int32 active plans, in the order they became active
    requests: np.ndarray          # [capacity] int32 open requests, in record order
    waitlist: np.ndarray          # [capacity] int32 children waiting for a place (step 2, for step 4)
    step_down: np.ndarray         # [capacity] int32 independent children who drew a step-down (step 2, for step 4)
    assessment_queue: np.ndarray  # [capacity] int32 assessments that may complete this month (step 5)
    new_plans: np.ndarray         # [capacity] int32 plans issued this month (step 5)
    placement_appeals: np.ndarray  # [capacity] int32 plans with an open placement appeal, in order lodged
    candidates: np.ndarray        # [capacity] int32 scratch: children waiting for one placement (step 4), or
                                  # phase transfers to a capacity-limited placement (step 1)
    phase_wanted: np.ndarray      # [capacity] int8 scratch: the placement each of those phase transfers asks for
    selected: np.ndarray          # [capacity] bool scratch: whom select_longest_waiting took
    wait_histogram: np.ndarray    # [WAIT_HISTOGRAM_BINS] int64 scratch of select_longest_waiting
    no_priority: np.ndarray       # [A] int64 zeros: places go to the longest waiting, no age first
    length: np.ndarray            # [N_LISTS] int64 length of each list, indexed by the L_* constants


class RunState(NamedTuple):
    """Everything one run carries from month to month."""

    records: Records
    totals: Totals
    schedule: ReviewSchedule
    lists: WorkLists
    last_month_end: LastMonthEnd
    # The month's flows when no flows table is kept: zeroed every month, so that the
    # conservation check runs either way.
    scratch_flows: np.ndarray     # [EV,P+1,P+1] int32


class Month(NamedTuple):
    """What the steps of one month read: the month, its parameter set and epoch, the slices of
    the parameters used at every change of placement, and where the month's flows go."""

    number: int                       # months after the start (0: the opening snapshot)
    parameter_set: int
    epoch: int
    place_capacity: np.ndarray        # [P] int64 places available this month
    in_year_capacity: np.ndarray      # [P] int64 own places free places fill up to (waiting, step-down)
    overflow_independent: np.ndarray  # [P]
    place_soft_mid: np.ndarray        # [P]
    place_soft_width: np.ndarray      # [P] 0: a wall at capacity
    p_placement_appeal: np.ndarray    # [A,P]
    other_la_placement: np.ndarray    # [P]
    other_la_cost_ratio: np.ndarray   # [P]
    unit_cost_gbp: np.ndarray         # [A,P,N] annual unit cost at base prices
    cost_spread: np.ndarray           # [A,P]
    flows: np.ndarray                 # [EV,P+1,P+1] int32 events of the month by (from, to) placement


class OpeningCohort(NamedTuple):
    """The opening records (month 0), shared by every run of a chunk (read only)."""

    child_key: np.ndarray            # [n] int64 stable identity: the key of the record's random stream
    age: np.ndarray                  # [n] int8 academic age at the start (0..MAX_AGE)
    placement: np.ndarray            # [n] int8 placement code, -1 for a request
    need: np.ndarray                 # [n] int8 need code
    status: np.ndarray               # [n] int8 status code
    months_since_review: np.ndarray  # [n] int16
    stage_months: np.ndarray         # [n] int16 months in the current pipeline stage, or waiting
    waiting_for: np.ndarray          # [n] int8 placement waited for, or NO_WAIT
    annual_cost_gbp: np.ndarray      # [n] int64, -1: drawn from the unit cost at the start of each run


class RunSettings(NamedTuple):
    """Settings shared by every run of a chunk."""

    seed: np.uint64
    start_calendar_month: int  # calendar month of month 0, 0-based (January = 0)
    n_months: int              # months of a run, the opening snapshot included
    record_capacity: int       # records preallocated per run


class Outputs(NamedTuple):
    """The chunk's output arrays; row j of each is the j-th run of the chunk."""

    stock: np.ndarray     # [R,T,B,P,N] int32 month-end stock by age band, placement and need
    flows: np.ndarray     # [R,T,EV,P+1,P+1] int32 events by (from, to) placement, or zero rows: not kept
    cost_gbp: np.ndarray  # [R,T,P] float64 spent in the month by placement
    measures: np.ndarray  # [R,T,M] int64 pipeline and capacity measures
    trace: np.ndarray     # [R_trace,T,records] int8 placement (>= 0) or -1 - status, per record
    errors: np.ndarray    # [R,3] int64 error code, month, detail (ERR_NONE: the run completed)


# The helpers below are inlined into the steps' loops. They take the parts of the state they
# need (records, totals, schedule), never the whole RunState: an inlined helper binds each tuple
# argument afresh, which updates the reference count of every array in it, and with the
# 32-array RunState that made the Kent baseline a quarter slower (measured: 50 against 65 M
# child-months a second on one core). For the same reason the review links live in the
# schedule (``_schedule``, once per review, takes it and the counters only), and the month-end
# figures of the checks apart from the totals.


@jit_inline
def _set_placement(i, q, other_la, records, totals, month):
    """Move record i (active) from its placement (or none) to q (possibly the same), keeping
    stock, occupancy and cost sums in step; the placement draws a new annual cost. ``other_la``
    (0 or 1): the new place is in another authority's school (costed at ``other_la_cost_ratio``)."""
    age, need, placement, annual_cost_gbp = records.age, records.need, records.placement, records.annual_cost_gbp
    p = placement[i]
    band = _BAND[age[i]]
    if p >= 0:
        totals.stock[band, p, need[i]] -= 1
        totals.occupancy[p] -= 1
        totals.cost_sum_gbp[p] -= annual_cost_gbp[i]
        if records.other_la[i] != 0:
            totals.other_la[p] -= 1
    unit = month.unit_cost_gbp[age[i], q, need[i]]
    if other_la != 0:
        unit *= month.other_la_cost_ratio[q]
        totals.other_la[q] += 1
    cost = draw_annual_cost(records.stream[i], month.number, unit, month.cost_spread[age[i], q])
    annual_cost_gbp[i] = cost
    placement[i] = q
    records.other_la[i] = other_la
    totals.stock[band, q, need[i]] += 1
    totals.occupancy[q] += 1
    totals.cost_sum_gbp[q] += cost


@jit_inline
def own_place_chance(own, capacity, mid, width):
    """The soft limit: the chance that an in-year request gets one of the authority's own places
    at this occupancy, ``1 / (1 + exp((own / capacity - mid) / width))``; 0 at capacity; 1 below
    capacity when ``width`` is 0 (a wall)."""
    if own >= capacity:
        return 0.0
    if width <= 0.0:
        return 1.0
    return 1.0 / (1.0 + np.exp((own / capacity - mid) / width))


@jit_inline
def _request_place(i, q, leaving, overflow_decision, place_decision, event, records, totals, month):
    """Record i asks for placement q: apply the capacity rule and record the flows.

    For a capacity-limited q, the authority's own places: a phase transfer (the admission round,
    first) gets one while any is left; an in-year request with the soft limit's chance
    (:func:`own_place_chance`). A child refused one may get a place in another authority's
    school (``other_la_placement``); if not, ``overflow_independent`` decides between an
    independent placement and waiting. One draw (``place_decision``) decides both steps, only when
    the soft limit or the other authorities' places are in use.

    ``leaving``: the current placement is ending (new plan, arrival, phase transfer), so a
    child who must wait for a full placement waits with no place.
    """
    waiting, stage = records.waiting_for, records.stage_months
    counts = totals.counts
    capacity, flows = month.place_capacity, month.flows
    p = records.placement[i]
    target = q
    other_la = records.other_la[i] if p == q else 0  # staying put (a phase transfer): the same school
    refused = False
    if capacity[q] < codes.UNLIMITED_PLACES and p != q:
        own = totals.occupancy[q] - totals.other_la[q]
        width = month.place_soft_width[q]
        if event == codes.EV_PHASE_TRANSFER:
            width = 0.0
        chance = own_place_chance(own, capacity[q], month.place_soft_mid[q], width)
        p_other = month.other_la_placement[q]
        if chance < 1.0:
            if p_other <= 0.0 and width <= 0.0:
                refused = True  # a wall and no other authority's places: no draw
            else:
                u = uniform(records.stream[i], month.number, place_decision)
                if u >= chance:
                    if (u - chance) < (1.0 - chance) * p_other:
                        other_la = 1
                        flows[codes.EV_OTHER_LA_PLACE, q, q] += 1
                    else:
                        refused = True
    if refused:
        if uniform(records.stream[i], month.number, overflow_decision) < month.overflow_independent[q]:
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
        _set_placement(i, target, other_la, records, totals, month)
        flows[event, src, target] += 1


@jit_inline
def _cease(i, reason_code, event, records, totals, schedule, flows):
    counts = totals.counts
    due_month, waiting = schedule.due_month, records.waiting_for
    p = records.placement[i]
    totals.stock[_BAND[records.age[i]], p, records.need[i]] -= 1
    totals.occupancy[p] -= 1
    totals.cost_sum_gbp[p] -= records.annual_cost_gbp[i]
    if records.other_la[i] != 0:
        totals.other_la[p] -= 1
    records.status[i] = CEASED
    records.cease_reason[i] = reason_code
    # Off the review schedule (the list entry is dropped when the reviews reach it).
    schedule.size[due_month[i] - REVIEW_BUCKET_FLOOR] -= 1
    if due_month[i] <= counts[C_MONTH]:
        counts[C_DUE] -= 1
    if waiting[i] != NO_WAIT:
        waiting[i] = NO_WAIT
        counts[C_WAITING] -= 1
    flows[event, p, P_NONE] += 1


@jit_inline
def _schedule(i, due_month, schedule, counts):
    """Put plan i on the review schedule: its next review falls due in ``due_month``."""
    next_in_bucket = schedule.next_in_bucket
    head, tail, size = schedule.head, schedule.tail, schedule.size
    due_month = max(due_month, REVIEW_BUCKET_FLOOR)
    b = due_month - REVIEW_BUCKET_FLOOR
    schedule.due_month[i] = due_month
    next_in_bucket[i] = -1
    if tail[b] < 0:
        head[b] = i
    else:
        next_in_bucket[tail[b]] = i
    tail[b] = i
    size[b] += 1
    if due_month <= counts[C_MONTH]:  # only at the opening: plans already overdue then
        counts[C_DUE] += 1


@jit_inline
def _close_request(i, records, totals, flows):
    """A request ends without a plan (refusal not appealed, appeal lost, age limit)."""
    status = records.status
    counts = totals.counts
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
def _new_run_state(record_capacity, n_months) -> RunState:
    """Allocate one run's state: records, zero totals, an empty review schedule and empty lists."""
    cap = record_capacity
    records = Records(
        np.empty(cap, dtype=np.uint64), np.empty(cap, dtype=np.int8), np.empty(cap, dtype=np.int8),
        np.empty(cap, dtype=np.int8), np.empty(cap, dtype=np.int8), np.empty(cap, dtype=np.int8),
        np.empty(cap, dtype=np.int16), np.empty(cap, dtype=np.int8), np.empty(cap, dtype=np.int64),
        np.empty(cap, dtype=np.int8), np.empty(cap, dtype=np.int8))
    totals = Totals(np.zeros((N_BANDS, P_N, N_NEEDS), dtype=np.int64), np.zeros(P_N, dtype=np.int64),
                    np.zeros(P_N, dtype=np.int64), np.zeros(P_N, dtype=np.int64), np.zeros(N_COUNTS, dtype=np.int64))
    # Reviews fall due from REVIEW_BUCKET_FLOOR (overdue at the opening) to the last month + 12.
    n_buckets = n_months + REVIEW_INTERVAL_MONTHS - REVIEW_BUCKET_FLOOR + 1
    schedule = ReviewSchedule(np.full(n_buckets, -1, dtype=np.int32), np.full(n_buckets, -1, dtype=np.int32),
                              np.zeros(n_buckets, dtype=np.int64), np.empty(cap, dtype=np.int16),
                              np.empty(cap, dtype=np.int32))
    lists = WorkLists(
        np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32),
        np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32),
        np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int8),
        np.empty(cap, dtype=np.bool_),
        np.zeros(WAIT_HISTOGRAM_BINS, dtype=np.int64),
        np.zeros(N_AGES, dtype=np.int64), np.zeros(N_LISTS, dtype=np.int64))
    scratch_flows = np.zeros((codes.N_EVENTS, P_N + 1, P_N + 1), dtype=np.int32)
    last_month_end = LastMonthEnd(np.zeros(P_N, dtype=np.int64), np.zeros(P_N, dtype=np.int64))
    return RunState(records, totals, schedule, lists, last_month_end, scratch_flows)


@jit
def _open(run_key_value, s, opening, mdl, state):
    """Month 0: the opening cohort becomes the run's first records. Plans join the stock, the
    review schedule and the active list; open requests join the list of requests."""
    records, totals, schedule, lists = state.records, state.totals, state.schedule, state.lists
    stream, age, placement, need, status = records.stream, records.age, records.placement, records.need, records.status
    annual_cost_gbp, waiting = records.annual_cost_gbp, records.waiting_for
    counts = totals.counts
    e0 = mdl.epoch_of_month[0]
    n_open = opening.child_key.shape[0]
    n_requests = 0
    n_active = 0
    for i in range(n_open):
        stream[i] = child_stream(run_key_value, opening.child_key[i])
        age[i] = opening.age[i]
        placement[i] = opening.placement[i]
        need[i] = opening.need[i]
        status[i] = opening.status[i]
        records.cease_reason[i] = codes.REASON_NONE
        records.stage_months[i] = opening.stage_months[i]
        waiting[i] = opening.waiting_for[i]
        st = status[i]
        annual_cost_gbp[i] = 0
        records.other_la[i] = 0
        records.placement_appeal[i] = 0
        if st == ACTIVE:
            p = placement[i]
            unit = mdl.unit_cost[s, e0, age[i], p, need[i]]
            share = mdl.other_la_share[s, e0, p]
            if share > 0.0 and uniform(stream[i], 0, DEC_OTHER_LA_OPEN) < share:
                records.other_la[i] = 1
                totals.other_la[p] += 1
                unit *= mdl.other_la_cost_ratio[s, e0, p]
            if opening.annual_cost_gbp[i] >= 0:
                annual_cost_gbp[i] = opening.annual_cost_gbp[i]
            else:
                annual_cost_gbp[i] = draw_annual_cost(stream[i], 0, unit, mdl.cost_spread[s, e0, age[i], p])
            totals.stock[_BAND[age[i]], p, need[i]] += 1
            totals.occupancy[p] += 1
            totals.cost_sum_gbp[p] += annual_cost_gbp[i]
            if waiting[i] != NO_WAIT:
                counts[C_WAITING] += 1
            # counts[C_MONTH] is 0: plans overdue at the opening count as due.
            _schedule(i, REVIEW_INTERVAL_MONTHS - min(int(opening.months_since_review[i]), WAIT_HISTOGRAM_BINS - 1),
                      schedule, counts)
            lists.active[n_active] = i
            n_active += 1
        elif st != CEASED and st != CLOSED:
            lists.requests[n_requests] = i
            n_requests += 1
            if st == REQUEST_PENDING:
                counts[C_PENDING] += 1
            elif st == ASSESSMENT:
                counts[C_ASSESS] += 1
            else:
                counts[C_APPEAL] += 1
    for p in range(P_N):
        state.last_month_end.occupancy[p] = totals.occupancy[p] - totals.other_la[p]
        for b in range(N_BANDS):
            for k in range(N_NEEDS):
                state.last_month_end.by_placement[p] += totals.stock[b, p, k]
    counts[C_RECORDS] = n_open
    lists.length[L_ACTIVE] = n_active
    lists.length[L_REQUESTS] = n_requests


@jit
def _month(m, s, mdl, state, outputs, out_row) -> Month:
    """The parameters of month m (parameter set s) and where its flows go: the run's row of the
    flows table, or the scratch buffer (zeroed) when no flows table is kept."""
    e = mdl.epoch_of_month[m]
    if outputs.flows.shape[0] > 0:
        flows = outputs.flows[out_row, m]
    else:
        flows = state.scratch_flows
        flows[:] = 0
    return Month(m, s, e, mdl.place_capacity[s, m], mdl.in_year_capacity[s, m], mdl.overflow_independent[s, e],
                 mdl.place_soft_mid[s, e], mdl.place_soft_width[s, e], mdl.p_placement_appeal[s, e],
                 mdl.other_la_placement[s, e],
                 mdl.other_la_cost_ratio[s, e], mdl.unit_cost[s, e], mdl.cost_spread[s, e], flows)


@jit
def _begin_month(month, state):
    """The month's clock moves on, and the plans whose review falls due this month count as due."""
    counts = state.totals.counts
    counts[C_MONTH] = month.number
    counts[C_DUE] += state.schedule.size[month.number - REVIEW_BUCKET_FLOOR]


@jit_inline
def _appeal_placement(i, decision, stream, a, p, open_flags, counts, appeals, lengths, chances, m, flows):
    """After a phase transfer or a review, the family of active plan i (stream, age a, placement
    p) may appeal against the placement named (``chances``: ``p_placement_appeal`` by age and
    placement; not from an independent placement, nor with an appeal already open): the appeal
    joins the open placement appeals. It takes arrays, not the state's tuples: it runs at every
    review, and an inlined helper binds each tuple argument afresh (see the note above)."""
    if p == INDEPENDENT or open_flags[i] != 0:
        return
    chance = chances[a, p]
    if chance > 0.0 and uniform(stream, m, decision) < chance:
        open_flags[i] = 1
        counts[C_APPEAL] += 1
        appeals[lengths[L_PLACEMENT_APPEALS]] = i
        lengths[L_PLACEMENT_APPEALS] += 1
        flows[codes.EV_APPEAL_PLACEMENT, p, p] += 1


@jit_inline
def _would_leave(stream, m, q, month):
    """Whether a phase transfer refused one of the authority's own places of q would go to another
    authority's school or independent (not wait): the draws :func:`_request_place` would use."""
    p_other = month.other_la_placement[q]
    if p_other > 0.0 and uniform(stream, m, DEC_PLACE_PHASE) < p_other:
        return True
    return uniform(stream, m, DEC_OVERFLOW_PHASE) < month.overflow_independent[q]


@jit
def _september(month, mdl, state):
    """Step 1: ages up by one; plans and requests at the age limit end; phase transfers.
    Plans are taken in the order of the active list; a phase transfer to a capacity-limited
    placement other than the current one waits for the end of the pass (the places freed by the
    leavers are then known) and then, as Kent's admission round names places, the children who
    would otherwise go to another authority's school or independent (their own draws say so) go
    first, then the others, each group in list order."""
    records, totals, schedule, lists = state.records, state.totals, state.schedule, state.lists
    stream, age, placement, need, status = records.stream, records.age, records.placement, records.need, records.status
    stock = totals.stock
    phase_cdf = mdl.phase_cdf[month.parameter_set, month.epoch]
    capacity = month.place_capacity
    deferred, wanted = lists.candidates, lists.phase_wanted
    n_deferred = 0
    for j in range(lists.length[L_ACTIVE]):
        i = lists.active[j]
        if status[i] != ACTIVE:
            continue
        a_new = age[i] + 1
        if a_new >= MAX_AGE:
            _cease(i, codes.REASON_MAX_AGE, codes.EV_MAX_AGE, records, totals, schedule, month.flows)
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
            q = lookup(phase_cdf[t, need[i], p], uniform(stream[i], month.number, DEC_PHASE))
            if q != p and capacity[q] < codes.UNLIMITED_PLACES:
                deferred[n_deferred] = i
                wanted[n_deferred] = q
                n_deferred += 1
            else:
                _request_place(i, q, True, DEC_OVERFLOW_PHASE, DEC_PLACE_PHASE, codes.EV_PHASE_TRANSFER, records,
                               totals, month)
                _appeal_placement(i, DEC_PLACEMENT_APPEAL_PHASE, stream[i], a_new, placement[i],
                                  records.placement_appeal, totals.counts, lists.placement_appeals, lists.length,
                                  month.p_placement_appeal, month.number, month.flows)
    for first in (True, False):
        for j in range(n_deferred):
            i = deferred[j]
            q = wanted[j]
            if _would_leave(stream[i], month.number, q, month) == first:
                _request_place(i, q, True, DEC_OVERFLOW_PHASE, DEC_PLACE_PHASE, codes.EV_PHASE_TRANSFER, records,
                               totals, month)
                _appeal_placement(i, DEC_PLACEMENT_APPEAL_PHASE, stream[i], age[i], placement[i],
                                  records.placement_appeal, totals.counts, lists.placement_appeals, lists.length,
                                  month.p_placement_appeal, month.number, month.flows)
    for j in range(lists.length[L_REQUESTS]):
        i = lists.requests[j]
        if status[i] > APPEAL_DECLINE:
            continue
        a_new = age[i] + 1
        if a_new >= MAX_AGE:
            _close_request(i, records, totals, month.flows)
        else:
            age[i] = a_new


@jit
def _between_reviews(month, mdl, state):
    """Step 2, the hot loop: one draw per plan against its monthly ``move`` row (stay first),
    step-down draws, and the lists step 4 works from. Reviews need nothing here: the review
    schedule is kept by month due.

    It walks the active list (plans in the order they became active) and drops from it the
    plans that have ended, so that ended plans cost nothing month after month. The tables and
    lists are taken out of the state before the loop, so that the compiler keeps it tight.
    """
    records, totals, schedule, lists = state.records, state.totals, state.schedule, state.lists
    stream, age, placement, status = records.stream, records.age, records.placement, records.status
    waiting, stage = records.waiting_for, records.stage_months
    active, waitlist, step_down_list = lists.active, lists.waitlist, lists.step_down
    s, e, m = month.parameter_set, month.epoch, month.number
    stay_table = mdl.move_stay[s, e]
    move_table = mdl.move_cdf[s, e]
    p_step_down = mdl.step_down[s, e]
    event_of = mdl.between_review_event
    n_wait = 0
    n_step = 0
    n_kept = 0
    for j in range(lists.length[L_ACTIVE]):
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
                _cease(i, codes.REASON_MOVED_AWAY, codes.EV_MOVED_AWAY, records, totals, schedule, month.flows)
                continue
            if q != p:
                _request_place(i, q, False, DEC_OVERFLOW_MOVE, DEC_PLACE_MOVE, event_of[p, q], records, totals, month)
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
    lists.length[L_ACTIVE] = n_kept
    lists.length[L_WAITLIST] = n_wait
    lists.length[L_STEP_DOWN] = n_step


@jit
def _reviews(month, mdl, state):
    """Step 3: up to ``review_capacity`` reviews, longest overdue first: the review schedule's
    buckets from the oldest due month up to this month, each in the order its plans were
    scheduled. A plan reviewed and kept is scheduled again 12 months on. Records the month's
    reviews due and held, and moves the cursor (the oldest bucket that may hold plans) on."""
    records, totals, schedule = state.records, state.totals, state.schedule
    stream, age, placement, status = records.stream, records.age, records.placement, records.status
    next_in_bucket = schedule.next_in_bucket
    head, tail, size = schedule.head, schedule.tail, schedule.size
    counts = totals.counts
    s, e, m = month.parameter_set, month.epoch, month.number
    flows = month.flows
    counts[C_REVIEWS_DUE] = counts[C_DUE]
    open_appeal, appeals, list_length = records.placement_appeal, state.lists.placement_appeals, state.lists.length
    appeal_chances = month.p_placement_appeal
    capacity = mdl.review_capacity[s, m]
    last = m - REVIEW_BUCKET_FLOOR  # the bucket of plans falling due this month
    n_reviews = 0
    cursor = counts[C_REVIEW_CURSOR]
    b = cursor
    while b <= last and n_reviews < capacity:
        i = head[b]
        if i < 0:
            b += 1
            continue
        head[b] = next_in_bucket[i]
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
            _cease(i, why, codes.EV_REVIEW_CEASED_FIRST + why, records, totals, schedule, flows)
            continue
        size[b] -= 1
        counts[C_DUE] -= 1
        if u < p_cease + (1.0 - p_cease) * mdl.review_change[s, e, a]:
            q = lookup(mdl.review_move_cdf[s, e, a, p], uniform(stream[i], m, DEC_REVIEW_MOVE))
            if q == p:
                flows[codes.EV_REVIEW_KEPT, p, p] += 1
            else:
                _request_place(i, q, False, DEC_OVERFLOW_REVIEW, DEC_PLACE_REVIEW, codes.EV_REVIEW_MOVED, records,
                               totals, month)
        else:
            flows[codes.EV_REVIEW_KEPT, p, p] += 1
        # A placement appeal (as _appeal_placement, written out: no helper call at every review).
        q = placement[i]
        if q != INDEPENDENT and open_appeal[i] == 0 and appeal_chances[a, q] > 0.0:
            if uniform(stream[i], m, DEC_PLACEMENT_APPEAL_REVIEW) < appeal_chances[a, q]:
                open_appeal[i] = 1
                counts[C_APPEAL] += 1
                appeals[list_length[L_PLACEMENT_APPEALS]] = i
                list_length[L_PLACEMENT_APPEALS] += 1
                flows[codes.EV_APPEAL_PLACEMENT, q, q] += 1
        _schedule(i, m + REVIEW_INTERVAL_MONTHS, schedule, counts)
    while cursor <= last and head[cursor] < 0:
        cursor += 1
    counts[C_REVIEW_CURSOR] = cursor
    counts[C_REVIEWS_DONE] = n_reviews


@jit
def _placement_appeals(month, mdl, state):
    """Step 3b: the tribunal decides open placement appeals (``placement_appeal_hazard`` a month);
    a win places the child where sought (an independent placement), a loss keeps the placement
    named. The appeal of a plan that has ended closes here (plans end only in steps 1 to 3, before
    this pass: the month-end count of open appeals holds active plans only)."""
    records, totals, lists = state.records, state.totals, state.lists
    stream, status, placement = records.stream, records.status, records.placement
    appeals = lists.placement_appeals
    s, e, m = month.parameter_set, month.epoch, month.number
    hazard = mdl.placement_appeal_hazard[s, e]
    p_win = mdl.p_placement_appeal_win[s, e]
    n_open = 0
    for j in range(lists.length[L_PLACEMENT_APPEALS]):
        i = appeals[j]
        if status[i] != ACTIVE:
            if records.placement_appeal[i] != 0:
                records.placement_appeal[i] = 0
                totals.counts[C_APPEAL] -= 1
            continue
        if uniform(stream[i], m, DEC_PLACEMENT_TRIBUNAL) < hazard:
            records.placement_appeal[i] = 0
            totals.counts[C_APPEAL] -= 1
            p = placement[i]
            if uniform(stream[i], m, DEC_PLACEMENT_TRIBUNAL_WIN) < p_win and p != INDEPENDENT:
                _request_place(i, INDEPENDENT, False, DEC_OVERFLOW_MOVE, DEC_PLACE_MOVE,
                               codes.EV_PLACEMENT_APPEAL_UPHELD, records, totals, month)
            else:
                month.flows[codes.EV_PLACEMENT_APPEAL_DISMISSED, p, p] += 1
            continue
        appeals[n_open] = i
        n_open += 1
    lists.length[L_PLACEMENT_APPEALS] = n_open


@jit
def _places(month, state):
    """Step 4: free SRP and special places of the authority's own (up to the month's in-year
    capacity: the soft limit's midpoint, at most the capacity) to the waiting list (longest wait
    first, no age given priority: ``no_priority`` is zero for every age), then to independent
    children who drew a step-down."""
    records, totals, lists = state.records, state.totals, state.lists
    age, placement, status, waiting = records.age, records.placement, records.status, records.waiting_for
    occupancy, other_la = totals.occupancy, totals.other_la
    counts = totals.counts
    capacity, flows = month.in_year_capacity, month.flows
    waitlist, candidates, selected = lists.waitlist, lists.candidates, lists.selected
    n_wait = lists.length[L_WAITLIST]
    for q in (SRP, SPECIAL):
        if capacity[q] >= codes.UNLIMITED_PLACES:
            free = n_wait
        else:
            free = capacity[q] - (occupancy[q] - other_la[q])
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
        select_longest_waiting(candidates, n_cand, records.stage_months, age, lists.no_priority, free,
                               lists.wait_histogram, selected)
        for j in range(n_cand):
            if selected[j]:
                i = candidates[j]
                src = placement[i]
                waiting[i] = NO_WAIT
                counts[C_WAITING] -= 1
                _set_placement(i, q, 0, records, totals, month)
                flows[codes.EV_WAITING_PLACED, src, q] += 1
    for j in range(lists.length[L_STEP_DOWN]):
        i = lists.step_down[j]
        if status[i] != ACTIVE or placement[i] != INDEPENDENT:
            continue
        if occupancy[SPECIAL] - other_la[SPECIAL] >= capacity[SPECIAL]:
            break
        _set_placement(i, SPECIAL, 0, records, totals, month)
        flows[codes.EV_STEP_DOWN, INDEPENDENT, SPECIAL] += 1


@jit
def _requests(month, mdl, state):
    """Step 5, decisions: every open request, in record order, gets its decision to assess (or
    a refusal, maybe appealed), and tribunals decide lodged appeals; assessments that have run
    ``assessment_min_months`` join the month's queue and plans won at a tribunal the month's new
    plans. Requests never compete for places or slots here, and every draw is keyed by (child,
    month, decision), so this pass gives the same result wherever it runs in the month before
    the assessments; a pass of its own keeps both this loop and the plans' loop tight."""
    records, lists = state.records, state.lists
    stream, status, stage = records.stream, records.status, records.stage_months
    counts = state.totals.counts
    requests, queue, new_plans = lists.requests, lists.assessment_queue, lists.new_plans
    s, e, m = month.parameter_set, month.epoch, month.number
    flows = month.flows
    decision_hazard = mdl.decision_hazard[s, e]
    p_assess = mdl.p_assess[s, e]
    p_appeal_refusal = mdl.p_appeal_refusal[s, e]
    tribunal_hazard = mdl.tribunal_hazard[s, e]
    p_win = mdl.p_tribunal_win[s, e]
    min_months = mdl.assessment_min_months[s, e]
    n_queue = 0
    n_new = 0
    n_open_requests = 0
    for j in range(lists.length[L_REQUESTS]):
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
    lists.length[L_REQUESTS] = n_open_requests
    lists.length[L_ASSESSMENT_QUEUE] = n_queue
    lists.length[L_NEW_PLANS] = n_new


@jit
def _assessments(month, mdl, state):
    """Step 5, completions: at most ``assessment_capacity`` assessments of the queue complete,
    longest waiting first, each issuing a plan or declining; then every new plan (from an
    assessment or a tribunal) takes its first placement and joins the active list."""
    records, totals, schedule, lists = state.records, state.totals, state.schedule, state.lists
    stream, age, placement, need, status = records.stream, records.age, records.placement, records.need, records.status
    counts = totals.counts
    queue, new_plans, selected = lists.assessment_queue, lists.new_plans, lists.selected
    s, e, m = month.parameter_set, month.epoch, month.number
    flows = month.flows
    n_queue = lists.length[L_ASSESSMENT_QUEUE]
    n_new = lists.length[L_NEW_PLANS]
    select_longest_waiting(queue, n_queue, records.stage_months, age, mdl.assessment_priority_months[s, e],
                           mdl.assessment_capacity[s, m], lists.wait_histogram, selected)
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
                records.stage_months[i] = 0
                flows[codes.EV_APPEAL_DECLINE, P_NONE, P_NONE] += 1
            else:
                _close_request(i, records, totals, flows)
        else:
            new_plans[n_new] = i
            n_new += 1
    n_active = lists.length[L_ACTIVE]
    for j in range(n_new):
        i = new_plans[j]
        counts[C_ASSESS] -= 1
        status[i] = ACTIVE
        placement[i] = -1
        records.waiting_for[i] = NO_WAIT
        q = lookup(mdl.first_placement_cdf[s, e, age[i], need[i]], uniform(stream[i], m, DEC_FIRST_PLACEMENT))
        _request_place(i, q, True, DEC_OVERFLOW_NEW, DEC_PLACE_NEW, codes.EV_NEW_PLAN, records, totals, month)
        _schedule(i, m + REVIEW_INTERVAL_MONTHS, schedule, counts)
        lists.active[n_active] = i
        n_active += 1
    lists.length[L_ACTIVE] = n_active
    lists.length[L_NEW_PLANS] = n_new


@jit
def _entrants(month, mdl, run_key_value, state) -> bool:
    """Step 6: new requests and arrivals, Poisson by academic age. New requests join the list
    of open requests, arrivals the active list. Returns False if the preallocated records ran
    out (the run cannot go on)."""
    records, totals, schedule, lists = state.records, state.totals, state.schedule, state.lists
    stream, age, placement, need, status = records.stream, records.age, records.placement, records.need, records.status
    counts = totals.counts
    s, e, m = month.parameter_set, month.epoch, month.number
    flows = month.flows
    cap = stream.shape[0]
    n = counts[C_RECORDS]
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
            count = poisson(child_stream(run_key_value, CELL_KEY_BASE + kind * 64 + a), m, mean)
            for sequence in range(count):
                if n >= cap:
                    counts[C_RECORDS] = n
                    return False
                i = n
                n += 1
                counts[C_RECORDS] = n
                stream[i] = child_stream(run_key_value, entrant_key(kind, m, a, sequence))
                age[i] = a
                records.cease_reason[i] = codes.REASON_NONE
                records.stage_months[i] = 0
                records.waiting_for[i] = NO_WAIT
                records.annual_cost_gbp[i] = 0
                records.other_la[i] = 0
                records.placement_appeal[i] = 0
                placement[i] = -1
                if kind == KIND_REQUEST:
                    need[i] = lookup(mdl.request_need_cdf[s, e, a], uniform(stream[i], m, DEC_NEED))
                    status[i] = REQUEST_PENDING
                    counts[C_PENDING] += 1
                    lists.requests[lists.length[L_REQUESTS]] = i
                    lists.length[L_REQUESTS] += 1
                    flows[codes.EV_REQUEST, P_NONE, P_NONE] += 1
                else:
                    need[i] = lookup(mdl.arrival_need_cdf[s, e, a], uniform(stream[i], m, DEC_NEED))
                    status[i] = ACTIVE
                    months_since_review = int(uniform(stream[i], m, DEC_REVIEW_PHASE) * 12.0)
                    _schedule(i, m + REVIEW_INTERVAL_MONTHS - months_since_review, schedule, counts)
                    q = lookup(mdl.arrival_placement_cdf[s, e, a], uniform(stream[i], m, DEC_ARRIVAL_PLACEMENT))
                    _request_place(i, q, True, DEC_OVERFLOW_ARRIVAL, DEC_PLACE_ARRIVAL, codes.EV_ARRIVAL, records,
                                   totals, month)
                    lists.active[lists.length[L_ACTIVE]] = i
                    lists.length[L_ACTIVE] += 1
    return True


@jit
def _report_error(errors, out_row, code, m, detail):
    """Write a broken rule into the run's row of the error array (the engine raises it)."""
    errors[out_row, 0] = code
    errors[out_row, 1] = m
    errors[out_row, 2] = detail


@jit
def _snapshot(month, mdl, state, outputs, out_row) -> bool:
    """Step 7: cost, stock, measures, and the run-time invariants. Returns False (with the
    error written) when an invariant is broken."""
    totals, last_month_end = state.totals, state.last_month_end
    stock, occupancy, counts = totals.stock, totals.occupancy, totals.counts
    m = month.number
    capacity = month.place_capacity
    for p in range(P_N):
        # Base-year prices: the money model applies price growth.
        outputs.cost_gbp[out_row, m, p] = totals.cost_sum_gbp[p] / 12.0
    by_placement = np.zeros(P_N, dtype=np.int64)
    for b in range(N_BANDS):
        for p in range(P_N):
            for k in range(N_NEEDS):
                count_now = stock[b, p, k]
                if count_now < 0:
                    _report_error(outputs.errors, out_row, ERR_NEGATIVE, m, p)
                    return False
                outputs.stock[out_row, m, b, p, k] = count_now
                by_placement[p] += count_now
    if m > 0:
        # Conservation: the change of each placement's stock equals the movement flows into
        # it minus those out of it (flows and stock are kept by different code paths).
        flows = month.flows
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
            if by_placement[p] - last_month_end.by_placement[p] != net[p]:
                _report_error(outputs.errors, out_row, ERR_CONSERVATION, m, p)
                return False
    for q in (SRP, SPECIAL):
        own = occupancy[q] - totals.other_la[q]
        if own > capacity[q] and own > last_month_end.occupancy[q]:
            _report_error(outputs.errors, out_row, ERR_CAPACITY, m, q)
            return False
    for p in range(P_N):
        last_month_end.by_placement[p] = by_placement[p]
        last_month_end.occupancy[p] = occupancy[p] - totals.other_la[p]
    measures = outputs.measures[out_row, m]
    measures[codes.M_REQUESTS_PENDING] = counts[C_PENDING]
    measures[codes.M_ASSESSMENTS_OPEN] = counts[C_ASSESS]
    measures[codes.M_APPEALS_OPEN] = counts[C_APPEAL]
    measures[codes.M_REVIEWS_DUE] = counts[C_REVIEWS_DUE]
    measures[codes.M_REVIEWS_DONE] = counts[C_REVIEWS_DONE]
    measures[codes.M_REVIEWS_OVERDUE] = counts[C_DUE]  # due and not reviewed: overdue at month end
    measures[codes.M_WAITING] = counts[C_WAITING]
    measures[codes.M_SRP_OCCUPIED] = occupancy[SRP] - totals.other_la[SRP]
    measures[codes.M_SRP_CAPACITY] = min(capacity[SRP], codes.UNLIMITED_PLACES)
    measures[codes.M_SPECIAL_OCCUPIED] = occupancy[SPECIAL] - totals.other_la[SPECIAL]
    measures[codes.M_SPECIAL_CAPACITY] = min(capacity[SPECIAL], codes.UNLIMITED_PLACES)
    measures[codes.M_SRP_OTHER_LA] = totals.other_la[SRP]
    measures[codes.M_SPECIAL_OTHER_LA] = totals.other_la[SPECIAL]
    return True


@jit
def _trace(month, state, outputs, out_row):
    """For the traced runs (the first rows of the chunk), every record's placement (>= 0) or
    -1 - status at the month end."""
    if out_row >= outputs.trace.shape[0]:
        return
    records = state.records
    trace = outputs.trace[out_row, month.number]
    for i in range(min(state.totals.counts[C_RECORDS], trace.shape[0])):
        st = records.status[i]
        trace[i] = records.placement[i] if st == ACTIVE else -1 - st


@jit
def run_one(run, s, opening, mdl, settings, outputs, out_row):
    """Simulate run ``run`` with parameter set ``s``, writing row ``out_row`` of every output
    array: the opening, then month by month the steps of the module docstring in order."""
    run_key_value = run_key(settings.seed, run)
    state = _new_run_state(settings.record_capacity, settings.n_months)
    _open(run_key_value, s, opening, mdl, state)
    for m in range(settings.n_months):
        month = _month(m, s, mdl, state, outputs, out_row)
        if m > 0:
            _begin_month(month, state)
            if (settings.start_calendar_month + m) % 12 == 8:
                _september(month, mdl, state)       # step 1
            _between_reviews(month, mdl, state)     # step 2
            _reviews(month, mdl, state)             # step 3
            _placement_appeals(month, mdl, state)   # step 3b: placement appeals decided
            _places(month, state)                   # step 4
            _requests(month, mdl, state)            # step 5: decisions, appeals, tribunals
            _assessments(month, mdl, state)         # step 5: completed assessments, first placements
            if not _entrants(month, mdl, run_key_value, state):  # step 6
                _report_error(outputs.errors, out_row, ERR_RECORD_CAPACITY, m, 0)
                return
        if not _snapshot(month, mdl, state, outputs, out_row):  # step 7
            return
        _trace(month, state, outputs, out_row)


@jit_parallel
def simulate_chunk(runs, sets, opening, mdl, settings, outputs):
    """Simulate runs ``runs[j]`` with parameter set ``sets[j]`` into output row j, in parallel.

    Each run's random numbers depend only on (seed, run, child key, month, decision), so the
    output is identical for any number of threads and any split of runs into chunks.
    """
    for j in prange(runs.shape[0]):
        run_one(runs[j], sets[j], opening, mdl, settings, outputs, j)
