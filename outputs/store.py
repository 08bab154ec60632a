"""The output folder: Parquet datasets partitioned by scenario, written crash-safely, and
removed only where sendsim can prove it wrote them.

Layout of ``--out DIR`` when a run has finished::

    DIR/.sendsim-output                    the ownership marker (see below)
    DIR/manifest.json                      written last: its presence means "complete"
    DIR/<table>/<scenario>/runs-<first>-<last>.parquet    (each file also holds a scenario column)

While a run is in progress everything is written under ``DIR/.partial/`` (same layout), each
file first to a temporary name and then renamed, so a file that exists is whole. A chunk of
runs is finished when its marker ``DIR/.partial/_chunks/<scenario>/runs-<first>-<last>.done``
exists (written after all its tables). At the end the tables are moved from ``.partial`` into
``DIR`` file by file, the marker is updated, the manifest is written, and only then are the
scratch files removed. A run killed at any moment leaves either nothing or a folder without
``manifest.json``, which readers treat as incomplete and ``--resume`` completes, skipping
the chunks whose markers exist.

**Ownership.** ``DIR/.sendsim-output`` marks a folder sendsim made (or found empty): a JSON
file with a random folder identity and the list of files the last finished run wrote. Every
file is entered in the run's ledger ``DIR/.partial/_ledger`` *before* it is written. sendsim
removes a file only if the marker or the ledger names it, only if it is a regular file
reached without passing through a symbolic link, and never if it is an input of the current
run; a folder goes only when it is empty. A folder without the marker is refused by name
(whatever it holds); a file someone else put into an output folder is never touched.

**The scratch folder holds only what sendsim can show it made.** Its records there are trusted
only when they prove themselves: the ledger's first line names the folder identity of the
marker, and the lock file ``DIR/.partial/_lock`` holds that identity (each is created whole, by
linking a finished temporary file whose name carries the identity, so a kill leaves either
nothing, the whole file, or a temporary file recognisable by its name). Every other entry of
``.partial`` must be a file the trusted ledger names, or a folder on the way to one. A run that
finds anything else there (a file the user put into ``.partial``, a ledger or lock that is not
provably sendsim's, the headerless ledger of an earlier version) refuses with one line naming
it, before anything is created, written or removed; a ``--resume`` of a finished run tidies a
stray ``.partial`` only by what the trusted ledger names. So sendsim never writes over, appends
to or removes an entry of ``.partial`` it cannot show it made.

``DIR/.partial/_run.json`` describes the run being written (options, input hashes, the table
layout version and the folder identity): a ``--resume`` whose description differs is refused,
so that chunks of two different runs (or of two layouts) are never mixed.

**Why the scenario folders are not hive partitions** (``scenario=<name>``, as before layout
2): the scenario is a column inside every file, so that a reader given a glob of files
(Polars, DuckDB without options) keeps it; a hive key of the same name beside it makes
pyarrow refuse the folder (``pyarrow.dataset(..., partitioning="hive")`` infers the key as a
string, ``pandas.read_parquet`` as a dictionary, and either conflicts with the column in the
file). With plain folder names every reader takes the scenario from the files, once. While a
process writes, it holds a lock on ``DIR/.partial/_lock``, so a second process cannot write into
the same folder at the same time.
"""
from __future__ import annotations

import errno
import io
import json
import os
import re
import stat
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

try:  # POSIX advisory locks; where there are none (Windows) the lock is skipped
    import fcntl
except ImportError:  # pragma: no cover - not on the Linux CI
    fcntl = None  # type: ignore[assignment]  # no module here: the lock is skipped (checked where it is taken)

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sendsim.outputs.tables import with_scenario

MANIFEST = "manifest.json"
PARTIAL = ".partial"
CHUNKS = "_chunks"
RUN_DESCRIPTION = "_run.json"
LOCK = "_lock"
LEDGER = "_ledger"
MOVED = "_moved"  # the journal of files a finish has moved into place (a resumed finish may replace them)
# The ledger's first line, followed by the folder identity: a ledger without it (an earlier
# version's, or a file someone put there) is not trusted as a record of what sendsim wrote.
LEDGER_HEADER = "# sendsim ledger of output folder "
MARKER = ".sendsim-output"
MARKER_FORMAT = "sendsim output folder"
# Version of the table layout, kept in the run description (a --resume across layouts is
# refused): 2 = scenario folders named by the scenario, a scenario column in every file, and
# month and financial_year columns in the monthly tables.
TABLE_LAYOUT = 2
# Columns whose min and max each file records (readers skip files by scenario, run and month);
# the others' statistics cost 15% of the writing and skip nothing (every file holds every code).
STATISTICS_COLUMNS = ("scenario", "run", "date", "month", "financial_year")
_SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A folder identity becomes part of file names in .partial: no separators, no dots.
_FOLDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Not on every platform: where there is none, links are refused by the checks made before opening.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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


