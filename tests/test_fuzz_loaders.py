"""Property-based fuzzing of every input loader: arbitrary bytes and arbitrary tables give a
clear error (:class:`~inputs.errors.InputError`) or a valid input, never a traceback.

Loaders: cohorts (CSV, Parquet), parameter files (read, then built on the Kent baseline),
parameter draws (Parquet, CSV), finance files (read, then layered on the Kent inputs), targets,
sweep tables of any shape, and ``sendsim validate``'s dispatch, which also reaches the scenario
loader. Inputs: raw bytes under each extension; CSV text built from
a vocabulary of valid and broken cells (codes, numbers, dates, quotes, separators, blanks);
Parquet tables with columns of every Arrow type; valid Parquet files with bytes flipped or cut;
TOML-like text. A valid result is checked too (a cohort the engine accepts, a parameter set
that compiles to finite arrays).
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sendsim.calibration.targets import COLUMNS as TARGET_COLUMNS
from sendsim.calibration.targets import MEASURES, read_targets
from sendsim.inputs.cohort import ALLOWED as COHORT_COLUMNS
from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.defaults import KENT_PARAMETERS
from sendsim.inputs.draws import load_draws, parameter_sets_for_draws
from sendsim.inputs.errors import InputError
from sendsim.inputs.finance import COLUMNS as FINANCE_COLUMNS
from sendsim.inputs.finance import read_finance_rows
from sendsim.inputs.parameters import COLUMNS as PARAMETER_COLUMNS
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.inputs.sweeps import FACTOR_KEYS, MAX_SCENARIOS, SWEEP_KEYS, load_sweep
from sendsim.inputs.validate import validate_file
from sendsim.money.schema import COST_TYPES, ITEMS, OTHER_BLOCKS, SPEND_LINES
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import SCHEMA, compile_model

CALENDAR = Calendar(2024, 1, 51)
# 60 examples per property keeps the suite fast; SENDSIM_FUZZ_EXAMPLES=5000 fuzzes deeper.
FUZZ = settings(max_examples=int(os.environ.get("SENDSIM_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
EXTENSIONS = (".csv", ".parquet", ".toml", ".txt")

# Cells: valid values of every column kind, near misses, and things that break parsers.
CELLS = st.one_of(
    st.sampled_from(codes.PLACEMENTS + codes.NEEDS + codes.STATUSES + codes.TRANSFERS + codes.CEASE_REASONS
                    + ("all", "rest", "moved_away", "")),
    st.sampled_from(("2015-03", "2024-01", "2031-07-14", "2015-02-30", "1990-01", "15/03/2015", "2025-13",
                     "0", "1", "-1", "0.5", "1e3", "nan", "inf", "-0.0", "3.0", "12,000", "2**60",
                     "99999999999999999999", "\"", "\"\"", "a\"b", "x\ny", "  ", "\t", "\x00", "é", "£", "\u2028",
                     "11-15", "30", "0-25", "5-3", "p_assess", "move", "special@age=3")),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)


def _csv_line(cells: list[str]) -> str:
    out = []
    for cell in cells:
        if any(c in cell for c in ',"\n\r') and len(cell) % 3:  # sometimes quoted properly, sometimes not
            cell = '"' + cell.replace('"', '""') + '"'
        out.append(cell)
    return ",".join(out)


@st.composite
def csv_texts(draw, columns: tuple[str, ...]) -> str:
    header = draw(st.lists(st.one_of(st.sampled_from(columns), st.text(max_size=8)), min_size=0, max_size=12))
    if draw(st.booleans()):
        header = list(columns)  # often a perfect header, so that the rows are what is tested
    rows = draw(st.lists(st.lists(CELLS, min_size=max(0, len(header) - 1), max_size=len(header) + 1), max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", ""]))
    return ending.join([_csv_line(header)] + [_csv_line(r) for r in rows]) + draw(st.sampled_from(["", "\n"]))


def _column(draw, n: int) -> pa.Array:
    kind = draw(st.sampled_from(["int", "float", "text", "bool", "timestamp", "date", "null", "list", "binary",
                                 "code"]))
    if kind == "int":
        return pa.array(draw(st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), min_size=n, max_size=n)),
                        pa.int64())
    if kind == "float":
        return pa.array(draw(st.lists(st.one_of(st.none(), st.floats()), min_size=n, max_size=n)), pa.float64())
    if kind == "text":
        return pa.array(draw(st.lists(st.one_of(st.none(), CELLS), min_size=n, max_size=n)), pa.string())
    if kind == "code":
        return pa.array(draw(st.lists(st.sampled_from(codes.PLACEMENTS + codes.NEEDS + ("",)), min_size=n,
                                      max_size=n)), pa.string()).dictionary_encode()
    if kind == "bool":
        return pa.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), pa.bool_())
    if kind == "timestamp":
        return pa.array(draw(st.lists(st.integers(-2**62, 2**62), min_size=n, max_size=n)), pa.timestamp("ns"))
    if kind == "date":
        return pa.array(draw(st.lists(st.integers(-10**6, 10**6), min_size=n, max_size=n)), pa.date32())
    if kind == "null":
        return pa.nulls(n)
    if kind == "list":
        return pa.array([[1, 2]] * n, pa.list_(pa.int64()))
    return pa.array([b"\xff\x00"] * n, pa.binary())


@st.composite
def parquet_tables(draw, columns: tuple[str, ...]) -> bytes:
    n = draw(st.integers(0, 6))
    names = draw(st.lists(st.one_of(st.sampled_from(columns), st.text(min_size=1, max_size=8)), min_size=1,
                          max_size=10, unique=True))
    if draw(st.booleans()):
        names = list(dict.fromkeys(list(columns[:5]) + names))
    table = pa.table({name: _column(draw, n) for name in names})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def kent_rows():
    return read_parameter_rows(KENT_PARAMETERS)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _accepts_or_explains(call) -> object | None:
    """Run a loader: it returns a value or raises InputError with a message naming a file."""
    try:
        return call()
    except InputError as error:
        assert str(error).strip() and error.file, "an InputError must name the file and say what is wrong"
        return None


def _check_cohort(cohort) -> None:
    ages = CALENDAR.academic_age(cohort.birth_month)
    assert cohort.n > 0 and np.unique(cohort.child_key).size == cohort.n
    assert ages.max() <= codes.MAX_AGE and cohort.birth_month.max() <= CALENDAR.start_index
    assert ((cohort.placement >= 0) == (cohort.status == codes.ACTIVE)).all()


@FUZZ
@given(data=st.binary(max_size=3000), extension=st.sampled_from(EXTENSIONS))
def test_arbitrary_bytes(folder, data, extension):
    path = _write(folder, f"bytes{extension}", data)
    loaded = _accepts_or_explains(lambda: load_cohort(path, CALENDAR))
    if loaded is not None:
        _check_cohort(loaded[0])
    _accepts_or_explains(lambda: read_parameter_rows(path))
    _accepts_or_explains(lambda: load_draws(path))
    _accepts_or_explains(lambda: validate_file(path, CALENDAR))


@FUZZ
@given(text=csv_texts(COHORT_COLUMNS))
def test_cohort_csv_tables(folder, text):
    path = _write(folder, "cohort.csv", text.encode("utf-8", "surrogatepass"))
    loaded = _accepts_or_explains(lambda: load_cohort(path, CALENDAR))
    if loaded is not None:
        _check_cohort(loaded[0])


@FUZZ
@given(data=parquet_tables(COHORT_COLUMNS))
def test_cohort_parquet_tables(folder, data):
    path = _write(folder, "cohort.parquet", data)
    loaded = _accepts_or_explains(lambda: load_cohort(path, CALENDAR))
    if loaded is not None:
        _check_cohort(loaded[0])


@FUZZ
@given(text=csv_texts(PARAMETER_COLUMNS))
def test_parameter_csv_tables(folder, kent_rows, text):
    path = _write(folder, "params.csv", text.encode("utf-8", "surrogatepass"))
    rows = _accepts_or_explains(lambda: read_parameter_rows(path))
    if rows:
        touched = tuple(sorted({r.parameter for r in rows}))
        built = _accepts_or_explains(lambda: build_parameter_set(kent_rows + rows, CALENDAR, only=touched))
        if built is not None:
            for name in touched:
                assert np.isfinite(built[name].values).all(), name


@FUZZ
@given(rows=st.lists(st.tuples(st.sampled_from(sorted(SCHEMA)), st.sampled_from(["", "2024-06", "2019-01"]),
                               st.sampled_from(["", "all", "0", "11-15", "25"]),
                               st.sampled_from(["", "all", "asd", "pmld"]),
                               st.sampled_from(["", "all", "mainstream", "special", "srp"]),
                               st.sampled_from(["", "all", "special", "independent", "moved_away"]),
                               st.sampled_from(["", "all", "post16"]), st.sampled_from(["", "all", "needs_met"]),
                               st.one_of(st.sampled_from(["rest", "0", "1", "0.5", "-1", "0.001"]),
                                         st.floats(-2, 2).map(repr))),
                     min_size=1, max_size=6))
def test_parameter_rows_that_almost_make_sense(folder, kent_rows, rows):
    text = ",".join(PARAMETER_COLUMNS[:9]) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    path = _write(folder, "near.csv", text.encode())
    parsed = _accepts_or_explains(lambda: read_parameter_rows(path))
    if parsed:
        built = _accepts_or_explains(lambda: build_parameter_set(kent_rows + parsed, CALENDAR))
        if built is not None:
            model = compile_model([built], CALENDAR.n_months, CALENDAR.start_calendar_month)
            assert all(np.isfinite(np.asarray(a, dtype=float)).all() for a in model)


@FUZZ
@given(data=parquet_tables(("draw", "p_assess", "review_cease@age=16-19",
                            "move@age=all,placement=mainstream,to=special", "places@placement=special",
                            "unit_cost@placement=srp")))
def test_draws_tables(folder, kent_rows, data):
    path = _write(folder, "draws.parquet", data)
    draws = _accepts_or_explains(lambda: load_draws(path))
    if draws is not None:
        base = build_parameter_set(kent_rows, CALENDAR)
        sets = _accepts_or_explains(lambda: parameter_sets_for_draws(kent_rows, draws, np.arange(draws.n_draws),
                                                                     CALENDAR, base))
        for parameter_set in sets or []:
            assert all(np.isfinite(v.values).all() for v in parameter_set.values())


@pytest.fixture(scope="module")
def valid_parquet() -> bytes:
    frame = pd.DataFrame({"child_id": [1, 2, 3], "birth_month": ["2015-03", "2012-09", "2019-12"],
                          "placement": ["mainstream", "special", "early_years"], "need": ["asd", "pd", "slcn"],
                          "months_since_review": [3, 0, 11]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
# Found by this test (pyarrow 26): a string value, and a column name, that are not UTF-8.
@example(flips=[(260, 128)], cut=None)
@example(flips=[(21646, 128)], cut=None)
def test_damaged_parquet(folder, valid_parquet, flips, cut):
    data = bytearray(valid_parquet)
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)] + data[-4:]  # keep the closing signature: past the first check
    path = _write(folder, "damaged.parquet", bytes(data))
    loaded = _accepts_or_explains(lambda: load_cohort(path, CALENDAR))
    if loaded is not None:
        _check_cohort(loaded[0])
    _accepts_or_explains(lambda: validate_file(path, CALENDAR))


TOML_PIECES = st.sampled_from([
    'name = "s"\n', 'name = "../x"\n', 'name = 3\n', 'description = "d"\n', 'base = "baseline"\n',
    'base = "nope"\n', "[levers.decision_to_assess]\n", "[levers.special_places]\n", "[levers.unknown]\n",
    'from = "2025-04"\n', 'from = "2030-01"\n', 'from = 2025\n', "value = 0.5\n", "value = -1\n", "value = nan\n",
    "value = inf\n", 'openings = [ { from = "2025-09", add = 67 } ]\n', "openings = [ 1, 2 ]\n",
    "[[parameter]]\n", 'parameter = "p_assess"\n', 'parameter = "move"\n', 'age = "3"\n', "[finance]\n",
    'rows = [ { name = "x" } ]\n', 'design = "grid"\n', 'design = "latin_hypercube"\n', "samples = 3\n",
    "[[factor]]\n", 'lever = "decision_to_assess"\n', "values = [0.3, 0.5]\n", "low = 0\n", "high = 1\n",
    "= broken\n", "[[\n", '"unterminated\n', "x = [1,\n", "\x00\n",
])


@FUZZ
@given(pieces=st.lists(TOML_PIECES, max_size=12))
def test_scenario_and_sweep_files(folder, pieces):
    path = _write(folder, "scenario.toml", "".join(pieces).encode())
    _accepts_or_explains(lambda: validate_file(path, CALENDAR))


def test_the_harness_fails_on_a_traceback():
    # _accepts_or_explains lets anything but InputError through: a loader bug would fail.
    with pytest.raises(ZeroDivisionError):
        _accepts_or_explains(lambda: 1 / 0)
    assert _accepts_or_explains(lambda: (_ for _ in ()).throw(InputError("f.csv", "rule"))) is None


# ---- Finance, targets and sweeps, each through its own loader ------------------------------------------------
FINANCE_CELLS = st.one_of(CELLS, st.sampled_from(tuple(ITEMS) + COST_TYPES + SPEND_LINES + OTHER_BLOCKS
                                                 + ("GBP", "GBP m", "fraction", "share", "plans", "flag",
                                                    "2023-24", "2024-25", "2025-26", "2099-00", "assumption: x")))


@st.composite
def finance_texts(draw) -> str:
    header = list(FINANCE_COLUMNS) if draw(st.booleans()) else draw(
        st.lists(st.one_of(st.sampled_from(FINANCE_COLUMNS), st.text(max_size=6)), max_size=10))
    rows = draw(st.lists(st.lists(FINANCE_CELLS, min_size=max(0, len(header) - 1), max_size=len(header) + 1),
                         max_size=6))
    return "\n".join([_csv_line(header)] + [_csv_line(r) for r in rows]) + "\n"


@FUZZ
@given(text=finance_texts())
def test_finance_tables(folder, text):
    """Any finance CSV: read on its own, then layered on the Kent inputs (whose whole-set rules
    and dry run of the money model must hold), gives a book or a clear error."""
    path = _write(folder, "finance.csv", text.encode("utf-8", "surrogatepass"))
    if _accepts_or_explains(lambda: read_finance_rows(path)) is not None:
        _accepts_or_explains(lambda: validate_file(path, CALENDAR, "finance"))


TARGET_CELLS = st.one_of(CELLS, st.sampled_from(MEASURES + ("fit", "check", "2024-01", "2019-01", "total",
                                                            "under_5", "special")))


@FUZZ
@given(header=st.one_of(st.just(list(TARGET_COLUMNS)), st.lists(st.sampled_from(TARGET_COLUMNS), max_size=12)),
       rows=st.lists(st.lists(TARGET_CELLS, min_size=0, max_size=14), max_size=6))
def test_targets_tables(folder, header, rows):
    path = _write(folder, "targets.csv", ("\n".join([_csv_line(header)] + [_csv_line(r) for r in rows]) + "\n")
                  .encode("utf-8", "surrogatepass"))
    _accepts_or_explains(lambda: read_targets(path))


TOML_VALUES = st.recursive(st.one_of(st.integers(-10**20, 10**20), st.floats(), st.booleans(), st.text(max_size=6),
                                     st.sampled_from(["decision_to_assess", "special_places", "grid",
                                                      "latin_hypercube", "2024-09", "baseline"])),
                           lambda children: st.lists(children, max_size=4), max_leaves=8)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value).replace("inf", "inf").replace("nan", "nan")
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


@FUZZ
@given(top=st.dictionaries(st.sampled_from(SWEEP_KEYS + ("other",)), TOML_VALUES, max_size=6),
       factors=st.lists(st.dictionaries(st.sampled_from(FACTOR_KEYS + ("other",)), TOML_VALUES, max_size=6),
                        max_size=4))
def test_sweep_files(folder, top, factors):
    """Sweep tables of any shape and values (numbers of every size, nan and inf, lists where
    numbers belong, unknown keys): a design or a clear error, never a traceback."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in top.items() if key != "factor"]
    for factor in factors:
        lines.append("[[factor]]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in factor.items()]
    path = _write(folder, "sweep.toml", ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    sweep = _accepts_or_explains(lambda: load_sweep(path))
    if sweep is not None:
        assert 1 <= sweep.n_scenarios <= MAX_SCENARIOS and np.isfinite(sweep.points).all()
        _accepts_or_explains(lambda: validate_file(path, CALENDAR, "sweep"))
