"""Dense per-chunk arrays as the columns of a long table, in one compiled pass.

The engine returns each chunk's outputs as dense arrays ``[run, month, dim...]``; the output
tables hold one row per cell (zero cells left out, unless asked to keep them). The rows come
in C order of the array (run, then month, then each dimension), as ``np.nonzero`` lists them.
:func:`long_columns` gives the run number, the month index, one int8 code column per
dimension and the value of each row; the Arrow tables are built from these
(``sendsim.outputs.tables``).
"""
from __future__ import annotations

import numpy as np

from sendsim.simcore._jit import jit


@jit
def fill_long_columns(values: np.ndarray, runs: np.ndarray, sizes: np.ndarray, keep_zeros: bool,
                      out_run: np.ndarray, out_month: np.ndarray, out_codes: np.ndarray,
                      out_value: np.ndarray) -> int:
    """One row per cell of ``values`` [R, T, C] (C: the cells of the dimensions ``sizes``,
    in C order), skipping zero cells unless ``keep_zeros``: its run number (``runs[r]``), month
    index, one code per dimension (``out_codes[d, row]``) and value. The outputs hold at least
    as many rows as there are; returns the number written."""
    n_runs, n_months, n_cells = values.shape
    n_dims = sizes.size
    code = np.zeros(max(n_dims, 1), dtype=np.int64)  # the codes of cell c, advanced like an odometer
    row = 0
    for r in range(n_runs):
        run = runs[r]
        for t in range(n_months):
            code[:] = 0
            for c in range(n_cells):
                v = values[r, t, c]
                if v != 0 or keep_zeros:
                    out_run[row] = run
                    out_month[row] = t
                    for d in range(n_dims):
                        out_codes[d, row] = code[d]
                    out_value[row] = v
                    row += 1
                d = n_dims - 1
                while d >= 0:
                    code[d] += 1
                    if code[d] < sizes[d]:
                        break
                    code[d] = 0
                    d -= 1
    return row


def long_columns(values: np.ndarray, runs: np.ndarray, keep_zeros: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The long-table columns of a dense ``[R, T, dim...]`` array: run numbers (int32, from
    ``runs``), month indices (int16), codes [dims, rows] (int8) and values (the array's dtype);
    rows in C order, zero cells left out unless ``keep_zeros``."""
    sizes = np.array(values.shape[2:], dtype=np.int64)
    if sizes.size and int(sizes.max()) > np.iinfo(np.int8).max:
        raise ValueError("a dimension of more than 127 codes does not fit the int8 code columns")
    cube = np.ascontiguousarray(values).reshape(values.shape[0], values.shape[1], -1)
    n = cube.size if keep_zeros else int(np.count_nonzero(cube))
    out_run = np.empty(n, dtype=np.int32)
    out_month = np.empty(n, dtype=np.int16)
    out_codes = np.empty((sizes.size, n), dtype=np.int8)
    out_value = np.empty(n, dtype=values.dtype)
    written = fill_long_columns(cube, np.ascontiguousarray(runs, dtype=np.int64), sizes, keep_zeros, out_run,
                                out_month, out_codes, out_value)
    assert written == n
    return out_run, out_month, out_codes, out_value
