"""Reading input files safely: the bytes must be what the extension says, text must be UTF-8,
tables come back as text cells with the line (or row) each came from.

Every problem is an :class:`~inputs.errors.InputError`; nothing here lets an ``OSError``,
a ``UnicodeDecodeError``, a ``csv.Error`` or a pyarrow exception escape. No file is ever
unpickled or evaluated: CSV and TOML are parsed as text, Parquet by pyarrow (which never
executes code from a file).
"""
from __future__ import annotations

import contextlib
import contextvars
import csv
import difflib
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sendsim.inputs.errors import InputError

PARQUET_MAGIC = b"PAR1"
# Larger inputs are refused before they are read into memory: the England-size cohort (about
# 640,000 plans) is about 30 MB as CSV, so this leaves a factor of 60 while keeping a wrong
# path (a disk image, a database dump) from exhausting memory.
MAX_INPUT_BYTES = 2 * 1024**3
# Signatures of common binary formats a user might pass by mistake.
_BINARY_SIGNATURES = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "a SQLite database",
    b"\x80\x03": "a Python pickle (never loaded)",
    b"\x80\x04": "a Python pickle (never loaded)",
    b"\x80\x05": "a Python pickle (never loaded)",
    b"\x93NUMPY": "a NumPy array file",
}
# Line breaks as the CSV readers see them (not str.splitlines, which also breaks at \f, \v, ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PANDAS_INDEX = re.compile(r"__index_level_[0-9]+__")
# Byte-order marks of text encodings other than UTF-8 (Excel's "Unicode text" is UTF-16).
_OTHER_ENCODINGS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


# The files read while a run's inputs are resolved, with the SHA-256 of the bytes each read gave
# (see :func:`recording_reads`): what the manifest records is what the run used.
_READS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("sendsim_reads", default=None)


@contextlib.contextmanager
def recording_reads() -> Iterator[dict[str, str]]:
    """Within the block, every input file read is recorded as ``{path: sha256 of the bytes
    read}``; a file read twice with different contents (edited while being read) is an error."""
    record: dict[str, str] = {}
    token = _READS.set(record)
    try:
        yield record
    finally:
        _READS.reset(token)


def _record(file: str, data: bytes) -> None:
    record = _READS.get()
    if record is None:
        return
    digest = hashlib.sha256(data).hexdigest()
    if record.setdefault(file, digest) != digest:
        raise InputError(file, "changed while the run's inputs were being read (two reads gave different "
                         "contents): run again once it is no longer being edited")


def read_bytes(path: str | Path) -> bytes:
    """Read a file's bytes, turning OS errors into InputError (and recording what was read, see
    :func:`recording_reads`)."""
    p = Path(path)
    file = str(path)
    try:
        if not p.exists():
            raise InputError(file, "file not found")
        if p.is_dir():
            raise InputError(file, "is a folder, expected a file")
        if not p.is_file():
            raise InputError(file, "is not a regular file (a device, pipe or socket?)")
        size = p.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(file, f"is {size / 1024**3:.1f} GiB, larger than any input sendsim reads "
                             f"({MAX_INPUT_BYTES / 1024**3:.0f} GiB): is it the right file?")
        data = p.read_bytes()
    except OSError as error:
        raise InputError(file, f"cannot be read ({error.strerror or error})") from None
    _record(file, data)
    return data


def check_parquet_signature(file: str, data: bytes) -> None:
    """A file with a .parquet extension must carry Parquet's PAR1 signature at both ends."""
    if not data.startswith(PARQUET_MAGIC) or not data.endswith(PARQUET_MAGIC) or len(data) < 12:
        kind = sniff_binary(data)
        what = f"it is {kind}" if kind and kind != "a Parquet file" else "no PAR1 signature at both ends"
        raise InputError(file, f"is not a Parquet file ({what}) although its extension says so")


def sniff_binary(data: bytes) -> str | None:
    """Name of the binary format ``data`` starts with, if it is a known one (or any binary)."""
    for signature, name in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            return name
    if b"\x00" in data:
        return "a binary file (it contains NUL bytes)"
    return None


