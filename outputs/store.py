"""The output folder: Parquet datasets partitioned by scenario, written crash-safely.

Layout of ``--out DIR`` when a run has finished::

    DIR/manifest.json                      written last: its presence means "complete"
    DIR/<table>/scenario=<name>/runs-<first>-<last>.parquet

While a run is in progress everything is written under ``DIR/.partial/`` (same layout), each
file first to a temporary name and then renamed, so a file that exists is whole. A chunk of
runs is finished when its marker ``DIR/.partial/_chunks/<scenario>/runs-<first>-<last>.done``
exists (written after all its tables). At the end the table folders are moved from
``.partial`` into ``DIR``, the manifest is written, and only then is ``.partial`` (the chunk
markers) deleted. A run killed at any moment leaves either nothing or a folder without
``manifest.json``, which readers treat as incomplete and ``--resume`` completes, skipping
the chunks whose markers exist. (Killed after the manifest, a folder is complete and may keep
a stray ``.partial``, which readers ignore.)

``DIR/.partial/_run.json`` describes the run being written (options and input hashes): a
``--resume`` whose description differs is refused, so that chunks of two different runs are
never mixed. While a process writes, it holds a lock on ``DIR/.partial/_lock``, so a second
process cannot write into the same folder at the same time.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

try:  # POSIX advisory locks; where there are none (Windows) the lock is skipped
    import fcntl
except ImportError:  # pragma: no cover - not on the Linux CI
    fcntl = None

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST = "manifest.json"
PARTIAL = ".partial"
CHUNKS = "_chunks"
RUN_DESCRIPTION = "_run.json"
LOCK = "_lock"
_SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class OutputError(RuntimeError):
    """The output folder cannot be used as asked (exists, incomplete, not ours)."""


def check_scenario_name(name: str) -> str:
    """Scenario names become folder names: letters, digits, ``_ . -``; no separators or ``..``."""
    # fullmatch: with match, "$" would also accept a name ending in a newline.
    if not isinstance(name, str) or not _SCENARIO_NAME.fullmatch(name) or ".." in name:
        raise OutputError(f"scenario name {name!r} is not allowed: use 1-64 letters, digits, '_', '.', '-', "
                          "starting with a letter or digit, without '..'")
    return name


def chunk_label(first_run: int, last_run: int) -> str:
    return f"runs-{first_run:06d}-{last_run:06d}"


def _write_atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class OutputStore:
    """Writes one run's tables under ``root`` (see the module docstring for the protocol).

    Parameters
    ----------
    root
        The output folder (``--out``).
    overwrite
        Replace a folder that holds a finished or unfinished sendsim run.
    resume
        Finish the unfinished run in ``root``.
    identity
        A JSON-able description of the run (options, input hashes). Stored when the run
        starts; on ``resume`` it must equal the stored one.
    """

    def __init__(self, root: str | Path, *, overwrite: bool = False, resume: bool = False,
                 identity: dict | None = None) -> None:
        self.root = Path(root)
        self.partial = self.root / PARTIAL
        self._lock_handle = None
        if overwrite and resume:
            raise OutputError("--overwrite and --resume cannot be used together")
        manifest = self.root / MANIFEST
        if self.root.exists() and not self.root.is_dir():
            raise OutputError(f"{self.root} exists and is not a folder")
        if resume:
            if manifest.exists():
                if self.partial.exists():  # a run killed after its manifest: tidy its scratch folder
                    self._lock()
                    shutil.rmtree(self.partial, ignore_errors=True)
                raise OutputError(f"{self.root} is already complete (it has {MANIFEST}); nothing to resume")
            if not self.partial.exists():
                raise OutputError(f"{self.root} has no interrupted run to resume ({PARTIAL} not found)")
            self._lock()
            self._check_identity(identity)
            return
        if self.root.exists() and any(self.root.iterdir()):
            if not overwrite:
                state = "a finished run" if manifest.exists() else "an unfinished run (use --resume to finish it)"
                raise OutputError(f"{self.root} already holds {state}; pass --overwrite to replace it")
            if not manifest.exists() and not self.partial.exists():
                raise OutputError(f"{self.root} is not empty and is not a sendsim output folder (no {MANIFEST}); "
                                  "refusing to overwrite it: choose another --out")
        self._make(self.partial)
        self._lock()
        self._clear()
        if identity is not None:
            _write_atomic_bytes(self.partial / RUN_DESCRIPTION, _json(identity))

    def _make(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {folder}: {error.strerror or error}") from None

    def _lock(self) -> None:
        """Hold an exclusive lock while this process writes (released when it exits, even if
        killed), so that two runs cannot write into one folder at once."""
        if fcntl is None:
            return
        handle = open(self.partial / LOCK, "a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise OutputError(f"{self.root} is being written by another sendsim process; wait for it to finish "
                              "or choose another --out") from None
        self._lock_handle = handle

    def _check_identity(self, identity: dict | None) -> None:
        """A resumed run must be the run that was interrupted (else chunks of two runs mix)."""
        if identity is None:
            return
        path = self.partial / RUN_DESCRIPTION
        if not path.exists():
            raise OutputError(f"{self.root}: the interrupted run was stopped before it started writing, so it "
                              "cannot be resumed; start it again with --overwrite")
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise OutputError(f"{path} is damaged; start the run again with --overwrite") from None
        expected = json.loads(_json(identity))
        if stored != expected:
            keys = sorted(set(stored) | set(expected))

            def shown(k: str) -> str:
                then, now = repr(stored.get(k)), repr(expected.get(k))
                if len(then) + len(now) > 120:  # lists of file hashes: say what, not the hashes
                    return f"{k} (changed)"
                return f"{k} ({then} then, {now} now)"

            differs = [shown(k) for k in keys if stored.get(k) != expected.get(k)]
            raise OutputError(f"{self.root}: --resume must repeat the interrupted run exactly; it differs in "
                              + "; ".join(differs))

    @classmethod
    def attach(cls, root: str | Path) -> "OutputStore":
        """A store for a worker writing chunks into a run that another process set up (no
        checks, no clearing): the run's own process created ``root/.partial``."""
        store = cls.__new__(cls)
        store.root = Path(root)
        store.partial = store.root / PARTIAL
        store._lock_handle = None  # the run's own process holds the folder's lock
        if not store.partial.is_dir():
            raise OutputError(f"{store.root} has no run in progress ({PARTIAL} not found)")
        return store

    def _clear(self) -> None:
        """Remove what a previous run wrote here (the caller checked it is a sendsim folder).

        Order matters for a kill in the middle: ``.partial`` exists first (the folder stays
        recognisably ours and unfinished), then the old run's description and the manifest go
        (no one mistakes the remains for a finished or resumable run), then the rest."""
        for name in (self.partial / RUN_DESCRIPTION, self.root / MANIFEST):
            if name.exists():
                name.unlink()
        for folder in (self.root, self.partial):
            for entry in folder.iterdir():
                if entry == self.partial or (folder == self.partial and entry.name == LOCK):
                    continue
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    def chunk_done(self, scenario: str, first_run: int, last_run: int) -> bool:
        check_scenario_name(scenario)  # names become folders: checked wherever a path is built
        return (self.partial / CHUNKS / scenario / f"{chunk_label(first_run, last_run)}.done").exists()

    def write_chunk(self, scenario: str, first_run: int, last_run: int, tables: dict[str, pa.Table],
                    figures: dict[str, np.ndarray] | None = None) -> int:
        """Write one chunk's tables (each file atomically), its per-run figures, then its
        marker. Returns bytes written."""
        check_scenario_name(scenario)
        label = chunk_label(first_run, last_run)
        written = 0
        try:
            for name, table in tables.items():
                folder = self.partial / name / f"scenario={scenario}"
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / f"{label}.parquet"
                tmp = folder / f".{label}.parquet.tmp"
                pq.write_table(table, tmp, compression="zstd", row_group_size=max(table.num_rows, 1))
                os.replace(tmp, target)
                written += target.stat().st_size
            marker_folder = self.partial / CHUNKS / scenario
            marker_folder.mkdir(parents=True, exist_ok=True)
            if figures is not None:
                buffer = io.BytesIO()
                np.savez(buffer, **figures)
                _write_atomic_bytes(marker_folder / f"{label}.figures.npz", buffer.getvalue())
            _write_atomic_bytes(marker_folder / f"{label}.done", b"")
        except OSError as error:  # disk full, folder removed or read-only: the finished chunks are kept
            raise OutputError(f"cannot write runs {first_run}-{last_run} into {self.partial}: "
                              f"{error.strerror or error}; the chunks already written are kept: fix the cause "
                              "and finish with --resume") from None
        return written

    def chunk_figures(self, scenario: str, first_run: int, last_run: int) -> dict[str, np.ndarray]:
        """The per-run figures saved with a finished chunk (read without pickle)."""
        check_scenario_name(scenario)
        path = self.partial / CHUNKS / scenario / f"{chunk_label(first_run, last_run)}.figures.npz"
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def write_file(self, relative: str, data: bytes) -> None:
        """Write an extra file (summary tables, report inputs) into the partial folder."""
        target = self.partial / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic_bytes(target, data)

    def finish(self, manifest: dict) -> None:
        """Move everything into place, then write the manifest (the completion mark).

        Temporary files left by a writer that was killed mid-write (and whose chunk was then
        written again) are removed first: they are never part of a finished dataset."""
        for leftover in self.partial.rglob("*.tmp"):
            leftover.unlink()
        for entry in sorted(self.partial.iterdir()):
            if entry.name in (CHUNKS, RUN_DESCRIPTION, LOCK):
                continue
            target = self.root / entry.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(entry, target)
        # The manifest before the markers go: killed in between, the folder is complete (with a
        # stray .partial that readers ignore); the other way round, a kill after the markers were
        # partly deleted would make --resume redo chunks whose tables had already been moved.
        _write_atomic_bytes(self.root / MANIFEST, _json(manifest, indent=2))
        shutil.rmtree(self.partial, ignore_errors=True)
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None


def _json(value: dict, indent: int | None = None) -> bytes:
    return (json.dumps(value, indent=indent, sort_keys=True, default=str) + "\n").encode()


def is_complete(root: str | Path) -> bool:
    """True when ``root`` holds a finished run (its manifest exists)."""
    return (Path(root) / MANIFEST).exists()
