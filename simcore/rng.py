"""Counter-based random numbers: every draw is a pure function of its keys.

Scheme (version :data:`RNG_SCHEME_VERSION`)
-------------------------------------------
A draw is identified by the tuple (seed, run, child key, month, decision)::

    run_key      = mix64(mix64(seed ^ SEED_SALT) + run * GOLDEN)
    child_stream = mix64(run_key ^ mix64(child_key + KEY_SALT))
    draw         = mix64(child_stream + (month * DECISIONS_PER_MONTH + decision + 1) * GOLDEN)
    uniform      = (draw >> 11) * 2**-53                     # in [0, 1)

``mix64`` is the splitmix64 finaliser (Steele, Lea and Flood 2014; the constants of
Vigna's ``splitmix64.c``). For a fixed child the sequence of ``draw`` over counters is exactly
the splitmix64 output stream seeded with ``child_stream``, so draws for one child are as good
as splitmix64's, and streams of different children are decorrelated by the double hashing.

Poisson counts (the requests and arrivals of a cell) are drawn in pieces of mean at most
:data:`POISSON_PIECE_MEAN` (30), filled in order: piece ``j`` has mean
``min(30, mean - 30 j)`` and is drawn by inversion from the sub-stream ``mix64(stream + j *
GOLDEN)``; the count is the sum of the pieces' counts.

Because nothing is sequential, results do not depend on the number of threads, the order
of processing, or how runs are split into chunks; and two scenarios run with the same seed
give the same child the same number for the same decision (common random numbers). Changing
any constant or the layout above changes every result: bump :data:`RNG_SCHEME_VERSION` and
the golden-stream and golden-Poisson tests in ``tests/test_rng.py``.

Versions: 1, the first; 2, Poisson pieces filled in order (version 1 cut a mean into
``ceil(mean / 30)`` equal pieces, so that the sub-streams were re-keyed whenever a mean crossed
a multiple of 30 and a higher mean could draw a smaller count).
"""
from __future__ import annotations

import numpy as np

from sendsim.simcore._jit import jit

RNG_SCHEME_VERSION = 2

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
SEED_SALT = np.uint64(0x5EED5EED0B5E55ED)
KEY_SALT = np.uint64(0xC4C6A5D2E1F30B79)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0

# Largest mean of one Poisson piece: exp(-30) is far from underflow.
POISSON_PIECE_MEAN = 30.0

# Decisions per (child, month): the counter of a draw is month * 64 + decision.
DECISIONS_PER_MONTH = 64

# Decision identifiers. Each (child, month, decision) triple is drawn at most once.
DEC_MOVE = 0               # between-review transition (incl. moving away)
DEC_PHASE = 1              # phase-transfer destination
DEC_REVIEW = 2             # review outcome: cease / change / keep
DEC_REVIEW_MOVE = 3        # destination when a review changes placement
DEC_CEASE_REASON = 4       # reason a review ceases the plan
DEC_STEP_DOWN = 5          # independent -> maintained special when a place is free
DEC_COST = 6               # per-child cost multiplier for a new placement
DEC_DECIDE = 7             # pending request: is the decision made this month?
DEC_ASSESS = 8             # decision to assess
DEC_APPEAL = 9             # appeal lodged after a refusal or decline
DEC_TRIBUNAL = 10          # tribunal hearing this month?
DEC_TRIBUNAL_WIN = 11      # tribunal outcome
DEC_ISSUE = 12             # assessment outcome: issue or decline
DEC_FIRST_PLACEMENT = 13   # first placement of a new plan
DEC_NEED = 14              # primary need of a new request or arrival
DEC_REVIEW_PHASE = 16      # months since last review of an arrival
DEC_ARRIVAL_PLACEMENT = 17 # placement of an arrival
DEC_OVERFLOW_PHASE = 20    # capacity full at a phase transfer: independent or wait
DEC_OVERFLOW_REVIEW = 21   # capacity full at a review move
DEC_OVERFLOW_MOVE = 22     # capacity full at a between-review move
DEC_OVERFLOW_NEW = 23      # capacity full for a new plan
DEC_OVERFLOW_ARRIVAL = 24  # capacity full for an arrival
DEC_OTHER_LA_OPEN = 25     # opening plan in SRP or special: in another authority's school?
DEC_PLACEMENT_APPEAL_PHASE = 26   # placement appeal lodged after a phase transfer
DEC_PLACEMENT_APPEAL_REVIEW = 27  # placement appeal lodged after an annual review
DEC_PLACEMENT_TRIBUNAL = 28       # placement appeal decided this month?
DEC_PLACEMENT_TRIBUNAL_WIN = 29   # placement appeal outcome
DEC_POISSON = 32           # Poisson count of a cell (requests, arrivals)
# A request for a capacity-limited placement: a place in the authority's own schools (the soft
# limit), else one in another authority's school. One draw per context, as the overflow draws.
DEC_PLACE_PHASE = 40
DEC_PLACE_REVIEW = 41
DEC_PLACE_MOVE = 42
DEC_PLACE_NEW = 43
DEC_PLACE_ARRIVAL = 44

