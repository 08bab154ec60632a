"""Whether the engine is already compiled on this machine (numba's on-disk cache), told cheaply.

The first run on a machine compiles the engine (about two minutes) before the first chunk of
runs can finish; a run says so when it starts rather than sitting silent. Looking is cheap (a
few milliseconds): it reads the index numba keeps beside the compiled kernel and checks that it
holds an entry for this source, this numba and this CPU, without compiling or loading code.
"""
from __future__ import annotations

import hashlib
import pickle

COMPILE_NOTICE = "compiling the engine (once, about 2 minutes)"


def engine_is_compiled() -> bool | None:
    """True when numba's cache holds the engine for this source, numba version and CPU (a run
    starts at once); False when it does not (the first chunk compiles it first); None when
    this numba keeps its cache in a way this check does not know (nothing is said then).

    Reads numba's cache index of the top-level kernel (``simulate_chunk``); the index is keyed
    by the source file's stamp and the numba version (checked when it is loaded) and each entry
    by the CPU (``magic_tuple``) and the hash of the function's bytecode.
    """
    from sendsim.simcore import kernel

    dispatcher = kernel.simulate_chunk
    try:
        cache = dispatcher._cache
        overloads = cache._cache_file._load_index()
        magic = dispatcher.targetctx.codegen().magic_tuple()
        code_hash = hashlib.sha256(dispatcher.py_func.__code__.co_code).hexdigest()
    # numba internals moved, or an index numba itself would discard: say nothing rather than guess
    except (AttributeError, TypeError, ValueError, IndexError, OSError, EOFError, pickle.UnpicklingError):
        return None
    return any(isinstance(key, tuple) and len(key) == 3 and key[1] == magic and key[2][0] == code_hash
               for key in overloads)
