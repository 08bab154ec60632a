"""numba's cache is keyed by the source of the whole engine (``simcore/_jit.py``).

numba itself checks only the file a function is defined in. The end-to-end test copies the
engine into a temporary package, compiles a kernel function defined in ``kernel.py`` that
draws through ``rng.py`` (``draw_annual_cost``: the decision slot ``DEC_COST`` comes from
``rng.py``) in a fresh process, runs it again (the cache must be reused), then changes
``DEC_COST`` in the copy's ``rng.py`` and runs it in a third process: the compiled function
must give the new draw, not the one cached from before the edit. The function goes through the
same decorators and cache folder as the whole kernel; it compiles in seconds.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sendsim.simcore import _jit

SIMCORE = Path(_jit.__file__).resolve().parent

PROBE = r'''
import json
import numpy as np
from sendsim.simcore import _jit, kernel, rng

args = (np.uint64(0x1234_5678_9ABC_DEF0), 7, 40_000.0, 0.6)  # stream, month, unit cost, spread
compiled = kernel.draw_annual_cost(*args)
print(json.dumps({
    "kernel_file": kernel.__file__,
    "cache_folder": None if _jit.CACHE_FOLDER is None else str(_jit.CACHE_FOLDER),
    "source_hash": _jit.ENGINE_SOURCE_HASH,
    "dec_cost": rng.DEC_COST,
    "compiled": int(compiled),
    # The same function run by the interpreter, calling the compiled rng functions of this
    # process's sources: what the compiled code must give.
    "interpreted": int(kernel.draw_annual_cost.py_func(*args)),
    "cache_hits": int(sum(kernel.draw_annual_cost.stats.cache_hits.values())),
    "cache_misses": int(sum(kernel.draw_annual_cost.stats.cache_misses.values())),
}))
'''


def _copy_engine(root: Path) -> Path:
    """A package ``sendsim.simcore`` holding a copy of the engine's sources (no compiled code)."""
    package = root / "site" / "sendsim"
    (package / "simcore").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    for path in SIMCORE.glob("*.py"):
        shutil.copy(path, package / "simcore" / path.name)
    return package / "simcore"


def _probe(root: Path, numba_cache_dir: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(root / "site"), XDG_CACHE_HOME=str(root / "user-cache"))
    if numba_cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache_dir)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_edit_of_another_engine_file_is_not_hidden_by_the_cache(tmp_path):
    copy = _copy_engine(tmp_path)
    first = _probe(tmp_path)
    # The copy is what runs, and its code is cached inside the copy, in the folder of its hash.
    assert Path(first["kernel_file"]).resolve().parent == copy.resolve()
    folder = Path(first["cache_folder"])
    assert folder.parent == copy / "__pycache__" and folder.name.endswith(first["source_hash"][:16])
    assert any(folder.rglob("kernel.draw_annual_cost-*.nbi"))
    assert first["cache_misses"] >= 1 and first["compiled"] == first["interpreted"]

    second = _probe(tmp_path)  # nothing changed: the cached code is loaded, not compiled again
    assert second["cache_misses"] == 0 and second["cache_hits"] >= 1
    assert second["cache_folder"] == first["cache_folder"] and second["compiled"] == first["compiled"]

    rng_source = copy / "rng.py"
    text = rng_source.read_text(encoding="utf-8")
    assert text.count("\nDEC_COST = 6 ") == 1
    rng_source.write_text(text.replace("\nDEC_COST = 6 ", "\nDEC_COST = 15 "), encoding="utf-8")
    third = _probe(tmp_path)  # kernel.py unchanged, rng.py edited
    assert third["dec_cost"] == 15 and third["source_hash"] != first["source_hash"]
    assert third["cache_misses"] >= 1, "the function was loaded from the cache of the old sources"
    assert third["compiled"] == third["interpreted"] != first["compiled"]
    assert third["cache_folder"] != first["cache_folder"]


