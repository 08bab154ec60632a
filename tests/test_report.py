"""`sendsim report`: the charts, the self-contained HTML page (rendered in headless Chromium)
and the Excel workbook, from an output folder made by the money model on synthetic runs."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from matplotlib import image

from sendsim.inputs.finance import KENT_FINANCE, load_finance
from sendsim.money.model import run_money
from sendsim.outputs.money_tables import money_context, money_files
from sendsim.outputs.report import FAN_COLOUR, build_report
from sendsim.outputs.store import write_marker
from sendsim.cli import main
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

CALENDAR = Calendar(2024, 1, 51)
RUNS = 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _write_run(out: Path) -> None:
    """A finished run's folder: synthetic placement spend and stock through the real money model."""
    rng = np.random.default_rng(7)
    finance = load_finance([KENT_FINANCE])
    years = np.unique(CALENDAR.financial_years())
    complete = np.array([(CALENDAR.financial_years() == y).sum() == 12 for y in years])
    base = np.array([0.3, 41, 19, 150, 80, 20, 28, 17, 4]) * 1e6
    growth = 1.05 ** np.arange(years.size)
    spend = base[None, None, :] * growth[None, :, None] * rng.normal(1.0, 0.03, (RUNS, 1, 1))
    plans = np.full((RUNS, years.size), 20_000)
    result = run_money(finance, np.arange(RUNS), years, complete, spend, plans)
    for relative, data in money_files(result, "baseline").items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_bytes(data)
    months = np.arange(CALENDAR.n_months)
    dates = (np.datetime64("2024-02", "M") + months).astype("datetime64[D]") - np.timedelta64(1, "D")
    run, month, placement = (a.ravel() for a in np.meshgrid(np.arange(RUNS), months, np.arange(codes.N_PLACEMENTS),
                                                            indexing="ij"))
    count = (np.array([70, 5600, 1200, 6200, 1650, 1800, 830, 980, 1100])[placement] * (1 + 0.003 * month)
             + rng.integers(0, 30, run.size)).astype(np.int32)
    table = pa.table({"run": run.astype(np.int32), "date": dates[month].astype("datetime64[s]"),
                      "age_band": pa.array(["5_10"] * run.size).dictionary_encode(),
                      "placement": pa.array(np.array(codes.PLACEMENTS, dtype=object)[placement]).dictionary_encode(),
                      "need": pa.array(["asd"] * run.size).dictionary_encode(), "count": count})
    (out / "stock" / "scenario=baseline").mkdir(parents=True)
    pq.write_table(table, out / "stock" / "scenario=baseline" / "runs-000000-000019.parquet")
    manifest = {"scenario": "baseline", "runs": RUNS, "seed": 1, "start": "2024-01", "end": "2028-03",
                "money": money_context(result, finance)}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_marker(out, "synthetic-run", ["manifest.json"])


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("report") / "out"
    out.mkdir()
    _write_run(out)
    assert main(["report", str(out)]) == 0
    return {kind: out / "report" / name for kind, name in (
        ("fan", "deficit_fan.png"), ("ehcps", "ehcps_by_placement.png"), ("spend", "spend_by_placement.png"),
        ("html", "report.html"), ("workbook", "summary.xlsx"))}


def test_report_writes_charts_page_and_workbook(report):
    for kind in ("fan", "ehcps", "spend"):
        assert report[kind].read_bytes().startswith(PNG_MAGIC), kind
    page = report["html"].read_text(encoding="utf-8")
    assert len(re.findall(r"<img class='chart'[^>]*src='data:image/png;base64,", page)) == 3
    assert not re.search(r"(src|href)=['\"]https?:", page), "the page must not load anything from the network"
    assert "Safety Valve profile" in page and "P(meets profile)" in page
    book = openpyxl.load_workbook(report["workbook"], read_only=True)
    assert book.sheetnames == ["Deficit (GBP m)", "Lines (GBP m, median)", "EHCPs by placement", "Summary (GBP)",
                               "Notes"]
    rows = list(book["Deficit (GBP m)"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["2024-25", "2025-26", "2026-27", "2027-28"]
    header = list(rows[0])
    profile = [r[header.index("profile")] for r in rows[1:]]
    assert profile == pytest.approx([170.5, 174.2, 163.1, 140.0])
    assert all(isinstance(r[header.index("accumulated, median")], float) for r in rows[1:])


def test_report_refuses_a_folder_without_money(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a sendsim output folder" in capsys.readouterr().err
    write_marker(tmp_path, "made-by-sendsim", [])
    assert main(["report", str(tmp_path)]) == 2
    assert "not a finished sendsim run" in capsys.readouterr().err


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_renders_with_its_charts_in_headless_chromium(report, tmp_path):
    """Chromium loads the page from disk with the network off: the three chart images decode
    (their natural width is positive) and the fan chart's median colour is on the screen."""
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; .ci/run installs it)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9", "--virtual-time-budget=5000"]
    # A probe page that opens the report in a frame would be cross-origin on file://, so the
    # check reads the rendered DOM of the report itself after its images have decoded.
    probe = tmp_path / "probe.html"
    page = report["html"].read_text(encoding="utf-8")
    script = ("<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
              "document.title='charts:'+imgs.filter(i=>i.complete&&i.naturalWidth>0).length+'/'+imgs.length;});"
              "</script>")
    probe.write_text(page.replace("</body>", script + "</body>"), encoding="utf-8")
    dom = subprocess.run(flags + ["--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>charts:3/3</title>" in dom.stdout, dom.stdout[:500]
    shot = tmp_path / "shot.png"
    result = subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1200,1400", report["html"].as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = (image.imread(shot)[..., :3] * 255).round()
    fan = np.array([int(FAN_COLOUR[k:k + 2], 16) for k in (1, 3, 5)])
    assert (np.abs(pixels - fan).max(axis=2) <= 6).sum() > 200, "the fan chart's median line is not on screen"


def test_report_of_a_run_with_scenarios_shows_the_baseline(tmp_path, capsys):
    """A run holding several scenarios has no single scenario in its manifest: the report is of
    the baseline, and its EHCP figures are the baseline's alone (not the scenarios added up)."""
    out = tmp_path / "out"
    assert main(["run", "--runs", "3", "--months", "16", "--scenario", "third_special_school", "--out", str(out),
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    page = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert "Scenario <b>baseline</b>" in page
    workbook = openpyxl.load_workbook(out / "report" / "summary.xlsx")
    sheet = workbook["EHCPs by placement"]
    january_2024 = [row for row in sheet.iter_rows(values_only=True) if row[0] == "2024-01-31"][0]
    # The opening census (the same cohort in every scenario) counted once: 19,407 plans.
    assert sum(v for v in january_2024[1:] if isinstance(v, (int, float))) == 19_407
