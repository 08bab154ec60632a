"""Calibration targets: the Kent file regenerates from the data, bad files are clear errors,
and every measure is computed as documented."""
from __future__ import annotations

import numpy as np
import pytest

from sendsim.calibration import authority_targets, history_matching
from sendsim.calibration.targets import COLUMNS, evaluate, read_targets, within
from sendsim.inputs.errors import InputError
from sendsim.inputs.kent import derive
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

HEADER = ",".join(COLUMNS)


def _row(**cells) -> str:
    base = {c: "" for c in COLUMNS}
    base.update({"id": "t", "measure": "plans", "date": "2024-01", "value": "100", "tolerance": "10",
                 "role": "fit", "source": "test"})
    base.update(cells)
    return ",".join(base[c] for c in COLUMNS)


def test_kent_targets_regenerate_exactly():
    assert authority_targets.kent_targets_csv_text() == authority_targets.TARGETS_PATH.read_text(encoding="utf-8")


def test_kent_targets_cover_the_issue_list_with_sources():
    targets = read_targets(authority_targets.TARGETS_PATH)
    ids = {t.id for t in targets}
    # SEN2 January stocks by age band and placement up to January 2024, and the seed's figures.
    for year in range(2020, 2025):
        assert f"sen2_{year}_01_total" in ids and f"sen2_{year}_01_special" in ids
    for band in codes.AGE_BANDS:
        assert f"sen2_2024_01_band_{band}" in ids
    for required in ("overdue_reviews_2023_03", "overdue_reviews_2024_03", "open_cases_2024_01",
                     "requests_in_process_2024_03", "new_ehcp_projection_2024", "ehcp_ey_ks1_2024_03",
                     "specialist_share_r6_2023_10", "post16_specialist_share_2024_03", "mainstream_share_condition8",
                     "mainstream_share_r_y13_2024_03"):
        assert required in ids
    assert all(t.source and t.tolerance > 0 for t in targets)
    # The 34% definition is fitted; the 41.7% one is shown for reference.
    by_id = {t.id: t for t in targets}
    assert by_id["mainstream_share_condition8"].role == "fit"
    assert by_id["mainstream_share_r_y13_2024_03"].role == "report"


def test_kent_placement_history_adds_up_to_the_total():
    for year, vector in authority_targets.placement_history(derive.derivation()).items():
        assert vector.sum() > 0 and np.all(vector >= 0), year


@pytest.mark.parametrize("row,column,message", [
    (_row(measure="stock"), "measure", "unknown measure"),
    (_row(date="2024-13"), "date", "YYYY-MM"),
    (_row(placement="school"), "placement", "unknown placement"),
    (_row(age_band="5_10*1.5"), "age_band", "weight"),
    (_row(measure="share", value="140", placement="special"), "value", "percent"),
    (_row(measure="events", item="new_plan"), "months", "months"),
    (_row(measure="events", months="12", item="capacity_refused"), "item", "cannot be a target"),
    (_row(tolerance="0"), "tolerance", "> 0"),
    (_row(role="maybe"), "role", "role"),
    (_row(weight="0"), "weight", "> 0"),
    (_row(weight="heavy"), "weight", "not a number"),
    (_row(role="report", weight="2"), "weight", "only a fit target"),
    (_row(measure="pipeline", item="reviews_overdue", placement="special"), "placement", "do not use"),
    (_row(measure="share", placement="special", denominator="mainstream"), "placement", "denominator"),
])
def test_bad_target_rows_name_line_and_column(row, column, message):
    with pytest.raises(InputError, match=message) as error:
        read_targets("t.csv", HEADER + "\n" + row + "\n")
    assert error.value.row == 2 and error.value.column == column


