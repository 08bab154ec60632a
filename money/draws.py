"""The money model's random numbers: each a pure function of (seed, run, key).

The money model draws a few numbers per run (the growth of the High Needs Block in years with
a distribution, whether each mitigation of a plan is delivered). They come from the engine's
counter-based generator (:mod:`sendsim.simcore.rng`) so that they are common random numbers:
run *r* of every scenario draws the same number for the same key, whatever the other
scenarios, the chunking or the backend. A key is a name (``"hnb_growth:2026-27"``,
``"mitigation:locality_model"``) hashed into a key space of its own, disjoint from the
engine's children (small keys), Poisson cells (bit 61) and entrants (bit 62)::

    key     = MONEY_KEY_BASE | (blake2b-64(name) >> 4)      (bits 60 and 61 set: above any cell key)
    stream  = child_stream(run_key(seed, run), key)
    uniform = uniform(stream, month=0, decision=MONEY_DECISION)
"""
from __future__ import annotations

import hashlib

import numpy as np

from sendsim.simcore import rng

# Bits 60 and 61 set: cell keys are CELL_KEY_BASE (bit 61) plus small offsets, entrant keys
# set bit 62, cohort children are small numbers; a money key has bit 60 set as well, and its
# own 60 bits of name hash below.
MONEY_KEY_BASE = (1 << 61) | (1 << 60)
MONEY_KEY_MASK = (1 << 60) - 1
# The decision slot of a money draw (the engine's per-month decisions are below 64).
MONEY_DECISION = 63


def money_key(name: str) -> int:
    """The key of a named money draw: stable across Python versions and processes."""
    digest = int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")
    return MONEY_KEY_BASE | (digest & MONEY_KEY_MASK)


def uniforms(seed: int, runs: np.ndarray, name: str) -> np.ndarray:
    """[R] uniform numbers in [0, 1), one per run, for the draw named ``name``."""
    key = money_key(name)
    out = np.empty(len(runs))
    for j, run in enumerate(np.asarray(runs, dtype=np.int64)):
        stream = rng.child_stream(np.uint64(rng.run_key(int(seed), int(run))), key)
        out[j] = rng.uniform(np.uint64(stream), 0, MONEY_DECISION)
    return out
