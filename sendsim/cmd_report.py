"""`sendsim report DIR`: charts, an HTML page and an Excel workbook from a finished run."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger("sendsim.report")


def register(commands) -> argparse.ArgumentParser:
    report = commands.add_parser("report", help="charts, HTML page and Excel workbook of a finished run",
                                 description="Read a finished run's output folder (of `sendsim run` or `sendsim "
                                 "sweep`), check it, and write the fan chart of the accumulated DSG deficit against "
                                 "the Safety Valve profile, the chance of exceeding each level, the year-on-year "
                                 "bridge, the scenarios against the baseline, EHCPs and spend (PNG), a self-contained "
                                 "HTML page, an Excel workbook and, when the run holds a scenario with mitigations "
                                 "(e.g. --scenario sv_plan) beside the baseline, the DSG management plan workbook "
                                 "laid out as the DfE template.")
    report.add_argument("out", type=Path, help="output folder of `sendsim run` or `sendsim sweep`")
    report.add_argument("--to", type=Path, default=None, help="folder for the report (default DIR/report)")
    return report


def main(args: argparse.Namespace) -> int:
    from sendsim.outputs.dsg_plan import dsg_plan_status
    from sendsim.outputs.report import build_report
    from sendsim.outputs.store import OutputError

    try:
        files = build_report(args.out, args.to)
    except OutputError:
        raise
    except Exception as error:  # noqa: BLE001 - a folder the checks did not foresee: one line, not a traceback
        logger.debug("the report of %s failed", args.out, exc_info=True)
        raise OutputError(f"cannot make the report of {args.out} ({type(error).__name__}: {error}); a file in it is "
                          "probably not what sendsim wrote: run `sendsim run` again into a new folder (--verbose "
                          "shows where it failed)") from None
    for kind, path in files.items():
        print(f"{kind:<11}{path}")
    missing = dsg_plan_status(args.out)
    if missing is not None:
        print(f"no DSG management plan workbook: {missing}")
    return 0
