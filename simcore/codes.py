"""Integer codes shared by the engine, the inputs and the outputs.

Every categorical attribute of a record is stored in the engine as a small integer. This
module is the single place where the integers, their public names and their meaning are
defined; the inputs layer translates names to codes and the outputs layer translates back.
"""
from __future__ import annotations

import numpy as np

# --- Placements ---------------------------------------------------------------------------
# Public names as they appear in every input and output table.
PLACEMENTS: tuple[str, ...] = (
    "early_years",        # nursery, pre-school, other early-years setting
    "mainstream",         # mainstream school (LA maintained, academy, free school, independent)
    "srp",                # specialist resource provision / SEN unit in a mainstream school
    "special",            # maintained special school or special academy / free school
    "independent",        # independent or non-maintained special school (INMSS)
    "fe",                 # general FE and tertiary college
    "post16_specialist",  # specialist post-16 institution
    "alternative",        # AP/PRU, EOTAS, elective home education, other arrangements
    "no_place",           # NEET, not in education, awaiting provision, placement unknown
)
N_PLACEMENTS = len(PLACEMENTS)
EARLY_YEARS, MAINSTREAM, SRP, SPECIAL, INDEPENDENT, FE, POST16_SPECIALIST, ALTERNATIVE, NO_PLACE = range(
    N_PLACEMENTS
)
# Index used in flow tables for "no placement on this side" (entries, exits, pipeline events).
PLACEMENT_NONE = N_PLACEMENTS
FLOW_PLACEMENTS: tuple[str, ...] = PLACEMENTS + ("none",)
# The move table has one extra destination: leaving the authority between reviews.
MOVED_AWAY = N_PLACEMENTS
MOVE_DESTINATIONS: tuple[str, ...] = PLACEMENTS + ("moved_away",)

# Placements whose places are finite (commissioned places with a capacity schedule).
CAPACITY_LIMITED: tuple[int, ...] = (SRP, SPECIAL)

# --- Primary need (SEN2 categories) --------------------------------------------------------
NEEDS: tuple[str, ...] = (
    "asd",    # autistic spectrum disorder
    "semh",   # social, emotional and mental health
    "slcn",   # speech, language and communication needs
    "mld",    # moderate learning difficulty
    "sld",    # severe learning difficulty
    "pmld",   # profound and multiple learning difficulty
    "spld",   # specific learning difficulty
    "hi",     # hearing impairment
    "vi",     # visual impairment
    "msi",    # multi-sensory impairment
    "pd",     # physical disability
    "other",  # other difficulty or disability, and no specialist assessment
)
N_NEEDS = len(NEEDS)

# --- Ages ------------------------------------------------------------------------------------
# The engine keeps the SEN2 "academic age": age on the 31 August before the current date.
MAX_AGE = 25
N_AGES = MAX_AGE + 1
AGE_BANDS: tuple[str, ...] = ("under_5", "5_10", "11_15", "16_19", "20_25")
N_AGE_BANDS = len(AGE_BANDS)
AGE_BAND_OF_AGE = np.array([0] * 5 + [1] * 6 + [2] * 5 + [3] * 4 + [4] * 6, dtype=np.int8)
assert AGE_BAND_OF_AGE.shape[0] == N_AGES

# Phase transfers happen at the September roll-over into these academic ages.
TRANSFERS: tuple[str, ...] = ("reception", "secondary", "post16", "post19")
TRANSFER_AGES: tuple[int, ...] = (4, 11, 16, 19)
N_TRANSFERS = len(TRANSFERS)
TRANSFER_OF_AGE = np.full(N_AGES, -1, dtype=np.int8)
for _t, _a in enumerate(TRANSFER_AGES):
    TRANSFER_OF_AGE[_a] = _t

# --- Record status -------------------------------------------------------------------------
# One record per person known to the service: requests in the assessment pipeline and plans.
STATUSES: tuple[str, ...] = (
    "request_pending",   # request for assessment received, decision to assess not yet made
    "assessment",        # agreed to assess; in the assessment queue or being assessed
    "appeal_refusal",    # refused assessment; appeal lodged with the SEND Tribunal
    "appeal_decline",    # assessed, declined to issue; appeal lodged with the SEND Tribunal
    "active",            # holds an EHCP
    "ceased",            # plan ended
    "closed",            # request ended without a plan
)
REQUEST_PENDING, ASSESSMENT, APPEAL_REFUSAL, APPEAL_DECLINE, ACTIVE, CEASED, CLOSED = range(len(STATUSES))

