"""`sendsim report` on damaged or edited output folders: it checks what it reads instead of
trusting the manifest, and ends in one line naming what to change (exit 2), never a traceback,
without writing anything."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sendsim.cli import main


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "out"
    assert main(["run", "--runs", "3", "--months", "15", "--scenario", "third_special_school", "--out", str(out),
                 "--quiet"]) == 0
    return out


def _first_file(out: Path, table: str, scenario: str = "baseline") -> Path:
    return sorted((out / table / scenario).glob("*.parquet"))[0]


def _rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def _edit_manifest(out: Path, change: Callable[[dict], None]) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    change(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))


def _set_column(name: str, values) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        return table.set_column(table.column_names.index(name), name, pa.array(values(table)))
    return change


DAMAGE = {
    "deficit folder removed": (lambda out: shutil.rmtree(out / "deficit" / "baseline"), "deficit/baseline is missing"),
    "stock column dropped": (lambda out: _rewrite(_first_file(out, "stock"), lambda t: t.drop_columns(["count"])),
                             "column count is missing"),
    "money as text": (lambda out: _rewrite(_first_file(out, "deficit"), _set_column(
        "accumulated_deficit_gbp", lambda t: ["lots"] * t.num_rows)), "column accumulated_deficit_gbp holds text"),
    "money not finite": (lambda out: _rewrite(_first_file(out, "finance"), _set_column(
        "amount_gbp", lambda t: [float("nan")] * t.num_rows)), "column amount_gbp has"),
    "unknown placement": (lambda out: _rewrite(_first_file(out, "stock"), _set_column(
        "placement", lambda t: ["spaceship"] * t.num_rows)), "holds 'spaceship'"),
    "file not Parquet": (lambda out: _first_file(out, "stock").write_bytes(b"not a parquet file"), "cannot be read"),
    "file moved to another scenario": (lambda out: shutil.copy(
                                           _first_file(out, "stock", "third_special_school"),
                                           out / "stock" / "baseline" / "runs-999999-999999.parquet"),
                                       "scenario column says 'third_special_school'"),
    "summary removed": (lambda out: (out / "summary.parquet").unlink(), "summary.parquet is missing"),
    "manifest runs edited": (lambda out: _edit_manifest(out, lambda m: m.update(runs=500)),
                             "the manifest says 500 runs"),
    "manifest month edited": (lambda out: _edit_manifest(out, lambda m: m.update(start="2024-13")),
                              "start is '2024-13', not a month"),
    "manifest money edited": (lambda out: _edit_manifest(out, lambda m: m["money"].update(opening_gbp="lots")),
                              "money.opening_gbp is 'lots'"),
    "manifest scenario added": (lambda out: _edit_manifest(out, lambda m: m["scenarios"].append("ghost")),
                                "scenario 'ghost' is in the manifest only"),
    "manifest years edited": (lambda out: _edit_manifest(out, lambda m: m["money"].update(years=["2030-31"])),
                              "price_index"),
    "manifest truncated": (lambda out: (out / "manifest.json").write_text('{"runs": 3, "se'),
                           "manifest.json is damaged"),
    "earlier layout": (lambda out: (out / "stock" / "baseline").rename(out / "stock" / "scenario=baseline"),
                       "written by an earlier sendsim"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_report_names_the_damage_in_one_line(finished, tmp_path, capsys, case):
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    damage, expected = DAMAGE[case]
    damage(out)
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sendsim report: error: "), captured.err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not (out / "report").exists(), "nothing is written from a damaged folder"
