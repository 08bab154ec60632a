"""Another authority from the vendored data alone (Medway, Kent's neighbour): its parameters,
cohort and targets derive from SEN2, the calibration model evaluates a proposal on them, and
`sendsim calibrate` runs end to end with a tiny budget."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sendsim.calibration import space
from sendsim.calibration.authority_targets import derive_targets, targets_csv_text
from sendsim.calibration.evaluate import segments_for, simulate_targets
from sendsim.calibration.model import CalibrationModel
from sendsim.calibration.origin import origin_cohort, origin_crosstab
from sendsim.calibration.targets import read_targets
from sendsim.cli import main
from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.derive import derivation_for, write
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

AUTHORITY = "Medway"
CENSUS = Calendar(2024, 1, 13)
# A short hindcast (two years) and forecast keep the evaluation to a second.
HINDCAST = Calendar(2022, 1, 25)
FORECAST = Calendar(2024, 1, 2)
# The prior's centre need not fit, but a hindcast that lost its cohort or its flows would be far
# off: each January's simulated total within this share of SEN2's.
TOTAL_RELATIVE_TOLERANCE = 0.15


@pytest.fixture(scope="module")
def derivation():
    return derivation_for(AUTHORITY)


@pytest.fixture(scope="module")
def inputs(derivation, tmp_path_factory):
    """The authority's inputs folder, as the two commands write it."""
    folder = tmp_path_factory.mktemp("medway")
    write(derivation, folder)
    (folder / "targets.csv").write_text(targets_csv_text(derive_targets(derivation)), encoding="utf-8")
    return folder


def test_parameters_and_cohort_derive_from_sen2_alone(derivation, inputs):
    rows = read_parameter_rows(inputs / "parameters.csv")
    sources = " ".join(r.source for r in rows)
    assert "seed_targets.csv" not in sources and f"{AUTHORITY} 2023" in sources
    ps = build_parameter_set(rows, CENSUS)  # complete on its own, not over Kent's defaults
    sen2 = derivation.authority
    agreed = sen2.request_count(2023, "requests_decided_to_assess")
    refused = sen2.request_count(2023, "requests_decided_not_to_assess")
    assert ps["p_assess"].values[0] == pytest.approx(agreed / (agreed + refused))
    assert ps["request_rate"].values[0].sum() * 12 == pytest.approx(sum(v[0] for v in sen2.requests_by_age(2023)
                                                                        .values()))
    census = sen2.placements_by_january()[2024]
    assert ps["places"].values[0, codes.SPECIAL] == census[codes.SPECIAL]  # as filled at the census
    assert (ps["max_occupancy"].values[0, [codes.SPECIAL, codes.SRP]] == 1).all()
    assert derivation.mi_authority().name == "England"  # no MI rows for Medway: England's rates
    cohort, _ = load_cohort(inputs / "cohort.csv", CENSUS)
    active = cohort.status == codes.ACTIVE
    np.testing.assert_array_equal(np.bincount(cohort.placement[active], minlength=codes.N_PLACEMENTS), census)
    assert (cohort.months_since_review[active] < 12).all()  # no overdue count: reviews on time
    assert (~active).sum() == derivation.opening_pipeline()[0] > 0


def test_targets_derive_and_read(derivation, inputs):
    targets = read_targets(inputs / "targets.csv")
    ids = {t.id for t in targets}
    for year in range(2020, 2025):
        assert f"sen2_{year}_01_total" in ids and f"sen2_{year}_01_special" in ids
    # Age bands: only the census's (the 2022-release bands are Kent's and England's).
    assert {t.id for t in targets if "_band_" in t.id} == {f"sen2_2024_01_band_{b}" for b in codes.AGE_BANDS}
    assert not any(t.source.startswith("seed_targets.csv") for t in targets)
    total = next(t for t in targets if t.id == "sen2_2023_01_total")
    assert total.value == derivation.authority.placements_by_january()[2023].sum()


def test_calibration_model_evaluates_one_proposal(derivation, inputs):
    rows = read_parameter_rows(inputs / "parameters.csv")
    targets = read_targets(inputs / "targets.csv")
    model = CalibrationModel(derivation, rows, FORECAST, HINDCAST)
    assert [y.year for y in model.years] == [2022, 2023]
    cohort, _ = load_cohort(inputs / "cohort.csv", FORECAST)
    origin = origin_cohort(derivation, HINDCAST.start_year)
    # Without age bands for 2022 the census shape is raked to the placement totals alone.
    np.testing.assert_array_equal(origin_crosstab(derivation, 2022).sum(axis=0),
                                  derivation.authority.placements_by_january()[2022])
    segments = segments_for(model, cohort, origin, targets)
    assert [s.name for s in segments] == ["hindcast"]
    theta = space.from_unit(np.full((1, len(space.SPACE)), 0.5))
    phi = model.sample_rates(np.random.default_rng(1), 1)
    values = simulate_targets(segments[0], theta, phi, seed=1, replicates=2)
    assert values.shape == (1, 2, len(segments[0].targets)) and np.isfinite(values).all()
    for k, target in enumerate(segments[0].targets):
        if target.id.endswith("_01_total"):
            assert abs(values[0, :, k] - target.value).max() <= TOTAL_RELATIVE_TOLERANCE * target.value, target.id


def test_sendsim_calibrate_runs_for_another_authority(inputs, tmp_path):
    out = tmp_path / "calibration"
    code = main(["calibrate", "--authority", AUTHORITY, "--inputs", str(inputs), "--out", str(out), "--proposals",
                 "8", "--waves", "2", "--replicates", "2", "--accepted", "4", "--max-final", "8", "--draws", "4",
                 "--backtest", "2023", "--backtest-proposals", "8", "--backtest-waves", "1", "--variance-draws", "2",
                 "--variance-seeds", "2"])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    read = {f["role"]: f["path"] for f in manifest["inputs"]["files_read"]}
    assert manifest["spec"]["authority"] == AUTHORITY and "finance" not in read
    assert read["parameters"] == str(inputs / "parameters.csv") and read["cohort"] == str(inputs / "cohort.csv")
    assert [s["output"] for s in manifest["variance_split"]] == ["EHCPs in January 2028"]  # no money: no finance
    report = (out / "report.md").read_text()
    assert report.startswith(f"# Calibration report: {AUTHORITY}") and "Which mainstream share" not in report
    assert len(pd.read_parquet(out / "draws.parquet")) == 4


def test_calibrate_asks_for_another_authoritys_inputs():
    with pytest.raises(SystemExit, match="--inputs is needed for Medway"):
        main(["calibrate", "--authority", AUTHORITY, "--out", "unused"])
    with pytest.raises(SystemExit, match="did you mean Medway"):
        main(["calibrate", "--authority", "Medwey", "--out", "unused"])
