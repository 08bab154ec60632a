"""Where the vendored SEN2 files are, and how one is read.

The files sit in two folders under ``inputs/data/`` (``inputs/data/README.md`` gives each
file's source and licence):

* ``sen2_all/``: the 2025 release of the Department for Education's "Education, health and
  care plans" (the SEN2 collection) for every English local authority, region and England,
  as published less the geography codes, gzipped;
* ``sen2_extracts/``: tables vendored for Kent and England only (the 2022 release's age bands
  and management-information items) and the SEND Tribunal appeal rates (Kent, Medway and
  England).

Every table is read as text (``x`` not available, ``z`` not applicable, ``c`` confidential and
``u`` low reliability are the publisher's conventions; :func:`number` counts them as 0).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
ALL_AUTHORITIES_DIR = DATA_DIR / "sen2_all"
EXTRACTS_DIR = DATA_DIR / "sen2_extracts"

# 2025 release, every authority (sen2_all/, stored as NAME.gz). The names are the published
# ones: parameter and target sources cite them.
CASELOAD = "sen2_2025release_caseload.csv"
NEWPLANS = "sen2_2025release_newplans.csv"
REQUESTS = "sen2_2025release_requests.csv"
ASSESSMENTS = "sen2_2025release_assessments.csv"
CEASED = "sen2_2025release_ceased_plans.csv"
TIMELINESS = "sen2_2025release_timeliness_20_week.csv"
RESIDENTIAL = "sen2_2025release_residential_settings.csv"
ALL_AUTHORITY_FILES = (CASELOAD, NEWPLANS, REQUESTS, ASSESSMENTS, CEASED, TIMELINESS, RESIDENTIAL)
# Extracts (sen2_extracts/, plain CSV): Kent and England rows only; the tribunal series also
# has Medway.
AGE_CASELOAD_2022 = "sen2_2022release_age_caseload.csv"
AGE_NEW_PLANS_2022 = "sen2_2022release_age_new_plans.csv"
MI_2022 = "sen2_2022release_mi.csv"
TRIBUNAL = "send_tribunal_appeal_rate_2014_2023.csv"
EXTRACT_FILES = (AGE_CASELOAD_2022, AGE_NEW_PLANS_2022, MI_2022, TRIBUNAL)

# The publisher's symbols for a value that is not a count (see the module docstring).
NOT_A_COUNT = ("", "x", "z", "c", "u")


def path_of(name: str) -> Path:
    """The vendored file holding the published table ``name``."""
    if name in ALL_AUTHORITY_FILES:
        return ALL_AUTHORITIES_DIR / f"{name}.gz"
    if name in EXTRACT_FILES:
        return EXTRACTS_DIR / name
    raise KeyError(f"{name} is not a vendored SEN2 file; known: {', '.join(ALL_AUTHORITY_FILES + EXTRACT_FILES)}")


@cache
def read_table(name: str) -> pd.DataFrame:
    """The published table ``name`` as text, every row (read once, then cached)."""
    path = path_of(name)
    return pd.read_csv(path, dtype=str, keep_default_na=False,
                       compression="gzip" if path.suffix == ".gz" else None)


def number(text: object) -> float:
    """A published cell as a count: the symbols of :data:`NOT_A_COUNT` are 0."""
    text = str(text).strip()
    if text in NOT_A_COUNT:
        return 0.0
    return float(text)
