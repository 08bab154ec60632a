"""The one place where numba options are set.

Every compiled function in the package is decorated with :data:`jit` (serial) or
:data:`jit_parallel` (uses ``prange``). ``cache=True`` keeps compiled code on disk so that a
new process starts in well under a second; ``fastmath`` stays off so that results are
bit-reproducible across machines and thread counts.
"""
from __future__ import annotations

import functools

import numba

JIT_OPTIONS: dict[str, object] = {"cache": True, "nogil": True, "fastmath": False}

jit = functools.partial(numba.njit, **JIT_OPTIONS)
jit_parallel = functools.partial(numba.njit, parallel=True, **JIT_OPTIONS)