def read_text(path: str | Path, data: bytes | None = None) -> str:
    """Read a text file (CSV, TOML) as UTF-8, refusing binary content and other encodings.

    A UTF-8 byte-order mark (Excel's "CSV UTF-8") is accepted and dropped.
    """
    file = str(path)
    if data is None:
        data = read_bytes(path)
    for bom, encoding in _OTHER_ENCODINGS.items():
        if data.startswith(bom):
            raise InputError(file, f"is a {encoding} text file; save it as UTF-8 (in Excel: 'CSV UTF-8')")
    kind = sniff_binary(data)
    if kind is not None:
        raise InputError(file, f"is {kind}, not a text file as its extension {Path(file).suffix!r} says")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(file, f"is not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); "
                         "save it as UTF-8", row=line) from None
    if not text.strip():
        raise InputError(file, "the file is empty")
    return text


@dataclass
class TextTable:
    """A table as read from a file: a header, one text cell per row and column (stripped of
    surrounding blanks; a missing value is ``""``), and where each row came from.

    ``cells`` holds each column as a pyarrow string array, so that loaders can check a
    million cells with vectorised ``pyarrow.compute`` calls. ``rows[j]`` is the CSV line on
    which data row ``j`` starts (the header is line 1), or ``j + 1`` for a Parquet file;
    ``row_label`` says which ("line" or "row").
    """

    file: str
    header: list[str]
    cells: dict  # column name -> pyarrow.StringArray (no nulls)
    rows: np.ndarray  # int64 line (CSV) or 1-based row (Parquet) of each data row
    row_label: str

    @property
    def n(self) -> int:
        return int(self.rows.shape[0])

    def error(self, rule: str, j: int | None = None, column: str | None = None) -> InputError:
        """An InputError at data row ``j`` (index into the table) and ``column``."""
        row = None if j is None else int(self.rows[j])
        return InputError(self.file, rule, row=row, column=column, row_label=self.row_label)

    def header_error(self, rule: str) -> InputError:
        """An InputError about the header (line 1 of a CSV; the schema of a Parquet file)."""
        return InputError(self.file, rule, row=1 if self.row_label == "line" else None)

    def column(self, name: str, default: str = ""):
        """The cells of a column (pyarrow string array), or ``default`` in every row if absent."""
        import pyarrow as pa
        if name in self.cells:
            return self.cells[name]
        return pa.array([default] * self.n, type=pa.string())

    def value(self, name: str, j: int) -> str:
        """One cell as Python text (for messages)."""
        return str(self.column(name)[j].as_py())

    def to_frame(self):
        """The table as a pandas DataFrame of text."""
        import pyarrow as pa
        names = list(dict.fromkeys(self.header))
        return pa.table([self.cells[name] for name in names], names=names).to_pandas()


