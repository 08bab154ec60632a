"""`sendsim calibrate` end to end with a tiny budget, and the shipped draws with `sendsim run`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sendsim.calibration.spec import KENT_DRAWS, KENT_TARGETS
from sendsim.cli import main
from sendsim.inputs.draws import load_draws

# A few targets of each segment and measure keep the run short.
KEEP = ("sen2_2021_01_total", "sen2_2022_01_band_20_25", "sen2_2023_01_independent", "sen2_2022_new_plans",
        "overdue_reviews_2023_03", "sen2_2024_01_special", "open_cases_2024_04", "post16_specialist_share_2024_03",
        "mainstream_share_r_y13_2024_03")


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    lines = KENT_TARGETS.read_text(encoding="utf-8").splitlines()
    targets = folder / "targets.csv"
    targets.write_text("\n".join([lines[0]] + [line for line in lines[1:] if line.split(",")[0] in KEEP]) + "\n",
                       encoding="utf-8")
    out = folder / "out"
    code = main(["calibrate", "--targets", str(targets), "--out", str(out), "--proposals", "8", "--waves", "2",
                 "--replicates", "2", "--accepted", "4", "--max-final", "8", "--draws", "6", "--backtest", "2022",
                 "--backtest-proposals", "8", "--backtest-waves", "1", "--variance-draws", "3",
                 "--variance-seeds", "2"])
    assert code == 0
    return out


def test_calibrate_writes_every_output(calibration):
    for name in ("draws.parquet", "posterior.parquet", "fit.csv", "backtest.csv", "report.md", "report.html",
                 "manifest.json"):
        assert (calibration / name).exists(), name
    manifest = json.loads((calibration / "manifest.json").read_text())
    assert manifest["draws"] == 6 and manifest["draws_file"]["verify_max_difference"] < 1e-9
    assert {s["output"].split(",")[0].split(" in ")[0] for s in manifest["variance_split"]} == {
        "EHCPs", "accumulated DSG deficit"}
    fit = pd.read_csv(calibration / "fit.csv")
    assert set(fit.id) == set(KEEP)  # the report shows every target
    assert {"observed", "median", "p05", "p95", "in_90", "within_tolerance"} <= set(fit.columns)
    backtest = pd.read_csv(calibration / "backtest.csv")
    assert (backtest.cutoff == 2022).all() and {"crps", "in_50", "in_90"} <= set(backtest.columns)
    report = (calibration / "report.md").read_text()
    for heading in ("## Targets", "## Rolling-origin backtest", "## Variance split", "## Which mainstream share"):
        assert heading in report
    assert "<table>" in (calibration / "report.html").read_text()


def test_calibrated_draws_run(calibration, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--runs", "2", "--months", "13", "--params", str(calibration / "draws.parquet"), "--out",
                 str(out), "--quiet", "--no-flows"]) == 0
    stock = pd.read_parquet(out / "stock")
    assert set(stock.run) == {0, 1}


def test_calibrate_refuses_to_overwrite(calibration, capsys):
    assert main(["calibrate", "--out", str(calibration), "--proposals", "2"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_shipped_kent_draws_load_and_cover_the_default_runs():
    draws = load_draws(KENT_DRAWS)
    assert draws.n_draws >= 1000  # sendsim run's default --runs
    assert np.isfinite(draws.values).all()
    assert any(c.startswith("review_cease@") for c in draws.columns)