def table_folder(table: str, scenario: str) -> str:
    """The folder of one scenario's files of a partitioned table, relative to the output folder."""
    return f"{table}/{check_scenario_name(scenario)}"


def _write_atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _json(value: dict, indent: int | None = None) -> bytes:
    return (json.dumps(value, indent=indent, sort_keys=True, default=str) + "\n").encode()


# ---- Ownership ------------------------------------------------------------------------------------
def _is_real_dir(path: Path) -> bool:
    """A folder that is not a symbolic link."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_real_file(path: Path) -> bool:
    """A regular file that is not a symbolic link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _reached_without_links(root: Path, relative: str) -> Path | None:
    """``root / relative`` if every folder on the way below ``root`` that exists is a real
    folder (no symbolic link; no ``..`` in the path); None otherwise."""
    parts = Path(relative).parts
    if not parts or any(part in ("..", "") for part in parts) or Path(relative).is_absolute():
        return None
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if not os.path.lexists(folder):
            break  # not made yet: nothing below it exists either
        if not _is_real_dir(folder):
            return None
    return root / relative


def read_marker(root: Path, name: str = MARKER) -> dict | None:
    """The ownership marker of a folder sendsim made: None if there is none; an error if there
    is something by that name that is not a marker sendsim wrote."""
    path = root / name
    if not os.path.lexists(path):
        return None
    if not _is_real_file(path):
        raise OutputError(f"{path} is not a file sendsim wrote (a link or a folder): {root} is not a sendsim "
                          "output folder; choose another --out")
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise OutputError(f"{path} is damaged, so sendsim cannot tell which files in {root} it wrote; it will not "
                          "remove or overwrite anything there: choose another --out") from None
    if (not isinstance(marker, dict) or marker.get("format") != MARKER_FORMAT
            or not isinstance(marker.get("folder_id"), str) or not _FOLDER_ID.fullmatch(marker["folder_id"])
            or not isinstance(marker.get("files", []), list)
            or not all(isinstance(f, str) for f in marker.get("files", []))):
        raise OutputError(f"{path} is not a sendsim ownership marker: {root} is not a sendsim output folder; choose "
                          "another --out")
    return marker


def write_marker(root: Path, folder_id: str, files: list[str], name: str = MARKER) -> None:
    _write_atomic_bytes(root / name, _json({"format": MARKER_FORMAT, "folder_id": folder_id,
                                            "files": sorted(set(files))}, indent=1))


def first_entries(root: Path, limit: int = 3) -> str:
    names = []
    for entry in sorted(os.listdir(root))[:limit]:
        names.append(repr(entry))
    return ", ".join(names)


# ---- The scratch folder's own records ------------------------------------------------------------
def _ledger_header(folder_id: str) -> bytes:
    return f"{LEDGER_HEADER}{folder_id}\n".encode()


def _leftover_name(folder_id: str) -> re.Pattern[str]:
    """Names of the temporary files :func:`_create_whole` makes in ``.partial`` (a kill may leave
    one): they carry the folder identity, which is what makes one found there provably sendsim's."""
    return re.compile(rf"(?:{re.escape(LOCK)}|{re.escape(LEDGER)})\.{re.escape(folder_id)}\.[0-9a-f]{{32}}\.tmp")