def test_numba_cache_dir_is_honoured_and_still_keyed_by_the_source(tmp_path):
    copy = _copy_engine(tmp_path)
    chosen = tmp_path / "chosen"
    figures = _probe(tmp_path, numba_cache_dir=chosen)
    folder = Path(figures["cache_folder"])
    assert folder == chosen / (_jit.CACHE_FOLDER_PREFIX + figures["source_hash"][:16])
    assert any(folder.rglob("kernel.draw_annual_cost-*.nbi"))
    assert not list((copy / "__pycache__").rglob("*.nb[ic]"))  # nothing cached beside the sources


def test_the_source_hash_covers_every_engine_file(tmp_path):
    copy = _copy_engine(tmp_path)
    assert _jit.engine_source_hash(copy) == _jit.ENGINE_SOURCE_HASH
    seen = {_jit.ENGINE_SOURCE_HASH}
    for path in sorted(copy.glob("*.py")):
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        seen.add(_jit.engine_source_hash(copy))
        path.write_bytes(original)
    assert len(seen) == 1 + len(list(copy.glob("*.py")))  # each file's edit gives its own hash
    assert _jit.engine_source_hash(copy) == _jit.ENGINE_SOURCE_HASH
    (copy / "extra.py").write_text("", encoding="utf-8")
    assert _jit.engine_source_hash(copy) != _jit.ENGINE_SOURCE_HASH


def test_pruning_removes_only_old_cache_folders_of_ours(tmp_path):
    base, outside = tmp_path / "base", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    now = time.time()
    current = base / (_jit.CACHE_FOLDER_PREFIX + "c" * 16)
    current.mkdir()
    os.utime(current, (now - 10 * 86400, now - 10 * 86400))  # the current one is never removed
    ours = []
    for k, age_hours in enumerate((0.1, 0.5, 2, 3, 30, 50, 70, 0.2)):
        folder = base / f"{_jit.CACHE_FOLDER_PREFIX}{k:016x}"
        (folder / "simcore_abc").mkdir(parents=True)
        (folder / "simcore_abc" / "kernel.run_one-1.py311.nbi").write_bytes(b"x")
        os.utime(folder, (now - age_hours * 3600, now - age_hours * 3600))
        ours.append((age_hours, folder))
    # Not ours, or not plain folders: never touched, however old.
    foreign = [base / "sendsim-numba-notahexhash00", base / "other-cache", base / (_jit.CACHE_FOLDER_PREFIX + "f" * 17)]
    for folder in foreign:
        folder.mkdir()
        os.utime(folder, (now - 90 * 86400, now - 90 * 86400))
    (outside / "keep.txt").write_text("x", encoding="utf-8")
    link = base / (_jit.CACHE_FOLDER_PREFIX + "e" * 16)
    link.symlink_to(outside, target_is_directory=True)
    os.utime(link, (now - 90 * 86400, now - 90 * 86400), follow_symlinks=False)
    plain_file = base / (_jit.CACHE_FOLDER_PREFIX + "d" * 16)
    plain_file.write_text("x", encoding="utf-8")
    os.utime(plain_file, (now - 90 * 86400, now - 90 * 86400))

    removed = _jit.prune_old_cache_folders(base, current, keep=4, unused_seconds=3600.0, now=now)
    # By last use: 0.1, 0.2, 0.5, 2 hours are the 4 kept; of the rest (3, 30, 50, 70 hours) all
    # have been unused for over an hour.
    expected = sorted(folder for age, folder in ours if age >= 3)
    assert sorted(removed) == expected
    assert all(not folder.exists() for folder in expected)
    assert all(folder.exists() for age, folder in ours if age < 3)
    assert current.exists() and all(folder.exists() for folder in foreign)
    assert link.is_symlink() and (outside / "keep.txt").exists() and plain_file.exists()

    # Folders used within the hour stay even beyond the number kept.
    for _age, folder in ours:
        if folder.exists():
            os.utime(folder, (now - 60, now - 60))
    assert _jit.prune_old_cache_folders(base, current, keep=0, unused_seconds=3600.0, now=now) == []
