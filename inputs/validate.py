"""Check input files without running anything: the engine of ``sendsim validate FILE...``.

Each kind of input is an :class:`InputKind`: the extensions it comes in, how to recognise it
from its header (CSV, Parquet) or top-level keys (TOML), and a check that applies exactly the
loader ``sendsim run`` uses, in the same layering (a parameter file on top of the Kent
baseline, a finance file on top of the Kent finance inputs, a scenario on top of the Kent
parameters), for the run's calendar. A check returns a one-line summary or raises
:class:`~inputs.errors.InputError`; nothing is written.

Adding a kind (say, calibration targets) means writing its loader and appending one
``InputKind`` to the tuple passed to :func:`validate_file` (``sendsim/cmd_validate.py`` does
this for kinds defined outside ``inputs``).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sendsim.inputs.draws import load_draws
from sendsim.inputs.errors import InputError
from sendsim.inputs.files import check_parquet_signature, parse_toml, read_bytes, read_text
from sendsim.inputs.finance import read_finance_rows
from sendsim.inputs.parameters import read_parameter_rows
from sendsim.inputs.resolve import BASELINE, ResolvedRun, RunSpec, resolve_run
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import SCHEMA

_DRAWS_COLUMN = re.compile(r"^([a-z_]+)(?:@.*)?$")


@dataclass(frozen=True)
class Sniffed:
    """What can be seen of a file without loading it: its extension, and its column names
    (CSV header, Parquet schema) or top-level keys (TOML)."""

    suffix: str
    columns: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputKind:
    """A kind of input file that ``sendsim validate`` can check.

    Attributes
    ----------
    name
        The kind's name (``--kind``).
    description
        One line for the help text.
    extensions
        File extensions it comes in (lower case, with the dot).
    recognise
        True if a file with these columns / keys is of this kind.
    check
        ``check(path, calendar) -> summary``: load and validate like ``sendsim run`` does.
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    recognise: Callable[[Sniffed], bool]
    check: Callable[[Path, Calendar], str]


def sniff(path: str | Path) -> Sniffed:
    """Read just enough of a file to tell its kind (the header, the schema, the keys)."""
    file = str(path)
    suffix = Path(file).suffix.lower()
    data = read_bytes(path)
    if suffix == ".parquet":
        check_parquet_signature(file, data)
        import pyarrow.parquet as pq
        try:
            schema = pq.read_schema(io.BytesIO(data))
            names = list(schema.names)  # decoded only now: a damaged schema may hold invalid UTF-8
        except UnicodeDecodeError:
            raise InputError(file, "has column names that are not valid UTF-8 (is the file damaged?)") from None
        except Exception as error:  # pyarrow raises several types for damaged files
            raise InputError(file, f"cannot be read as Parquet, the file is damaged ({type(error).__name__})") from None
        return Sniffed(suffix, columns=tuple(str(n).strip() for n in names))
    text = read_text(path, data)
    if suffix == ".toml":
        table = parse_toml(file, text)
        return Sniffed(suffix, keys=tuple(table))
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as error:
        raise InputError(file, f"is not a well-formed CSV ({error})", row=1) from None
    return Sniffed(suffix, columns=tuple(h.strip() for h in header))


# ---- The checks ------------------------------------------------------------------------------------
def _resolve(calendar: Calendar, **changes) -> ResolvedRun:
    """Resolve a run of one run on the Kent baseline with one input replaced or added: the one
    way in that ``sendsim run`` takes, so a file valid here is valid there."""
    changes.setdefault("authority_draws", None)  # the file on the base parameters (run checks every draw)
    return resolve_run(RunSpec(out=Path("."), runs=changes.pop("runs", 1),
                               start=(calendar.start_year, calendar.start_month), months=calendar.n_months,
                               **changes))


def check_cohort(path: Path, calendar: Calendar) -> str:
    cohort = _resolve(calendar, cohort=path).cohort
    plans = int(np.count_nonzero(cohort.status == codes.ACTIVE))
    ages = np.clip(calendar.academic_age(cohort.birth_month), 0, codes.MAX_AGE)
    return (f"cohort: {cohort.n:,} records ({plans:,} plans, {cohort.n - plans:,} open requests), "
            f"ages {int(ages.min())}-{int(ages.max())} at {calendar.label(0)}")


def check_parameters(path: Path, calendar: Calendar) -> str:
    rows = read_parameter_rows(path)
    _resolve(calendar, params=(path,))
    names = sorted({row.parameter for row in rows})
    return f"parameters: {len(rows):,} rows setting {len(names)} parameters, valid on top of the Kent baseline"


def check_draws(path: Path, calendar: Calendar) -> str:
    draws = load_draws(path)
    _resolve(calendar, params=(path,), runs=draws.n_draws)  # every draw checked
    return f"draws: {draws.n_draws:,} draws of {len(draws.columns)} columns, each valid on top of the Kent baseline"


