"""One authority's SEN2 series, read from the vendored files.

``Authority("Medway")`` (the ``la_name`` as published) or ``Authority(ENGLAND)`` (the national
rows) gives every series the derivation, the calibration and its targets read: the January
caseload by placement and by single age, requests, assessments, new plans, ceased plans by
reason, the 2022 release's age bands and management-information items (Kent and England only)
and the SEND Tribunal appeal series. Counts come back mapped to the engine's placements
(:mod:`sendsim.inputs.sen2.mapping`) and checked against the row's published total; age tables
come back by SEN2 age label (:mod:`sendsim.inputs.sen2.ages` turns them into single ages).

Periods: a January is named by its year (``2024`` is the January 2024 census, ``time_period``
202324 in the files); activity (requests, assessments, new and ceased plans, the MI items) by
its calendar year.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from sendsim.inputs.sen2.files import (
    AGE_CASELOAD_2022,
    AGE_NEW_PLANS_2022,
    ASSESSMENTS,
    CASELOAD,
    CEASED,
    MI_2022,
    NEWPLANS,
    REQUESTS,
    TRIBUNAL,
    number,
    read_table,
)
from sendsim.inputs.sen2.mapping import CEASED_COLUMNS, HISTORIC_EXTRA_COLUMNS, placement_vector
from sendsim.simcore import codes

ENGLAND = "England"
NATIONAL = "National"
LOCAL_AUTHORITY = "Local authority"
# Topics (breakdown_topic) of the 2025-release files.
ALL_PLANS = "All EHC plans"
CHILD_AGE = "Child or young persons age"
PLAN_START_AGE = "Age when plan started"
ALL_REQUESTS = "All requests for EHC needs assessments"
ALL_ASSESSMENTS = "All EHC needs assessments"
ALL_NEW_PLANS = "New EHC plans"
ALL_CEASED = "All ceased EHC plans"
CEASED_AGE = "Age plan ceased"
# The 2022 release's age bands (characteristic_age), in the order of the engine's age bands.
BAND_LABELS_2022_RELEASE = {"Under 5": "under_5", "Age 5 to 10": "5_10", "Age 11 to 15": "11_15",
                            "Age 16 to 19": "16_19", "Age 20 to 25": "20_25"}
assert tuple(BAND_LABELS_2022_RELEASE.values()) == codes.AGE_BANDS
BAND_TOTAL_2022_RELEASE = "Total"
# The tribunal series names England's row by how it was summed.
TRIBUNAL_ENGLAND_PREFIX = "England"
# A mapped row may differ from its published total by rounding only.
TOTAL_TOLERANCE = 0.5


def january_period(year: int) -> str:
    """``time_period`` of the January ``year`` census in the caseload file (2024 -> 202324)."""
    return f"{year - 1}{year % 100:02d}"


def january_of_period(period: str) -> int:
    """The census year of a caseload ``time_period`` (201819 -> 2019)."""
    return int(str(period)[:4]) + 1


@cache
def authority_names() -> tuple[str, ...]:
    """Every local authority with rows in the 2025-release caseload file, sorted."""
    table = read_table(CASELOAD)
    return tuple(sorted(set(table.loc[table["geographic_level"] == LOCAL_AUTHORITY, "la_name"])))


def _band_count(year_rows: pd.DataFrame, label: str, column: str) -> float:
    """A band's count in one year of a 2022-release age table; a band the year does not have
    (20-25 before 2015, when statements, which ended at 19, were still counted apart) is 0."""
    return number(year_rows.loc[label, column]) if label in year_rows.index else 0.0


def _check_total(vector: np.ndarray, total: float, what: str) -> None:
    if abs(vector.sum() - total) > TOTAL_TOLERANCE:
        raise ValueError(f"{what}: mapped placements sum to {vector.sum():g}, the published total is {total:g}")


@dataclass(frozen=True)
class Authority:
    """The SEN2 series of one local authority (``name`` as published) or of England.

    Raises
    ------
    ValueError
        When no local authority of that name is in the vendored caseload file (the message
        lists the closest names).
    """

    name: str

    def __post_init__(self) -> None:
        if self.name != ENGLAND and self.name not in authority_names():
            close = difflib.get_close_matches(self.name, authority_names(), n=5)
            raise ValueError(f"no local authority named {self.name!r} in {CASELOAD}"
                             + (f"; did you mean {', '.join(close)}?" if close else ""))

    @property
    def is_england(self) -> bool:
        return self.name == ENGLAND

    def rows(self, file: str, period: str | None = None, topic: str | None = None,
             required: bool = True) -> pd.DataFrame:
        """The authority's rows of a vendored file, optionally of one ``time_period`` and
        ``breakdown_topic``.

        Raises
        ------
        ValueError
            When ``required`` and no row matches.
        """
        table = read_table(file)
        if self.is_england:
            mask = table["geographic_level"] == NATIONAL
        else:
            mask = (table["la_name"] == self.name) & (table["geographic_level"] == LOCAL_AUTHORITY)
        if period is not None:
            mask &= table["time_period"] == period
        if topic is not None:
            mask &= table["breakdown_topic"] == topic
        rows = table[mask]
        if required and rows.empty:
            raise ValueError(f"{file}: no {self.name} rows for {period or 'any period'} {topic or ''}".rstrip())
        return rows

    def _one(self, file: str, period: str, topic: str) -> pd.Series:
        return self.rows(file, period, topic).iloc[0]

    def _by_age(self, file: str, period: str, topic: str, columns: tuple[str, ...] | None,
                total_column: str | None) -> dict[str, np.ndarray]:
        """Rows by age label: placement vectors (``columns`` None, checked against
        ``total_column``) or the named columns."""
        out = {}
        for _, row in self.rows(file, period, topic).iterrows():
            if columns is None:
                if total_column is None:
                    raise ValueError("placement vectors by age are checked against a total_column")
                vector = placement_vector(row)
                _check_total(vector, number(row[total_column]), f"{file} {self.name} {period} {row['breakdown']}")
            else:
                vector = np.array([number(row[c]) for c in columns])
            out[row["breakdown"]] = vector
        return out

    # ---- caseload (January census) ----------------------------------------------------------
    @cache
    def all_plans_by_january(self) -> pd.DataFrame:
        """The 'All EHC plans' caseload rows, indexed by ``time_period`` (201819 = January 2019)."""
        return self.rows(CASELOAD, topic=ALL_PLANS).set_index("time_period")

    def caseload_value(self, january: int, column: str) -> float:
        """One column of the 'All EHC plans' row of the January ``january`` census."""
        return number(self.all_plans_by_january().loc[january_period(january), column])

    @cache
    def placements_by_january(self) -> dict[int, np.ndarray]:
        """Plans by engine placement at each January [P], keyed by year; children awaiting
        provision and permanently excluded, counted apart until 2022, are added to no place
        and alternative (:data:`HISTORIC_EXTRA_COLUMNS`)."""
        out = {}
        for period, row in self.all_plans_by_january().iterrows():
            vector = placement_vector(row)
            for column, placement in HISTORIC_EXTRA_COLUMNS.items():
                vector[codes.PLACEMENTS.index(placement)] += number(row[column])
            _check_total(vector, number(row["ehcplans"]), f"{CASELOAD} {self.name} {period}")
            out[january_of_period(str(period))] = vector
        return out

    @cache
    def caseload_by_age(self, january: int) -> dict[str, np.ndarray]:
        """Plans at the January census by SEN2 age label (academic age), mapped to placements."""
        return self._by_age(CASELOAD, january_period(january), CHILD_AGE, None, "ehcplans")

    def age_bands_2022_release(self) -> dict[int, np.ndarray]:
        """Plans by the engine's age band at each January of the 2022 release's age table
        (Kent and England only: an empty dict for another authority)."""
        rows = self.rows(AGE_CASELOAD_2022, required=False)
        out: dict[int, np.ndarray] = {}
        for year in sorted({int(y) for y in rows["time_period"]}):
            year_rows = rows[rows["time_period"] == str(year)].set_index("characteristic_age")
            vector = np.array([_band_count(year_rows, label, "Total_ehc") for label in BAND_LABELS_2022_RELEASE])
            total = number(year_rows.loc[BAND_TOTAL_2022_RELEASE, "Total_ehc"])
            if abs(vector.sum() - total) > TOTAL_TOLERANCE:
                raise ValueError(f"{AGE_CASELOAD_2022} {year}: bands add up to {vector.sum():g}, total is {total:g}")
            out[year] = vector
        return out

    def new_plans_by_band_2022_release(self) -> dict[int, np.ndarray]:
        """New plans by the engine's age band in each calendar year of the 2022 release's age
        table (Kent and England only: an empty dict for another authority)."""
        rows = self.rows(AGE_NEW_PLANS_2022, required=False)
        out: dict[int, np.ndarray] = {}
        for year in sorted({int(y) for y in rows["time_period"]}):
            year_rows = rows[rows["time_period"] == str(year)].set_index("characteristic_age")
            vector = np.array([_band_count(year_rows, label, "Total_new_ehc") for label in BAND_LABELS_2022_RELEASE])
            total = number(year_rows.loc[BAND_TOTAL_2022_RELEASE, "Total_new_ehc"])
            if abs(vector.sum() - total) > TOTAL_TOLERANCE:
                raise ValueError(f"{AGE_NEW_PLANS_2022} {year}: bands add up to {vector.sum():g}, total is {total:g}")
            out[year] = vector
        return out

    # ---- requests and assessments -------------------------------------------------------------
    def request_count(self, year: int, column: str = "requests_received_in_year") -> float:
        """A column of the year's 'All requests' row (requests received, decided to assess, ...)."""
        return number(self._one(REQUESTS, str(year), ALL_REQUESTS)[column])

    def request_years(self) -> tuple[int, ...]:
        """Calendar years with an 'All requests' row (2019-2023 in the 2025 release)."""
        return tuple(sorted(int(y) for y in self.rows(REQUESTS, topic=ALL_REQUESTS)["time_period"]))

    def requests_by_age(self, year: int, columns: tuple[str, ...] = ("requests_received_in_year",)
                        ) -> dict[str, np.ndarray]:
        """The year's request columns by SEN2 age label (age at the time of request)."""
        return self._by_age(REQUESTS, str(year), CHILD_AGE, columns, None)

    def assessment_count(self, year: int, column: str) -> float:
        """A column of the year's 'All EHC needs assessments' row."""
        return number(self._one(ASSESSMENTS, str(year), ALL_ASSESSMENTS)[column])

    def assessments_by_age(self, year: int, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
        """The year's assessment columns by SEN2 age label (age at the time of assessment)."""
        return self._by_age(ASSESSMENTS, str(year), CHILD_AGE, columns, None)

    # ---- new and ceased plans ---------------------------------------------------------------------
    @cache
    def new_plans_by_age(self, year: int) -> dict[str, np.ndarray]:
        """New plans of the year by SEN2 'age when plan started', mapped to first placements."""
        return self._by_age(NEWPLANS, str(year), PLAN_START_AGE, None, "new_ehc_plans")

    def new_plans_by_year(self) -> dict[int, float]:
        """New plans in each calendar year."""
        rows = self.rows(NEWPLANS, topic=ALL_NEW_PLANS)
        return {int(r["time_period"]): number(r["new_ehc_plans"]) for _, r in rows.iterrows()}

    @cache
    def ceased_by_age(self, year: int) -> dict[str, np.ndarray]:
        """Plans ceased in the year by SEN2 'age plan ceased', columns of :data:`CEASED_COLUMNS`."""
        return self._by_age(CEASED, str(year), CEASED_AGE, CEASED_COLUMNS, None)

    def ceased_count(self, year: int, column: str = "total_ceased") -> float:
        """A column of the year's 'All ceased EHC plans' row (a reason, or ``total_ceased``)."""
        return number(self._one(CEASED, str(year), ALL_CEASED)[column])

    # ---- 2022 release management information and the tribunal series ------------------------------
    def mi_years(self) -> tuple[int, ...]:
        """Years with management-information rows (2014-2021 for Kent and England; none for
        another authority)."""
        return tuple(sorted(int(y) for y in self.rows(MI_2022, required=False)["time_period"]))

    def mi_value(self, column: str, year: int) -> float:
        """One management-information item of a year (e.g. ``MtosiEHC``: transfers from
        mainstream to special schools of children with plans)."""
        return number(self.rows(MI_2022, str(year)).iloc[0][column])

    def tribunal_appeals(self) -> pd.DataFrame:
        """SEND Tribunal appeals registered, appealable decisions and the appeal rate (percent)
        by year (Kent, Medway and England; empty for another authority)."""
        table = read_table(TRIBUNAL)
        if self.is_england:
            rows = table[table["la_name"].str.startswith(TRIBUNAL_ENGLAND_PREFIX)]
        else:
            rows = table[table["la_name"] == self.name]
        out = pd.DataFrame({"year": rows["year"].astype(int)})
        for column in ("appeals_registered", "appealable_decisions", "appeal_rate_pct"):
            out[column] = [number(v) for v in rows[column]]
        return out.reset_index(drop=True)