def test_a_weight_counts_a_target_that_many_times_in_the_distance():
    targets = read_targets("t.csv", HEADER + "\n" + _row(id="a") + "\n" + _row(id="b", weight="3") + "\n")
    assert [t.weight for t in targets] == [1.0, 3.0]
    implausibilities = np.array([[1.0, 2.0], [2.0, 1.0]])
    weights = np.array([t.weight for t in targets])
    np.testing.assert_allclose(history_matching.distance(implausibilities, "rms", 1, weights),
                               [np.sqrt((1 + 3 * 4) / 4), np.sqrt((4 + 3 * 1) / 4)])
    np.testing.assert_allclose(history_matching.distance(implausibilities, "rms", 1), [np.sqrt(2.5)] * 2)
    np.testing.assert_allclose(history_matching.distance(implausibilities, "kth", 1, weights), [2.0, 2.0])


def test_bad_headers_and_repeated_ids():
    with pytest.raises(InputError, match="unknown column"):
        read_targets("t.csv", HEADER + ",colour\n" + _row() + ",red\n")
    with pytest.raises(InputError, match="missing required"):
        read_targets("t.csv", "id,measure\nx,plans\n")
    with pytest.raises(InputError, match="repeats line 2"):
        read_targets("t.csv", HEADER + "\n" + _row() + "\n" + _row() + "\n")


def test_measures_are_computed_from_the_engine_arrays():
    calendar = Calendar(2024, 1, 3)
    R, T, B, P, N = 2, 3, codes.N_AGE_BANDS, codes.N_PLACEMENTS, codes.N_NEEDS
    stock = np.zeros((R, T, B, P, N), dtype=np.int32)
    stock[:, 2, 1, codes.SPECIAL, 0] = [10, 20]          # 5-10 band
    stock[:, 2, 1, codes.MAINSTREAM, 3] = [30, 60]
    stock[:, 2, 0, codes.SPECIAL, 1] = [4, 8]            # under 5
    measures = np.zeros((R, T, codes.N_MEASURES), dtype=np.int64)
    measures[:, 1, codes.M_REQUESTS_PENDING] = [5, 6]
    measures[:, 1, codes.M_ASSESSMENTS_OPEN] = [7, 9]
    flows = np.zeros((R, T, codes.N_EVENTS, P + 1, P + 1), dtype=np.int32)
    flows[:, 1, codes.EV_NEW_PLAN, codes.PLACEMENT_NONE, codes.MAINSTREAM] = [3, 4]
    flows[:, 2, codes.EV_NEW_PLAN, codes.PLACEMENT_NONE, codes.SPECIAL] = [1, 1]
    flows[:, 2, codes.EV_MOVED_AWAY, codes.SPECIAL, codes.PLACEMENT_NONE] = [2, 0]
    text = "\n".join([HEADER,
                      _row(id="a", date="2024-03", age_band="under_5*0.5+5_10", placement="special"),
                      _row(id="b", measure="share", date="2024-03", age_band="5_10", placement="special",
                           denominator="special+mainstream"),
                      _row(id="c", measure="pipeline", date="2024-02", item="requests_pending+assessments_open"),
                      _row(id="d", measure="events", date="2024-03", months="2", item="new_plan"),
                      _row(id="e", measure="events", date="2024-03", months="1", item="ceased")]) + "\n"
    targets = read_targets("t.csv", text)
    assert [t.id for t in within(targets, calendar)] == ["a", "b", "c", "d", "e"]
    values = evaluate(targets, calendar, stock, measures, flows)
    np.testing.assert_allclose(values[:, 0], [12, 24])            # half of under 5 plus 5-10
    np.testing.assert_allclose(values[:, 1], [25.0, 25.0])        # 10 / 40 and 20 / 80
    np.testing.assert_allclose(values[:, 2], [12, 15])
    np.testing.assert_allclose(values[:, 3], [4, 5])
    np.testing.assert_allclose(values[:, 4], [2, 0])


def test_targets_outside_a_calendar_are_left_out():
    text = "\n".join([HEADER, _row(id="early", date="2023-12"), _row(id="in", date="2024-02"),
                      _row(id="late", date="2024-04"),
                      _row(id="flow0", measure="events", date="2024-01", months="1", item="new_plan")]) + "\n"
    assert [t.id for t in within(read_targets("t.csv", text), Calendar(2024, 1, 3))] == ["in"]