def _create_whole(path: Path, data: bytes, folder_id: str) -> bool:
    """Create ``path`` holding ``data``, all at once and only if nothing is there; True if it was made.

    The data is written to a temporary file first and then linked to ``path``: a link never
    replaces what is there, and a kill leaves either no ``path`` or the whole of it (plus,
    perhaps, the temporary file, whose name carries the folder identity)."""
    tmp = path.with_name(f"{path.name}.{folder_id}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
            raise
        # A file system without hard links (FAT, some network shares): an exclusive create. A kill
        # between creating and writing leaves a file that is not provably sendsim's: refused, never removed.
        try:
            with open(path, "xb") as handle:
                handle.write(data)
        except FileExistsError:
            return False
        return True
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass


def _ledger_is_ours(path: Path, folder_id: str) -> bool:
    """A regular file that starts with this folder's ledger header."""
    if not _is_real_file(path):
        return False
    header = _ledger_header(folder_id)
    try:
        with open(path, "rb") as handle:
            return handle.read(len(header)) == header
    except OSError:
        return False


def _lock_is_ours(path: Path, folder_id: str) -> bool:
    """A regular file holding exactly this folder's identity."""
    expected = folder_id.encode()
    if not _is_real_file(path):
        return False
    try:
        with open(path, "rb") as handle:  # no more than needed: a file put there may be large
            return handle.read(len(expected) + 1) == expected
    except OSError:
        return False


def read_ledger(root: Path, folder_id: str) -> list[str] | None:
    """The entries of the run's ledger in ``root/.partial``: [] if there is no ledger, None if
    what is there is not provably sendsim's (no header with this folder's identity)."""
    ledger = root / PARTIAL / LEDGER
    if not _is_real_dir(root / PARTIAL) or not os.path.lexists(ledger):
        return []
    if not _ledger_is_ours(ledger, folder_id):
        return None
    try:
        text = ledger.read_bytes()[len(_ledger_header(folder_id)):].decode("utf-8", errors="replace")
    except OSError:
        return None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _journal(root: Path, entries: list[str]) -> list[str]:
    """The final places a finish moved files to, as its journal says: trusted only when the
    (trusted) ledger names the journal, as a finish enters it before creating it."""
    path = root / PARTIAL / MOVED
    if f"{PARTIAL}/{MOVED}" not in entries or not _is_real_file(path):
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.strip()]


def foreign_scratch(root: Path, folder_id: str) -> list[str]:
    """The entries of ``root/.partial`` (relative to it) that sendsim cannot show it made.

    sendsim's are: the files its trusted ledger names, the folders on their way, the ledger
    itself, a lock file holding the folder identity, and the temporary files of those two.
    Anything else (a file or folder put there, a link, an untrusted ledger and everything it
    names) is foreign. Empty when there is no scratch folder."""
    partial = root / PARTIAL
    if not _is_real_dir(partial):
        return []
    entries = read_ledger(root, folder_id)
    named = {e[len(PARTIAL) + 1:] for e in entries or [] if e.startswith(PARTIAL + "/")}
    if entries is not None and os.path.lexists(partial / LEDGER):
        named.add(LEDGER)
    if _lock_is_ours(partial / LOCK, folder_id):
        named.add(LOCK)
    on_the_way = {str(parent) for name in named for parent in Path(name).parents}
    leftover = _leftover_name(folder_id)
    foreign: list[str] = []

    def visit(folder: Path, relative: str) -> None:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            foreign.append(relative or ".")
            return
        for name in names:
            entry = f"{relative}/{name}" if relative else name
            path = folder / name
            if _is_real_dir(path):
                if entry in on_the_way:
                    visit(path, entry)
                else:
                    foreign.append(entry)
            elif not (_is_real_file(path) and (entry in named or (not relative and leftover.fullmatch(name)))):
                foreign.append(entry)

    visit(partial, "")
    return foreign


def _leftovers(root: Path, folder_id: str) -> list[str]:
    """The temporary files of the ledger and the lock a kill left in ``root/.partial``."""
    partial = root / PARTIAL
    if not _is_real_dir(partial):
        return []
    pattern = _leftover_name(folder_id)
    return [f"{PARTIAL}/{name}" for name in sorted(os.listdir(partial)) if pattern.fullmatch(name)]


def _owned_targets(root: Path, relatives: list[str]) -> list[Path]:
    """The regular files among ``root / relative``, each reached without a link."""
    targets: list[Path] = []
    for relative in sorted(set(relatives)):
        path = _reached_without_links(root, relative)
        if path is not None and _is_real_file(path):
            targets.append(path)
    return targets


def check_not_inputs(root: Path, relatives: list[str], protected: Sequence[Path]) -> None:
    """Refuse (before anything is removed) if a file about to be removed is an input of the run."""
    guarded = {}
    for file in protected:
        try:
            guarded[os.path.realpath(file)] = file
        except (OSError, ValueError):
            continue
    for path in _owned_targets(root, relatives):
        real = os.path.realpath(path)
        if real in guarded:
            raise OutputError(f"{guarded[real]} is an input of this run and a file sendsim wrote in {root}; replacing "
                              "the run would remove it: copy it elsewhere first")


