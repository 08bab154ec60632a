"""The output folder: Parquet datasets partitioned by scenario, written crash-safely.

Layout of ``--out DIR`` when a run has finished::

    DIR/manifest.json                      written last: its presence means "complete"
    DIR/<table>/scenario=<name>/runs-<first>-<last>.parquet

While a run is in progress everything is written under ``DIR/.partial/`` (same layout), each
file first to a temporary name and then renamed, so a file that exists is whole. A chunk of
runs is finished when its marker ``DIR/.partial/_chunks/<scenario>/runs-<first>-<last>.done``
exists (written after all its tables). At the end the table folders are moved from
``.partial`` into ``DIR`` and the manifest is written. A run killed at any moment leaves
either nothing or a folder without ``manifest.json``, which readers treat as incomplete and
``--resume`` completes, skipping the chunks whose markers exist.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST = "manifest.json"
PARTIAL = ".partial"
CHUNKS = "_chunks"
_SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class OutputError(RuntimeError):
    """The output folder cannot be used as asked (exists, incomplete, not ours)."""


def check_scenario_name(name: str) -> str:
    """Scenario names become folder names: letters, digits, ``_ . -``; no separators or ``..``."""
    if not _SCENARIO_NAME.match(name) or ".." in name:
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
    """Writes one run's tables under ``root`` (see the module docstring for the protocol)."""

    def __init__(self, root: str | Path, *, overwrite: bool = False, resume: bool = False) -> None:
        self.root = Path(root)
        self.partial = self.root / PARTIAL
        if overwrite and resume:
            raise OutputError("--overwrite and --resume cannot be used together")
        manifest = self.root / MANIFEST
        if self.root.exists() and not self.root.is_dir():
            raise OutputError(f"{self.root} exists and is not a folder")
        if resume:
            if manifest.exists():
                raise OutputError(f"{self.root} is already complete (it has {MANIFEST}); nothing to resume")
            if not self.partial.exists():
                raise OutputError(f"{self.root} has no interrupted run to resume ({PARTIAL} not found)")
        elif self.root.exists() and any(self.root.iterdir()):
            if not overwrite:
                state = "a finished run" if manifest.exists() else "an unfinished run (use --resume to finish it)"
                raise OutputError(f"{self.root} already holds {state}; pass --overwrite to replace it")
            self._clear()
        self.partial.mkdir(parents=True, exist_ok=True)

    @classmethod
    def attach(cls, root: str | Path) -> "OutputStore":
        """A store for a worker writing chunks into a run that another process set up (no
        checks, no clearing): the run's own process created ``root/.partial``."""
        store = cls.__new__(cls)
        store.root = Path(root)
        store.partial = store.root / PARTIAL
        if not store.partial.is_dir():
            raise OutputError(f"{store.root} has no run in progress ({PARTIAL} not found)")
        return store

    def _clear(self) -> None:
        """Remove what a previous run wrote here: only in a folder sendsim made (it holds a
        manifest or an unfinished run), never in an arbitrary folder."""
        if not (self.root / MANIFEST).exists() and not self.partial.exists():
            raise OutputError(f"{self.root} is not empty and is not a sendsim output folder (no {MANIFEST}); "
                              "refusing to overwrite it: choose another --out")
        for entry in self.root.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def chunk_done(self, scenario: str, first_run: int, last_run: int) -> bool:
        return (self.partial / CHUNKS / scenario / f"{chunk_label(first_run, last_run)}.done").exists()

    def write_chunk(self, scenario: str, first_run: int, last_run: int, tables: dict[str, pa.Table],
                    figures: dict[str, np.ndarray] | None = None) -> int:
        """Write one chunk's tables (each file atomically), its per-run figures, then its
        marker. Returns bytes written."""
        label = chunk_label(first_run, last_run)
        written = 0
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
        return written

    def chunk_figures(self, scenario: str, first_run: int, last_run: int) -> dict[str, np.ndarray]:
        """The per-run figures saved with a finished chunk (read without pickle)."""
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
            if entry.name == CHUNKS:
                continue
            target = self.root / entry.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(entry, target)
        shutil.rmtree(self.partial)
        _write_atomic_bytes(self.root / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def is_complete(root: str | Path) -> bool:
    """True when ``root`` holds a finished run (its manifest exists)."""
    return (Path(root) / MANIFEST).exists()
