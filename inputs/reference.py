"""Reference figures a report sets the simulated EHCPs against: Kent's Safety Valve estimates
and its SEN2 actuals, read from the vendored public data (``inputs/kent/data/`` and the SEN2 library).

The run carries them into its manifest (``reference``), so that the report (in ``outputs/``,
which never reads inputs) can draw them. They describe Kent: a run from another cohort carries
none (:func:`ehcp_reference` returns None for it).
"""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from sendsim.inputs.defaults import KENT_COHORT, KENT_DIR
from sendsim.inputs.errors import InputError
from sendsim.inputs.sen2.authority import Authority, january_of_period
from sendsim.inputs.sen2.files import CASELOAD, path_of

SEED_TARGETS = KENT_DIR / "data" / "seed_targets.csv"
# The Safety Valve estimates' ids: ehcp_sv_est_<year>_<month>_<band>.
SV_ESTIMATE_PREFIX = "ehcp_sv_est_"
# seed_targets.csv breakdown -> the outputs' age band (or "total").
SEED_BANDS = {"age under 5": "under_5", "age 5-10": "5_10", "age 11-15": "11_15", "age 16-19": "16_19",
              "age 20-25": "20_25", "all ages": "total"}


def _rows(path: Path) -> tuple[list[dict[str, str]], str]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(str(path), f"cannot be read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(str(path), "is not UTF-8 text") from None
    return list(csv.DictReader(io.StringIO(text))), hashlib.sha256(data).hexdigest()


def _whole(text: str, path: Path, what: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        raise InputError(str(path), f"{what}: {text!r} is not a number") from None


def safety_valve_estimates(path: Path = SEED_TARGETS) -> tuple[list[dict], str]:
    """The Safety Valve agreement's EHCP estimates (January each year, by age band and in
    total), with the SHA-256 of the file."""
    rows, digest = _rows(path)
    out = []
    for row in rows:
        identifier = row.get("id", "")
        if not identifier.startswith(SV_ESTIMATE_PREFIX) or row.get("breakdown") not in SEED_BANDS:
            continue
        out.append({"id": identifier, "month": row["period"], "age_band": SEED_BANDS[row["breakdown"]],
                    "ehcps": _whole(row["value"], path, identifier)})
    return out, digest


def sen2_actuals(authority: str = "Kent") -> tuple[list[dict], str]:
    """EHC plans at each January census (SEN2, all ages) for ``authority``, from the SEN2
    library (:mod:`sendsim.inputs.sen2`), with the SHA-256 of the vendored file."""
    sen2 = Authority(authority)
    out = []
    for period in sen2.all_plans_by_january().index:
        january = january_of_period(str(period))
        out.append({"month": f"{january}-01", "ehcps": int(sen2.caseload_value(january, "ehcplans"))})
    digest = hashlib.sha256(path_of(CASELOAD).read_bytes()).hexdigest()
    return sorted(out, key=lambda r: r["month"]), digest


def ehcp_reference(cohort: Path) -> dict | None:
    """What the manifest's ``reference`` holds for a run from ``cohort``: for the built-in Kent
    cohort, the Safety Valve EHCP estimates and the SEN2 January totals with their sources;
    for any other cohort None (Kent's figures would not describe it)."""
    try:
        if Path(cohort).resolve() != KENT_COHORT.resolve():
            return None
    except OSError:
        return None
    estimates, estimates_sha = safety_valve_estimates()
    actuals, actuals_sha = sen2_actuals()
    return {"authority": "Kent",
            "ehcp_safety_valve_estimates": estimates,
            "ehcp_sen2_actuals": actuals,
            "sources": [{"what": "Safety Valve EHCP estimates (ids ehcp_sv_est_*)", "path": str(SEED_TARGETS),
                         "sha256": estimates_sha},
                        {"what": "SEN2 EHC plans at each January, all ages", "path": str(path_of(CASELOAD)),
                         "sha256": actuals_sha}]}
