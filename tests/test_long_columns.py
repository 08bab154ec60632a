"""The compiled pass that turns a chunk's dense arrays into long-table columns
(``simcore.long.long_columns``) against the obvious slow reference: ``np.nonzero`` (or every
cell) and a pandas frame of the cells, row for row."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sendsim.simcore.long import long_columns


def _reference(values: np.ndarray, runs: np.ndarray, keep_zeros: bool) -> pd.DataFrame:
    """The long table the slow way: a frame of every cell (meshgrid), zero cells dropped."""
    index = np.meshgrid(*(np.arange(n) for n in values.shape), indexing="ij")
    frame = pd.DataFrame({f"i{k}": i.ravel() for k, i in enumerate(index)})
    frame["value"] = values.ravel()
    if not keep_zeros:
        frame = frame[frame["value"] != 0]
    frame["i0"] = runs[frame["i0"].to_numpy()]
    return frame.reset_index(drop=True)


def _ours(values: np.ndarray, runs: np.ndarray, keep_zeros: bool) -> pd.DataFrame:
    run, month, codes, value = long_columns(values, runs, keep_zeros)
    assert run.dtype == np.int32 and month.dtype == np.int16 and codes.dtype == np.int8
    assert value.dtype == values.dtype
    frame = pd.DataFrame({"i0": run.astype(np.int64), "i1": month.astype(np.int64)})
    for d in range(codes.shape[0]):
        frame[f"i{d + 2}"] = codes[d].astype(np.int64)
    frame["value"] = value
    return frame


def _check(values: np.ndarray, runs: np.ndarray, keep_zeros: bool) -> None:
    expected = _reference(values, runs, keep_zeros)
    got = _ours(values, runs, keep_zeros)
    expected = expected.astype({c: np.int64 for c in expected.columns if c != "value"})
    pd.testing.assert_frame_equal(got, expected)
    # Summed over everything but run and month, the rows give back the array's totals.
    if len(got):
        totals = got.groupby(["i0", "i1"])["value"].sum()
        for (run, month), total in totals.items():
            r = int(np.flatnonzero(runs == run)[0])
            assert total == values[r, month].sum()


shapes = st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 6), st.integers(1, 4))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shape=shapes, extra_dims=st.integers(0, 2), keep_zeros=st.booleans(),
       dtype=st.sampled_from([np.int32, np.int64, np.float64]))
def test_long_columns_match_the_cells_listed_one_by_one(data, shape, extra_dims, keep_zeros, dtype):
    shape = shape[:2 + extra_dims]
    elements = (st.integers(-3, 3) if dtype != np.float64 else
                st.sampled_from([0.0, 0.0, -1.5, 2.25, 1e9, 5e-324]))
    values = data.draw(hnp.arrays(dtype, shape, elements=elements))
    runs = np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=shape[0], max_size=shape[0], unique=True)),
                    dtype=np.int64)
    _check(values, runs, keep_zeros)


def test_long_columns_of_a_chunk_shaped_array():
    rng = np.random.default_rng(5)
    values = (rng.random((3, 7, 5, 9, 12)) < 0.3).astype(np.int32) * rng.integers(1, 50, (3, 7, 5, 9, 12))
    values = values.astype(np.int32)
    _check(values, np.array([64, 65, 66]), False)
    _check(values, np.array([64, 65, 66]), True)
    empty = np.zeros((2, 3, 4), dtype=np.int32)
    assert len(_ours(empty, np.array([0, 1]), False)) == 0
