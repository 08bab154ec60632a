"""Prices: the engine costs every placement at the prices of the run's first financial year;
the money model turns that into each month's prices.

A placement's price index is the weighted sum of its cost types' indices
(:meth:`~sendsim.money.book.FinanceBook.placement_index`); it moves each April by the growth of
the financial year that April starts, and is 1 in the first financial year of the run.
"""
from __future__ import annotations

import numpy as np

from sendsim.money.book import FinanceBook
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

APRIL = 3  # 0-based calendar month of the start of a financial year


def monthly_price_index(book: FinanceBook, calendar: Calendar) -> np.ndarray:
    """[T, P] price level of each placement in each month of the run, relative to the run's
    first financial year (1 there), stepping each April by that financial year's growth."""
    financial_years = calendar.financial_years()
    base = int(financial_years[0])
    index = np.ones((calendar.n_months, codes.N_PLACEMENTS))
    for m in range(1, calendar.n_months):
        index[m] = index[m - 1]
        if (calendar.start_calendar_month + m) % 12 == APRIL:
            fy = int(financial_years[m])
            growth = book.placement_index(base, fy) / book.placement_index(base, fy - 1) - 1.0
            index[m] = index[m] * (1.0 + growth)
    return index


def nominal_cost(base_cost_gbp: np.ndarray, price_index: np.ndarray) -> np.ndarray:
    """[R, T, P] spend at each month's prices from the engine's spend at base prices
    ``base_cost_gbp`` [R, T, P] and :func:`monthly_price_index` [T, P] (or one index per
    run, [R, T, P]: :func:`run_price_index`)."""
    return base_cost_gbp * (price_index[None, :, :] if price_index.ndim == 2 else price_index)


def run_price_index(books: list[FinanceBook], group_of_run: np.ndarray, calendar: Calendar) -> np.ndarray:
    """[R, T, P] the price index of each run: run ``j`` priced by ``books[group_of_run[j]]``
    (a plan whose price mitigations are delivered in some runs only)."""
    indices = np.stack([monthly_price_index(book, calendar) for book in books])
    return indices[np.asarray(group_of_run, dtype=np.int64)]
