"""A slow, obviously correct pure-Python reference of the engine, for tests only.

It re-implements the counter-based generator with Python integers and the monthly rules of
``simcore/kernel.py`` (see its module docstring) with one object per record and plain sorts
instead of histograms. Because every draw is a pure function of (seed, run, child key,
month, decision), the reference and the kernel must agree exactly, table for table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from sendsim.simcore import codes

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
SEED_SALT = 0x5EED5EED0B5E55ED
KEY_SALT = 0xC4C6A5D2E1F30B79
DECISIONS_PER_MONTH = 64
CELL_KEY_BASE = 1 << 61
ENTRANT_KEY_BASE = 1 << 62

# Decision slots (must mirror simcore.rng; the golden-stream test pins the scheme itself).
DEC = dict(MOVE=0, PHASE=1, REVIEW=2, REVIEW_MOVE=3, CEASE_REASON=4, STEP_DOWN=5, COST=6, DECIDE=7, ASSESS=8,
           APPEAL=9, TRIBUNAL=10, TRIBUNAL_WIN=11, ISSUE=12, FIRST_PLACEMENT=13, NEED=14, REVIEW_PHASE=16,
           ARRIVAL_PLACEMENT=17, OVERFLOW_PHASE=20, OVERFLOW_REVIEW=21, OVERFLOW_MOVE=22, OVERFLOW_NEW=23,
           OVERFLOW_ARRIVAL=24, OTHER_LA_OPEN=25, PLACEMENT_APPEAL_PHASE=26, PLACEMENT_APPEAL_REVIEW=27,
           PLACEMENT_TRIBUNAL=28, PLACEMENT_TRIBUNAL_WIN=29, POISSON=32, PLACE_PHASE=40, PLACE_REVIEW=41, PLACE_MOVE=42,
           PLACE_NEW=43, PLACE_ARRIVAL=44)


def mix64(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def run_key(seed: int, run: int) -> int:
    return mix64((mix64(seed ^ SEED_SALT) + run * GOLDEN) & MASK)


def child_stream(rkey: int, key: int) -> int:
    return mix64(rkey ^ mix64((key + KEY_SALT) & MASK))


def uniform(stream: int, month: int, decision: int) -> float:
    counter = month * DECISIONS_PER_MONTH + decision + 1
    return (mix64((stream + counter * GOLDEN) & MASK) >> 11) * (1.0 / 9007199254740992.0)


def poisson(stream: int, month: int, mean: float) -> int:
    if mean <= 0.0:
        return 0
    # Pieces of mean 30 filled in order: piece j has mean min(30, mean - 30 j).
    pieces = math.ceil(mean / 30.0)
    total = 0
    for piece in range(pieces):
        piece_mean = min(30.0, mean - 30.0 * piece)
        sub = mix64((stream + piece * GOLDEN) & MASK)
        u = uniform(sub, month, DEC["POISSON"])
        prob = math.exp(-piece_mean)
        cdf = prob
        k = 0
        while u >= cdf and prob > 1e-300:
            k += 1
            prob *= piece_mean / k
            cdf += prob
        total += k
    return total


def entrant_key(kind: int, month: int, age: int, sequence: int) -> int:
    return ENTRANT_KEY_BASE | (kind << 56) | (month << 40) | (age << 32) | sequence


def lookup(cdf_row, u: float) -> int:
    """First j with u < cdf[j]; past the end: the last index with positive probability."""
    cdf = [float(x) for x in cdf_row]
    for j, c in enumerate(cdf):
        if u < c:
            return j
    positive = [j for j in range(len(cdf)) if (cdf[j] > (cdf[j - 1] if j else 0.0))]
    return positive[-1] if positive else 0


def normal_quantile(p: float) -> float:
    """Standard normal quantile from the standard library (an independent implementation)."""
    if p <= 0.0:
        return -38.5
    return NormalDist().inv_cdf(p)


def annual_cost(stream: int, month: int, unit: float, spread: float) -> int:
    cap = codes.MAX_DRAWN_ANNUAL_COST_GBP
    if spread <= 0.0:
        return int(np.rint(min(unit, cap)))
    z = normal_quantile(uniform(stream, month, DEC["COST"]))
    return int(np.rint(min(unit * np.exp(spread * z - 0.5 * spread * spread), cap)))


@dataclass
class Record:
    key: int
    stream: int
    age: int
    placement: int
    need: int
    status: int
    review_due: int  # month the next annual review falls due
    stage: int
    waiting: int
    cost: int
    schedule_order: int = 0  # when the plan was put on the review schedule (ties between equal due months)
    other_la: int = 0  # 1: the place is in another authority's school
    placement_appeal: int = 0  # 1: an appeal against the placement named is open


def band(age: int) -> int:
    return int(codes.AGE_BAND_OF_AGE[age])


class Reference:
    """One run of the model, record by record."""

    def __init__(self, mdl, s: int, seed: int, run: int, start_calendar_month: int, n_months: int, cohort, ages):
        self.mdl, self.s, self.n_months, self.start = mdl, s, n_months, start_calendar_month
        P, EV = codes.N_PLACEMENTS, codes.N_EVENTS
        self.rkey = run_key(seed, run)
        self.stock = np.zeros((n_months, codes.N_AGE_BANDS, P, codes.N_NEEDS), dtype=np.int64)
        self.flows = np.zeros((n_months, EV, P + 1, P + 1), dtype=np.int64)
        self.cost = np.zeros((n_months, P))
        self.measures = np.zeros((n_months, codes.N_MEASURES), dtype=np.int64)
        self.trace = []
        e0 = int(mdl.epoch_of_month[0])
        self.records: list[Record] = []
        for i in range(cohort.n):
            key = int(cohort.child_key[i])
            stream = child_stream(self.rkey, key)
            st = int(cohort.status[i])
            p = int(cohort.placement[i])
            cost = 0
            other_la = 0
            if st == codes.ACTIVE:
                unit = mdl.unit_cost[s, e0, ages[i], p, cohort.need[i]]
                share = mdl.other_la_share[s, e0, p]
                if share > 0 and uniform(stream, 0, DEC["OTHER_LA_OPEN"]) < share:
                    other_la = 1
                    unit = unit * mdl.other_la_cost_ratio[s, e0, p]
                given = int(cohort.annual_cost_gbp[i])
                cost = given if given >= 0 else annual_cost(stream, 0, unit, mdl.cost_spread[s, e0, ages[i], p])
            self.records.append(Record(key, stream, int(ages[i]), p, int(cohort.need[i]), st,
                                       int(cohort.months_since_review[i]), int(cohort.stage_months[i]),
                                       int(cohort.waiting_for[i]), cost, other_la=other_la))
        # Plans are processed in the order they became active (the cohort's order first);
        # open requests in record order.
        self.active = [r for r in self.records if r.status == codes.ACTIVE]
        self.requests = [r for r in self.records if r.status <= codes.APPEAL_DECLINE]
        self.placement_appeals: list[Record] = []  # open placement appeals, in order lodged
        # Reviews go to the plans due longest ago, then to the one scheduled first; months due
        # more than 255 months before the start count as one.
        self.schedule_counter = 0
        for r in self.active:
            self.schedule(r, 12 - min(r.review_due, 255))  # review_due holds the opening months since review

    # --- helpers over the record list -------------------------------------------------------
    def schedule(self, r: Record, due_month: int) -> None:
        r.review_due = max(due_month, 12 - 255)
        r.schedule_order = self.schedule_counter
        self.schedule_counter += 1

    def occupancy(self, q: int) -> int:
        """Children in the authority's own places of q (not in other authorities' schools)."""
        return sum(1 for r in self.records if r.status == codes.ACTIVE and r.placement == q and not r.other_la)

    def other_la_count(self, q: int) -> int:
        return sum(1 for r in self.records if r.status == codes.ACTIVE and r.placement == q and r.other_la)

    def flow(self, m, ev, src, dst):
        self.flows[m, ev, src, dst] += 1

    def set_placement(self, r: Record, q: int, m: int, other_la: int = 0):
        e = int(self.mdl.epoch_of_month[m])
        unit = self.mdl.unit_cost[self.s, e, r.age, q, r.need]
        if other_la:
            unit = unit * self.mdl.other_la_cost_ratio[self.s, e, q]
        r.cost = annual_cost(r.stream, m, unit, self.mdl.cost_spread[self.s, e, r.age, q])
        r.placement = q
        r.other_la = other_la

    def request_place(self, r: Record, q: int, leaving: bool, decision: str, event: int, m: int):
        mdl, s = self.mdl, self.s
        e = int(mdl.epoch_of_month[m])
        capacity = int(mdl.place_capacity[s, m, q])
        p = r.placement
        target = q
        other_la = r.other_la if p == q else 0
        refused = False
        if capacity < codes.UNLIMITED_PLACES and p != q:
            # The soft limit: a phase transfer meets the wall only; an in-year request gets an own
            # place with the logistic chance in occupancy / capacity.
            own = self.occupancy(q)
            width = 0.0 if event == codes.EV_PHASE_TRANSFER else mdl.place_soft_width[s, e, q]
            if own >= capacity:
                chance = 0.0
            elif width <= 0:
                chance = 1.0
            else:
                chance = 1.0 / (1.0 + np.exp((own / capacity - mdl.place_soft_mid[s, e, q]) / width))
            p_other = mdl.other_la_placement[s, e, q]
            if chance < 1.0:
                if p_other <= 0 and width <= 0:
                    refused = True
                else:
                    u = uniform(r.stream, m, DEC[decision.replace("OVERFLOW", "PLACE")])
                    if u >= chance:
                        if u - chance < (1.0 - chance) * p_other:
                            other_la = 1
                            self.flow(m, codes.EV_OTHER_LA_PLACE, q, q)
                        else:
                            refused = True
        if refused:
            if uniform(r.stream, m, DEC[decision]) < mdl.overflow_independent[s, e, q]:
                target = codes.INDEPENDENT
                r.waiting = codes.NO_WAIT
            else:
                if r.waiting != q:
                    r.stage = 0
                r.waiting = q
                target = codes.NO_PLACE if (leaving or p < 0) else p
            self.flow(m, codes.EV_CAPACITY_REFUSED, q, target)
        else:
            r.waiting = codes.NO_WAIT
        src = codes.PLACEMENT_NONE if p < 0 else p
        if target != p or event == codes.EV_PHASE_TRANSFER:
            self.set_placement(r, target, m, other_la)
            self.flow(m, event, src, target)

    def cease(self, r: Record, event: int, m: int):
        self.flow(m, event, r.placement, codes.PLACEMENT_NONE)
        r.status = codes.CEASED
        r.waiting = codes.NO_WAIT
        r.placement_appeal = 0

    def appeal_placement(self, r: Record, decision: str, m: int):
        """The family may appeal against the placement named (not independent, none open)."""
        if r.status != codes.ACTIVE or r.placement == codes.INDEPENDENT or r.placement_appeal:
            return
        e = int(self.mdl.epoch_of_month[m])
        chance = self.mdl.p_placement_appeal[self.s, e, r.age, r.placement]
        if chance > 0 and uniform(r.stream, m, DEC[decision]) < chance:
            r.placement_appeal = 1
            self.placement_appeals.append(r)
            self.flow(m, codes.EV_APPEAL_PLACEMENT, r.placement, r.placement)

    @staticmethod
    def longest_waiting(candidates: list[Record], wait, capacity: int) -> list[Record]:
        """Up to `capacity` candidates with the longest wait (waits of 255+ months tie), the
        earlier in the list first among ties."""
        order = sorted(range(len(candidates)), key=lambda j: (-min(max(wait(candidates[j]), 0), 255), j))
        chosen = set(order[:max(capacity, 0)])
        return [candidates[j] for j in range(len(candidates)) if j in chosen]

    # --- the month ----------------------------------------------------------------------------
    def run(self):
        for m in range(self.n_months):
            n_due = n_reviews = 0
            if m > 0:
                n_due, n_reviews = self.step(m)
            self.snapshot(m, n_due, n_reviews)
        return self

    def step(self, m: int):
        mdl, s = self.mdl, self.s
        e = int(mdl.epoch_of_month[m])
        september = (self.start + m) % 12 == 8
        due, queue, waitlist, step_down, new_plans = [], [], [], [], []
        deferred = []
        if september:  # step 1, for every record, before anything else happens this month
            for r in self.active:
                if r.status != codes.ACTIVE:
                    continue
                if r.age + 1 >= codes.MAX_AGE:
                    self.cease(r, codes.EV_MAX_AGE, m)
                    continue
                r.age += 1
                if codes.TRANSFER_OF_AGE[r.age] >= 0:
                    t = int(codes.TRANSFER_OF_AGE[r.age])
                    q = lookup(mdl.phase_cdf[s, e, t, r.need, r.placement], uniform(r.stream, m, DEC["PHASE"]))
                    if q != r.placement and mdl.place_capacity[s, m, q] < codes.UNLIMITED_PLACES:
                        deferred.append((r, q))  # after the pass: the admission round
                    else:
                        self.request_place(r, q, True, "OVERFLOW_PHASE", codes.EV_PHASE_TRANSFER, m)
                        self.appeal_placement(r, "PLACEMENT_APPEAL_PHASE", m)
            # Children who would otherwise go to another authority's school or independent first.
            def would_leave(r, q):
                p_other = mdl.other_la_placement[s, e, q]
                if p_other > 0 and uniform(r.stream, m, DEC["PLACE_PHASE"]) < p_other:
                    return True
                return uniform(r.stream, m, DEC["OVERFLOW_PHASE"]) < mdl.overflow_independent[s, e, q]
            for r, q in sorted(deferred, key=lambda rq: not would_leave(*rq)):
                self.request_place(r, q, True, "OVERFLOW_PHASE", codes.EV_PHASE_TRANSFER, m)
                self.appeal_placement(r, "PLACEMENT_APPEAL_PHASE", m)
            for r in self.requests:
                if r.status > codes.APPEAL_DECLINE:
                    continue
                if r.age + 1 >= codes.MAX_AGE:
                    r.status = codes.CLOSED
                    self.flow(m, codes.EV_REQUEST_CLOSED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                else:
                    r.age += 1
        still_active = []
        for r in self.active:
            if r.status != codes.ACTIVE:
                continue
            p = r.placement
            u = uniform(r.stream, m, DEC["MOVE"])
            stay = mdl.move_stay[s, e, r.age, p]
            if u >= stay:
                q = lookup(mdl.move_cdf[s, e, r.age, p], u - stay)
                if q == codes.MOVED_AWAY:
                    self.cease(r, codes.EV_MOVED_AWAY, m)
                    continue
                if q != p:
                    self.request_place(r, q, False, "OVERFLOW_MOVE", int(mdl.between_review_event[p, q]), m)
            still_active.append(r)
            if r.placement == codes.INDEPENDENT and mdl.step_down[s, e] > 0:
                if uniform(r.stream, m, DEC["STEP_DOWN"]) < mdl.step_down[s, e]:
                    step_down.append(r)
            if r.waiting != codes.NO_WAIT:
                r.stage = min(r.stage + 1, 32767)
                waitlist.append(r)
        self.active = still_active
        still_open = []
        for r in self.requests:
            if r.status > codes.APPEAL_DECLINE:
                continue
            r.stage = min(r.stage + 1, 32767)
            if r.status == codes.REQUEST_PENDING:
                if uniform(r.stream, m, DEC["DECIDE"]) < mdl.decision_hazard[s, e]:
                    if uniform(r.stream, m, DEC["ASSESS"]) < mdl.p_assess[s, e]:
                        r.status, r.stage = codes.ASSESSMENT, 0
                        self.flow(m, codes.EV_AGREED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                    else:
                        self.flow(m, codes.EV_REFUSED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                        if uniform(r.stream, m, DEC["APPEAL"]) < mdl.p_appeal_refusal[s, e]:
                            r.status, r.stage = codes.APPEAL_REFUSAL, 0
                            self.flow(m, codes.EV_APPEAL_REFUSAL, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                        else:
                            r.status = codes.CLOSED
                            self.flow(m, codes.EV_REQUEST_CLOSED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
            elif r.status == codes.ASSESSMENT:
                if r.stage >= mdl.assessment_min_months[s, e]:
                    queue.append(r)
            else:
                if uniform(r.stream, m, DEC["TRIBUNAL"]) < mdl.tribunal_hazard[s, e]:
                    if uniform(r.stream, m, DEC["TRIBUNAL_WIN"]) < mdl.p_tribunal_win[s, e]:
                        self.flow(m, codes.EV_TRIBUNAL_UPHELD, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                        if r.status == codes.APPEAL_REFUSAL:
                            r.status, r.stage = codes.ASSESSMENT, 0
                        else:
                            new_plans.append(r)
                    else:
                        self.flow(m, codes.EV_TRIBUNAL_DISMISSED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                        self.flow(m, codes.EV_REQUEST_CLOSED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                        r.status = codes.CLOSED
            if r.status != codes.CLOSED:
                still_open.append(r)
        self.requests = still_open
        # Annual reviews.
        due = sorted((r for r in self.active if r.status == codes.ACTIVE and r.review_due <= m),
                     key=lambda r: (r.review_due, r.schedule_order))
        reviewed = due[:max(int(mdl.review_capacity[s, m]), 0)]
        for r in reviewed:
            u = uniform(r.stream, m, DEC["REVIEW"])
            p_cease = mdl.review_cease[s, e, r.age, r.placement]
            if u < p_cease:
                reason = lookup(mdl.cease_reason_cdf[s, e, r.age], uniform(r.stream, m, DEC["CEASE_REASON"]))
                self.cease(r, codes.EV_REVIEW_CEASED_FIRST + reason, m)
            elif u < p_cease + (1.0 - p_cease) * mdl.review_change[s, e, r.age]:
                q = lookup(mdl.review_move_cdf[s, e, r.age, r.placement], uniform(r.stream, m, DEC["REVIEW_MOVE"]))
                if q == r.placement:
                    self.flow(m, codes.EV_REVIEW_KEPT, q, q)
                else:
                    self.request_place(r, q, False, "OVERFLOW_REVIEW", codes.EV_REVIEW_MOVED, m)
            else:
                self.flow(m, codes.EV_REVIEW_KEPT, r.placement, r.placement)
            if r.status == codes.ACTIVE:
                self.appeal_placement(r, "PLACEMENT_APPEAL_REVIEW", m)
                self.schedule(r, m + 12)
        # Placement appeals decided: a win places the child independent.
        still_appealing = []
        for r in self.placement_appeals:
            if r.status != codes.ACTIVE or not r.placement_appeal:
                continue
            if uniform(r.stream, m, DEC["PLACEMENT_TRIBUNAL"]) < mdl.placement_appeal_hazard[s, e]:
                r.placement_appeal = 0
                if (uniform(r.stream, m, DEC["PLACEMENT_TRIBUNAL_WIN"]) < mdl.p_placement_appeal_win[s, e]
                        and r.placement != codes.INDEPENDENT):
                    self.request_place(r, codes.INDEPENDENT, False, "OVERFLOW_MOVE", codes.EV_PLACEMENT_APPEAL_UPHELD,
                                       m)
                else:
                    self.flow(m, codes.EV_PLACEMENT_APPEAL_DISMISSED, r.placement, r.placement)
                continue
            still_appealing.append(r)
        self.placement_appeals = still_appealing
        # Free places to the waiting list, then step-downs.
        for q in (codes.SRP, codes.SPECIAL):
            capacity = int(mdl.in_year_capacity[s, m, q])
            free = len(waitlist) if capacity >= codes.UNLIMITED_PLACES else capacity - self.occupancy(q)
            if free <= 0:
                continue
            candidates = [r for r in waitlist if r.status == codes.ACTIVE and r.waiting == q]
            for r in self.longest_waiting(candidates, lambda r: r.stage, free):
                src = r.placement
                r.waiting = codes.NO_WAIT
                self.set_placement(r, q, m)
                self.flow(m, codes.EV_WAITING_PLACED, src, q)
        for r in step_down:
            if r.status != codes.ACTIVE or r.placement != codes.INDEPENDENT:
                continue
            if self.occupancy(codes.SPECIAL) >= mdl.in_year_capacity[s, m, codes.SPECIAL]:
                break
            self.set_placement(r, codes.SPECIAL, m)
            self.flow(m, codes.EV_STEP_DOWN, codes.INDEPENDENT, codes.SPECIAL)
        # Completed assessments and new plans.
        priority = mdl.assessment_priority_months[s, e]
        for r in self.longest_waiting(queue, lambda r: r.stage + int(priority[r.age]),
                                      int(mdl.assessment_capacity[s, m])):
            if uniform(r.stream, m, DEC["ISSUE"]) < mdl.p_decline[s, e]:
                self.flow(m, codes.EV_DECLINED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                if uniform(r.stream, m, DEC["APPEAL"]) < mdl.p_appeal_decline[s, e]:
                    r.status, r.stage = codes.APPEAL_DECLINE, 0
                    self.flow(m, codes.EV_APPEAL_DECLINE, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                else:
                    r.status = codes.CLOSED
                    self.flow(m, codes.EV_REQUEST_CLOSED, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
            else:
                new_plans.append(r)
        for r in new_plans:
            r.status, r.placement, r.waiting = codes.ACTIVE, -1, codes.NO_WAIT
            q = lookup(mdl.first_placement_cdf[s, e, r.age, r.need], uniform(r.stream, m, DEC["FIRST_PLACEMENT"]))
            self.request_place(r, q, True, "OVERFLOW_NEW", codes.EV_NEW_PLAN, m)
            self.schedule(r, m + 12)
            self.active.append(r)
        # Entrants.
        for a in range(codes.N_AGES):
            for kind in (1, 2):
                # Requests: the monthly average x 2 x the January-June share in January-June, or
                # x 2 x the rest in July-December (request_season's second and first column).
                first_half = (self.start + m) % 12 < 6
                mean = (mdl.request_rate[s, e, a] * mdl.request_multiplier[s, m]
                        * mdl.request_season[s, e, a, 1 if first_half else 0] if kind == 1
                        else mdl.arrival_rate[s, e, a])
                if mean <= 0.0:
                    continue
                count = poisson(child_stream(self.rkey, CELL_KEY_BASE + kind * 64 + a), m, float(mean))
                for sequence in range(count):
                    key = entrant_key(kind, m, a, sequence)
                    r = Record(key, child_stream(self.rkey, key), a, -1, 0, codes.REQUEST_PENDING, 0, 0,
                               codes.NO_WAIT, 0)
                    self.records.append(r)
                    if kind == 1:
                        r.need = lookup(mdl.request_need_cdf[s, e, a], uniform(r.stream, m, DEC["NEED"]))
                        self.flow(m, codes.EV_REQUEST, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE)
                        self.requests.append(r)
                    else:
                        r.need = lookup(mdl.arrival_need_cdf[s, e, a], uniform(r.stream, m, DEC["NEED"]))
                        r.status = codes.ACTIVE
                        months_since_review = int(uniform(r.stream, m, DEC["REVIEW_PHASE"]) * 12.0)
                        q = lookup(mdl.arrival_placement_cdf[s, e, a], uniform(r.stream, m, DEC["ARRIVAL_PLACEMENT"]))
                        self.request_place(r, q, True, "OVERFLOW_ARRIVAL", codes.EV_ARRIVAL, m)
                        self.schedule(r, m + 12 - months_since_review)
                        self.active.append(r)
        return len(due), len(reviewed)

    def snapshot(self, m: int, n_due: int, n_reviews: int):
        mdl, s = self.mdl, self.s
        cost_sum = np.zeros(codes.N_PLACEMENTS, dtype=np.int64)
        for r in self.records:
            if r.status == codes.ACTIVE:
                self.stock[m, band(r.age), r.placement, r.need] += 1
                cost_sum[r.placement] += r.cost
        for p in range(codes.N_PLACEMENTS):
            self.cost[m, p] = cost_sum[p] / 12.0

        def count(*statuses: int) -> int:
            return sum(1 for r in self.records if r.status in statuses)

        measures = self.measures[m]
        measures[codes.M_REQUESTS_PENDING] = count(codes.REQUEST_PENDING)
        measures[codes.M_ASSESSMENTS_OPEN] = count(codes.ASSESSMENT)
        appealing = sum(1 for r in self.records if r.status == codes.ACTIVE and r.placement_appeal)
        measures[codes.M_APPEALS_OPEN] = count(codes.APPEAL_REFUSAL, codes.APPEAL_DECLINE) + appealing
        measures[codes.M_REVIEWS_DUE] = n_due
        measures[codes.M_REVIEWS_DONE] = n_reviews
        if m == 0:
            overdue = sum(1 for r in self.records if r.status == codes.ACTIVE and r.review_due <= 0)
        else:
            overdue = n_due - n_reviews
        measures[codes.M_REVIEWS_OVERDUE] = overdue
        measures[codes.M_WAITING] = sum(1 for r in self.records
                                        if r.status == codes.ACTIVE and r.waiting != codes.NO_WAIT)
        for q, occupied, capacity in ((codes.SRP, codes.M_SRP_OCCUPIED, codes.M_SRP_CAPACITY),
                                      (codes.SPECIAL, codes.M_SPECIAL_OCCUPIED, codes.M_SPECIAL_CAPACITY)):
            measures[occupied] = self.occupancy(q)
            measures[capacity] = min(int(mdl.place_capacity[s, m, q]), codes.UNLIMITED_PLACES)
        measures[codes.M_SRP_OTHER_LA] = self.other_la_count(codes.SRP)
        measures[codes.M_SPECIAL_OTHER_LA] = self.other_la_count(codes.SPECIAL)
        self.trace.append([r.placement if r.status == codes.ACTIVE else -1 - r.status for r in self.records])


def reference_run(mdl, cohort, calendar, *, seed: int, run: int, parameter_set: int = 0) -> Reference:
    """Simulate one run with the reference implementation."""
    ages = np.clip(calendar.academic_age(cohort.birth_month), 0, codes.MAX_AGE)
    return Reference(mdl, parameter_set, seed, run, calendar.start_calendar_month, calendar.n_months, cohort,
                     ages).run()
