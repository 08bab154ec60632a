"""`sendsim report`: the charts, the self-contained HTML page (rendered in headless Chromium)
and the board-ready workbook, from real output folders: a run of every built-in scenario, a run
of the baseline alone and a run too short for money."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from matplotlib import image

from sendsim.cli import main
from sendsim.inputs.scenarios import builtin_names
from sendsim.outputs import charts
from sendsim.outputs.labels import PLACEMENT_LABELS
from sendsim.outputs.report import build_report
from sendsim.outputs.report_data import gather
from sendsim.outputs.store import write_marker

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHART_FILES = {"fan": "deficit_fan.png", "exceedance": "deficit_exceedance.png", "bridge": "deficit_bridge.png",
               "scenarios": "scenario_differences.png", "ehcp_total": "ehcps_total.png",
               "ehcps": "ehcps_by_placement.png", "spend": "spend_by_placement.png"}
# Each chart's caption on the page starts so; each table's caption too.
FIGURE_CAPTIONS = ("Accumulated DSG deficit: median, 50% and 90% of runs", "P(accumulated deficit at 31 Mar 2026 > X)",
                   "Year-on-year bridge of the in-year high-needs deficit",
                   "Each scenario minus the baseline: accumulated deficit", "High-needs spend by placement",
                   "All EHCPs each month", "EHCPs by placement")
TABLE_CAPTIONS = ("Accumulated DSG deficit at 31 March", "P(accumulated deficit at 31 Mar 2026 > X)",
                  "What moved the in-year high-needs deficit", "Each scenario minus the baseline at 31 Mar 2026",
                  "Every line of the high-needs account", "EHCPs at each January census by placement",
                  "EHCPs at each January census by age band")


@pytest.fixture(scope="module")
def report(all_scenarios_out, tmp_path_factory) -> dict[str, Path]:
    target = tmp_path_factory.mktemp("report") / "report"
    assert main(["report", str(all_scenarios_out), "--to", str(target)]) == 0
    return {**{kind: target / name for kind, name in CHART_FILES.items()}, "html": target / "report.html",
            "workbook": target / "summary.xlsx"}


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "out"
    assert main(["run", "--runs", "3", "--months", "15", "--out", str(out), "--quiet"]) == 0
    return out


def test_report_of_every_scenario_writes_every_chart_the_page_and_the_workbook(report):
    for kind in CHART_FILES:
        assert report[kind].read_bytes().startswith(PNG_MAGIC), kind
    page = report["html"].read_text(encoding="utf-8")
    assert len(re.findall(r"<img class='chart'[^>]*src='data:image/png;base64,", page)) == len(CHART_FILES)
    assert not re.search(r"(src|href)=['\"]https?:", page), "the page must not load anything from the network"
    for caption in FIGURE_CAPTIONS + TABLE_CAPTIONS:
        assert html.escape(caption) in page, caption
    # Formatted tables: no pandas index rows, no raw codes, thousands separators, no half plans.
    assert "<th></th>" not in page and "post16_specialist" not in page and "Specialist post-16" in page
    assert re.search(r">\d{1,3},\d{3}<", page), "counts with thousands separators"
    ehcp_table = page[page.index("EHCPs at each January census by placement"):]
    ehcp_table = ehcp_table[:ehcp_table.index("</table>")]
    assert not re.search(r">\d[\d,]*\.\d+<", ehcp_table), "medians of plans are whole numbers"
    for scenario in set(builtin_names()) - {"baseline"}:
        assert f">{scenario}<" in page, scenario


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_renders_every_chart_and_table_in_headless_chromium(report, tmp_path):
    """Chromium loads the page from disk with the network off; a probe script lists every image
    (decoded or not, its caption) and every table (its caption, its rows) into the DOM, which
    --dump-dom prints; a screenshot shows the fan chart's median colour."""
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; .ci/run installs it)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9",
             "--virtual-time-budget=5000"]
    probe = tmp_path / "probe.html"
    page = report["html"].read_text(encoding="utf-8")
    script = ("<script>window.addEventListener('load',()=>{const out={"
              "images:[...document.images].map(i=>({ok:i.complete&&i.naturalWidth>0,"
              "caption:i.closest('figure').querySelector('figcaption').textContent})),"
              "tables:[...document.querySelectorAll('table')].map(t=>({caption:t.caption.textContent,"
              "rows:t.tBodies[0].rows.length}))};const pre=document.createElement('pre');pre.id='probe';"
              "pre.textContent=JSON.stringify(out);document.body.appendChild(pre);});</script>")
    probe.write_text(page.replace("</body>", script + "</body>"), encoding="utf-8")
    dom = subprocess.run(flags + ["--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom.stdout, re.S)
    assert found, dom.stdout[-500:]
    rendered = json.loads(html.unescape(found.group(1)))
    assert len(rendered["images"]) == len(CHART_FILES) and all(i["ok"] for i in rendered["images"])
    for caption in FIGURE_CAPTIONS:
        assert any(i["caption"].startswith(caption) for i in rendered["images"]), caption
    assert len(rendered["tables"]) == len(TABLE_CAPTIONS)
    for caption in TABLE_CAPTIONS:
        table = [t for t in rendered["tables"] if t["caption"].startswith(caption)]
        assert table and table[0]["rows"] > 0, caption
    scenario_table = [t for t in rendered["tables"] if t["caption"].startswith("Each scenario minus")][0]
    assert scenario_table["rows"] == len(builtin_names()) - 1
    shot = tmp_path / "shot.png"
    result = subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1200,1600", report["html"].as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = (image.imread(shot)[..., :3] * 255).round()
    fan = np.array([int(charts.FAN_COLOUR[k:k + 2], 16) for k in (1, 3, 5)])
    assert (np.abs(pixels - fan).max(axis=2) <= 6).sum() > 200, "the fan chart's median line is not on screen"


def test_workbook_is_board_ready(report):
    book = openpyxl.load_workbook(report["workbook"])
    assert book.sheetnames == ["About", "Deficit", "Exceedance", "Bridge", "Scenarios", "Lines", "EHCPs",
                               "EHCPs by age", "All metrics", "Notes"]
    names = set()
    for sheet in book.worksheets:
        assert sheet["A1"].value, f"{sheet.title}: A1 is empty"
        assert sheet.freeze_panes == "B2", sheet.title
        assert len(sheet.tables) == 1, sheet.title
        table = next(iter(sheet.tables.values()))
        assert table.ref.startswith("A1:") and table.autoFilter is not None, sheet.title
        names.add(table.displayName)
        header = list(sheet[1])
        assert all(cell.font.bold for cell in header), sheet.title
        assert all(sheet.column_dimensions[c.column_letter].width >= 10 for c in header), sheet.title
        labels = [row[0].value for row in sheet.iter_rows(min_row=2)]
        assert labels and all(v not in (None, "") for v in labels), f"{sheet.title}: a row without its label"
    assert len(names) == len(book.worksheets)
    deficit = book["Deficit"]
    header = [c.value for c in deficit[1]]
    assert header[:2] == ["Financial year", "Year end"] and "Accumulated deficit, median (£m)" in header
    assert [r[0].value for r in deficit.iter_rows(min_row=2)] == ["2024-25", "2025-26"]
    row = list(deficit[2])
    assert isinstance(row[1].value, datetime) and row[1].value == datetime(2025, 3, 31)
    assert row[1].number_format == "d mmm yyyy"
    money = row[header.index("Accumulated deficit, median (£m)")]
    assert money.number_format == "#,##0.0" and 100 < money.value < 400  # millions, not pounds
    assert row[header.index("Safety Valve profile (£m)")].value == pytest.approx(170.5)
    chance = row[header.index("P(at or below the profile) (%)")]
    assert chance.number_format == "0%" and 0 <= chance.value <= 1
    ehcps = book["EHCPs"]
    header = [c.value for c in ehcps[1]]
    assert "Specialist post-16, median (plans)" in header and "SEN2 actual (plans)" in header
    first = list(ehcps[2])
    assert first[0].value == datetime(2024, 1, 31) and first[0].number_format == "mmm yyyy"
    assert first[1].number_format == "#,##0"
    # The opening census (the same cohort in every scenario, the baseline's shown) counted once.
    placements = [first[header.index(f"{name}, median (plans)")].value for name in PLACEMENT_LABELS.values()]
    assert sum(placements) == 19_407 and first[header.index("SEN2 actual (plans)")].value == 19_407
    assert first[header.index("Safety Valve estimate (plans)")].value == 20_027
    metrics = book["All metrics"]
    shares = [r for r in metrics.iter_rows(min_row=2) if r[4].value == "% of runs"]
    assert shares and all(c.number_format == "0%" for c in shares[0][5:])
    assert book["Scenarios"].max_row - 1 == (len(builtin_names()) - 1) * 2 * 3  # scenarios x years x measures


def _captured_titles(monkeypatch) -> list:
    """Replace the PNG writer so that the figures can be looked at before they are closed."""
    figures = []
    monkeypatch.setattr(charts, "_png", lambda figure: figures.append(figure) or b"")
    return figures


def test_fan_title_says_what_the_bands_hold_and_the_forecast_shows(baseline_run, monkeypatch):
    data = gather(baseline_run)
    figures = _captured_titles(monkeypatch)
    acc = data.summary[data.summary["metric"] == "accumulated_deficit_gbp"].copy()
    acc = acc.assign(financial_year=acc["financial_year"].astype(str)).set_index("financial_year")
    noise = {"parameters": False, "bands": "Monte Carlo noise only (one parameter set for every run)"}
    draws = {"parameters": True, "bands": "parameter uncertainty (one fitted parameter draw per run) and Monte Carlo "
                                          "noise"}
    charts.fan_chart(acc, data.money, "baseline", 3, noise)
    charts.fan_chart(acc, data.money, "baseline", 3, draws)
    titles = [f.axes[0].get_title() for f in figures]
    assert noise["bands"] in titles[0] and draws["bands"] in titles[1] and titles[0] != titles[1]
    lines = {line.get_label(): line for line in figures[0].axes[0].get_lines()}
    profile = lines["Safety Valve profile"]
    forecast = [line for line in figures[0].axes[0].get_lines() if line.get_color() == charts.FORECAST_COLOUR]
    band = max(forecast, key=lambda line: line.get_linewidth())
    # Where the forecast equals the profile, its wide band shows on both sides of the dashed line.
    assert band.get_linewidth() >= 3 * profile.get_linewidth()
    assert any(line.get_marker() == "^" for line in forecast)


def test_spend_chart_draws_the_direct_place_funding_below_zero_and_labels_net_spend(baseline_run, monkeypatch):
    data = gather(baseline_run)
    figures = _captured_titles(monkeypatch)
    charts.spend_chart(data.lines)
    axes = figures[0].axes[0]
    spend = data.lines.loc["spend"] / charts.GBP_M
    deduction = spend.loc["less_places_funded_directly"].to_numpy()
    assert np.all(deduction < 0)
    # Every bar above zero is a gross line; the only bars below zero are the deduction's.
    heights = {}
    for patch in axes.patches:
        heights.setdefault(round(patch.get_x() + patch.get_width() / 2), []).append(patch.get_height())
    for i, bars in sorted(heights.items()):
        assert [h for h in bars if h < 0] == pytest.approx([deduction[i]])
    labels = [float(text.get_text().replace(",", "")) for text in axes.texts]
    assert labels == pytest.approx(spend.sum(axis=0).to_numpy(), abs=0.051)


def test_ehcp_charts_have_readable_labels_distinct_colours_totals_and_references(baseline_run, monkeypatch):
    data = gather(baseline_run)
    figures = _captured_titles(monkeypatch)
    charts.ehcp_placement_chart(data.ehcp_placement, "baseline")
    charts.ehcp_total_chart(data.ehcp_total, data.reference, "baseline", 3, data.uncertainty)
    placement_axes, total_axes = figures[0].axes[0], figures[1].axes[0]
    legend = [t.get_text() for t in placement_axes.get_legend().get_texts()]
    for name in PLACEMENT_LABELS.values():
        assert any(text.startswith(name) for text in legend), name
    assert not any("_" in text for text in legend)
    colours = {line.get_color() for line in placement_axes.get_lines()}
    assert len(colours) == len(PLACEMENT_LABELS)
    total_legend = [t.get_text() for t in total_axes.get_legend().get_texts()]
    assert "SEN2 actual (January census)" in total_legend and "Safety Valve estimate" in total_legend
    actual = [line for line in total_axes.get_lines() if line.get_label() == "SEN2 actual (January census)"][0]
    assert list(actual.get_ydata()) == [11763, 13499, 15281, 17733, 18931, 19407]
    assert data.bridge.empty  # one financial year: no year-on-year bridge


def test_html_escapes_every_value_it_embeds(baseline_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(baseline_run, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["uncertainty"]["bands"] = "<script>alert('bands')</script> & more"
    (out / "manifest.json").write_text(json.dumps(manifest))
    files = build_report(out)
    page = files["html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;bands&#x27;)&lt;/script&gt; &amp; more" in page
    assert "deficit_bridge.png" not in {p.name for p in files.values()}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> Path:
    """Six months: no complete financial year, so no money outputs."""
    out = tmp_path_factory.mktemp("short") / "out"
    assert main(["run", "--runs", "2", "--months", "6", "--out", str(out), "--quiet"]) == 0
    return out


def test_report_of_a_run_without_money_shows_the_ehcps(short_run, tmp_path):
    target = tmp_path / "report"
    assert main(["report", str(short_run), "--to", str(target)]) == 0
    written = sorted(p.name for p in target.iterdir() if not p.name.startswith("."))
    assert written == ["ehcps_by_placement.png", "ehcps_total.png", "report.html", "summary.xlsx"]
    page = (target / "report.html").read_text(encoding="utf-8")
    assert "no money outputs" in page
    assert openpyxl.load_workbook(target / "summary.xlsx").sheetnames == ["About", "EHCPs", "EHCPs by age", "Notes"]


def test_a_later_report_removes_the_files_of_an_earlier_one_it_does_not_write(baseline_run, short_run, tmp_path):
    target = tmp_path / "report"
    first = build_report(baseline_run, target)
    assert first["fan"].exists() and first["spend"].exists()
    (target / "notes-of-mine.txt").write_text("kept")
    second = build_report(short_run, target)
    # The earlier report's money charts would describe another run: gone. A file someone else
    # put there stays.
    assert "fan" not in second and not first["fan"].exists() and not first["spend"].exists()
    assert second["ehcps"].exists() and (target / "notes-of-mine.txt").read_text() == "kept"


def test_report_refuses_a_folder_that_is_not_a_finished_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a sendsim output folder" in capsys.readouterr().err
    write_marker(tmp_path, "made-by-sendsim", [])
    assert main(["report", str(tmp_path)]) == 2
    assert "not a finished sendsim run" in capsys.readouterr().err


def test_report_of_a_sweep_shows_the_largest_differences_with_their_levers(tmp_path, capsys, monkeypatch):
    sweep = tmp_path / "grid.toml"
    sweep.write_text("""name = "grid"
design = "grid"
base = "baseline"
[[factor]]
lever = "decision_to_assess"
from = "2024-09"
values = [0.3, 0.4, 0.5, 0.6, 0.65, 0.7]
[[factor]]
lever = "special_places"
from = "2024-09"
values = [0, 100, 200, 300, 400]
""", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--runs", "2", "--months", "15", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    figures = _captured_titles(monkeypatch)
    files = build_report(out)
    assert "scenarios" in files
    chart = [f for f in figures if "What each scenario changes" in f.axes[0].get_title()][0]
    assert "the 25 largest of 30 scenarios" in chart.axes[0].get_title()
    labels = [t.get_text() for t in chart.axes[0].get_yticklabels()]
    assert len(labels) == 25 and all(re.match(r"^grid-\d{4} \(decision_to_assess [\d.]+, special_places \d+\)$", t)
                                     for t in labels), labels[:3]
    sheet = openpyxl.load_workbook(files["workbook"])["Scenarios"]
    header = [c.value for c in sheet[1]]
    assert "Lever decision_to_assess" in header and "Lever special_places" in header
    assert sheet.max_row - 1 == 30 * 1 * 3  # 30 points x 1 year x 3 measures