def _text_array(values):
    """A pyarrow string array of ``values`` with surrounding blanks removed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    return pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))


def read_csv_table(path: str | Path, data: bytes | None = None) -> TextTable:
    """Read a CSV file into a :class:`TextTable`.

    Blank lines and rows whose cells are all blank (spreadsheet exports) are skipped; line
    numbers stay those of the file, also when a quoted cell spans several lines.

    Raises
    ------
    InputError
        Not UTF-8 text, malformed CSV (a stray quote, a NUL, a huge field), a row with more
        or fewer cells than the header, no header.
    """
    return parse_csv_text(str(path), read_text(path, data))


def parse_csv_text(file: str, text: str) -> TextTable:
    """Parse CSV text (already decoded) into a :class:`TextTable`; see :func:`read_csv_table`."""
    table = _read_csv_fast(file, text)
    if table is None:
        table = _read_csv_exact(file, text)
    # Rows whose cells are all blank (",,,," from a spreadsheet) carry nothing: skip them.
    if table.n and table.cells:
        import pyarrow.compute as pc
        filled: Any = None  # a pyarrow BooleanArray once the loop has run (cells is not empty)
        for values in table.cells.values():
            nonblank = pc.not_equal(values, "")
            filled = nonblank if filled is None else pc.or_(filled, nonblank)
        keep = filled.to_numpy(zero_copy_only=False).astype(bool)
        if not keep.all():
            table.cells = {name: values.filter(filled) for name, values in table.cells.items()}
            table.rows = table.rows[keep]
    return table


def _read_csv_fast(file: str, text: str) -> TextTable | None:
    """Parse with pyarrow's CSV reader (fast for large cohorts) a file without quotes, in which
    each line is one record. Returns None for anything else (quotes, which pyarrow reads more
    leniently than a strict reader, or a problem in the file): then the exact reader parses it
    and reports any problem with its line."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    if '"' in text:
        return None
    header_record = next(csv.reader(io.StringIO(text.split("\n", 1)[0], newline="")), None)
    if not header_record or not "".join(header_record).strip():
        return None
    width = len(header_record)
    try:
        parsed = pcsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pcsv.ReadOptions(column_names=[f"c{k}" for k in range(width)], skip_rows=1),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(column_types={f"c{k}": pa.string() for k in range(width)},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    physical = _LINE_BREAK.split(text)
    nonempty = np.flatnonzero(np.fromiter((len(line) > 0 for line in physical), dtype=bool, count=len(physical)))
    lines = nonempty[1:] + 1  # the first non-empty line is the header
    if lines.shape[0] != parsed.num_rows:
        return None  # not one record per line after all: let the exact reader say why
    header = [h.strip() for h in header_record]
    cells: dict[str, Any] = {}  # name -> pyarrow string array
    for name, column in zip(header, parsed.columns):
        cells.setdefault(name, _text_array(column.combine_chunks()))  # repeated names: see check_header
    return TextTable(file, header, cells, lines.astype(np.int64), "line")


def _read_csv_exact(file: str, text: str) -> TextTable:
    """Parse with the standard library's reader, following each record's first line. Strict:
    a quote left open or a stray quote inside a cell is an error, not a silently merged cell."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, starts, previous_end = [], [], 0
    try:
        for record in reader:
            records.append(record)
            starts.append(previous_end + 1)
            previous_end = reader.line_num
    except csv.Error as error:
        start = previous_end + 1  # the line the record being read began on
        message = str(error)
        if "unexpected end of data" in message:
            raise InputError(file, "a quoted cell opened on this line is never closed: the rest of the file would be "
                             "read as one cell; close the quote (or remove it)", row=start) from None
        if "field larger than field limit" in message:
            raise InputError(file, f"a cell starting on this line is longer than {csv.field_size_limit():,} "
                             "characters: is a quote left open, or is it the right file?", row=start) from None
        raise InputError(file, f"is not a well-formed CSV ({message})", row=reader.line_num) from None
    if not records:
        raise InputError(file, "the file is empty")
    header_record = records[0]
    if not "".join(header_record).strip():
        raise InputError(file, "the first line is blank; it must be the header row", row=1)
    width = len(header_record)
    kept, lines = [], []
    for record, start in zip(records[1:], starts[1:]):
        if not "".join(record).strip():
            continue  # a blank line or a row of empty cells
        if len(record) != width:
            raise InputError(file, f"has {len(record)} cells, the header has {width}", row=start)
        kept.append(record)
        lines.append(start)
    header = [h.strip() for h in header_record]
    columns = list(zip(*kept)) if kept else [() for _ in header]
    cells: dict[str, Any] = {}  # name -> pyarrow string array
    for name, values in zip(header, columns):
        cells.setdefault(name, _text_array(values))  # a repeated name is reported by check_header
    return TextTable(file, header, cells, np.array(lines, dtype=np.int64), "line")


def read_parquet_table(path: str | Path, data: bytes | None = None) -> TextTable:
    """Read a Parquet file into a :class:`TextTable` of text cells.

    Numbers become their shortest exact decimal text (so ``3.0`` reads as ``3``), dates and
    timestamps ``YYYY-MM-DD``, nulls ``""``; the loaders then apply the same rules as to a CSV.

    Raises
    ------
    InputError
        Not a Parquet file, a damaged one, or columns of nested or binary values.
    """
    file = str(path)
    if data is None:
        data = read_bytes(path)
    check_parquet_signature(file, data)
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as error:  # pyarrow raises several types (ArrowInvalid, OSError, ...) for damaged files
        raise InputError(file, f"cannot be read as Parquet, the file is damaged ({type(error).__name__}: "
                         f"{str(error)[:200]})") from None
    try:  # pyarrow decodes column names only when asked; a damaged schema may hold invalid UTF-8
        names = list(table.column_names)
    except UnicodeDecodeError:
        raise InputError(file, "has column names that are not valid UTF-8 (is the file damaged?)") from None
    # pandas writes a non-default index as extra columns: they are not data.
    keep = [k for k, name in enumerate(names) if not _PANDAS_INDEX.fullmatch(str(name))]
    table = table.select(keep)
    header = [str(names[k]).strip() for k in keep]
    cells: dict[str, Any] = {}  # name -> pyarrow string array
    for name, column in zip(header, table.columns):
        kind = column.type
        try:
            if pa.types.is_nested(kind):
                raise InputError(file, f"holds nested values ({kind}); expected plain text or numbers",
                                 column=name)
            if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
                raise InputError(file, "holds binary values; expected text or numbers", column=name)
            if pa.types.is_dictionary(kind):
                column = column.cast(kind.value_type)
                kind = kind.value_type
            if pa.types.is_timestamp(kind):
                text = pc.strftime(column, format="%Y-%m-%d")
            elif pa.types.is_null(kind):
                text = pa.chunked_array([pa.array([""] * len(column), type=pa.string())])
            else:
                text = pc.cast(column, pa.string())
            values = pc.fill_null(text, "").combine_chunks()
            if values.type != pa.string():
                values = values.cast(pa.string())
            try:  # pyarrow does not check text it reads; a damaged file may hold invalid UTF-8
                values.validate(full=True)
            except pa.ArrowInvalid:
                raise InputError(file, "holds text that is not valid UTF-8 (is the file damaged?)",
                                 column=name) from None
            values = pc.utf8_trim_whitespace(values)
        except InputError:
            raise
        except Exception as error:  # pyarrow: a type it cannot turn into text
            raise InputError(file, f"holds values of type {kind} that cannot be read as text or numbers "
                             f"({type(error).__name__})", column=name) from None
        cells.setdefault(name, values)
    return TextTable(file, header, cells, np.arange(1, table.num_rows + 1, dtype=np.int64), "row")


def read_table(path: str | Path, what: str, extensions: tuple[str, ...] = (".csv", ".parquet")) -> TextTable:
    """Read a CSV or Parquet table, chosen by extension (the content must agree with it).

    ``what`` names the kind of input in the error for an unsupported extension.
    """
    file = str(path)
    suffix = Path(file).suffix.lower()
    if suffix not in extensions:
        raise InputError(file, f"unsupported extension {suffix!r}: {what} is a "
                         f"{' or '.join(e for e in extensions)} file")
    data = read_bytes(path)
    if suffix == ".parquet":
        return read_parquet_table(path, data)
    return read_csv_table(path, data)


def separator_hint(header: list[str]) -> str | None:
    """What to say when a header of one column holds another separator (a CSV saved with ';'
    or tabs, as spreadsheets in many locales do), else None."""
    if len(header) != 1:
        return None
    for separator, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if separator in header[0]:
            return (f"the header is one column {header[0][:60]!r}: the file seems to use {name} between columns; "
                    "sendsim reads comma-separated files (in Excel: Save As 'CSV UTF-8 (Comma delimited)')")
    return None


def check_header(table: TextTable, required: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    """Every required column present, no unknown or repeated column, no unnamed column."""
    hint = separator_hint(table.header)
    if hint is not None:
        raise table.header_error(hint)
    if any(name == "" for name in table.header):
        position = table.header.index("") + 1
        raise table.header_error(f"column {position} has no name (a stray comma in the header?)")
    unknown = [name for name in table.header if name not in allowed]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, allowed, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise table.header_error(f"unknown column(s) {', '.join(hints)}; allowed: {', '.join(allowed)}")
    repeated = sorted({name for name in table.header if table.header.count(name) > 1})
    if repeated:
        raise table.header_error(f"column(s) {', '.join(map(repr, repeated))} appear more than once")
    missing = [name for name in required if name not in table.header]
    if missing:
        raise table.header_error(f"missing required column(s) {', '.join(map(repr, missing))}")


# Scenario and sweep files nest a few tables deep ([levers.NAME], [[mitigation]] tables with an
# effect): deeper nesting is a damaged or hostile file, refused before anything walks it.
MAX_TOML_DEPTH = 12


def _depth(value, limit: int) -> int:
    if limit < 0:
        return 1
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def parse_toml(file: str, text: str) -> dict:
    """A TOML document as tables, or an InputError: malformed, or nested deeper than
    :data:`MAX_TOML_DEPTH` (which would exhaust the parser's or a reader's recursion)."""
    import tomllib
    too_deep = f"nests tables or arrays more than {MAX_TOML_DEPTH} deep: is it the right file?"
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(file, f"is not valid TOML: {error}") from None
    except RecursionError:
        raise InputError(file, too_deep) from None
    if _depth(table, MAX_TOML_DEPTH + 1) > MAX_TOML_DEPTH:
        raise InputError(file, too_deep)
    return table