def remove_owned(root: Path, relatives: list[str], protected: Sequence[Path] = ()) -> None:
    """Remove the files at ``root / relative`` that are regular files reached without a link,
    then the folders on their way that are left empty. Refuses (before removing anything) if
    one of them is a ``protected`` file (an input of the current run)."""
    check_not_inputs(root, relatives, list(protected))
    for path in _owned_targets(root, relatives):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            raise OutputError(f"cannot remove {path}: {error.strerror or error}") from None
    # The folders on the way to every file named (moved or removed), deepest first.
    folders: set[Path] = set()
    for relative in relatives:
        reached = _reached_without_links(root, relative)
        if reached is None:
            continue
        parent = reached.parent
        while parent != root and root in parent.parents:
            folders.add(parent)
            parent = parent.parent
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        if _is_real_dir(folder):
            try:
                folder.rmdir()  # only when empty: what someone else put there stays
            except OSError:
                pass


def owned_files(root: Path) -> list[str]:
    """Every file (relative to ``root``) that sendsim's records say it wrote there: the marker's
    finished run; the ledger of an unfinished one, if it is provably sendsim's (its scratch
    files), with the journal of the final places its finish moved files to; and the files of a
    report written into the folder."""
    marker = read_marker(root)
    files = list(marker.get("files", [])) if marker else []
    if marker:
        entries = read_ledger(root, marker["folder_id"]) or []
        files += entries
        files += _journal(root, entries)
    for report_folder in {Path(f).parts[0] for f in files if Path(f).parts} | {"report"}:
        folder = root / report_folder
        if _is_real_dir(folder):
            try:
                report = read_marker(folder, REPORT_MARKER)
            except OutputError:
                report = None
            if report:
                files += [f"{report_folder}/{f}" for f in report.get("files", [])]
                files.append(f"{report_folder}/{REPORT_MARKER}")
    return files


REPORT_MARKER = ".sendsim-report"


def claim_report_folder(target: Path, names: list[str]) -> None:
    """Make ``target`` ready for a report's files ``names``: create it, or accept it if it is
    empty or holds an earlier report (its marker); refuse a folder or a file sendsim did not
    write. Files of the earlier report that are not among ``names`` are removed."""
    if os.path.lexists(target) and not _is_real_dir(target):
        raise OutputError(f"{target} exists and is not a folder sendsim made; choose another --to")
    if not target.exists():
        try:
            target.mkdir(parents=True)
        except OSError as error:
            raise OutputError(f"cannot create {target}: {error.strerror or error}") from None
    marker = read_marker(target, REPORT_MARKER)
    earlier = set(marker.get("files", [])) if marker else set()
    if marker is None and any(target.iterdir()):
        raise OutputError(f"{target} holds files sendsim did not write (for example {first_entries(target)}); "
                          "choose another --to")
    for name in names:
        path = target / name
        if os.path.lexists(path) and (name not in earlier or not _is_real_file(path)):
            raise OutputError(f"{path} exists and was not written by sendsim report; move it away or choose "
                              "another --to")
    folder_id = marker["folder_id"] if marker else uuid.uuid4().hex
    write_marker(target, folder_id, sorted(earlier | set(names)), REPORT_MARKER)
    # An earlier report's files this one does not write (a scenario chart of an earlier run with
    # scenarios, say) would be read as this run's: removed, as its records name them.
    stale = sorted(earlier - set(names))
    if stale:
        remove_owned(target, stale)
        write_marker(target, folder_id, sorted(names), REPORT_MARKER)


