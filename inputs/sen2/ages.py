"""SEN2 age labels and the engine's single academic ages.

SEN2 counts the January caseload by academic age (age on the 31 August before the census) in
single years, with "under 3" grouped; requests, assessments, new and ceased plans by age at the
time ("aged 2 and under", "aged 3" ... "aged 19", "aged 20 and over"). The helpers here turn
label -> count tables into arrays by single age [A, ...]; how grouped labels are split (the
weights over ages 0-2, the ages a "20 and over" count covers) and how far event ages move are
the caller's stated assumptions, passed in.
"""
from __future__ import annotations

import numpy as np

from sendsim.simcore import codes

A = codes.N_AGES
UNDER_3_AGES = (0, 1, 2)
UNDER_3_LABELS = ("under 3", "age 2 and under", "aged 2 and under")
OVER_20_LABELS = ("age 20 and over", "aged 20 and over")
UNKNOWN_AGE_LABELS = ("age unknown", "unknown")


def is_unknown_age(label: str) -> bool:
    """Whether a SEN2 age label is the count of unknown age."""
    return label.strip().lower() in UNKNOWN_AGE_LABELS


def ages_of_label(label: str, ages_20_plus: tuple[int, ...]) -> tuple[int, ...]:
    """Single academic ages covered by a SEN2 age label (``ages_20_plus`` for "20 and over").

    Raises
    ------
    ValueError
        For a label that names no age (including "age unknown": see
        :func:`share_out_unknown_age`).
    """
    text = label.strip().lower()
    if text in UNDER_3_LABELS:
        return UNDER_3_AGES
    if text in OVER_20_LABELS:
        return ages_20_plus
    for prefix in ("aged ", "age "):
        if text.startswith(prefix) and text[len(prefix):].isdigit():
            return (int(text[len(prefix):]),)
    raise ValueError(f"unrecognised SEN2 age label {label!r}")


def share_out_unknown_age(values_by_label: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The table without its unknown-age rows, their counts shared over the known ages in
    proportion to the known counts (column by column). A table with no unknown-age row is
    returned as it is.

    Kent reports every age; some authorities report a few requests or ceased plans of unknown
    age, which would otherwise be lost from the totals.
    """
    unknown = [label for label in values_by_label if is_unknown_age(label)]
    if not unknown:
        return values_by_label
    known = {label: np.asarray(v, dtype=float) for label, v in values_by_label.items() if label not in unknown}
    extra = sum(np.asarray(values_by_label[label], dtype=float) for label in unknown)
    totals = sum(known.values())
    share = np.divide(extra, totals, out=np.zeros_like(totals), where=totals > 0)
    return {label: v * (1.0 + share) for label, v in known.items()}


def largest_remainder(total: int, weights) -> np.ndarray:
    """Split a whole number over weights into whole numbers (largest remainder, ties to the
    earlier index)."""
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() <= 0:
        return np.zeros(w.shape[0], dtype=np.int64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    order = sorted(range(w.shape[0]), key=lambda j: (-(exact[j] - base[j]), j))
    for j in order[:short]:
        base[j] += 1
    return base


def spread(values_by_label: dict[str, np.ndarray], ages_20_plus: tuple[int, ...],
           weights_0_2: tuple[float, float, float], integer: bool = False) -> np.ndarray:
    """Values by single age [A, ...] from SEN2 age labels.

    Parameters
    ----------
    values_by_label
        Label -> values (one array shape for all labels).
    ages_20_plus
        Ages a "20 and over" count is spread over, evenly.
    weights_0_2
        Weights of ages 0, 1 and 2 in an "under 3" count.
    integer
        Split grouped counts into whole numbers (largest remainder) instead of shares.
    """
    first = next(iter(values_by_label.values()))
    out = np.zeros((A,) + first.shape)
    for label, vector in values_by_label.items():
        ages = ages_of_label(label, ages_20_plus)
        if len(ages) == 1:
            out[ages[0]] += vector
            continue
        weights = np.array(weights_0_2 if ages == UNDER_3_AGES else [1.0] * len(ages), dtype=float)
        if integer:
            for k in range(vector.shape[0]):
                out[list(ages), k] += largest_remainder(int(round(vector[k])), weights)
        else:
            out[list(ages)] += np.outer(weights / weights.sum(), vector)
    return out


def shift_one_age(values: np.ndarray, share: float) -> np.ndarray:
    """Counts by age [A, ...] with ``share`` of each age moved one age down (``share`` > 0) or
    ``-share`` of each age moved one age up (``share`` < 0). The end age a move would leave
    (0 going down, the last going up) keeps its count. Totals are kept exactly."""
    share = float(share)
    if not -1.0 <= share <= 1.0:
        raise ValueError(f"the share of events moved one age must be in [-1, 1], got {share}")
    values = np.asarray(values, dtype=float)
    moved = abs(share)
    out = (1.0 - moved) * values
    if share >= 0.0:
        out[:-1] += moved * values[1:]
        out[0] += moved * values[0]
    else:
        out[1:] += moved * values[:-1]
        out[-1] += moved * values[-1]
    return out


def academic_from_event_age(values: np.ndarray, stays: float) -> np.ndarray:
    """Counts by age at the time of an event [A, ...] re-expressed by academic age [A, ...].

    SEN2 counts the January caseload by academic age (age on the 31 August before the census:
    1 Kent plan at 25 in January 2024, as plans end in the academic year the holder turns 25),
    and requests and ceased plans by the child's age at the time ("age at the time of
    request"). The engine keeps academic age, so an event at age ``a`` happened at academic age
    ``a`` if the birthday had not yet come in that academic year and ``a - 1`` if it had. With
    birthdays and event dates spread evenly over the year, each happens half the time: half of
    the count at age ``a`` moves to academic age ``a - 1`` (at age 0 it stays; the engine counts
    academic age -1 as 0). ``stays`` is the share that keeps its age (an assumption of the
    caller). The calibration fits the mapping for requests in both directions
    (``request_age_shift``; see docs/calibration.md, "Two age conventions in SEN2"). Totals are
    kept exactly.
    """
    stays = float(stays)
    if not 0.0 <= stays <= 1.0:
        raise ValueError(f"the share of events keeping their age must be in [0, 1], got {stays}")
    return shift_one_age(values, 1.0 - stays)
