"""Run-time invariants: a violation stops the run with a message naming the run, the month and
the rule (no test hooks in simcore: each violation is provoked from outside).

- conservation (stock change = movement flows in - out): the real kernel, given a model whose
  table of event codes files moves between reviews under a pipeline event (inconsistent
  arrays: stocks move, no movement flow is recorded);
- record capacity (more entrants than records preallocated): the real kernel, given request
  rates that are negative in one age and positive in another, so that the engine's bound on
  entrants (from the sum of the rates) is far too small (negative rates never come from inputs);
- no negative counts, capacity respected: no input can break them (every decrement follows an
  increment; every admission checks the capacity), so the kernel's check itself
  (``simcore.kernel._snapshot``) is called with inconsistent running totals, and the engine's
  translation of the error into a message is exercised by running that check in place of the
  chunk kernel.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import sendsim.simcore.engine
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, SimulationError, simulate
from sendsim.simcore.kernel import ERR_CAPACITY, ERR_NEGATIVE, Outputs, _month, _new_run_state, _snapshot
from tests import builders

CALENDAR = Calendar(2024, 1, 4)
P = codes.N_PLACEMENTS


def _busy_cohort(n: int = 200):
    return builders.cohort([{"age": 8, "placement": codes.MAINSTREAM, "key": k} for k in range(n)], CALENDAR)


def test_conservation_violation_names_run_month_and_rule():
    values = builders.quiet_parameters()
    values["move"][:, codes.MAINSTREAM, :] = 0.0
    values["move"][:, codes.MAINSTREAM, codes.MAINSTREAM] = 0.5
    values["move"][:, codes.MAINSTREAM, codes.SPECIAL] = 0.5
    model = builders.compile_values(values, CALENDAR)
    # Inconsistent arrays: every move between reviews is recorded as a pipeline event, which
    # does not move children, so the stocks change with no movement flow to account for it.
    events = np.full_like(model.between_review_event, codes.EVENTS.index("request"))
    model = model._replace(between_review_event=events)
    with pytest.raises(SimulationError) as caught:
        list(simulate(_busy_cohort(), model, CALENDAR, seed=1, runs=np.arange(3, 6)))
    assert str(caught.value) == ("run 3, month 2024-02: conservation: stock change differs from entries minus exits "
                                 "for placement mainstream")


def test_record_capacity_violation_names_run_month_and_rule():
    values = builders.quiet_parameters()
    values["request_rate"][0] = -500.0  # cancels the next age in the engine's bound on entrants
    values["request_rate"][5] = 500.0
    model = builders.compile_values(values, CALENDAR)
    with pytest.raises(SimulationError) as caught:
        list(simulate(_busy_cohort(10), model, CALENDAR, seed=1, runs=np.array([7])))
    assert str(caught.value) == "run 7, month 2024-02: record capacity exceeded (more entrants than preallocated)"


def _snapshot_with(stock_cell: tuple[int, int, int, int] | None = None,
                   special_occupancy: tuple[int, int] | None = None, errors: np.ndarray | None = None,
                   out_row: int = 0, month: int = 1) -> tuple[bool, np.ndarray]:
    """Call the kernel's monthly check on running totals set up by hand.

    ``stock_cell``: (band, placement, need, count) written into the stock; ``special_occupancy``:
    (previous month, now) occupancy of special places, whose capacity is 5.
    """
    values = builders.quiet_parameters()
    values["places"][codes.SPECIAL] = 5.0
    model = builders.compile_values(values, CALENDAR)
    T = CALENDAR.n_months
    state = _new_run_state(1, T)  # one record slot, none in use
    totals = state.totals
    if stock_cell is not None:
        band, placement, need, count = stock_cell
        totals.stock[band, placement, need] = count
    if special_occupancy is not None:
        state.last_month_end.occupancy[codes.SPECIAL], totals.occupancy[codes.SPECIAL] = special_occupancy
        totals.stock[1, codes.SPECIAL, 0] = special_occupancy[1]
    # No change since last month: conservation holds.
    state.last_month_end.by_placement[:] = totals.stock.sum(axis=(0, 2))
    rows = out_row + 1
    errors = np.zeros((rows, 3), np.int64) if errors is None else errors
    outputs = Outputs(stock=np.zeros((rows, T, codes.N_AGE_BANDS, P, codes.N_NEEDS), np.int32),
                      flows=np.zeros((rows, T, codes.N_EVENTS, P + 1, P + 1), np.int32),
                      cost_gbp=np.zeros((rows, T, P)),
                      measures=np.zeros((rows, T, codes.N_MEASURES), np.int64),
                      trace=np.zeros((0, T, 0), np.int8), errors=errors)
    ok = _snapshot(_month(month, 0, model, state, outputs, out_row), model, state, outputs, out_row)
    return ok, errors


def test_the_check_passes_consistent_totals():
    ok, errors = _snapshot_with(stock_cell=(2, codes.FE, 3, 40), special_occupancy=(5, 5))
    assert ok and (errors == 0).all()


def test_negative_count_is_caught_by_the_kernel_check():
    ok, errors = _snapshot_with(stock_cell=(2, codes.FE, 3, -1), month=2)
    assert not ok and errors[0].tolist() == [ERR_NEGATIVE, 2, codes.FE]


def test_capacity_excess_is_caught_by_the_kernel_check():
    ok, errors = _snapshot_with(special_occupancy=(5, 6), month=3)
    assert not ok and errors[0].tolist() == [ERR_CAPACITY, 3, codes.SPECIAL]
    # Occupancy above a capacity that fell is allowed as long as no one was admitted.
    ok, _ = _snapshot_with(special_occupancy=(7, 6))
    assert ok


@pytest.mark.parametrize("setup,expected", [
    ({"stock_cell": (2, codes.FE, 3, -1)}, "run 12, month 2024-03: negative count in the stock for placement fe"),
    ({"special_occupancy": (5, 6)}, "run 12, month 2024-03: capacity exceeded for placement special"),
])
def test_engine_names_run_month_and_rule(monkeypatch, setup, expected):
    # The chunk kernel replaced by the kernel's own check on inconsistent totals, writing into
    # the engine's error array for the second run of the chunk.
    def chunk_kernel(runs, sets, opening, model, settings, outputs):
        _snapshot_with(errors=outputs.errors, out_row=1, month=2, **setup)

    monkeypatch.setattr(sendsim.simcore.engine, "simulate_chunk", chunk_kernel)
    model = builders.compile_values(builders.quiet_parameters(), CALENDAR)
    with pytest.raises(SimulationError) as caught:
        list(simulate(_busy_cohort(5), model, CALENDAR, seed=1, runs=np.array([11, 12, 13])))
    assert str(caught.value) == expected
    assert re.match(r"run \d+, month \d{4}-\d{2}: ", str(caught.value))