def check_finance(path: Path, calendar: Calendar) -> str:
    rows = read_finance_rows(path)
    _resolve(calendar, finance=(path,))
    return f"finance: {len(rows):,} rows, valid on top of the Kent finance inputs"


def check_scenario(path: Path, calendar: Calendar) -> str:
    (scenario,) = _resolve(calendar, scenarios=(BASELINE, str(path))).scenarios
    return (f"scenario {scenario.name!r}: {len(scenario.rows):,} parameter rows"
            + (f" and {scenario.n_finance_rows} finance rows" if scenario.n_finance_rows else "")
            + ", valid on the Kent baseline")


def check_sweep(path: Path, calendar: Calendar) -> str:
    """A sweep's design, and its corner points (each factor at its lowest and at its highest
    value: a lever's checks are per value, so the corners bound the rest), as ``sendsim sweep``
    checks them before it starts."""
    sweep = _resolve(calendar, sweep=path).sweep
    assert sweep is not None
    return f"sweep {sweep.name!r}: {sweep.n_scenarios:,} scenarios, its corner points valid on the Kent baseline"


def _is_draws(sniffed: Sniffed) -> bool:
    names = [c for c in sniffed.columns if c != "draw"]
    if not names:
        return False
    for column in names:
        match = _DRAWS_COLUMN.match(column)
        if not match or match.group(1) not in SCHEMA:
            return False
    return True


KINDS: tuple[InputKind, ...] = (
    InputKind("cohort", "cohort: one row per child or open request (child_id, birth_month, ...)",
              (".csv", ".parquet"), lambda s: "child_id" in s.columns, check_cohort),
    InputKind("parameters", "parameter file: parameter, value, dimensions (docs/parameters.md)",
              (".csv",), lambda s: "parameter" in s.columns and "value" in s.columns, check_parameters),
    InputKind("finance", "finance file: name, financial_year, value, unit, source",
              (".csv",), lambda s: "name" in s.columns and "unit" in s.columns, check_finance),
    InputKind("draws", "parameter draws: one row per draw, columns like review_cease@age=16-19",
              (".parquet", ".csv"), _is_draws, check_draws),
    InputKind("sweep", "sweep file (TOML): design and [[factor]] tables",
              (".toml",), lambda s: "design" in s.keys or "factor" in s.keys, check_sweep),
    InputKind("scenario", "scenario file (TOML): name, levers, [[parameter]] rows",
              (".toml",), lambda s: True, check_scenario),
)


def detect_kind(path: str | Path, kinds: tuple[InputKind, ...] = KINDS) -> InputKind:
    """The kind of an input file, from its extension and its header or keys (first match)."""
    file = str(path)
    suffix = Path(file).suffix.lower()
    candidates = [k for k in kinds if suffix in k.extensions]
    if not candidates:
        known = sorted({e for k in kinds for e in k.extensions})
        raise InputError(file, f"unsupported extension {suffix!r}: inputs are {', '.join(known)} files")
    sniffed = sniff(path)
    for kind in candidates:
        if kind.recognise(sniffed):
            return kind
    seen = ", ".join(sniffed.columns[:8]) or "(none)"
    raise InputError(file, f"cannot tell what kind of input this is from its columns ({seen}); "
                     + "; ".join(f"{k.name}: {k.description}" for k in candidates) + "; or give --kind")


@dataclass(frozen=True)
class Checked:
    """The result of checking one file: its kind and a one-line summary."""

    path: str
    kind: str
    summary: str


def validate_file(path: str | Path, calendar: Calendar, kind: str | None = None,
                  kinds: tuple[InputKind, ...] = KINDS) -> Checked:
    """Check one input file as ``sendsim run`` would read it; raise InputError if it is bad.

    Parameters
    ----------
    path
        The file.
    calendar
        The run's calendar (ages, dated rows and scenario dates are checked against it).
    kind
        The kind's name, or None to detect it.
    kinds
        The kinds known (:data:`KINDS` plus any the caller adds).
    """
    by_name = {k.name: k for k in kinds}
    if kind is None:
        chosen = detect_kind(path, kinds)
    else:
        if kind not in by_name:
            raise InputError(str(path), f"unknown kind {kind!r}; kinds: {', '.join(by_name)}")
        chosen = by_name[kind]
        suffix = Path(str(path)).suffix.lower()
        if suffix not in chosen.extensions:
            raise InputError(str(path), f"unsupported extension {suffix!r}: a {chosen.name} file is "
                             f"{' or '.join(chosen.extensions)}")
    return Checked(str(path), chosen.name, chosen.check(Path(path), calendar))
