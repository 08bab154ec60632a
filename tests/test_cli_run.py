"""`sendsim run` end to end on the built-in Kent baseline: tables, manifest, the January 2024
snapshot, thread independence and conservation, read back from the Parquet files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from sendsim.cli import main
from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.defaults import KENT_COHORT
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

ROOT = Path(__file__).resolve().parent.parent


def read(out: Path, table: str) -> pd.DataFrame:
    frame = ds.dataset(out / table, format="parquet", partitioning="hive").to_table().to_pandas()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame.sort_values([c for c in frame.columns if c not in ("count", "cost_gbp", "value")]).reset_index(
        drop=True)


@pytest.fixture(scope="module")
def run200(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run200") / "out"
    assert main(["run", "--runs", "200", "--seed", "1", "--out", str(out), "--quiet"]) == 0
    return out


def test_run_writes_tables_and_manifest(run200):
    manifest = json.loads((run200 / "manifest.json").read_text())
    for key in ("seed", "runs", "scenario", "inputs", "package_version", "git_commit", "rng_scheme_version",
                "wall_seconds", "child_months_per_second"):
        assert key in manifest, key
    assert manifest["seed"] == 1 and manifest["runs"] == 200 and manifest["scenario"] == "baseline"
    assert manifest["rng_scheme_version"] == 2
    assert len(manifest["inputs"]["cohort"]["sha256"]) == 64
    assert manifest["child_months_per_second"] > 0
    for table in ("stock", "flows", "cost", "pipeline"):
        frame = read(run200, table)
        assert set(frame["scenario"]) == {"baseline"}
        assert sorted(frame["run"].unique()) == list(range(200))
    stock = read(run200, "stock")
    # scenario, month and financial_year are columns of every file (docs/outputs.md).
    monthly = ["scenario", "run", "date", "month", "financial_year"]
    assert sorted(stock.columns) == sorted(monthly + ["age_band", "placement", "need", "count"])
    assert set(stock["age_band"]) <= set(codes.AGE_BANDS) and set(stock["placement"]) <= set(codes.PLACEMENTS)
    assert (stock["count"] > 0).all()
    dates = sorted(pd.to_datetime(stock["date"]).unique())
    assert len(dates) == 51 and str(dates[0].date()) == "2024-01-31" and str(dates[-1].date()) == "2028-03-31"
    flows = read(run200, "flows")
    assert sorted(flows.columns) == sorted(monthly + ["event", "from_placement", "to_placement", "count"])
    assert set(flows["event"]) <= set(codes.EVENTS)
    cost = read(run200, "cost")
    assert sorted(cost.columns) == sorted(monthly + ["placement", "cost_gbp"])
    # One date convention: date is the month's last day, month the same month as YYYY-MM.
    assert (pd.to_datetime(cost["date"]).dt.strftime("%Y-%m") == cost["month"]).all()
    assert set(cost.loc[cost["month"] == "2026-01", "financial_year"]) == {"2025-26"}
    # pandas reads the folder directly, scenario included.
    frame = pd.read_parquet(run200 / "cost")
    assert set(frame["scenario"].astype(str)) == {"baseline"} and len(frame) == len(cost)
    assert (cost["cost_gbp"] >= 0).all()
    assert not (run200 / ".partial").exists()


def test_january_2024_snapshot_reproduces_the_cohort_exactly(run200):
    calendar = Calendar(2024, 1, 51)
    cohort, _ = load_cohort(KENT_COHORT, calendar)
    active = cohort.status == codes.ACTIVE
    ages = np.clip(calendar.academic_age(cohort.birth_month[active]), 0, 25)
    expected = pd.DataFrame({"age_band": np.array(codes.AGE_BANDS)[codes.AGE_BAND_OF_AGE[ages]],
                             "placement": np.array(codes.PLACEMENTS)[cohort.placement[active]]})
    expected = expected.value_counts().sort_index()
    stock = read(run200, "stock")
    january = stock[pd.to_datetime(stock["date"]) == "2024-01-31"]
    for _run, group in january.groupby("run"):
        observed = group.groupby(["age_band", "placement"])["count"].sum().sort_index()
        pd.testing.assert_series_equal(observed.astype(np.int64), expected.astype(np.int64), check_names=False)


def test_conservation_in_every_run_and_month(run200):
    stock = read(run200, "stock").groupby(["run", "date", "placement"])["count"].sum().unstack(fill_value=0)
    flows = read(run200, "flows")
    moving = flows[flows["event"].isin([e for e, m in zip(codes.EVENTS, codes.EVENT_IS_MOVEMENT) if m])
                   & (flows["from_placement"] != flows["to_placement"])]
    inflow = moving.groupby(["run", "date", "to_placement"])["count"].sum().unstack(fill_value=0)
    outflow = moving.groupby(["run", "date", "from_placement"])["count"].sum().unstack(fill_value=0)
    placements = list(codes.PLACEMENTS)
    stock = stock.reindex(columns=placements, fill_value=0)
    net = (inflow.reindex(columns=placements, fill_value=0).reindex(stock.index, fill_value=0)
           - outflow.reindex(columns=placements, fill_value=0).reindex(stock.index, fill_value=0))
    change = stock.groupby(level="run").diff().dropna()
    pd.testing.assert_frame_equal(change.astype(int), net.loc[change.index].astype(int), check_names=False)
    assert len(change) == 200 * 50


def test_tables_identical_with_one_and_two_threads(tmp_path):
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}"
        assert main(["run", "--runs", "12", "--seed", "7", "--out", str(out), "--threads", str(threads),
                     "--chunk-size", str(5 * threads), "--quiet"]) == 0
        outs.append(out)
    for table in ("stock", "flows", "cost", "pipeline"):
        pd.testing.assert_frame_equal(read(outs[0], table), read(outs[1], table))


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "--runs", "2", "--out", str(out), "--quiet", "--months", "3"]) == 0
    before = (out / "manifest.json").read_text()
    assert main(["run", "--runs", "2", "--out", str(out), "--quiet", "--months", "3"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "manifest.json").read_text() == before
    assert main(["run", "--runs", "3", "--out", str(out), "--quiet", "--months", "3", "--overwrite"]) == 0
    assert json.loads((out / "manifest.json").read_text())["runs"] == 3


def test_refuses_to_overwrite_a_folder_it_did_not_make(tmp_path, capsys):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.docx").write_text("years of work")
    assert main(["run", "--runs", "2", "--out", str(precious), "--quiet", "--months", "2", "--overwrite"]) == 2
    assert "is not a sendsim output folder: it holds files sendsim did not write (for example 'thesis.docx')" in (
        capsys.readouterr().err)
    assert (precious / "thesis.docx").read_text() == "years of work"


def test_command_line_entry_point(tmp_path):
    out = tmp_path / "o"
    result = subprocess.run([sys.executable, "-m", "sendsim", "run", "--runs", "3", "--months", "13", "--out",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "EHCPs at each January" in result.stdout and "2025-01" in result.stdout
    assert (out / "manifest.json").exists()


def test_runs_from_a_folder_holding_modules_with_generic_names(tmp_path):
    """What pip installs lives under the sendsim name: a user's inputs.py, outputs.py or
    calibration.py in the working folder cannot shadow the engine's packages."""
    for name in ("inputs", "outputs", "calibration", "simcore", "money", "benchmarks"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('the user\\'s own module was imported')\n")
    result = subprocess.run([sys.executable, "-m", "sendsim", "run", "--runs", "2", "--months", "3", "--out", "o",
                             "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "manifest.json").exists()
