"""The built-in Kent dataset: regenerable, loadable, and faithful to the vendored data."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.kent import assumptions, derive
from sendsim.inputs.parameters import load_parameter_set, read_parameter_rows
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import compile_model

KENT = Path(derive.__file__).resolve().parent
DATA = KENT / "data"
# The all-authority SEN2 files, read here directly (not through the library).
SEN2_ALL = KENT.parent / "data" / "sen2_all"
PARAMETERS = KENT / "parameters.csv"
COHORT = KENT / "cohort.csv"
CALENDAR = Calendar(2024, 1, 51)

# Placement mapping of SEN2 columns, written out independently of derive.py.
MAPPING = {
    "early_years": ["nm_early_years"],
    "mainstream": ["mainstream_la_maintained", "mainstream_academy", "mainstream_free_school",
                   "mainstream_independent"],
    "srp": ["mainstream_la_maintained_resourced_provision", "mainstream_la_maintained_senunit",
            "mainstream_academy_resourced_provision", "mainstream_academy_senunit",
            "mainstream_free_school_resourced_provision", "mainstream_free_school_senunit"],
    "special": ["special_la_maintained", "special_academy_free"],
    "independent": ["special_independent", "special_non_maintained"],
    "fe": ["general_fe_tertiary_colleges", "ukrlp_provider"],
    "post16_specialist": ["specialist_post_16_institutions"],
    "alternative": ["ap_pru_total", "elective_home_education", "other_arrangements_la",
                    "other_arrangements_parents", "other_placement_settings"],
    "no_place": ["neet", "neet_ntci", "neet_other", "neet_other_csa", "placement_unknown"],
}
# Overdue reviews in the opening cohort: target (seed, interpolated to January 2024) and the
# tolerance the derivation must meet.
OVERDUE_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def cohort():
    loaded, _ = load_cohort(COHORT, CALENDAR)
    return loaded


@pytest.fixture(scope="module")
def sen2_crosstab() -> pd.DataFrame:
    """SEN2 January 2024 Kent caseload by age label x engine placement, from the vendored file."""
    frame = pd.read_csv(SEN2_ALL / "sen2_2025release_caseload.csv.gz", dtype=str, keep_default_na=False)
    rows = frame[(frame["la_name"] == "Kent") & (frame["time_period"] == "202324")
                 & (frame["breakdown_topic"] == "Child or young persons age")]
    values = rows.set_index("breakdown").replace({"x": "0", "z": "0"})
    out = pd.DataFrame({p: values[cols].astype(float).sum(axis=1) for p, cols in MAPPING.items()})
    assert (out.sum(axis=1) == values["ehcplans"].astype(float)).all(), "mapping misses a column"
    return out.astype(int)


def _seed(identifier: str) -> float:
    frame = pd.read_csv(DATA / "seed_targets.csv")
    return float(frame.loc[frame["id"] == identifier, "value"].iloc[0])


# ---- Regeneration ---------------------------------------------------------------------------
def test_regenerated_parameters_equal_committed_file():
    assert derive.parameters_csv_text() == PARAMETERS.read_text(encoding="utf-8")


def test_regenerated_cohort_equals_committed_file():
    assert derive.cohort_csv_text() == COHORT.read_text(encoding="utf-8")


def test_derivation_reads_only_vendored_data():
    assert derive.DATA == DATA
    library = KENT.parent / "sen2"
    for path in [Path(derive.__file__), KENT / "assumptions.py", KENT.parent / "derive.py",
                 KENT.parent / "derivation.py", *library.glob("*.py")]:
        source = path.read_text(encoding="utf-8")
        assert "/work/shared" not in source and "shared/" not in source, path
    for name in ("seed_targets.csv", "kent_finance_public.csv", "000_aaaf9302ba62fed6.txt", "README.md"):
        assert (DATA / name).is_file(), name
    for name in ("sen2_2025release_caseload.csv.gz", "sen2_2025release_requests.csv.gz"):
        assert (SEN2_ALL / name).is_file(), name


# ---- Parameters -------------------------------------------------------------------------------
def test_parameter_file_loads_and_compiles():
    ps = load_parameter_set([PARAMETERS], CALENDAR)
    model = compile_model([ps], CALENDAR.n_months, CALENDAR.start_calendar_month)
    assert model.request_rate.shape == (1, model.request_rate.shape[1], codes.N_AGES)


def test_every_row_has_a_source():
    rows = list(csv.DictReader(io.StringIO(PARAMETERS.read_text(encoding="utf-8"))))
    assert rows
    empty = [i + 2 for i, row in enumerate(rows) if not row["source"].strip()]
    assert not empty, f"rows without a source on lines {empty[:10]}"
    for row in rows:
        source = row["source"]
        assert ("assumption:" in source or ".csv" in source or "statutory" in source), source
    # Every parameter of the schema has rows (complete, not relying on defaults).
    names = {row["parameter"] for row in rows}
    from sendsim.simcore.model import SCHEMA
    assert names == set(SCHEMA)


def test_assumption_rows_name_their_rationale():
    for row in read_parameter_rows(PARAMETERS):
        if row.source.startswith("assumption"):
            assert len(row.source) > len("assumption: ") + 10, row


def test_data_derived_values_match_the_vendored_files():
    ps = load_parameter_set([PARAMETERS], CALENDAR)
    requests = pd.read_csv(SEN2_ALL / "sen2_2025release_requests.csv.gz", dtype=str, keep_default_na=False)
    kent2023 = requests[(requests["la_name"] == "Kent") & (requests["time_period"] == "2023")
                        & (requests["breakdown_topic"] == "All requests for EHC needs assessments")]
    total = float(kent2023["requests_received_in_year"].iloc[0])
    assert ps["request_rate"].values[0].sum() * 12 == pytest.approx(total)
    assert ps["p_assess"].values[0] == pytest.approx(_seed("yes_to_assess_2024_03") / 100)
    assert ps["p_decline"].values[0] == pytest.approx(_seed("decline_to_issue_2024_03") / 100)
    # SEN2 counts requests by age on the day; the engine by academic age: half of the requests
    # at age a + 1 (those after the birthday) are at academic age a.
    by_age = requests[(requests["la_name"] == "Kent") & (requests["time_period"] == "2023")
                      & (requests["breakdown_topic"] == "Child or young persons age")]
    on_the_day = {int(b.split()[1]): float(v) for b, v in zip(by_age["breakdown"], by_age["requests_received_in_year"])
                  if b.split()[1].isdigit()}
    rate = ps["request_rate"].values[0] * 12
    for a in range(3, 19):
        assert rate[a] == pytest.approx(0.5 * on_the_day[a] + 0.5 * on_the_day[a + 1], rel=1e-6), a
    refused = float(kent2023["requests_decided_not_to_assess"].iloc[0])
    tribunal = float(kent2023["tribunal_related_request"].iloc[0])
    assert ps["p_appeal_refusal"].values[0] == pytest.approx(tribunal / refused, rel=1e-6)
    special, srp = codes.PLACEMENTS.index("special"), codes.PLACEMENTS.index("srp")
    assert ps["places"].values[0, special] == _seed("special_places_commissioned")
    assert ps["places"].values[0, srp] == _seed("srp_places_commissioned")
    assert ps["max_occupancy"].values[0, special] == pytest.approx(_seed("special_occupancy_2023_12") / 100)
    # Assessment capacity steps down as the backlog clears (dated rows).
    starts = ps["assessment_capacity"].starts
    assert [CALENDAR.label(int(s)) for s in starts] == ["2024-01", "2024-05", "2024-08"]
    capacity = ps["assessment_capacity"].values
    assert capacity[0] > capacity[1] > capacity[2] > 0


def test_distributions_are_plausible():
    ps = load_parameter_set([PARAMETERS], CALENDAR)
    move = ps["move"].values[0]
    stay = np.array([[move[a, p, p] for p in range(codes.N_PLACEMENTS)] for a in range(codes.N_AGES)])
    # Early years at school age is the one placement that is left within months (it ends at
    # compulsory school age); every other row is strongly diagonal.
    early_years_at_school_age = stay[assumptions.COMPULSORY_SCHOOL_AGE:, codes.EARLY_YEARS]
    assert early_years_at_school_age.max() < 0.75
    assert np.all(move[assumptions.COMPULSORY_SCHOOL_AGE:, codes.EARLY_YEARS, codes.MAINSTREAM] > 0.1)
    stay[assumptions.COMPULSORY_SCHOOL_AGE:, codes.EARLY_YEARS] = 1.0
    assert stay.min() > 0.97, "monthly move matrices must be strongly diagonal"
    phase = ps["phase_transfer"].values[0]
    post19 = codes.TRANSFERS.index("post19")
    for school in ("mainstream", "srp"):
        assert np.all(phase[post19, :, :, codes.PLACEMENTS.index(school)] == 0), "post-19 school place"
    assert 0 < ps["request_growth"].values[0] < 0.2


# ---- Cohort -----------------------------------------------------------------------------------------
def test_cohort_reproduces_sen2_crosstab_exactly(cohort, sen2_crosstab):
    active = cohort.status == codes.ACTIVE
    ages = CALENDAR.academic_age(cohort.birth_month[active])
    placements = cohort.placement[active]
    table = np.zeros((codes.N_AGES, codes.N_PLACEMENTS), dtype=np.int64)
    np.add.at(table, (ages, placements), 1)
    for label, row in sen2_crosstab.iterrows():
        expected = row[list(codes.PLACEMENTS)].to_numpy()
        if label == "under 3":
            got = table[0:3].sum(axis=0)
        else:
            got = table[int(label.split()[1])]
        assert np.array_equal(got, expected), (label, got, expected)
    assert table.sum() == sen2_crosstab.to_numpy().sum() == 19407
    assert np.array_equal(table.sum(axis=0), [67, 5565, 1189, 6222, 1647, 1805, 829, 977, 1106])


def test_cohort_age_bands_match_the_seed(cohort):
    active = cohort.status == codes.ACTIVE
    bands = np.bincount(codes.AGE_BAND_OF_AGE[CALENDAR.academic_age(cohort.birth_month[active])],
                        minlength=codes.N_AGE_BANDS)
    seed = [_seed(f"ehcp_obs_2024_01_{b}") for b in ("u5", "5_10", "11_15", "16_19", "20_25")]
    assert seed == [673, 5798, 7445, 4266, 1224]
    # SEN2 (which the cohort reproduces) has 4,267 aged 16-19 and 19,407 in all; the seed says
    # 4,266 and 19,406. The cohort follows SEN2.
    assert bands.tolist() == [673, 5798, 7445, 4267, 1224]
    assert bands.sum() == _seed("ehcp_obs_2024_01_total") + 1


def test_birth_months_spread_over_the_academic_year(cohort):
    active = cohort.status == codes.ACTIVE
    month_of_year = cohort.birth_month[active] % 12
    counts = np.bincount(month_of_year, minlength=12)
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean()
    assert np.all(cohort.birth_month <= CALENDAR.start_index)


def test_opening_overdue_reviews_near_target(cohort):
    target = derive.derivation().overdue_numbers()["january_2024"]
    assert 9400 <= target <= 9900
    active = cohort.status == codes.ACTIVE
    overdue = int(np.sum(cohort.months_since_review[active] >= 12))
    assert abs(overdue - target) <= OVERDUE_TOLERANCE * target, (overdue, target)
    # Older plans are more often overdue (post-19 backlog).
    ages = CALENDAR.academic_age(cohort.birth_month[active])
    late = cohort.months_since_review[active] >= 12
    assert late[ages >= 19].mean() > late[(ages >= 5) & (ages <= 15)].mean() + 0.3


def test_opening_pipeline(cohort):
    pipeline = cohort.status != codes.ACTIVE
    assert pipeline.sum() == _seed("open_cases_2024_01")
    assert set(np.unique(cohort.status[pipeline])) == {codes.REQUEST_PENDING, codes.ASSESSMENT}
    assert np.all(cohort.placement[pipeline] == -1)
    n_plans = int((~pipeline).sum())
    assert np.array_equal(cohort.child_key, np.arange(cohort.n))
    assert not pipeline[:n_plans].any() and pipeline[n_plans:].all()
    assert np.all(cohort.annual_cost_gbp == -1)
    assert np.all(cohort.waiting_for == codes.NO_WAIT)


def test_need_mix_is_plausible(cohort):
    active = cohort.status == codes.ACTIVE
    shares = np.bincount(cohort.need[active], minlength=codes.N_NEEDS) / active.sum()
    assert codes.NEEDS[int(np.argmax(shares))] == "asd"
    assert 0.25 < shares[codes.NEEDS.index("asd")] < 0.45
    special = active & (cohort.placement == codes.PLACEMENTS.index("special"))
    sld_pmld = np.isin(cohort.need, [codes.NEEDS.index("sld"), codes.NEEDS.index("pmld")])
    assert sld_pmld[special].mean() > 3 * sld_pmld[active & ~special].mean()