class OutputStore:
    """Writes one run's tables under ``root`` (see the module docstring for the protocol).

    Parameters
    ----------
    root
        The output folder (``--out``).
    overwrite
        Replace the run in a folder sendsim made (its files only).
    resume
        Finish the unfinished run in ``root``.
    identity
        A JSON-able description of the run (options, input hashes). Stored when the run
        starts; on ``resume`` it must equal the stored one.
    inputs
        The run's input files: never removed, even when sendsim wrote them into ``root``.
    """

    def __init__(self, root: str | Path, *, overwrite: bool = False, resume: bool = False,
                 identity: dict | None = None, inputs: Sequence[Path] = ()) -> None:
        self.root = Path(root)
        self.partial = self.root / PARTIAL
        self._lock_handle: BinaryIO | None = None
        self._lock_made = False
        if overwrite and resume:
            raise OutputError("--overwrite and --resume cannot be used together")
        if os.path.lexists(self.root) and not self.root.is_dir():
            raise OutputError(f"{self.root} exists and is not a folder")
        try:
            entries = list(self.root.iterdir()) if self.root.exists() else []
        except OSError as error:
            raise OutputError(f"cannot read {self.root}: {error.strerror or error}") from None
        marker = read_marker(self.root) if entries else None
        if entries and marker is None:
            what = "has no sendsim run to resume" if resume else "is not a sendsim output folder"
            raise OutputError(f"{self.root} {what}: it holds files sendsim did not write (for example "
                              f"{first_entries(self.root)}) and no {MARKER} marker; sendsim will not write into "
                              "it or remove anything there: choose another --out")
        if os.path.lexists(self.partial) and not _is_real_dir(self.partial):
            raise OutputError(f"{self.partial} is not the scratch folder sendsim made (a link or a file); remove it "
                              "yourself or choose another --out")
        finished = _is_real_file(self.root / MANIFEST)
        if resume:
            if marker is None:
                raise OutputError(f"{self.root} has no interrupted run to resume (nothing there)")
            self.folder_id = marker["folder_id"]
            if finished:
                raise OutputError(f"{self.root} is already complete (it has {MANIFEST}); nothing to resume"
                                  + self._tidy_stray_scratch())
            if not self.partial.exists():
                raise OutputError(f"{self.root} has no interrupted run to resume ({PARTIAL} not found)")
            self._refuse_untrusted_ledger()
            self._lock()
            self._refuse_foreign_scratch()
            self._check_identity(identity)
            return
        if marker is not None and not overwrite:
            state = "a finished run" if finished else "an unfinished run (use --resume to finish it)"
            raise OutputError(f"{self.root} already holds {state}; pass --overwrite to replace it")
        if marker is not None:  # refuse before anything is created or removed
            self.folder_id = marker["folder_id"]
            self._refuse_untrusted_ledger()
            check_not_inputs(self.root, owned_files(self.root), list(inputs))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {self.root}: {error.strerror or error}") from None
        if marker is None:
            self.folder_id = uuid.uuid4().hex
            try:
                write_marker(self.root, self.folder_id, [])
            except OSError as error:
                raise OutputError(f"cannot write into {self.root}: {error.strerror or error}") from None
        self._make(self.partial)
        self._lock()
        # Before anything is removed: what an earlier run left in .partial must all be provably
        # sendsim's, or clearing and writing there could replace or remove a user's file.
        self._refuse_foreign_scratch()
        try:
            self._clear(inputs)
            if not _create_whole(self.partial / LEDGER, _ledger_header(self.folder_id), self.folder_id):
                raise OutputError(f"{self.partial / LEDGER} appeared while the run started: is another program "
                                  "writing into this folder? Choose another --out")
            self._ledger(f"{PARTIAL}/{RUN_DESCRIPTION}", f"{PARTIAL}/{RUN_DESCRIPTION}.tmp")
            description = dict(identity or {})
            description["folder_id"] = self.folder_id
            description["table_layout"] = TABLE_LAYOUT
            _write_atomic_bytes(self.partial / RUN_DESCRIPTION, _json(description))
        except OSError as error:
            raise OutputError(f"cannot start the run in {self.partial}: {error.strerror or error}; fix the cause and "
                              "run again with --overwrite") from None

    def _refuse_untrusted_ledger(self) -> None:
        """Refuse a scratch folder whose ledger is not provably sendsim's (someone else's file or
        folder, or an earlier version's ledger without the header): its lines cannot be trusted
        as records of what sendsim wrote, so nothing in ``.partial`` can be shown to be sendsim's."""
        ledger = self.partial / LEDGER
        if _is_real_dir(self.partial) and os.path.lexists(ledger) and not _ledger_is_ours(ledger, self.folder_id):
            raise OutputError(f"{ledger} is not a ledger sendsim can show it wrote for this folder (a file or folder "
                              "put there, or the ledger of an earlier sendsim version, which has no header), so "
                              f"sendsim cannot tell which files in {self.partial} it wrote and will not write or "
                              f"remove anything there: move anything of yours out of {self.partial}, remove "
                              f"{self.partial} yourself and run again, or choose another --out")

    def _refuse_foreign_scratch(self) -> None:
        """Refuse (releasing the lock, changing nothing else) if ``.partial`` holds anything
        sendsim cannot show it made."""
        foreign = foreign_scratch(self.root, self.folder_id)
        if not foreign:
            return
        self.close()
        if self._lock_made:  # the lock file this process made, and nothing else, goes
            remove_owned(self.root, [f"{PARTIAL}/{LOCK}"])
            self._lock_made = False
        shown = ", ".join(repr(name) for name in foreign[:3]) + (f" and {len(foreign) - 3} more"
                                                                   if len(foreign) > 3 else "")
        them = "it" if len(foreign) == 1 else "them"
        raise OutputError(f"{self.partial} holds {shown}, which sendsim did not write (its records there do not "
                          f"name {them}); sendsim will not write into {self.partial} or remove anything there: move "
                          f"{them} out of {self.partial}, or choose another --out")

    def _tidy_stray_scratch(self) -> str:
        """The scratch files of a run killed after its manifest: removed as its trusted ledger
        names them (with its lock and ledger). Returns a note for the user when ``.partial``
        is left holding anything else."""
        entries = read_ledger(self.root, self.folder_id)
        if entries and _is_real_dir(self.partial):
            try:
                self._lock()
            except OutputError:  # another process writes, or the lock is not sendsim's: left alone
                return ""
            self._remove_scratch()
        if _is_real_dir(self.partial) and foreign_scratch(self.root, self.folder_id):
            return f"; {self.partial} holds files sendsim did not write, left as they are"
        return ""

    def _make(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {folder}: {error.strerror or error}") from None

    def _ledger(self, *relatives: str) -> None:
        """Enter files in the ledger before they are written (so that a kill at any moment
        leaves every file sendsim wrote on record). The ledger is never created here: only whole,
        with its header, when the run starts."""
        ledger = self.partial / LEDGER
        try:
            descriptor = os.open(ledger, os.O_WRONLY | os.O_APPEND | _NOFOLLOW)
        except FileNotFoundError:
            raise OutputError(f"{ledger} was removed while the run was written; start the run again with "
                              "--overwrite") from None
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write("".join(f"{r}\n" for r in relatives))
            handle.flush()

    def _lock(self) -> None:
        """Hold an exclusive lock while this process writes (released when it exits, even if
        killed), so that two runs cannot write into one folder at once. The lock file holds the
        folder identity: one that does not is someone else's, never opened for writing nor removed."""
        if fcntl is None:
            return
        lock = self.partial / LOCK
        expected = self.folder_id.encode()
        not_ours = OutputError(f"{lock} is not the lock file sendsim made for this folder; move it out of "
                               f"{self.partial}, or choose another --out")
        try:
            made = _create_whole(lock, expected, self.folder_id)
            if not made and not _lock_is_ours(lock, self.folder_id):
                raise not_ours
            # Read and write (never created, truncated or followed here): an exclusive lock over NFS needs both.
            handle = os.fdopen(os.open(lock, os.O_RDWR | _NOFOLLOW), "r+b")
        except OutputError:
            raise
        except OSError as error:
            raise OutputError(f"cannot write into {self.partial} ({error.strerror or error}): a read-only file system "
                              "or a folder without write permission? Choose another --out") from None
        if handle.read(len(expected) + 1) != expected:  # replaced between the check and the open
            handle.close()
            raise not_ours
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise OutputError(f"{self.root} is being written by another sendsim process; wait for it to finish "
                              "or choose another --out") from None
        self._lock_handle = handle
        self._lock_made = made

    def _check_identity(self, identity: dict | None) -> None:
        """A resumed run must be the run that was interrupted (else chunks of two runs mix)."""
        if identity is None:
            return
        path = self.partial / RUN_DESCRIPTION
        if not _is_real_file(path):
            raise OutputError(f"{self.root}: the interrupted run was stopped before it started writing, so it "
                              "cannot be resumed; start it again with --overwrite")
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            raise OutputError(f"{path} is damaged; start the run again with --overwrite") from None
        if not isinstance(stored, dict):
            raise OutputError(f"{path} is damaged; start the run again with --overwrite")
        expected = json.loads(_json(identity))
        expected["folder_id"] = self.folder_id
        expected["table_layout"] = TABLE_LAYOUT
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
    def attach(cls, root: str | Path) -> OutputStore:
        """A store for a worker writing chunks into a run that another process set up (no
        checks, no clearing): the run's own process created ``root/.partial``."""
        store = cls.__new__(cls)
        store.root = Path(root)
        store.partial = store.root / PARTIAL
        store._lock_handle = None  # the run's own process holds the folder's lock
        if not _is_real_dir(store.partial):
            raise OutputError(f"{store.root} has no run in progress ({PARTIAL} not found)")
        marker = read_marker(store.root)
        if marker is None or not _ledger_is_ours(store.partial / LEDGER, marker["folder_id"]):
            raise OutputError(f"{store.root} has no run in progress that sendsim started (no ledger of its own in "
                              f"{PARTIAL})")
        store.folder_id = marker["folder_id"]
        store._lock_made = False
        return store

    def _clear(self, inputs: Sequence[Path]) -> None:
        """Remove what an earlier run wrote here (its files only, as its records say).

        Order matters for a kill in the middle: the old run's description and the manifest go
        first (no one mistakes the remains for a finished or resumable run), then its other
        files; the records of what it wrote go last, so a kill leaves them for the next try."""
        files = owned_files(self.root)
        check_not_inputs(self.root, files, inputs)
        remove_owned(self.root, [f for f in (f"{PARTIAL}/{RUN_DESCRIPTION}", MANIFEST) if f in files], inputs)
        remove_owned(self.root, [f for f in files if f not in (MARKER, f"{PARTIAL}/{LEDGER}", f"{PARTIAL}/{LOCK}")],
                     inputs)
        remove_owned(self.root, _leftovers(self.root, self.folder_id))
        write_marker(self.root, self.folder_id, [])
        ledger = self.partial / LEDGER
        if _ledger_is_ours(ledger, self.folder_id):
            ledger.unlink()

    def _remove_scratch(self) -> None:
        """Remove the scratch files of a finished run (its trusted ledger says which), its lock
        and ledger, then the folder if nothing else is in it."""
        entries = read_ledger(self.root, self.folder_id)
        remove_owned(self.root, [e for e in entries or [] if e.startswith(PARTIAL + "/")])
        remove_owned(self.root, _leftovers(self.root, self.folder_id))
        self.close()
        if _lock_is_ours(self.partial / LOCK, self.folder_id):
            remove_owned(self.root, [f"{PARTIAL}/{LOCK}"])
        if entries is not None:
            remove_owned(self.root, [f"{PARTIAL}/{LEDGER}"])
        if _is_real_dir(self.partial):
            try:
                self.partial.rmdir()
            except OSError:
                pass

    def close(self) -> None:
        """Release the folder's lock (the run in it is finished, or stopped: ``--resume`` may
        take it up in this process or another)."""
        handle = getattr(self, "_lock_handle", None)
        if handle is not None:
            handle.close()
            self._lock_handle = None

    def _chunk_marker(self, scenario: str, first_run: int, last_run: int, suffix: str) -> Path:
        return self.partial / CHUNKS / scenario / f"{chunk_label(first_run, last_run)}{suffix}"

    def chunk_done(self, scenario: str, first_run: int, last_run: int) -> bool:
        check_scenario_name(scenario)  # names become folders: checked wherever a path is built
        return _is_real_file(self._chunk_marker(scenario, first_run, last_run, ".done"))

    def write_chunk(self, scenario: str, first_run: int, last_run: int, tables: dict[str, pa.Table],
                    figures: dict[str, np.ndarray] | None = None) -> int:
        """Write one chunk's tables (each file atomically, with the scenario as a column), its
        per-run figures, then its marker. Returns bytes written."""
        check_scenario_name(scenario)
        label = chunk_label(first_run, last_run)
        written = 0
        try:
            for name, table in tables.items():
                table = with_scenario(table, scenario)
                relative = table_folder(name, scenario)
                folder = self.partial / relative
                self._ledger(f"{PARTIAL}/{relative}/{label}.parquet", f"{PARTIAL}/{relative}/.{label}.parquet.tmp")
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / f"{label}.parquet"
                tmp = folder / f".{label}.parquet.tmp"
                pq.write_table(table, tmp, compression="zstd", row_group_size=max(table.num_rows, 1),
                               write_statistics=[c for c in STATISTICS_COLUMNS if c in table.column_names])
                os.replace(tmp, target)
                written += target.stat().st_size
            marker_folder = self.partial / CHUNKS / scenario
            marker_relative = f"{PARTIAL}/{CHUNKS}/{scenario}/{label}"
            self._ledger(f"{marker_relative}.figures.npz", f"{marker_relative}.figures.npz.tmp",
                         f"{marker_relative}.done", f"{marker_relative}.done.tmp")
            marker_folder.mkdir(parents=True, exist_ok=True)
            if figures is not None:
                buffer = io.BytesIO()
                # numpy's stub types the allow_pickle keyword as bool; figure names never use it.
                np.savez(buffer, **figures)  # type: ignore[arg-type]
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
        path = self._chunk_marker(scenario, first_run, last_run, ".figures.npz")
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError) as error:
            raise OutputError(f"{path} is damaged ({error}); start the run again with --overwrite") from None

    def write_file(self, relative: str, data: bytes) -> None:
        """Write an extra file (summary tables, report inputs) into the partial folder."""
        target = self.partial / relative
        try:
            self._ledger(f"{PARTIAL}/{relative}", f"{PARTIAL}/{relative}.tmp")
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic_bytes(target, data)
        except OSError as error:
            raise OutputError(f"cannot write {target}: {error.strerror or error}; fix the cause and finish with "
                              "--resume") from None

    def finish(self, manifest: dict) -> None:
        """Move every table file into place, record them in the marker, then write the manifest
        (the completion mark); last, remove the scratch files.

        Temporary files left by a writer that was killed mid-write (and whose chunk was then
        written again) are removed first: they are never part of a finished dataset."""
        entries = read_ledger(self.root, self.folder_id)
        if entries is None:
            raise OutputError(f"{self.partial / LEDGER} is no longer the ledger sendsim wrote; start the run again "
                              "with --overwrite")
        marker = read_marker(self.root) or {}
        # Files this run may replace at their final place: those the folder's last finished run
        # wrote, and those an earlier, interrupted finish of this run moved there (its journal).
        moved_journal = self.partial / MOVED
        ours = set(marker.get("files", [])) | set(_journal(self.root, entries))
        finals: list[str] = []
        try:
            self._ledger(f"{PARTIAL}/{MOVED}")
            for entry in dict.fromkeys(entries):
                if not entry.startswith(PARTIAL + "/"):
                    continue
                relative = entry[len(PARTIAL) + 1:]
                bookkeeping = (CHUNKS, RUN_DESCRIPTION, RUN_DESCRIPTION + ".tmp", LOCK, LEDGER, MOVED)
                if relative.split("/", 1)[0] in bookkeeping:
                    continue
                source = _reached_without_links(self.root, entry)
                if entry.endswith(".tmp"):
                    if source is not None and _is_real_file(source):
                        source.unlink()
                    continue
                target = _reached_without_links(self.root, relative)
                if target is None:
                    raise OutputError(f"{self.root / relative}: a folder on its way is a link; sendsim does not write "
                                      "through links")
                finals.append(relative)
                if source is None or not _is_real_file(source):
                    if relative in ours and _is_real_file(target):
                        continue  # moved by an earlier, interrupted finish
                    raise OutputError(f"{source} is missing from the unfinished run (removed or damaged after it was "
                                      "written); start the run again with --overwrite")
                if os.path.lexists(target) and relative not in ours:
                    raise OutputError(f"{target} exists and was not written by sendsim; move it away and finish with "
                                      "--resume")
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(moved_journal, "a", encoding="utf-8") as journal:  # before the move: a kill leaves it known
                    journal.write(relative + "\n")
                os.replace(source, target)
            write_marker(self.root, self.folder_id, finals + [MANIFEST])
            # The manifest before the scratch files go: killed in between, the folder is complete
            # (with a stray .partial that readers ignore).
            _write_atomic_bytes(self.root / MANIFEST, _json(manifest, indent=2))
        except OSError as error:
            raise OutputError(f"cannot finish {self.root}: {error.strerror or error}; fix the cause and finish with "
                              "--resume") from None
        self._remove_scratch()


def is_complete(root: str | Path) -> bool:
    """True when ``root`` holds a finished run (its manifest exists)."""
    return (Path(root) / MANIFEST).exists()
