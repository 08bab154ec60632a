"""Tables of figures by id: an authority's own published figures outside SEN2.

Kent has two, in ``inputs/kent/data/``: ``seed_targets.csv`` (every figure of its Safety Valve
monitoring return, Q1 2024-25, with the period it describes) and ``kent_finance_public.csv``
(public finance figures, each with its source). Both have an ``id`` and a ``value`` column; the
return also has a ``period``. Rows are cited as ``FILE:id``.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pandas as pd


class FigureTable:
    """The figures of one CSV with ``id`` and ``value`` columns (and optionally ``period``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        """The file name, as sources cite it."""
        return self.path.name

    @cached_property
    def table(self) -> pd.DataFrame:
        return pd.read_csv(self.path, dtype=str, keep_default_na=False)

    def __contains__(self, identifier: str) -> bool:
        return bool((self.table["id"] == identifier).any())

    def value(self, identifier: str) -> float:
        """The figure ``identifier``.

        Raises
        ------
        KeyError
            When the table has no such id.
        """
        value = self.table.loc[self.table["id"] == identifier, "value"]
        if value.empty:
            raise KeyError(f"{self.name}: no id {identifier}")
        return float(value.iloc[0])

    def period(self, identifier: str) -> str:
        """The period the figure ``identifier`` describes (``YYYY-MM...`` as written)."""
        period = self.table.loc[self.table["id"] == identifier, "period"]
        if period.empty:
            raise KeyError(f"{self.name}: no id {identifier}")
        return str(period.iloc[0])
