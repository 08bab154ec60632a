"""compile_model over several parameter sets: each set's slice is exactly what compiling that
set alone gives (shared parameters expanded once, functions of a parameter computed on its own
epochs and then expanded: the same arrays, bit for bit)."""
from __future__ import annotations

import numpy as np

from sendsim.inputs.defaults import KENT_DRAWS, KENT_PARAMETERS
from sendsim.inputs.draws import load_draws, parameter_sets_for_draws
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import ModelArrays, ParameterValues, compile_model

CALENDAR = Calendar(2024, 1, 51)


def _sets() -> list[dict]:
    rows = read_parameter_rows(KENT_PARAMETERS)
    base = build_parameter_set(rows, CALENDAR)
    sets = parameter_sets_for_draws(rows, load_draws(KENT_DRAWS), np.array([0, 7, 512]), CALENDAR, base)
    # A set whose move parameter changes at a month where the others' does not (but at a month
    # when another parameter changes: the sets still share their epochs).
    starts = sorted({int(s) for values in base.values() for s in values.starts})
    month = starts[1]
    move = base["move"]
    changed = dict(base)
    changed["move"] = ParameterValues(np.array([0, month]), np.stack([move.values[0], move.values[0]]))
    return [base] + sets + [changed]


def test_each_sets_slice_is_that_set_compiled_alone():
    sets = _sets()
    together = compile_model(sets, CALENDAR.n_months, CALENDAR.start_calendar_month)
    for j, parameter_set in enumerate(sets):
        alone = compile_model([parameter_set], CALENDAR.n_months, CALENDAR.start_calendar_month)
        for name in ModelArrays._fields:
            a, b = getattr(together, name), getattr(alone, name)
            assert a.flags.c_contiguous and a.dtype == b.dtype, name
            if name in ("epoch_of_month", "first_half_of_month", "between_review_event"):
                np.testing.assert_array_equal(a, b)
            else:
                assert a.shape[0] == len(sets)
                np.testing.assert_array_equal(a[j], b[0], err_msg=name)
