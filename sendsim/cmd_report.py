"""`sendsim report DIR`: charts, an HTML page and an Excel workbook from a finished run."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(commands) -> argparse.ArgumentParser:
    report = commands.add_parser("report", help="charts, HTML page and Excel workbook of a finished run",
                                 description="Read a finished run's output folder and write the fan chart of the "
                                 "accumulated DSG deficit against the Safety Valve profile, EHCPs and spend by "
                                 "placement (PNG), a self-contained HTML page, an Excel workbook of the summary "
                                 "tables and, when the run holds a scenario with mitigations (e.g. --scenario sv_plan) "
                                 "beside the baseline, the DSG management plan workbook laid out as the DfE template.")
    report.add_argument("out", type=Path, help="output folder of `sendsim run`")
    report.add_argument("--to", type=Path, default=None, help="folder for the report (default DIR/report)")
    return report


def main(args: argparse.Namespace) -> int:
    from sendsim.outputs.dsg_plan import dsg_plan_status
    from sendsim.outputs.report import ReportError, build_report
    from sendsim.outputs.store import OutputError

    try:
        files = build_report(args.out, args.to)
    except ReportError as error:
        raise OutputError(str(error)) from None
    for kind, path in files.items():
        print(f"{kind:<9}{path}")
    missing = dsg_plan_status(args.out)
    if missing is not None:
        print(f"no DSG management plan workbook: {missing}")
    return 0
