"""Every class of failure a careful tester found ends in a one-line error naming what to change,
exit status 2, and leaves nothing that blocks the next run (docs/robustness.md lists them).

- readers: an unclosed quote, an oversized cell, line numbers after a multi-line cell, a file
  separated by ';' or tabs (finance, targets, parameters, cohort: one strict reader);
- bounds decided before anything is written: runs, months, chunk size, threads, rates, the run's
  memory and disk, an unreachable Dask scheduler;
- 64-bit costs: a large unit cost with a wide spread never wraps to a negative cost;
- sweeps: a grid too large for 64 bits, names with no room for point numbers, values that are
  not finite;
- draws dated after the run; TOML nested too deep;
- the output folder: read-only, the disk filling up while the summaries are written, a damaged
  scratch folder, a finish interrupted while moving tables into place.
"""
from __future__ import annotations

import contextlib
import errno
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sendsim.api import plan as run_plan
from sendsim.calibration.targets import read_targets
from sendsim.cli import main
from sendsim.inputs.errors import InputError
from sendsim.inputs.finance import KENT_FINANCE, load_finance, read_finance_rows
from sendsim.outputs import store as store_module
from sendsim.outputs.store import MANIFEST, PARTIAL, OutputError, OutputStore

SHORT = ["--runs", "2", "--months", "3", "--quiet", "--no-flows", "--no-draws"]
FINANCE_HEADER = "name,financial_year,line,placement,cost_type,value,unit,source,note\n"
TARGETS_HEADER = "id,measure,date,value,tolerance,role,source\n"


