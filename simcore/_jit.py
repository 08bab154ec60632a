"""The one place where numba options are set.

Every compiled function in the package is decorated with :data:`jit` (serial),
:data:`jit_parallel` (uses ``prange``) or :data:`jit_inline` (small helpers inlined into
their callers). Compiled code is kept on disk so that a new process starts in well under a
second; ``fastmath`` stays off so that results are bit-reproducible across machines and
thread counts.

The cache is keyed by the source of the whole engine. numba checks only the file a function
is defined in, so after an edit of ``rng.py`` or ``codes.py`` a kernel cached from
``kernel.py`` would go on running the old machine code. Here every function is cached in a
folder named by a hash of every ``simcore/*.py`` file (:data:`ENGINE_SOURCE_HASH`): an edit
anywhere in the engine leads to a new, empty folder, so everything is compiled afresh. The
folder (:data:`CACHE_FOLDER`) lies in

1. ``$NUMBA_CACHE_DIR`` if set (the user's choice of where numba caches go),
2. else the package's own ``__pycache__`` (where numba would cache by default),
3. else, if that is not writable (an installation owned by another user), the user's cache
   folder (``$XDG_CACHE_HOME/sendsim/numba``, by default ``~/.cache/sendsim/numba``),

and if none of them is writable nothing is cached (every process compiles the engine): code
is never cached where its key would not be checked. Folders of earlier sources next to the
current one are removed (see :func:`prune_old_cache_folders`).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numba

SOURCE_FOLDER = Path(__file__).resolve().parent
CACHE_FOLDER_PREFIX = "sendsim-numba-"
# Only folders named exactly like this are ever removed (prefix and a 16-digit hash).
_CACHE_FOLDER_NAME = re.compile(re.escape(CACHE_FOLDER_PREFIX) + r"[0-9a-f]{16}")
# Folders of other sources kept besides the current one (switching branches back and forth
# finds its code still compiled), and how long a folder must have gone unused before it is
# removed (a process started from other sources may be compiling into it).
KEEP_OTHER_CACHE_FOLDERS = 4
PRUNE_UNUSED_SECONDS = 3600.0


def engine_source_hash(folder: Path = SOURCE_FOLDER) -> str:
    """SHA-256 over the names and contents of every ``*.py`` file of ``folder``, in name order."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        content = path.read_bytes()
        digest.update(f"{path.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _user_cache_base() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "sendsim" / "numba"


def _writable_folder(folder: Path) -> bool:
    """Create ``folder`` if need be and check that a file can be written in it (as numba will)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def prune_old_cache_folders(base: Path, current: Path, keep: int = KEEP_OTHER_CACHE_FOLDERS,
                            unused_seconds: float = PRUNE_UNUSED_SECONDS, now: float | None = None) -> list[Path]:
    """Remove from ``base`` the cache folders of earlier engine sources: all but the current one
    and the ``keep`` most recently used others, and only those unused for ``unused_seconds``.

    Only real folders (not symbolic links) named ``sendsim-numba-<16 hex digits>`` are touched:
    anything else in ``base`` (numba's own files, other programs' caches) is left alone. Errors
    (a folder removed by another process meanwhile, no permission) are ignored. Returns the
    folders removed.
    """
    now = time.time() if now is None else now
    others = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    for entry in entries:
        if (entry.name == current.name or not _CACHE_FOLDER_NAME.fullmatch(entry.name)
                or not entry.is_dir(follow_symlinks=False)):
            continue
        try:
            others.append((entry.stat(follow_symlinks=False).st_mtime, Path(entry.path)))
        except OSError:
            continue
    others.sort(reverse=True)  # most recently used first
    removed = []
    for last_used, folder in others[keep:]:
        if now - last_used < unused_seconds:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _choose_cache_folder(source_hash: str) -> Path | None:
    name = CACHE_FOLDER_PREFIX + source_hash[:16]
    user_choice = numba.config.CACHE_DIR
    bases = [Path(user_choice)] if user_choice else [SOURCE_FOLDER / "__pycache__", _user_cache_base()]
    for base in bases:
        folder = base / name
        if _writable_folder(folder):
            # Mark it used now (pruning goes by last use), then clear out old sources' folders.
            try:
                os.utime(folder)
            except OSError:
                pass
            prune_old_cache_folders(base, folder)
            return folder
    return None


ENGINE_SOURCE_HASH = engine_source_hash()
CACHE_FOLDER = _choose_cache_folder(ENGINE_SOURCE_HASH)
if CACHE_FOLDER is None:
    warnings.warn("sendsim: no writable folder for numba's cache (NUMBA_CACHE_DIR, the package's __pycache__, "
                  f"{_user_cache_base()}): the engine is compiled afresh in every process", RuntimeWarning,
                  stacklevel=2)

JIT_OPTIONS: dict[str, object] = {"cache": CACHE_FOLDER is not None, "nogil": True, "fastmath": False}


def _compiler(**options):
    """A decorator compiling with ``options``, its cache in :data:`CACHE_FOLDER`.

    numba picks a function's cache folder when the function is decorated (from
    ``numba.config.CACHE_DIR``), so the setting is made for the decoration only: other numba
    code in the process keeps its own cache.
    """
    def decorate(function):
        if CACHE_FOLDER is None:
            return numba.njit(function, **options)
        previous = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = str(CACHE_FOLDER)
        try:
            return numba.njit(function, **options)
        finally:
            numba.config.CACHE_DIR = previous
    return decorate


jit = _compiler(**JIT_OPTIONS)
jit_parallel = _compiler(parallel=True, **JIT_OPTIONS)
# Small helpers called per event from the kernel's loops: inlined into their callers at numba's
# IR level (measured +14% on the Kent baseline; results bit-identical), instead of compiled
# calls that pass tuples of ten arrays each time.
jit_inline = _compiler(inline="always", **JIT_OPTIONS)
