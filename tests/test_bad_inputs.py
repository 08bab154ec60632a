"""The bad-input table: every class of bad input local-authority data shows (docs/robustness.md),
each with the exact message it produces.

Each case is checked twice:

- ``sendsim validate FILE``: exit status 2, the message on stderr, nothing written;
- for inputs of ``sendsim run`` (cohort, parameters, draws, finance, scenario): ``sendsim run`` with the
  bad file stops before writing anything (no output folder) with the same message.

The messages name the file, the line (CSV) or row (Parquet) or key (TOML), the column and the
rule. :data:`BAD_INPUT_CLASSES` is that list; a test checks every class has cases here.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sendsim.cli import main
from sendsim.inputs.cohort import ALLOWED as COHORT_COLUMNS

BAD_INPUT_CLASSES = (
    "missing column", "extra column", "wrong type", "empty file", "duplicate child id", "age below 0",
    "age over 25", "unknown placement code", "unknown need code", "birth date in the future",
    "probability below 0", "row not summing to 1", "negative cost", "negative capacity", "date outside the run",
    "malformed TOML", "unknown key", "non-UTF-8 file", "not what its extension says",
)
# Run inputs: the option that gives `sendsim run` a file of this kind.
RUN_OPTION = {"cohort": "--cohort", "parameters": "--params", "draws": "--params", "finance": "--finance",
              "scenario": "--scenario"}

HEADER = "child_id,birth_month,placement,need,months_since_review"
PLACEMENT_LIST = "early_years, mainstream, srp, special, independent, fe, post16_specialist, alternative, no_place"
NEED_LIST = "asd, semh, slcn, mld, sld, pmld, spld, hi, vi, msi, pd, other"
ALLOWED_COHORT = ", ".join(COHORT_COLUMNS)
PARAMETER_COLUMNS = "parameter, date, age, need, placement, to, transfer, reason, value, source, note"


def parquet(frame: pd.DataFrame | pa.Table) -> bytes:
    buffer = io.BytesIO()
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, buffer)
    return buffer.getvalue()


def cohort_csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header,) + rows) + "\n").encode()


def params_csv(*rows: str, header: str = "parameter,date,age,need,placement,to,transfer,reason,value") -> bytes:
    return ("\n".join((header,) + rows) + "\n").encode()


@dataclass(frozen=True)
class Case:
    """One bad input: its class, the kind of file, its name and bytes, and the message."""

    bad_input_class: str
    kind: str
    file: str
    content: bytes | Callable[[], bytes]
    message: str
    exact: bool = True  # False: the message must contain ``message`` (loaders owned by others)
    validate_only: bool = False  # a rule `sendsim validate` checks and `sendsim run` does not (yet)

    @property
    def id(self) -> str:
        return f"{self.bad_input_class}: {self.file}"

    def data(self) -> bytes:
        return self.content() if callable(self.content) else self.content


CASES: tuple[Case, ...] = (
    # ---- Cohorts ---------------------------------------------------------------------------
    Case("missing column", "cohort", "missing.csv", cohort_csv("1,2015-03,mainstream,3",
                                                                header="child_id,birth_month,placement,months_since_review"),
         "missing.csv, line 1: missing required column(s) 'need'"),
    Case("extra column", "cohort", "extra.csv", cohort_csv("1,2015-03,mainstream,asd,3,blue",
                                                            header=HEADER + ",colour"),
         f"extra.csv, line 1: unknown column(s) 'colour'; allowed: {ALLOWED_COHORT}"),
    Case("extra column", "cohort", "misspelt.csv", cohort_csv("1,2015-03,mainstream,asd,3",
                                                               header="child_id,birth_month,placment,need,"
                                                                      "months_since_review"),
         f"misspelt.csv, line 1: unknown column(s) 'placment' (did you mean 'placement'?); allowed: {ALLOWED_COHORT}"),
    Case("extra column", "cohort", "twice.csv", cohort_csv("1,2015-03,mainstream,asd,3,asd", header=HEADER + ",need"),
         "twice.csv, line 1: column(s) 'need' appear more than once"),
    Case("wrong type", "cohort", "id_text.csv", cohort_csv("1,2015-03,mainstream,asd,3", "abc,2016-01,special,pd,0"),
         "id_text.csv, line 3, column 'child_id': 'abc' is not a whole number"),
    Case("wrong type", "cohort", "id_negative.csv", cohort_csv("-4,2015-03,mainstream,asd,3"),
         "id_negative.csv, line 2, column 'child_id': -4 is negative; a whole number >= 0 is required"),
    Case("wrong type", "cohort", "msr_fraction.csv", cohort_csv("1,2015-03,mainstream,asd,3.5"),
         "msr_fraction.csv, line 2, column 'months_since_review': '3.5' is not a whole number"),
    Case("wrong type", "cohort", "uk_date.csv", cohort_csv("1,15/03/2015,mainstream,asd,3"),
         "uk_date.csv, line 2, column 'birth_month': '15/03/2015' is not a month YYYY-MM (or a date YYYY-MM-DD)"),
    Case("wrong type", "cohort", "no_such_day.csv", cohort_csv("1,2015-02-30,mainstream,asd,3"),
         "no_such_day.csv, line 2, column 'birth_month': '2015-02-30' is not a month YYYY-MM (or a date YYYY-MM-DD): "
         "no such day"),
    Case("wrong type", "cohort", "cost_text.csv", cohort_csv("1,2015-03,mainstream,asd,3,\"12,000\"",
                                                              header=HEADER + ",annual_cost_gbp"),
         "cost_text.csv, line 2, column 'annual_cost_gbp': '12,000' is not a number"),
    Case("wrong type", "cohort", "id_float.parquet",
         lambda: parquet(pd.DataFrame({"child_id": [1.0, 2.5], "birth_month": ["2015-03", "2016-01"],
                                       "placement": ["mainstream", "special"], "need": ["asd", "pd"],
                                       "months_since_review": [3, 0]})),
         "id_float.parquet, row 2, column 'child_id': '2.5' is not a whole number"),
    Case("wrong type", "cohort", "nested.parquet",
         lambda: parquet(pd.DataFrame({"child_id": [1], "birth_month": ["2015-03"], "placement": ["mainstream"],
                                       "need": [["asd", "pd"]], "months_since_review": [3]})),
         "nested.parquet, column 'need': holds nested values (list<element: string>); expected plain text or numbers"),
    Case("wrong type", "cohort", "ragged.csv", cohort_csv("1,2015-03,mainstream,asd,3", "2,2016-01,special,pd"),
         "ragged.csv, line 3: has 4 cells, the header has 5"),
    Case("wrong type", "cohort", "blank_need.csv", cohort_csv("1,2015-03,mainstream,,3"),
         "blank_need.csv, line 2, column 'need': is blank; a need code is required"),
    Case("empty file", "cohort", "empty.csv", b"", "empty.csv: the file is empty"),
    Case("empty file", "cohort", "blanks.csv", b"\n  \n\n", "blanks.csv: the file is empty"),
    Case("empty file", "cohort", "header_only.csv", cohort_csv(), "header_only.csv: the file has a header but no rows"),
    Case("empty file", "cohort", "no_rows.parquet",
         lambda: parquet(pa.table({name: pa.array([], pa.string()) for name in HEADER.split(",")})),
         "no_rows.parquet: the file has a header but no rows"),
    Case("duplicate child id", "cohort", "duplicate.csv",
         cohort_csv("7,2015-03,mainstream,asd,3", "8,2016-01,special,pd,0", "", "7,2012-09,srp,slcn,11"),
         "duplicate.csv, line 5, column 'child_id': duplicate child_id 7 (on lines 2, 5): each child appears once"),
    Case("age below 0", "cohort", "unborn.csv", cohort_csv("1,2024-06,early_years,asd,0"),
         "unborn.csv, line 2, column 'birth_month': birth month 2024-06 is after the start of the run (2024-01): a "
         "birth in the future, the child's age would be below 0"),
    Case("age over 25", "cohort", "too_old.csv", cohort_csv("1,2015-03,mainstream,asd,3", "2,1990-01,fe,mld,3"),
         "too_old.csv, line 3, column 'birth_month': age 33 at 2024-01 is over 25: plans end at 25"),
    Case("unknown placement code", "cohort", "placement.csv", cohort_csv("1,2015-03,mainsteam,asd,3"),
         f"placement.csv, line 2, column 'placement': unknown placement code 'mainsteam' (did you mean "
         f"'mainstream'?); expected one of {PLACEMENT_LIST}"),
    Case("unknown placement code", "cohort", "placement_case.csv", cohort_csv("1,2015-03,Special,asd,3"),
         f"placement_case.csv, line 2, column 'placement': unknown placement code 'Special' (did you mean "
         f"'special'?); expected one of {PLACEMENT_LIST}"),
    Case("unknown placement code", "cohort", "wait.csv", cohort_csv("1,2015-03,mainstream,asd,3,independent",
                                                                     header=HEADER + ",waiting_for"),
         "wait.csv, line 2, column 'waiting_for': children can only wait for a capacity-limited placement "
         "(srp, special)"),
    Case("unknown need code", "cohort", "need.csv", cohort_csv("1,2015-03,mainstream,autism,3"),
         f"need.csv, line 2, column 'need': unknown need code 'autism'; expected one of {NEED_LIST}"),
    Case("birth date in the future", "cohort", "future.parquet",
         lambda: parquet(pd.DataFrame({"child_id": [1, 2], "birth_month": pd.to_datetime(["2015-03-01", "2031-07-14"]),
                                       "placement": ["mainstream", "special"], "need": ["asd", "pd"],
                                       "months_since_review": [3, 0]})),
         "future.parquet, row 2, column 'birth_month': birth month 2031-07-14 is after the start of the run "
         "(2024-01): a birth in the future, the child's age would be below 0"),
    Case("negative cost", "cohort", "cost.csv", cohort_csv("1,2015-03,mainstream,asd,3,-5000",
                                                           header=HEADER + ",annual_cost_gbp"),
         "cost.csv, line 2, column 'annual_cost_gbp': -5000 is negative; a cost in GBP is 0 or more"),
    Case("non-UTF-8 file", "cohort", "latin1.csv", cohort_csv("1,2015-03,mainstream,asd,3") + "# £\n".encode("latin-1"),
         "latin1.csv, line 3: is not valid UTF-8 (byte 0xa3 at offset 85); save it as UTF-8"),
    Case("non-UTF-8 file", "cohort", "bad_text.parquet",
         lambda: (lambda data: data.replace(b"mainstream", b"\x80ainstream", 1))(
             parquet(pd.DataFrame({"child_id": [1], "birth_month": ["2015-03"], "placement": ["mainstream"],
                                   "need": ["asd"], "months_since_review": [3]}))),
         "bad_text.parquet, column 'placement': holds text that is not valid UTF-8 (is the file damaged?)"),
    Case("non-UTF-8 file", "cohort", "utf16.csv", cohort_csv("1,2015-03,mainstream,asd,3").decode().encode("utf-16"),
         "utf16.csv: is a UTF-16 text file; save it as UTF-8 (in Excel: 'CSV UTF-8')"),
    Case("not what its extension says", "cohort", "workbook.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(40),
         "workbook.csv: is a ZIP archive (an Excel .xlsx workbook?), not a text file as its extension '.csv' says"),
    Case("not what its extension says", "cohort", "table.csv",
         lambda: parquet(pd.DataFrame({"child_id": [1]})),
         "table.csv: is a Parquet file, not a text file as its extension '.csv' says"),
    Case("not what its extension says", "cohort", "text.parquet", cohort_csv("1,2015-03,mainstream,asd,3"),
         "text.parquet: is not a Parquet file (no PAR1 signature at both ends) although its extension says so"),
    Case("not what its extension says", "cohort", "cut.parquet",
         lambda: (lambda data: data[:40] + data[-8:])(parquet(pd.DataFrame({"child_id": range(100)}))),
         "cut.parquet: cannot be read as Parquet, the file is damaged", exact=False),
    Case("not what its extension says", "cohort", "cohort.xlsx", b"PK\x03\x04" + bytes(40),
         "cohort.xlsx: unsupported extension '.xlsx': inputs are .csv, .parquet, .toml files"),
    # ---- Parameter files ---------------------------------------------------------------------
    Case("probability below 0", "parameters", "negative_p.csv", params_csv(",,,,,,,", "p_assess,,,,,,,,-0.1"),
         "negative_p.csv, line 3, column 'value': p_assess is a probability: value -0.1 must lie in [0, 1]"),
    Case("probability below 0", "parameters", "above_1.csv", params_csv("review_cease,,16-19,,,,,,1.2"),
         "above_1.csv, line 2, column 'value': review_cease is a probability: value 1.2 must lie in [0, 1]"),
    Case("row not summing to 1", "parameters", "cease_reason.csv",
         params_csv("cease_reason,,all,,,,,needs_met,0.5", "cease_reason,,all,,,,,other,0.6"),
         "cease_reason.csv", exact=False),
    Case("row not summing to 1", "parameters", "two_rests.csv",
         params_csv("move,,all,,mainstream,mainstream,,,rest", "move,,all,,mainstream,special,,,rest"),
         "two_rests.csv", exact=False),
    Case("negative cost", "parameters", "unit_cost.csv", params_csv("unit_cost,,all,,special,,,,-100"),
         "unit_cost.csv, line 2, column 'value': unit_cost is a cost in GBP: value -100 must lie in [0, 1e+09]"),
    Case("negative capacity", "parameters", "places.csv", params_csv("places,,,,special,,,,-5"),
         "places.csv, line 2, column 'value': places is a number of places (-1: no limit): value -5 must lie in "
         "[-1, 1e+09]"),
    Case("negative capacity", "parameters", "review_capacity.csv", params_csv("review_capacity,,,,,,,,-300"),
         "review_capacity.csv, line 2, column 'value': review_capacity is a count: value -300 must lie in [0, 1e+09]"),
    Case("negative capacity", "parameters", "places_mainstream.csv", params_csv("places,,,,all,,,,6000"),
         "places_mainstream.csv, line 2, column 'placement': places can be limited only for srp, special; this row "
         "sets early_years, mainstream, independent, fe, post16_specialist, alternative, no_place to 6000 (use -1, "
         "no limit, or name the placement)"),
    Case("date outside the run", "parameters", "late.csv", params_csv("p_assess,2205-04,,,,,,,0.45"),
         "late.csv, line 2, column 'date': date 2205-04 is after the end of the run (2024-01 to 2028-03): the row "
         "would have no effect; correct the date or run more --months"),
    Case("date outside the run", "parameters", "bad_date.csv", params_csv("p_assess,2025-13,,,,,,,0.45"),
         "bad_date.csv, line 2, column 'date': date '2025-13' must be a month YYYY-MM"),
    Case("unknown key", "parameters", "unknown_parameter.csv", params_csv("p_asess,,,,,,,,0.4"),
         "unknown_parameter.csv, line 2, column 'parameter': unknown parameter 'p_asess' (did you mean 'p_assess'?) "
         "(see docs/parameters.md or `sendsim params`)"),
    Case("unknown key", "parameters", "unused_dimension.csv", params_csv("p_assess,,,,,,post16,,0.4"),
         "unused_dimension.csv, line 2, column 'transfer': parameter p_assess has no transfer dimension; leave the "
         "column blank"),
    Case("unknown key", "parameters", "unknown_column.csv",
         params_csv("p_assess,0.4,x", header="parameter,value,colour"),
         f"unknown_column.csv, line 1: unknown column(s) 'colour'; allowed: {PARAMETER_COLUMNS}"),
    Case("unknown key", "parameters", "soft_limit_typo.csv", params_csv("place_soft_widht,,,,special,,,,0.1"),
         "soft_limit_typo.csv, line 2, column 'parameter': unknown parameter 'place_soft_widht' (did you mean "
         "'place_soft_width'?) (see docs/parameters.md or `sendsim params`)"),
    Case("probability below 0", "parameters", "other_la_range.csv", params_csv("other_la_placement,,,,special,,,,1.5"),
         "other_la_range.csv, line 2, column 'value': other_la_placement is a probability: value 1.5 must lie in "
         "[0, 1]"),
    Case("unknown placement code", "parameters", "params_placement.csv",
         params_csv("overflow_independent,,,,specials,,,,0.5"),
         f"params_placement.csv, line 2, column 'placement': unknown placement code 'specials'; expected one of "
         f"{PLACEMENT_LIST} or all"),
    Case("unknown need code", "parameters", "params_need.csv", params_csv("unit_cost,,all,autism,special,,,,52000"),
         f"params_need.csv, line 2, column 'need': unknown need code 'autism'; expected one of {NEED_LIST} or all"),
    Case("age over 25", "parameters", "params_age.csv", params_csv("review_cease,,19-30,,,,,,0.2"),
         "params_age.csv, line 2, column 'age': age range '19-30' must lie within 0-25 with low <= high"),
    Case("wrong type", "parameters", "value_text.csv", params_csv("p_assess,,,,,,,,high"),
         "value_text.csv, line 2, column 'value': value 'high' is not a number"),
    Case("wrong type", "parameters", "value_nan.csv", params_csv("p_assess,,,,,,,,nan"),
         "value_nan.csv, line 2, column 'value': value 'nan' must be a finite number"),
    Case("wrong type", "parameters", "quote.csv", b'parameter,value\np_assess,"0.4\n',
         "quote.csv", exact=False),
    Case("empty file", "parameters", "params_header_only.csv", params_csv(),
         "params_header_only.csv: the file has a header but no parameter rows"),
    Case("non-UTF-8 file", "parameters", "params_cp1252.csv", params_csv("unit_cost,,all,,special,,,,52000")
         + "unit_cost,,all,,srp,,,,21000,£21k\n".encode("cp1252"),
         "params_cp1252.csv", exact=False),
    # ---- Parameter draws ---------------------------------------------------------------------
    Case("unknown key", "draws", "draws_dimension.parquet",
         lambda: parquet(pd.DataFrame({"review_cease@colour=red": [0.1]})),
         "draws_dimension.parquet, column 'review_cease@colour=red': unknown dimension 'colour'; allowed: age, need, "
         "placement, to, transfer, reason, date"),
    Case("probability below 0", "draws", "draws_range.parquet",
         lambda: parquet(pd.DataFrame({"draw": [0, 1], "p_assess": [0.3, -0.2]})),
         "draws_range.parquet, row 2, column 'p_assess': draw 1: value -0.2 is outside the range of a probability "
         "[0, 1]"),
    Case("wrong type", "draws", "draws_text.parquet", lambda: parquet(pd.DataFrame({"p_assess": ["0.3", "high"]})),
         "draws_text.parquet, row 2, column 'p_assess': 'high' is not a number"),
    Case("row not summing to 1", "draws", "draws_sum.parquet",
         lambda: parquet(pd.DataFrame({"cease_reason@age=all,reason=needs_met": [0.9]})),
         "draws_sum.parquet, row 1: draw 0:", exact=False),
    Case("empty file", "draws", "draws_empty.parquet",
         lambda: parquet(pa.table({"p_assess": pa.array([], pa.float64())})),
         "draws_empty.parquet: has no draws (no rows)"),
    # ---- Finance files (loader: inputs/finance.py) -------------------------------------------
    Case("unknown key", "finance", "finance_item.csv",
         b"name,financial_year,line,placement,cost_type,value,unit,source,note\n"
         b"cost_grwoth,2024-25,,,support_staff_pay,0.1,fraction,assumption: test,\n",
         "finance_item.csv, line 2, column 'name': unknown finance item 'cost_grwoth'", exact=False),
    Case("wrong type", "finance", "finance_value.csv",
         b"name,financial_year,line,placement,cost_type,value,unit,source,note\n"
         b"cost_growth,2024-25,,,support_staff_pay,ten percent,fraction,assumption: test,\n",
         "finance_value.csv, line 2, column 'value': value 'ten percent' is not a number", exact=False),
    # ---- Scenario and sweep files (loaders: inputs/scenarios.py, inputs/sweeps.py) -----------
    Case("malformed TOML", "scenario", "broken.toml", b'name = "broken"\n[levers.decision_to_assess\nvalue = 0.5\n',
         "broken.toml: is not valid TOML:", exact=False),
    Case("malformed TOML", "scenario", "no_quotes.toml", b'name = third school\n',
         "no_quotes.toml: is not valid TOML:", exact=False),
    Case("unknown key", "scenario", "scenario_key.toml", b'name = "s"\ncolour = "red"\n',
         "scenario_key.toml, key 'colour': unknown key(s) 'colour'", exact=False),
    Case("unknown key", "scenario", "scenario_lever.toml",
         b'name = "s"\n[levers.free_school_meals]\nfrom = "2025-04"\nvalue = 0.5\n',
         "scenario_lever.toml, key 'levers.free_school_meals': unknown lever 'free_school_meals'", exact=False),
    Case("probability below 0", "scenario", "scenario_p.toml",
         b'name = "s"\n[levers.decision_to_assess]\nfrom = "2025-04"\nvalue = -0.5\n',
         "scenario_p.toml, key 'levers.decision_to_assess.value': -0.5 is out of range", exact=False),
    Case("date outside the run", "scenario", "scenario_date.toml",
         b'name = "s"\n[levers.decision_to_assess]\nfrom = "2025-13"\nvalue = 0.5\n',
         "scenario_date.toml, key 'levers.decision_to_assess.from': 'from' must be a month", exact=False),
    Case("date outside the run", "scenario", "scenario_late.toml",
         b'name = "late"\n[levers.decision_to_assess]\nfrom = "2035-04"\nvalue = 0.5\n',
         "scenario_late.toml, key 'levers.decision_to_assess': takes effect in 2035-04, after the end of the run "
         "(2024-01 to 2028-03): it would have no effect; correct the date or run more --months", validate_only=True),
    Case("unknown key", "sweep", "sweep_key.toml",
         b'name = "w"\ndesign = "grid"\n[[factor]]\nlever = "decision_to_assess"\nfrom = "2025-04"\n'
         b'values = [0.3, 0.5]\nstep = 2\n',
         "sweep_key.toml, key 'factor[0]': unknown key(s) 'step'", exact=False),
    Case("non-UTF-8 file", "scenario", "scenario_latin1.toml", 'name = "café"\n'.encode("latin-1"),
         "scenario_latin1.toml, line 1: is not valid UTF-8 (byte 0xe9 at offset 11); save it as UTF-8"),
    # ---- Calibration targets (loader: calibration/targets.py) --------------------------------
    Case("unknown key", "targets", "targets_measure.csv",
         b"id,measure,date,value,tolerance,role,source\nx,plants,2024-01,100,10,fit,test\n",
         "targets_measure.csv, line 2, column 'measure'", exact=False),
    Case("negative capacity", "targets", "targets_tolerance.csv",
         b"id,measure,date,value,tolerance,role,source\nx,plans,2024-01,100,-10,fit,test\n",
         "targets_tolerance.csv, line 2, column 'tolerance'", exact=False),
    # ---- Any input ---------------------------------------------------------------------------
    Case("not what its extension says", "cohort", "picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(20),
         "picture.csv: is a PNG image, not a text file as its extension '.csv' says"),
    Case("not what its extension says", "scenario", "pickle.toml", b"\x80\x04\x95" + bytes(20),
         "pickle.toml: is a Python pickle (never loaded), not a text file as its extension '.toml' says"),
)


def _write(tmp_path: Path, case: Case) -> None:
    (tmp_path / case.file).write_bytes(case.data())


def _check_message(case: Case, stderr: str, command: str) -> None:
    prefix = f"sendsim {command}: error: "
    lines = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, stderr
    message = lines[0][len(prefix):]
    if case.exact:
        assert message == case.message
    else:
        assert case.message in message, message


def test_every_bad_input_class_has_cases():
    covered = {case.bad_input_class for case in CASES}
    assert covered == set(BAD_INPUT_CLASSES), f"classes without a case: {set(BAD_INPUT_CLASSES) - covered}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_names_file_row_column_and_rule(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["validate", case.file]) == 2
    _check_message(case, capsys.readouterr().err, "validate")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


# One case per input kind and class is enough to show the run path stops before writing
# (every message is checked through `validate` above); each costs a load of the Kent inputs.
RUN_CASES = list({(c.kind, c.bad_input_class): c for c in reversed(CASES)
                  if c.kind in RUN_OPTION and not c.file.endswith(".xlsx") and not c.validate_only}.values())[::-1]


@pytest.mark.parametrize("case", RUN_CASES, ids=[c.id for c in RUN_CASES])
def test_run_stops_before_writing(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, case)
    argv = ["run", RUN_OPTION[case.kind], case.file, "--out", "out", "--runs", "1", "--quiet"]
    assert main(argv) == 2
    _check_message(case, capsys.readouterr().err, "run")
    assert not (tmp_path / "out").exists()


def test_missing_file_and_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.csv").mkdir()
    assert main(["validate", "absent.csv", "folder.csv"]) == 2
    err = capsys.readouterr().err
    assert "sendsim validate: error: absent.csv: file not found" in err
    assert "sendsim validate: error: folder.csv: is a folder, expected a file" in err


def test_valid_inputs_pass(capsys):
    from sendsim.inputs.defaults import KENT_COHORT, KENT_PARAMETERS
    from sendsim.inputs.finance import KENT_FINANCE
    from sendsim.inputs.scenarios import builtin_path
    files = [KENT_COHORT, KENT_PARAMETERS, KENT_FINANCE, builtin_path("third_special_school"),
             KENT_COHORT.parent / "targets.csv"]
    assert main(["validate"] + [str(f) for f in files]) == 0
    out = capsys.readouterr().out
    for kind in ("cohort: 21,607 records", "parameters:", "finance:", "scenario 'third_special_school'",
                 "calibration targets:"):
        assert kind in out
    assert "5 files: 5 valid, 0 with errors" in out
