"""Finance inputs of the money model: reading, validating and deriving the yearly series.

A finance file is a long CSV, one value per row, every row with its source::

    name,financial_year,line,placement,cost_type,value,unit,source,note
    cost_growth,2024-25,,,support_staff_pay,0.10,fraction,seed_targets.csv:support_staff_pay_growth_2024_25,
    placement_cost_weight,,,special,support_staff_pay,0.45,share,assumption: ...,
    spend_line,2023-24,specialist_teaching_service,special,,7.8,GBP m,decision ...,

``name`` is one of :data:`ITEMS` (unknown names are errors); each item says which of the key
columns (``line``, ``placement``, ``cost_type``, ``age_band``; optional columns) it needs (the
others must be blank), whether ``financial_year`` is required and how it is read:

- ``year``: the value belongs to that financial year only;
- ``from``: the value is in force from that financial year until a later row (like dated rows
  of a parameter file);
- ``none``: no financial year.

Money is written in ``GBP`` or ``GBP m`` (converted to GBP on reading). Files are layered
like parameter files: a later file (``--finance FILE``, a scenario's ``[finance]`` rows) replaces
the rows of earlier files that have the same name, keys and financial year. Every rule
broken is an :class:`~inputs.errors.InputError` naming the file, the line, the column and the
rule; nothing is run.

:func:`load_finance` hands the checked rows to the money model
(:class:`sendsim.money.book.FinanceBook`), which derives every yearly series from them; a rule
of the whole set it finds broken (weights that do not sum to one, a required item missing) is
reported here, as an :class:`~sendsim.inputs.errors.InputError`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import check_header, parse_csv_text, read_text
from sendsim.money.book import FinanceBook
from sendsim.money.schema import (
    AGE_BANDS,
    COST_TYPES,
    GBP_PER_MILLION,
    ITEMS,
    OTHER_BLOCKS,
    SPEND_LINES,
    FinanceRow,
    FinanceRuleError,
    parse_fy,
)
from sendsim.simcore import codes

KENT_FINANCE = Path(__file__).resolve().parent / "kent" / "finance.csv"
COLUMNS: tuple[str, ...] = ("name", "financial_year", "line", "placement", "cost_type", "age_band", "value", "unit",
                            "source", "note")
KEY_COLUMNS: tuple[str, ...] = ("line", "placement", "cost_type", "age_band")


def _allowed_keys(name: str, column: str) -> tuple[str, ...]:
    if column == "placement":
        return codes.PLACEMENTS
    if column == "cost_type":
        return COST_TYPES
    if column == "age_band":
        return AGE_BANDS
    if name == "other_block_in_year":
        return OTHER_BLOCKS
    return SPEND_LINES


def _read_rows(file: str, text: str) -> list[FinanceRow]:
    """The finance rows of a CSV text, read by the strict reader every input shares
    (:func:`~sendsim.inputs.files.parse_csv_text`: exact line numbers, unclosed quotes and
    oversized cells refused)."""
    table = parse_csv_text(file, text)
    check_header(table, ("name", "value", "unit", "source"), COLUMNS)
    columns = {name: table.cells[name].to_pylist() for name in table.header}
    rows: list[FinanceRow] = []
    seen: dict[tuple, int] = {}
    for j in range(table.n):
        number = int(table.rows[j])
        cell = {name: values[j] for name, values in columns.items()}
        rows.append(_parse_row(file, number, cell))
        identity = rows[-1].identity
        if identity in seen:
            raise InputError(file, f"repeats the row on line {seen[identity]} (same name, keys and financial year)",
                             row=number, column="name")
        seen[identity] = number
    if not rows:
        raise InputError(file, "the file has a header but no finance rows")
    return rows


def _parse_row(file: str, number: int, cell: dict[str, str]) -> FinanceRow:
    name = cell["name"]
    if name not in ITEMS:
        raise InputError(file, f"unknown finance item {name!r}; allowed: {', '.join(ITEMS)}", row=number,
                         column="name")
    spec = ITEMS[name]
    keys = {}
    for column in KEY_COLUMNS:
        text = cell.get(column, "")
        if column not in spec.keys:
            if text:
                raise InputError(file, f"{name} has no {column}; leave the column blank", row=number, column=column)
            keys[column] = ""
            continue
        allowed = _allowed_keys(name, column)
        if text not in allowed:
            raise InputError(file, f"{name} needs a {column} from {', '.join(allowed)}; got {text!r}", row=number,
                             column=column)
        keys[column] = text
    fy_text = cell.get("financial_year", "")
    fy = None
    if spec.dated == "none":
        if fy_text:
            raise InputError(file, f"{name} has no financial year; leave the column blank", row=number,
                             column="financial_year")
    else:
        fy = parse_fy(fy_text)
        if fy is None:
            raise InputError(file, f"{name} needs a financial year like 2024-25; got {fy_text!r}", row=number,
                             column="financial_year")
    unit = cell["unit"]
    allowed_units = ("GBP", "GBP m") if spec.unit == "GBP" else (spec.unit,)
    if unit not in allowed_units:
        raise InputError(file, f"{name} is in {' or '.join(allowed_units)}; got unit {unit!r}", row=number,
                         column="unit")
    try:
        value = float(cell["value"])
    except ValueError:
        raise InputError(file, f"value {cell['value']!r} is not a number", row=number, column="value") from None
    if not math.isfinite(value):
        raise InputError(file, f"value {cell['value']!r} must be finite", row=number, column="value")
    if unit == "GBP m":
        value *= GBP_PER_MILLION
    if not spec.low <= value <= spec.high:
        raise InputError(file, f"{name} must lie in [{spec.low:g}, {spec.high:g}] {spec.unit}; got {value:g}",
                         row=number, column="value")
    if spec.unit == "flag" and value not in (0.0, 1.0):
        raise InputError(file, f"{name} is a flag: 0 or 1", row=number, column="value")
    if not cell["source"]:
        raise InputError(file, "every finance value needs its source (a data file id or 'assumption: ...')",
                         row=number, column="source")
    return FinanceRow(file, number, name, fy, keys["line"], keys["placement"], keys["cost_type"], value,
                      cell["source"], keys["age_band"])


def read_finance_rows(path: str | Path, text: str | None = None) -> list[FinanceRow]:
    """Parse and check one finance CSV row by row (see the module docstring)."""
    return _read_rows(str(path), read_text(path) if text is None else text)


def rows_from_table(file: str, key: str, table: object) -> list[FinanceRow]:
    """Finance rows from a scenario's ``[finance]`` table: ``rows = [{name = ..., financial_year
    = ..., value = ..., unit = ..., source = ...}, ...]`` with the CSV's column names."""
    if not isinstance(table, dict) or set(table) != {"rows"} or not isinstance(table["rows"], list):
        raise InputError(file, "a [finance] table holds one key, rows = [ {name = ..., value = ..., ...}, ... ]",
                         key=key)
    lines = [",".join(COLUMNS)]
    for k, entry in enumerate(table["rows"]):
        if not isinstance(entry, dict):
            raise InputError(file, f"finance row {k + 1} must be a table", key=key)
        unknown = sorted(set(entry) - set(COLUMNS))
        if unknown:
            raise InputError(file, f"finance row {k + 1}: unknown key(s) {', '.join(unknown)}", key=key)
        values = [str(entry.get(c, "")).replace('"', '""') for c in COLUMNS]
        lines.append(",".join(f'"{v}"' for v in values))
    try:
        return _read_rows(file, "\n".join(lines) + "\n")
    except InputError as error:
        row = f"finance row {error.row - 1}: " if error.row and error.row > 1 else ""
        raise InputError(file, row + error.rule, key=key, column=error.column) from None


def as_input_error(error: FinanceRuleError) -> InputError:
    """The money model's rule error as the inputs layer reports every input problem."""
    return InputError(error.file, error.rule, row=error.row, column=error.column)


def book_of(rows: list[FinanceRow], files: list[str]) -> FinanceBook:
    """The money model's book of ``rows`` (later rows replace earlier ones), its whole-set rules
    checked."""
    try:
        return FinanceBook(rows, files)
    except FinanceRuleError as error:
        raise as_input_error(error) from None


def load_finance(paths: Sequence[str | Path]) -> FinanceBook:
    """Read finance files in order (later files replace rows of earlier ones) and check them."""
    rows: list[FinanceRow] = []
    for path in paths:
        rows.extend(read_finance_rows(path))
    return book_of(rows, [str(p) for p in paths])


def with_rows(finance: FinanceBook, extra: list[FinanceRow]) -> FinanceBook:
    """The finance inputs with ``extra`` rows layered on top (a scenario's [finance] rows), checked."""
    try:
        return finance.with_rows(extra)
    except FinanceRuleError as error:
        raise as_input_error(error) from None
