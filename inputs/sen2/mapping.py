"""SEN2 columns mapped to the engine's placements and cease reasons.

The placement mapping is documented, with Kent's January 2024 figures, in
``inputs/kent/data/README.md`` (section "Placement mapping"); a row's mapped placements must add
up to its total (the readers of :mod:`sendsim.inputs.sen2.authority` check it).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sendsim.inputs.sen2.files import number
from sendsim.simcore import codes

# SEN2 caseload / new-plan columns behind each engine placement code.
PLACEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "early_years": ("nm_early_years",),
    "mainstream": ("mainstream_la_maintained", "mainstream_academy", "mainstream_free_school",
                   "mainstream_independent"),
    "srp": ("mainstream_la_maintained_resourced_provision", "mainstream_la_maintained_senunit",
            "mainstream_academy_resourced_provision", "mainstream_academy_senunit",
            "mainstream_free_school_resourced_provision", "mainstream_free_school_senunit"),
    "special": ("special_la_maintained", "special_academy_free"),
    "independent": ("special_independent", "special_non_maintained"),
    "fe": ("general_fe_tertiary_colleges", "ukrlp_provider"),
    "post16_specialist": ("specialist_post_16_institutions",),
    "alternative": ("ap_pru_total", "elective_home_education", "other_arrangements_la",
                    "other_arrangements_parents", "other_placement_settings"),
    "no_place": ("neet", "neet_ntci", "neet_other", "neet_other_csa", "placement_unknown"),
}
assert tuple(PLACEMENT_COLUMNS) == codes.PLACEMENTS

# Until January 2022 SEN2 counted children awaiting provision and permanently excluded apart
# from the placement columns: they are mapped to these placements so that every January's
# placements add up to its total.
HISTORIC_EXTRA_COLUMNS = {"await_prov_2022": "no_place", "perm_ex_2022": "alternative"}

# Reasons a plan ceased (SEN2 ceased-plans columns), in the published order.
CEASED_COLUMNS = ("max_age", "needs_met", "he", "employ", "transfer", "no_engage", "moved_outside_eng",
                  "deceased", "not_rec", "other")
# SEN2 reason -> the engine's cease reason at an annual review (None: not a review outcome:
# the age limit is the engine's own rule, moves are the move parameter's moved_away).
REVIEW_REASON_OF = {"needs_met": "needs_met", "he": "education_or_employment", "employ": "education_or_employment",
                    "no_engage": "disengaged", "deceased": "other", "not_rec": "other", "other": "other",
                    "max_age": None, "transfer": None, "moved_outside_eng": None}
# SEN2 reasons that are moves to another authority or out of England.
MOVED_AWAY_COLUMNS = ("transfer", "moved_outside_eng")


def placement_vector(row: pd.Series) -> np.ndarray:
    """A caseload or new-plan row's counts by engine placement [P]."""
    return np.array([sum(number(row[c]) for c in PLACEMENT_COLUMNS[p]) for p in codes.PLACEMENTS])
