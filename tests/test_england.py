"""The synthetic England-size cohort and its scaling rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sendsim.inputs import england
from sendsim.inputs.kent import derive
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.inputs.sen2.files import CASELOAD, read_table
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar


def test_crosstab_reproduces_sen2_england_age_rows():
    x = england.england_crosstab()
    table = read_table(CASELOAD)
    by_age = table[(table["geographic_level"] == "National") & (table["time_period"].astype(str) == "202324")
                   & (table["breakdown_topic"] == "Child or young persons age")]["ehcplans"].astype(float).sum()
    assert x.sum() == by_age == 572829  # the all-ages total, 576,474, has 3,645 without an age
    assert x.shape == (codes.N_AGES, codes.N_PLACEMENTS) and (x >= 0).all()


def test_scaled_cohort_has_the_asked_size_and_shape():
    cohort = england.england_cohort(size=30000)
    assert cohort.n == 30000
    calendar = Calendar(2024, 1, 1)
    ages = calendar.academic_age(cohort.birth_month)
    x = england.england_crosstab(30000)
    observed = np.zeros_like(x)
    np.add.at(observed, (ages, cohort.placement), 1)
    np.testing.assert_array_equal(observed, x)


def test_scale_rows_multiply_size_dependent_parameters(tmp_path):
    rows = england.scale_rows(10.0)
    path = tmp_path / "scale.csv"
    rows.to_csv(path, index=False)
    calendar = Calendar(2024, 1, 51)
    kent = build_parameter_set(read_parameter_rows(derive.PARAMETERS_PATH), calendar)
    scaled = build_parameter_set(read_parameter_rows(derive.PARAMETERS_PATH) + read_parameter_rows(path), calendar)
    np.testing.assert_allclose(scaled["request_rate"].values, 10 * kent["request_rate"].values, rtol=1e-5)
    special = codes.SPECIAL
    assert scaled["places"].values[0, special] == 10 * kent["places"].values[0, special]
    np.testing.assert_array_equal(scaled["move"].values, kent["move"].values)  # rates per child unchanged
    assert set(pd.unique(rows["parameter"])) == set(england.SCALED_PARAMETERS)