def run_cli(arguments: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(arguments)
    return code, err.getvalue()


def assert_refused(arguments: list[str], message: str, out: Path | None = None) -> None:
    code, err = run_cli(arguments)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err
    if out is not None:
        assert not out.exists(), f"{out} was created by a refused run"


# ---- One strict reader -----------------------------------------------------------------------------
@pytest.mark.parametrize("reader,header,row", [
    (read_finance_rows, FINANCE_HEADER, 'hnb_growth,2025-26,,,,0.05,fraction,"assumption: an open quote,\n'),
    (read_targets, TARGETS_HEADER, 'a,ehcps,2024-01,"100,10,fit,x\n'),
])
def test_an_unclosed_quote_is_named_with_its_line(tmp_path, reader, header, row):
    path = tmp_path / "file.csv"
    path.write_text(header + row + "x,y\n" * 5, encoding="utf-8")
    with pytest.raises(InputError, match="a quoted cell opened on this line is never closed") as error:
        reader(path)
    assert error.value.row == 2


@pytest.mark.parametrize("reader,header", [(read_finance_rows, FINANCE_HEADER), (read_targets, TARGETS_HEADER)])
def test_an_oversized_cell_is_named_not_a_traceback(tmp_path, reader, header):
    path = tmp_path / "file.csv"
    path.write_text(header + 'hnb_growth,2025-26,,,,0.05,fraction,"' + "x" * 200_000 + '",\n', encoding="utf-8")
    with pytest.raises(InputError, match="longer than 131,072 characters") as error:
        reader(path)
    assert error.value.row == 2


def test_line_numbers_stay_the_files_after_a_multi_line_cell(tmp_path):
    path = tmp_path / "finance.csv"
    path.write_text(FINANCE_HEADER
                    + 'hnb_growth,2025-26,,,,0.05,fraction,"assumption: a note\nover\nthree lines",\n'
                    + "hnb_growth,2026-27,,,,not-a-number,fraction,assumption: x,\n", encoding="utf-8")
    with pytest.raises(InputError, match="is not a number") as error:
        read_finance_rows(path)
    assert error.value.row == 5  # the header is line 1; the first row spans lines 2-4


@pytest.mark.parametrize("separator,named", [(";", "';'"), ("\t", "tabs")])
@pytest.mark.parametrize("kind,header", [("finance", FINANCE_HEADER), ("parameters", "parameter,value,source\n"),
                                         ("targets", TARGETS_HEADER), ("cohort", "child_id,birth_month,placement,"
                                                                       "need,months_since_review\n")])
def test_a_file_with_another_separator_gets_a_hint(tmp_path, separator, named, kind, header):
    path = tmp_path / f"{kind}.csv"
    path.write_text(header.replace(",", separator) + separator.join(["1"] * header.count(",")) + "\n",
                    encoding="utf-8")
    assert_refused(["validate", str(path), "--kind", kind], f"the file seems to use {named} between columns")


# ---- Bounds before anything is written --------------------------------------------------------------
@pytest.mark.parametrize("option,value,message", [
    ("--runs", "1000000000", "--runs: must be a whole number from 1 to 1,000,000"),
    ("--months", "100000", "--months: must be a whole number from 1 to 600"),
    ("--chunk-size", "100000", "--chunk-size: must be a whole number from 1 to 10,000"),
    ("--threads", "4096", "numba can use on this machine"),
])
def test_out_of_bounds_options_create_nothing(tmp_path, option, value, message):
    out = tmp_path / "out"
    arguments = ["run", "--out", str(out), "--quiet", "--runs", "1", "--months", "3", option, value]
    assert_refused(arguments, message, out)
    assert run_cli(["run", "--out", str(out), *SHORT])[0] == 0  # nothing blocks the next run


def test_a_rate_beyond_its_bound_is_refused(tmp_path):
    rows = tmp_path / "rates.csv"
    rows.write_text("parameter,age,value,source\nrequest_rate,5,1e12,test\n", encoding="utf-8")
    assert_refused(["run", "--params", str(rows), "--out", str(tmp_path / "o"), *SHORT],
                   "request_rate is a rate: value 1e12 must lie in [0, 10000]", tmp_path / "o")


def test_a_run_that_needs_more_memory_or_disk_than_free_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(run_plan, "_available_memory", lambda: 100 * 1024**2)
    assert_refused(["run", "--out", str(tmp_path / "m"), *SHORT], "of memory and", tmp_path / "m")
    monkeypatch.setattr(run_plan, "_available_memory", lambda: None)
    monkeypatch.setattr(run_plan, "_free_disk", lambda folder: 1024)
    assert_refused(["run", "--out", str(tmp_path / "d"), *SHORT], "free: use fewer --runs", tmp_path / "d")


def test_an_unreachable_scheduler_creates_nothing(tmp_path, monkeypatch):
    original = run_plan.check_scheduler
    monkeypatch.setattr(run_plan, "check_scheduler", lambda address: original(address, timeout_seconds=2.0))
    out = tmp_path / "out"
    assert_refused(["run", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9", "--out", str(out), *SHORT],
                   "cannot reach the Dask scheduler at tcp://127.0.0.1:9", out)
    assert_refused(["run", "--backend", "dask", "--scheduler", "localhost:8786", "--out", str(out), *SHORT],
                   "is not a scheduler address", out)


# ---- 64-bit costs --------------------------------------------------------------------------------------
def test_a_large_unit_cost_with_a_wide_spread_never_wraps(tmp_path):
    rows = tmp_path / "cost.csv"
    rows.write_text("parameter,age,placement,need,value,source\nunit_cost,all,independent,all,900000000,test\n"
                    "cost_spread,all,independent,,2,test\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(["run", "--params", str(rows), "--out", str(out), "--runs", "2", "--months", "3", "--quiet",
                    "--no-flows"])[0] == 0
    cost = pd.read_parquet(out / "cost")
    independent = cost[cost.placement.astype(str) == "independent"]
    stock = pd.read_parquet(out / "stock")
    plans = stock[stock.placement.astype(str) == "independent"].groupby(["run", "date"])["count"].sum()
    assert (cost.cost_gbp >= 0).all()
    # Over 1,500 plans at 900m a year each (mean-1 multiplier): far beyond 32 bits, and right.
    per_plan_annual = independent.groupby(["run", "date"])["cost_gbp"].sum() * 12 / plans
    assert per_plan_annual.min() > 0.5 * 900e6 and per_plan_annual.max() < 2 * 900e6


# ---- Sweeps, draws, TOML ---------------------------------------------------------------------------------
SWEEP = 'name="{name}"\ndesign="grid"\n'


def _factor(lever: str, values: str) -> str:
    return f'[[factor]]\nlever="{lever}"\nfrom="2024-09"\nvalues=[{values}]\n'


def test_a_grid_beyond_64_bits_is_counted_exactly(tmp_path):
    levers = ["decision_to_assess", "decline_to_issue", "request_growth", "review_capacity", "assessment_capacity",
              "reintegration", "special_places", "srp_places"]
    values = ",".join(str(0.0001 * k) for k in range(1, 4001))
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(name="big") + "".join(_factor(lever, values) for lever in levers), encoding="utf-8")
    assert_refused(["validate", str(path)], f"the grid has {4000 ** 8} points; at most 100000")


def test_a_sweep_name_must_leave_room_for_its_point_numbers(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(name="a" * 63) + _factor("decision_to_assess", "0.5"), encoding="utf-8")
    assert_refused(["validate", str(path)], "must be at most 58 characters")
    assert_refused(["sweep", str(path), "--out", str(tmp_path / "o"), *SHORT], "must be at most 58 characters",
                   tmp_path / "o")


@pytest.mark.parametrize("values", ["nan", "inf", "0.5, -inf"])
def test_sweep_values_must_be_finite(tmp_path, values):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(name="s") + _factor("decision_to_assess", values), encoding="utf-8")
    assert_refused(["validate", str(path)], "must be a non-empty list of finite numbers")