# --- Reasons a plan ceases ------------------------------------------------------------------
CEASE_REASONS: tuple[str, ...] = (
    "max_age",                   # end of the academic year in which the young person turns 25
    "needs_met",                 # outcomes achieved, plan no longer needed
    "education_or_employment",   # moved on to higher education or employment
    "moved_away",                # moved to another authority (or outside England)
    "disengaged",                # young person no longer engaging in education or training
    "other",                     # deceased, not recorded, other
)
N_CEASE_REASONS = len(CEASE_REASONS)
(REASON_MAX_AGE, REASON_NEEDS_MET, REASON_EDUCATION_OR_EMPLOYMENT, REASON_MOVED_AWAY,
 REASON_DISENGAGED, REASON_OTHER) = range(N_CEASE_REASONS)
REASON_NONE = -1

# --- Events recorded in the flows table -----------------------------------------------------
# (name, moves a child between placement states?) A "movement" event changes the stock:
# the conservation identity uses exactly these. Marker events only count what happened.
_EVENT_TABLE: tuple[tuple[str, bool], ...] = (
    ("request", False),                 # request for assessment received
    ("agreed_to_assess", False),        # decision to assess
    ("refused_to_assess", False),       # decision not to assess
    ("appeal_refusal", False),          # appeal lodged against a refusal to assess
    ("appeal_decline", False),          # appeal lodged against a decision not to issue
    ("tribunal_upheld", False),         # tribunal decided for the family
    ("tribunal_dismissed", False),      # tribunal decided for the authority
    ("declined_to_issue", False),       # assessment completed, plan not issued
    ("request_closed", False),          # request ended without a plan (incl. appeal lost)
    ("new_plan", True),                 # plan issued: none -> first placement
    ("arrival", True),                  # plan transferred in from another authority
    ("phase_transfer", True),           # September placement chosen afresh at a key move
    ("review_kept", True),              # annual review: plan and placement kept (from == to)
    ("review_moved", True),             # annual review: placement changed
) + tuple(
    (f"review_ceased_{reason}", True)   # annual review: plan ceased, with the reason
    for reason in CEASE_REASONS
) + (
    ("escalation", True),               # between reviews, to a more specialist placement
    ("reintegration", True),            # between reviews, back to mainstream
    ("move_other", True),               # between reviews, any other change of placement
    ("step_down", True),                # independent to maintained special as a place frees
    ("waiting_placed", True),           # a child waiting for a full placement gets a place
    ("moved_away", True),               # left the authority between reviews
    ("max_age", True),                  # plan ended at the age limit (September roll-over)
    ("capacity_refused", False),        # wanted a full placement (from); got `to` instead
    ("other_la_place", False),          # refused a place in the authority's own schools (from); placed in
                                        # another authority's school of the same kind (`to` = from)
    ("appeal_placement", False),        # appeal lodged against the placement named (from = to) at a phase
                                        # transfer or an annual review
    ("placement_appeal_upheld", True),  # placement appeal won: placed where sought (independent)
    ("placement_appeal_dismissed", False),  # placement appeal lost: the named placement stays (from = to)
)
EVENTS: tuple[str, ...] = tuple(name for name, _ in _EVENT_TABLE)
EVENT_IS_MOVEMENT = np.array([moves for _, moves in _EVENT_TABLE], dtype=np.bool_)
N_EVENTS = len(EVENTS)
EV_REQUEST = EVENTS.index("request")
EV_AGREED = EVENTS.index("agreed_to_assess")
EV_REFUSED = EVENTS.index("refused_to_assess")
EV_APPEAL_REFUSAL = EVENTS.index("appeal_refusal")
EV_APPEAL_DECLINE = EVENTS.index("appeal_decline")
EV_TRIBUNAL_UPHELD = EVENTS.index("tribunal_upheld")
EV_TRIBUNAL_DISMISSED = EVENTS.index("tribunal_dismissed")
EV_DECLINED = EVENTS.index("declined_to_issue")
EV_REQUEST_CLOSED = EVENTS.index("request_closed")
EV_NEW_PLAN = EVENTS.index("new_plan")
EV_ARRIVAL = EVENTS.index("arrival")
EV_PHASE_TRANSFER = EVENTS.index("phase_transfer")
EV_REVIEW_KEPT = EVENTS.index("review_kept")
EV_REVIEW_MOVED = EVENTS.index("review_moved")
EV_REVIEW_CEASED_FIRST = EVENTS.index(f"review_ceased_{CEASE_REASONS[0]}")  # + reason code
EV_ESCALATION = EVENTS.index("escalation")
EV_REINTEGRATION = EVENTS.index("reintegration")
EV_MOVE_OTHER = EVENTS.index("move_other")
EV_STEP_DOWN = EVENTS.index("step_down")
EV_WAITING_PLACED = EVENTS.index("waiting_placed")
EV_MOVED_AWAY = EVENTS.index("moved_away")
EV_MAX_AGE = EVENTS.index("max_age")
EV_CAPACITY_REFUSED = EVENTS.index("capacity_refused")
EV_OTHER_LA_PLACE = EVENTS.index("other_la_place")
EV_APPEAL_PLACEMENT = EVENTS.index("appeal_placement")
EV_PLACEMENT_APPEAL_UPHELD = EVENTS.index("placement_appeal_upheld")
EV_PLACEMENT_APPEAL_DISMISSED = EVENTS.index("placement_appeal_dismissed")
# Appeals registered with the SEND Tribunal, as its statistics count them (every appeal type).
APPEAL_EVENTS: tuple[int, ...] = (EVENTS.index("appeal_refusal"), EVENTS.index("appeal_decline"),
                                  EV_APPEAL_PLACEMENT)