# Keys of the Poisson cells (requests and arrivals by age) live in their own key space.
CELL_KEY_BASE = np.int64(1) << np.int64(61)
# Keys of records created during a run: kind, month, age and sequence number packed together.
ENTRANT_KEY_BASE = np.int64(1) << np.int64(62)
KIND_REQUEST = 1
KIND_ARRIVAL = 2


@jit
def mix64(z: np.uint64) -> np.uint64:
    """splitmix64 finaliser: a bijective 64-bit mixing function."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@jit
def run_key(seed: int, run: int) -> np.uint64:
    """Key of one Monte Carlo run: a function of (seed, run) only."""
    return mix64(mix64(np.uint64(seed) ^ SEED_SALT) + np.uint64(run) * GOLDEN)


@jit
def child_stream(run_key_value: np.uint64, child_key: int) -> np.uint64:
    """Stream of one child in one run: a function of (seed, run, child key) only."""
    return mix64(run_key_value ^ mix64(np.uint64(child_key) + KEY_SALT))


@jit
def draw_u64(stream: np.uint64, month: int, decision: int) -> np.uint64:
    """The 64-bit draw for (stream, month, decision)."""
    counter = np.uint64(month * DECISIONS_PER_MONTH + decision + 1)
    return mix64(stream + counter * GOLDEN)


@jit
def uniform(stream: np.uint64, month: int, decision: int) -> float:
    """A uniform number in [0, 1) for (stream, month, decision), 53 bits of precision."""
    return (draw_u64(stream, month, decision) >> _S11) * _INV_2_53


@jit
def entrant_key(kind: int, month: int, age: int, sequence: int) -> np.int64:
    """Stable key of the ``sequence``-th record of ``kind`` created at (month, age).

    The key does not depend on how many records exist already, so a scenario that creates
    fewer or more entrants leaves the keys (and so the random numbers) of the others alone.
    """
    return (ENTRANT_KEY_BASE | (np.int64(kind) << np.int64(56)) | (np.int64(month) << np.int64(40))
            | (np.int64(age) << np.int64(32)) | np.int64(sequence))


@jit
def poisson(stream: np.uint64, month: int, mean: float) -> int:
    """A Poisson(mean) count drawn by inversion, piece by piece, from the cell's stream.

    The mean is cut into pieces filled in order: piece ``j`` has mean ``min(30, mean - 30 j)``
    (``ceil(mean / 30)`` pieces, all full but the last) and is drawn by inversion from the
    sub-stream ``mix64(stream + j * GOLDEN)``; a sum of independent Poisson counts is Poisson
    with the summed mean. For a fixed stream the count never falls when the mean rises, at
    any scale (common random numbers: a scenario with a higher rate never draws fewer): each
    piece keeps its key, its mean never falls, its inversion is monotone in its mean, and a
    piece that appears adds a count of 0 or more. Pieces of at most 30 keep ``exp(-mean)`` far
    from underflow at any scale (England-size cohorts included).
    """
    if mean <= 0.0:
        return 0
    pieces = int(np.ceil(mean / POISSON_PIECE_MEAN))
    total = 0
    for piece in range(pieces):
        piece_mean = min(POISSON_PIECE_MEAN, mean - POISSON_PIECE_MEAN * piece)
        sub_stream = mix64(stream + np.uint64(piece) * GOLDEN)
        u = uniform(sub_stream, month, DEC_POISSON)
        prob = np.exp(-piece_mean)
        cdf = prob
        k = 0
        # Stop when the remaining tail is below double precision.
        while u >= cdf and prob > 1e-300:
            k += 1
            prob *= piece_mean / k
            cdf += prob
        total += k
    return total


@jit
def draw_for(seed: np.uint64, run: int, child_key: int, month: int, decision: int) -> np.uint64:
    """The 64-bit draw for the full key (seed, run, child key, month, decision)."""
    return draw_u64(child_stream(run_key(seed, run), child_key), month, decision)