def test_a_draws_column_dated_after_the_run_is_refused(tmp_path):
    draws = tmp_path / "draws.parquet"
    pd.DataFrame({"p_assess@date=2030-01": [0.5, 0.6]}).to_parquet(draws)
    assert_refused(["run", "--params", str(draws), "--out", str(tmp_path / "o"), *SHORT],
                   "column 'p_assess@date=2030-01': date 2030-01 is after the end of the run", tmp_path / "o")


def test_deeply_nested_toml_is_refused(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("name='x'\nlevers=" + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    assert_refused(["validate", str(path)], "nests tables or arrays more than 12 deep")
    path.write_text("name='x'\n" + "".join(f"[a{'.b' * k}]\nv=1\n" for k in range(20)), encoding="utf-8")
    assert_refused(["validate", str(path)], "nests tables or arrays more than 12 deep")


# ---- The output folder ---------------------------------------------------------------------------------------
def test_a_read_only_output_folder_ends_in_one_line(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run_cli(["run", "--out", str(out), *SHORT])[0] == 0
    (out / MANIFEST).unlink()  # now "unfinished": --resume must take the lock first
    (out / PARTIAL).mkdir()
    real_open = open

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(store_module, "open", read_only_open, raising=False)
    with pytest.raises(OutputError, match="a read-only file system"):
        OutputStore(out, resume=True, identity={})


def test_the_disk_filling_up_while_summaries_are_written_is_finished_by_resume(tmp_path, monkeypatch):
    out = tmp_path / "out"
    arguments = ["run", "--out", str(out), "--runs", "2", "--months", "15", "--quiet", "--no-flows"]
    real_write = store_module._write_atomic_bytes

    def full_disk(path, data):
        if Path(path).name == "summary.parquet":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(store_module, "_write_atomic_bytes", full_disk)
    code, err = run_cli(arguments)
    assert code == 2 and "No space left on device" in err and "--resume" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setattr(store_module, "_write_atomic_bytes", real_write)
    assert run_cli(arguments + ["--resume"])[0] == 0
    assert (out / MANIFEST).is_file() and (out / "summary.parquet").is_file()


def _one_chunk_store(out: Path) -> OutputStore:
    store = OutputStore(out, identity={"run": 1})
    table = pa.table({"run": pa.array([0, 1], pa.int32()), "value": pa.array([1.0, 2.0])})
    store.write_chunk("baseline", 0, 1, {"cost": table, "stock": table}, {"runs": np.array([0, 1])})
    return store


def test_a_table_removed_from_the_scratch_folder_is_named(tmp_path):
    out = tmp_path / "out"
    store = _one_chunk_store(out)
    (out / PARTIAL / "stock" / "baseline" / "runs-000000-000001.parquet").unlink()
    with pytest.raises(OutputError, match="is missing from the unfinished run"):
        store.finish({"complete": True})
    assert not (out / MANIFEST).exists()


def test_a_finish_interrupted_while_moving_tables_is_completed_by_resume(tmp_path, monkeypatch):
    out = tmp_path / "out"
    store = _one_chunk_store(out)
    store.write_file("summary.parquet", b"first")
    real_replace = store_module.os.replace
    moved = []

    def killed_after_one_move(source, target):
        if str(target).endswith(".parquet") and PARTIAL not in Path(target).parts and moved:
            raise KeyboardInterrupt  # the process dies here
        real_replace(source, target)
        if PARTIAL not in Path(target).parts:
            moved.append(target)

    monkeypatch.setattr(store_module.os, "replace", killed_after_one_move)
    with pytest.raises(KeyboardInterrupt):
        store.finish({"complete": True})
    monkeypatch.setattr(store_module.os, "replace", real_replace)
    del store
    resumed = OutputStore(out, resume=True, identity={"run": 1})
    resumed.write_file("summary.parquet", b"again")  # a resumed run writes its summaries again
    resumed.finish({"complete": True})
    assert (out / MANIFEST).is_file() and not (out / PARTIAL).exists()
    assert (out / "summary.parquet").read_bytes() == b"again"
    assert (out / "cost" / "baseline" / "runs-000000-000001.parquet").is_file()


def test_finance_layering_still_reads_the_kent_file():
    assert load_finance([KENT_FINANCE]).profile(2027) == pytest.approx(140e6)


def test_calibrate_never_empties_a_folder_it_did_not_make(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "manifest.json").write_text("{\"a browser extension\": true}")  # what the old rule took for ours
    (folder / "report.md").write_text("my notes")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert_refused(["calibrate", "--out", str(folder), "--overwrite"], "holds files sendsim did not write")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
