"""The SEN2 library: any authority's series from the vendored files, checked against the raw
files read here directly, and the age helpers."""
from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendsim.inputs.sen2 import ENGLAND, Authority, authority_names
from sendsim.inputs.sen2.ages import (
    academic_from_event_age,
    ages_of_label,
    largest_remainder,
    share_out_unknown_age,
    shift_one_age,
    spread,
)
from sendsim.inputs.sen2.files import DATA_DIR, path_of
from sendsim.simcore import codes

ROOT = Path(__file__).resolve().parent.parent
SEN2_ALL = ROOT / "inputs" / "data" / "sen2_all"


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(SEN2_ALL / f"{name}.csv.gz", dtype=str, keep_default_na=False)


def _count(text: str) -> float:
    return 0.0 if text in ("x", "z", "c", "u", "") else float(text)


def test_every_vendored_file_is_where_the_library_looks_and_in_the_package_data():
    files = sorted(p for p in DATA_DIR.rglob("*") if p.is_file())
    assert len([p for p in files if p.suffix == ".gz"]) == 7
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["sendsim.inputs"]
    for path in files:
        relative = path.relative_to(ROOT / "inputs").as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), f"{relative} is not in pyproject's package-data"
    for path in files:
        if path.name != "README.md":
            assert path_of(path.name.removesuffix(".gz")) == path


@pytest.mark.parametrize("name", ["Medway", "Hampshire", "Kent"])
def test_placements_by_january_add_up_to_the_published_totals(name):
    placements = Authority(name).placements_by_january()
    assert sorted(placements) == list(range(2019, 2025))
    raw = _raw("sen2_2025release_caseload")
    rows = raw[(raw.la_name == name) & (raw.breakdown_topic == "All EHC plans")]
    for _, row in rows.iterrows():
        year = int(row.time_period[:4]) + 1
        assert placements[year].sum() == pytest.approx(_count(row.ehcplans)), (name, year)
        special = _count(row.special_la_maintained) + _count(row.special_academy_free)
        assert placements[year][codes.SPECIAL] == special


def test_an_authoritys_activity_series_are_its_own_rows():
    medway = Authority("Medway")
    requests = _raw("sen2_2025release_requests")
    mine = requests[(requests.la_name == "Medway") & (requests.breakdown_topic == "All requests for EHC needs "
                                                                                    "assessments")]
    assert medway.request_years() == (2019, 2020, 2021, 2022, 2023)
    for _, row in mine.iterrows():
        assert medway.request_count(int(row.time_period)) == _count(row.requests_received_in_year)
    by_age = medway.requests_by_age(2023)
    assert sum(v[0] for v in by_age.values()) == medway.request_count(2023)
    assert medway.new_plans_by_year()[2023] == sum(v.sum() for v in medway.new_plans_by_age(2023).values())
    ceased = medway.ceased_by_age(2023)
    assert sum(v.sum() for v in ceased.values()) == medway.ceased_count(2023)


def test_england_is_the_national_rows():
    england = Authority(ENGLAND)
    raw = _raw("sen2_2025release_requests")
    national = raw[(raw.geographic_level == "National") & (raw.time_period == "2023")
                   & (raw.breakdown_topic == "All requests for EHC needs assessments")]
    assert england.request_count(2023) == _count(national.requests_received_in_year.iloc[0])
    assert england.mi_years() == tuple(range(2014, 2022))
    assert sum(v.sum() for v in england.caseload_by_age(2024).values()) == 572829
    assert england.tribunal_appeals().year.tolist() == list(range(2014, 2024))


def test_the_kent_and_england_extracts_and_other_authorities():
    kent, medway, hampshire = Authority("Kent"), Authority("Medway"), Authority("Hampshire")
    bands = kent.age_bands_2022_release()
    assert bands[2019].tolist() == [431, 3503, 4127, 2786, 916]
    assert bands[2014].sum() == 0  # before EHC plans: not applicable
    assert kent.new_plans_by_band_2022_release()[2021].sum() == 2910  # the MI file's NewallEHC, 2021
    assert medway.age_bands_2022_release() == {} and medway.mi_years() == ()
    assert kent.mi_value("MtosiEHC", 2021) == 212
    tribunal = medway.tribunal_appeals()
    assert tribunal.set_index("year").loc[2023, "appeals_registered"] == 92
    assert hampshire.tribunal_appeals().empty


def test_an_unknown_authority_is_refused_with_the_closest_names():
    with pytest.raises(ValueError, match="did you mean Medway"):
        Authority("Medwey")
    assert "Kent" in authority_names() and len(authority_names()) > 150


def test_a_row_whose_placements_do_not_add_up_is_refused_by_name():
    # Peterborough's January 2024 caseload by age has its placements suppressed (x).
    with pytest.raises(ValueError, match="Peterborough 202324 age 10: mapped placements sum to 2"):
        Authority("Peterborough").caseload_by_age(2024)


def test_unknown_ages_are_shared_over_the_known_ones():
    table = {"age 3": np.array([10.0, 0.0]), "age 4": np.array([30.0, 5.0]), "Age unknown": np.array([4.0, 1.0])}
    shared = share_out_unknown_age(table)
    assert set(shared) == {"age 3", "age 4"}
    np.testing.assert_allclose(sum(shared.values()), [44.0, 6.0])
    np.testing.assert_allclose(shared["age 3"] / shared["age 4"], [1 / 3, 0.0])
    plain = {"age 3": np.array([1.0])}
    assert share_out_unknown_age(plain) is plain
    # Hampshire recorded 12 plans ceased in 2023 at an unknown age: the total is kept.
    hampshire = Authority("Hampshire")
    ceased = share_out_unknown_age(hampshire.ceased_by_age(2023))
    assert sum(v.sum() for v in ceased.values()) == pytest.approx(hampshire.ceased_count(2023))
    with pytest.raises(ValueError, match="unrecognised"):
        ages_of_label("Age unknown", (20,))


def test_spreading_keeps_totals_and_splits_grouped_ages_as_told():
    labels = {"under 3": np.array([10.0]), "age 3": np.array([4.0]), "age 20 and over": np.array([9.0])}
    whole = spread(labels, (20, 21, 22), (0.1, 0.3, 0.6), integer=True)[:, 0]
    assert whole[:3].tolist() == largest_remainder(10, [0.1, 0.3, 0.6]).tolist() == [1, 3, 6]
    assert whole[20:23].tolist() == [3, 3, 3] and whole.sum() == 23
    shares = spread(labels, (20, 21, 22), (0.1, 0.3, 0.6))[:, 0]
    np.testing.assert_allclose(shares[:3], [1.0, 3.0, 6.0])
    values = np.arange(codes.N_AGES, dtype=float)
    assert academic_from_event_age(values, 0.5).sum() == pytest.approx(values.sum())
    np.testing.assert_allclose(academic_from_event_age(values, 0.5), shift_one_age(values, 0.5))
