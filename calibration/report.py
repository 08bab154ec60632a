"""The fit report, as Markdown and as a self-contained HTML page (same content).

The report is built as a list of blocks (headings, paragraphs, tables) rendered twice, so the
two formats cannot drift apart.
"""
from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sendsim.calibration import backtest, space
from sendsim.calibration.direct import summary_rows
from sendsim.calibration.history_matching import HistoryMatch
from sendsim.calibration.variance import VarianceSplit


@dataclass
class Block:
    kind: str                 # "h1", "h2", "h3", "p", "table"
    text: str = ""
    header: list[str] | None = None
    rows: list[list[str]] | None = None


def _n(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:,.{digits}f}"


def _g(value: float) -> str:
    return f"{value:.4g}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def blocks(spec, manifest: dict, fit: pd.DataFrame, backtest_frame: pd.DataFrame, scores: list,
           splits: list[VarianceSplit], hm: HistoryMatch, model, phi: dict) -> list[Block]:
    out: list[Block] = []
    add = out.append
    t = manifest["timings_seconds"]
    load = manifest.get("load_average")
    add(Block("h1", f"Calibration report: {spec.authority}"))
    fitted = fit[fit.role == "fit"]
    add(Block("p", f"Calibration of the sendsim {spec.authority} baseline against {len(fit)} targets "
                   f"({len(fitted)} fitted, {len(fit) - len(fitted)} shown for reference) from `{spec.targets}`. "
                   f"Wall time {t['total'] / 60:.1f} minutes on {manifest.get('cpu_count')} cores"
                   + (f" (load average at the end {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}: other work shared "
                      "the machine)" if load else "") + f"; git commit {manifest.get('git_commit')}."))
    add(Block("p", f"**Fit.** {int(fitted.in_90.sum())} of {len(fitted)} fitted targets lie inside the simulated "
                   f"90% interval of the calibrated draws, and the simulated median of "
                   f"{int(fitted.within_tolerance.sum())} "
                   f"is within the target's tolerance. Each draw is one run (its own random numbers), so the "
                   "intervals hold parameter uncertainty and Monte Carlo noise."))
    # ---- method ----
    add(Block("h2", "Method"))
    add(Block("p", "**Rates observed directly** (decisions to assess and to issue, appeals, moving away, ceasing "
                   "by age and reason, first placements by age, escalation and reintegration, post-16 phase "
                   "transfers) are posteriors from counts: Beta(k + 1/2, n - k + 1/2) and Dirichlet(counts + 1/2) "
                   "(Jeffreys priors). Their sources are in the table below."))
    add(Block("p", "**Rates seen only through stocks** are fitted by approximate Bayesian computation with the "
                   "engine as the simulator: each proposal is simulated from the opening cohort of January "
                   f"{spec.origin} (raked from January 2024's age-by-placement shape to that January's SEN2 "
                   "totals) to January 2024 with the year-by-year SEN2 flows (requests, decisions, assessments), "
                   "and from the January 2024 cohort onwards for the targets after it. Its distance from the "
                   "targets uses the history-matching implausibility of each fitted target, |observed - simulated "
                   "mean| / sqrt((tolerance / 3)^2 + Monte Carlo variance / replicates): " + (
                       "the root mean square over the targets (some targets are missed by every proposal, so the "
                       "largest implausibility cannot tell proposals apart)" if spec.distance == "rms" else
                       f"the {spec.kth}-th largest") + "; at most 3 is not implausible" + (
                       " (a target whose role reads 'fit x4' counts four times in the mean)"
                       if spec.distance == "rms" and (fitted.weight != 1).any() else "") + ". Population Monte Carlo "
                   "in its adaptive form (APMC, Lenormand et al. 2013): the first wave is a Latin hypercube over the "
                   "prior (scipy.stats.qmc); after each wave the cut-off is 3, or the distance of the "
                   f"{spec.final_accepted}-th best proposal so far, and the next wave perturbs the proposals "
                   "within it with truncated Gaussian kernels, so the cut-off falls wave by wave. The proposals "
                   "of all waves within the last cut-off, weighted by prior / mixture of the waves' proposal "
                   "densities, are resampled into the draws. Every proposal is simulated with the same seed and "
                   f"run numbers (common random numbers) and {spec.replicates} replicates, and draws its directly "
                   "observed rates afresh from their posteriors."))
    add(Block("table", header=["wave", "proposals", "within the final cut-off", "cut-off after the wave", "best score",
                      "seconds"],
              rows=[[str(w["wave"]), str(w["proposals"]), str(w["kept"]), f"{w['cutoff']:.2f}", f"{w['best']:.2f}",
                     f"{w['seconds']:.0f}"] for w in manifest["waves"]]))
    reached = manifest["cutoff"]
    add(Block("p", f"Final cut-off: {reached:.2f} (3 is the three-sigma rule"
                   + ("" if reached <= 3.0 + 1e-9 else "; too few proposals met it, so the cut-off is the "
                      f"distance of the {spec.final_accepted}-th best proposal: the model cannot meet every target at "
                      "once, see "
                      "the targets outside their tolerance")
                   + f"). Accepted: {manifest['accepted']} proposals of {manifest['proposals']} "
                   f"({manifest['runs']['history_matching']} simulations), effective sample size "
                   f"{manifest['effective_sample_size']:.0f}; draws shipped: {manifest['draws']}, resampled in "
                   f"proportion to the importance weights ({manifest['distinct_draws']} distinct)."))
    add(Block("p", f"Timings (seconds): history matching {t['history_matching']:.0f}, posterior predictive "
                   f"{t['posterior_predictive']:.0f}, draws file {t['draws_file']:.0f}, backtest {t['backtest']:.0f}, "
                   f"variance split {t['variance_split']:.0f}."))
    # ---- parameters ----
    add(Block("h2", "Fitted parameters"))
    theta = hm.theta
    assert theta is not None  # the report is of a finished history match
    rows = []
    for j, p in enumerate(space.SPACE):
        q = np.quantile(theta[:, j], [0.05, 0.5, 0.95])
        rows.append([p.name, p.description, p.acts_in, f"{_g(p.low)} - {_g(p.high)} ({p.scale})", _g(q[1]),
                     f"{_g(q[0])} - {_g(q[2])}"])
    add(Block("table", header=["parameter", "meaning", "acts in", "range (prior)", "median", "90% interval"],
              rows=rows))
    add(Block("h2", "Directly observed rates"))
    summary = summary_rows(model.rates, phi)
    add(Block("table", header=["rate", "data", "median", "90% interval", "source"],
              rows=[[r["id"], r["data"], _g(r["median"]), f"{_g(r['p05'])} - {_g(r['p95'])}", r["source"]]
                    for r in summary]))
    # ---- targets ----
    add(Block("h2", "Targets"))
    add(Block("p", "Observed value, simulated median and 90% interval over the draws, and whether the observed "
                   "value is inside the interval and the median within the tolerance. Hindcast targets are "
                   f"simulated from January {spec.origin}; forecast targets from the January 2024 cohort."))
    for segment in fit.segment.unique():
        part = fit[fit.segment == segment]
        add(Block("h3", f"{segment.capitalize()} ({len(part)} targets)"))
        add(Block("table", header=["target", "date", "what", "role", "observed", "median", "90% interval",
                                   "tolerance", "in 90%", "within tolerance"],
                  rows=[[r.id, r.date, r.what, r.role if r.weight == 1 else f"{r.role} x{_g(r.weight)}",
                         _n(r.observed, 1), _n(r.median, 1),
                         f"{_n(r.p05, 1)} - {_n(r.p95, 1)}", _n(r.tolerance, 1), _yes(r.in_90),
                         _yes(r.within_tolerance)] for r in part.itertuples()]))
    jan24 = fit[fit.id.str.startswith("sen2_2024_01_") & (fit.role == "fit")]
    if len(jan24):
        add(Block("p", f"**January 2024 stock by age band and placement** (hindcast from January {spec.origin}): "
                       f"{int(jan24.within_tolerance.sum())} of {len(jan24)} fitted figures have a simulated "
                       f"median within tolerance, {int(jan24.in_90.sum())} are inside the 90% interval."))
    # ---- definitions (the local return's two shares: Kent's) ----
    if model.derivation.local is not None:
        add(Block("h2", "Which mainstream share"))
        add(Block("p", "The seed quotes two shares of children educated in mainstream settings: 41.7% (Condition 1: "
                       "Reception to Year 13, March 2024, from the authority's case system) and 34% (Condition 8: all "
                       "plans, against a national 45%). The calibration fits the **34%** definition: plans in "
                       "mainstream schools including SEN units and resourced provision, over all plans aged 0-25. It "
                       "is SEN2's `mainstream_total_pc` (34.8% in January 2024), the definition of every SEN2 January "
                       "fitted here (2020-2024), and the engine's stock table computes it exactly. The 41.7% figure "
                       "counts school ages only (ages 4-17), which cut the engine's age bands; it is shown for "
                       "reference with the ages approximated by band weights."))
    # ---- backtest ----
    add(Block("h2", "Rolling-origin backtest"))
    add(Block("p", "For each cutoff January the fit is repeated on the targets dated up to it (years from the "
                   "cutoff on forecast with the last known rates and the request trend so far), and the accepted "
                   "draws forecast every later SEN2 January by age band, placement and in total. Coverage: share "
                   "of observations inside the central 50% and 90% intervals (nominal 0.50 and 0.90). CRPS in "
                   "plans (lower is better); the naive error is that of 'no change since the cutoff'."))
    rows = []
    for cutoff in list(spec.backtest_cutoffs) + ["all"]:
        chosen = [s for s in scores if cutoff == "all" or s.cutoff == cutoff]
        m = backtest.summary(chosen)
        if not m.get("forecasts"):
            continue
        rows.append([str(cutoff), str(m["forecasts"]), f"{m['coverage50']:.2f}", f"{m['coverage90']:.2f}",
                     _n(m["mean_crps"], 1), _n(m["mean_naive_error"], 1), f"{m['mean_relative_crps']:.3f}"])
    add(Block("table", header=["cutoff", "forecasts", "coverage 50%", "coverage 90%", "mean CRPS",
                               "mean naive abs. error", "mean CRPS / observed"], rows=rows))
    rows = []
    for horizon in sorted({s.horizon_years for s in scores}):
        m = backtest.summary([s for s in scores if s.horizon_years == horizon])
        rows.append([str(horizon), str(m["forecasts"]), f"{m['coverage50']:.2f}", f"{m['coverage90']:.2f}",
                     _n(m["mean_crps"], 1), _n(m["mean_naive_error"], 1)])
    if rows:
        add(Block("table", header=["years ahead", "forecasts", "coverage 50%", "coverage 90%", "mean CRPS",
                                   "mean naive abs. error"], rows=rows))
    if len(backtest_frame):
        backtest_rows: Iterable[Any] = backtest_frame.itertuples()  # fields: the frame's cells
        add(Block("table", header=["cutoff", "target", "what", "observed", "median", "50% interval",
                                   "90% interval", "in 50%", "in 90%", "CRPS"],
                  rows=[[str(r.cutoff), r.id, r.what, _n(r.observed), _n(r.median), f"{_n(r.p25)} - {_n(r.p75)}",
                         f"{_n(r.p05)} - {_n(r.p95)}", _yes(r.in_50), _yes(r.in_90), _n(r.crps, 1)]
                        for r in backtest_rows]))
    # ---- variance ----
    add(Block("h2", "Variance split: parameter uncertainty against Monte Carlo noise"))
    add(Block("p", f"{splits[0].draws if splits else 0} draws x {splits[0].seeds if splits else 0} seeds, one run "
                   "each, from the January 2024 cohort to March 2028; one-way analysis of variance (within draws: "
                   "Monte Carlo noise; between draw means less the noise they carry: parameters)."))
    add(Block("table", header=["output", "mean", "sd (parameters)", "sd (Monte Carlo)", "parameter share of variance"],
              rows=[[s.output, _n(s.mean / (1e6 if s.unit == "GBP" else 1), 1) + (" m" if s.unit == "GBP" else ""),
                     _n(np.sqrt(s.parameter_variance) / (1e6 if s.unit == "GBP" else 1), 2),
                     _n(np.sqrt(s.monte_carlo_variance) / (1e6 if s.unit == "GBP" else 1), 2),
                     f"{100 * s.parameter_share:.1f}%"] for s in splits]))
    # ---- files ----
    add(Block("h2", "Files"))
    add(Block("p", "`draws.parquet` (use with `sendsim run --params`), `posterior.parquet` (fitted parameters and "
                   "rates of every draw), `fit.csv`, `backtest.csv`, `manifest.json`. Refitting: see "
                   "docs/calibration.md."))
    return out


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(items: list[Block]) -> str:
    lines: list[str] = []
    for b in items:
        if b.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        else:
            header, rows = b.header or [], b.rows or []  # a table block has both
            lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escape, then render **bold** and `code` (the only inline markup the report uses)."""
    out = html.escape(str(text))
    parts = out.split("**")
    out = "".join(f"<strong>{p}</strong>" if k % 2 else p for k, p in enumerate(parts))
    parts = out.split("`")
    return "".join(f"<code>{p}</code>" if k % 2 else p for k, p in enumerate(parts))


def to_html(items: list[Block]) -> str:
    body: list[str] = []
    for b in items:
        if b.kind in ("h1", "h2", "h3"):
            body.append(f"<{b.kind}>{_inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{_inline(b.text)}</p>")
        else:
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.header or [])  # a table block has both
            rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows or [])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:80em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
             "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
             "th{background:#f0f0f0}code{background:#f6f6f6}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Calibration report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def render(spec, manifest, fit, backtest_frame, scores, splits, hm, model, phi) -> tuple[str, str]:
    items = blocks(spec, manifest, fit, backtest_frame, scores, splits, hm, model, phi)
    return to_markdown(items), to_html(items)