# Events that end a plan.
EXIT_EVENTS: tuple[int, ...] = tuple(EV_REVIEW_CEASED_FIRST + r for r in range(N_CEASE_REASONS)) + (
    EV_MOVED_AWAY, EV_MAX_AGE)

# Classification of a change of placement between reviews, by (from, to).
# Specialism rank: mainstream < srp < special < independent; others are unranked.
_RANK = {MAINSTREAM: 0, SRP: 1, SPECIAL: 2, INDEPENDENT: 3}


def _between_review_event_table() -> np.ndarray:
    table = np.full((N_PLACEMENTS, N_PLACEMENTS), EV_MOVE_OTHER, dtype=np.int8)
    for src in range(N_PLACEMENTS):
        for dst in range(N_PLACEMENTS):
            if src in _RANK and dst in _RANK:
                if _RANK[dst] > _RANK[src]:
                    table[src, dst] = EV_ESCALATION
                elif dst == MAINSTREAM and src != MAINSTREAM:
                    table[src, dst] = EV_REINTEGRATION
    return table


MOVE_EVENT_OF = _between_review_event_table()

# --- Pipeline and capacity measures (the `pipeline` table) ----------------------------------
MEASURES: tuple[str, ...] = (
    "requests_pending",        # requests awaiting the decision to assess
    "assessments_open",        # agreed to assess, outcome not yet reached
    "appeals_open",            # appeals lodged and not yet decided
    "reviews_due",             # plans due or overdue for annual review this month
    "reviews_done",            # annual reviews held this month
    "reviews_overdue",         # plans past their review date at month end
    "waiting_for_place",       # children waiting for a place in a full placement
    "srp_occupied",            # children in the authority's own SRP places
    "srp_capacity",            # SRP places available (capacity schedule x max occupancy)
    "special_occupied",        # children in the authority's own maintained special places
    "special_capacity",        # maintained special places available
    "srp_other_la",            # children in SRP places of other authorities' schools (not in srp_occupied)
    "special_other_la",        # children in other authorities' maintained special schools (not in special_occupied)
)
N_MEASURES = len(MEASURES)
(M_REQUESTS_PENDING, M_ASSESSMENTS_OPEN, M_APPEALS_OPEN, M_REVIEWS_DUE, M_REVIEWS_DONE,
 M_REVIEWS_OVERDUE, M_WAITING, M_SRP_OCCUPIED, M_SRP_CAPACITY, M_SPECIAL_OCCUPIED,
 M_SPECIAL_CAPACITY, M_SRP_OTHER_LA, M_SPECIAL_OTHER_LA) = range(N_MEASURES)

# A placement with no capacity limit is given this many places.
UNLIMITED_PLACES = np.iinfo(np.int32).max

NO_WAIT = -1  # waiting_for value of a child not waiting for a place
# The largest annual cost a child's placement can draw (GBP): the far tail of a wide cost spread
# on a large unit cost is capped here, so that the engine's 64-bit sums of costs over every
# record cannot overflow. The dearest real placements cost a few hundred thousand pounds a year.
MAX_DRAWN_ANNUAL_COST_GBP = 1e12
