"""The error every input problem becomes: it names the file, the row (or key), the column
and the rule, so that a modeller can fix the input without reading a traceback."""
from __future__ import annotations


class InputError(ValueError):
    """A problem with an input file. ``str(error)`` is the message for the user."""

    def __init__(self, file: str, rule: str, *, row: int | None = None, column: str | None = None,
                 key: str | None = None) -> None:
        self.file = str(file)
        self.row = row
        self.column = column
        self.key = key
        self.rule = rule
        where = [self.file]
        if row is not None:
            where.append(f"line {row}")
        if key is not None:
            where.append(f"key {key!r}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {rule}")
