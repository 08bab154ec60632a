"""The error every input problem becomes: it names the file, the row (or key), the column
and the rule, so that a modeller can fix the input without reading a traceback.

Example
-------
>>> str(InputError("cohort.csv", "unknown code 'mainsteam'", row=12, column="placement"))
"cohort.csv, line 12, column 'placement': unknown code 'mainsteam'"
>>> str(InputError("cohort.parquet", "is blank", row=3, column="need", row_label="row"))
"cohort.parquet, row 3, column 'need': is blank"
"""
from __future__ import annotations


class InputError(ValueError):
    """A problem with an input file. ``str(error)`` is the message for the user.

    Parameters
    ----------
    file
        The file, as the user named it.
    rule
        What is wrong, in words (the rule broken and the value that broke it).
    row
        Where in the file: a line number of a text file (the header is line 1), or a
        1-based data row of a table file (then ``row_label="row"``).
    column
        The column (or field) at fault.
    key
        A key of a keyed file (TOML) or a cell description, when there is no row.
    row_label
        How ``row`` is named in the message: ``"line"`` (text files) or ``"row"`` (Parquet).
    """

    def __init__(self, file: str, rule: str, *, row: int | None = None, column: str | None = None,
                 key: str | None = None, row_label: str = "line") -> None:
        self.file = str(file)
        self.row = row
        self.column = column
        self.key = key
        self.rule = rule
        self.row_label = row_label
        where = [self.file]
        if row is not None:
            where.append(f"{row_label} {row}")
        if key is not None:
            where.append(f"key {key!r}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {rule}")

    def __reduce__(self):
        # Keyword-only arguments: let copies (multiprocessing, deepcopy) rebuild the error.
        return (_rebuild, (self.file, self.rule, self.row, self.column, self.key, self.row_label))


def _rebuild(file: str, rule: str, row: int | None, column: str | None, key: str | None,
             row_label: str) -> InputError:
    return InputError(file, rule, row=row, column=column, key=key, row_label=row_label)
