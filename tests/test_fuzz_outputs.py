"""Property-based fuzzing of output folders: a finished run's folder damaged, edited or given
symbolic links, then ``sendsim report``, ``sendsim run --resume`` and ``sendsim run --overwrite``
on it. Each ends in success or a one-line error (exit 2), never a traceback, and nothing
outside the folder (the target of a link) is changed.

``SENDSIM_FUZZ_EXAMPLES`` sets the number of examples (the suite's default keeps it to seconds;
docs/robustness.md gives the figure of a deep run).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendsim.cli import main

EXAMPLES = int(os.environ.get("SENDSIM_FUZZ_EXAMPLES", "8"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
RUN = ["--runs", "2", "--months", "15", "--quiet", "--no-flows", "--no-draws", "--scenario", "third_special_school"]
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(),
                                     st.text(max_size=8)),
                           lambda children: st.one_of(st.lists(children, max_size=3),
                                                      st.dictionaries(st.text(max_size=5), children, max_size=3)),
                           max_leaves=6)
MUTATION = st.tuples(st.integers(0, 10**6), st.sampled_from(["delete", "truncate", "flip", "garbage", "link_out",
                                                             "folder", "json"]),
                     st.integers(0, 10**6), JSON_VALUES)


def quiet(arguments: list[str]) -> int:
    """The command's exit status; its standard error must be at most one line (no traceback)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(arguments)
    assert "Traceback" not in err.getvalue()
    assert len([line for line in err.getvalue().splitlines() if line.strip()]) <= 2, err.getvalue()
    return code


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "out"
    assert quiet(["run", *RUN, "--out", str(out)]) == 0
    assert quiet(["report", str(out)]) == 0
    return out


def _mutate(out: Path, elsewhere: Path, mutation: tuple) -> None:
    files = sorted(p for p in out.rglob("*") if p.is_file() and not p.is_symlink())
    if not files:
        return
    index, kind, position, value = mutation
    path = files[index % len(files)]
    data = path.read_bytes()
    if kind == "delete":
        path.unlink()
    elif kind == "truncate":
        path.write_bytes(data[:position % (len(data) + 1)])
    elif kind == "flip" and data:
        k = position % len(data)
        path.write_bytes(data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:])
    elif kind == "garbage":
        path.write_bytes(json.dumps(value, default=str).encode() if not isinstance(value, bytes) else value)
    elif kind == "link_out":
        target = elsewhere / f"target{position}"
        target.write_bytes(b"someone else's file")
        path.unlink()
        os.symlink(target, path)
    elif kind == "folder":
        path.unlink()
        path.mkdir()
        (path / "inside.txt").write_text("a folder where a file was")
    elif kind == "json":
        manifest = out / "manifest.json"
        if manifest.is_file():
            try:
                document = json.loads(manifest.read_text(encoding="utf-8"))
            except ValueError:
                return
            if isinstance(document, dict) and document:
                keys = sorted(document)
                document[keys[position % len(keys)]] = value
                manifest.write_text(json.dumps(document, default=str), encoding="utf-8")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@FUZZ
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_a_damaged_or_edited_output_folder_never_gives_a_traceback(tmp_path_factory, finished, mutations):
    out = tmp_path_factory.mktemp("damaged") / "out"
    elsewhere = out.parent / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(finished, out, symlinks=True)
    for mutation in mutations:
        _mutate(out, elsewhere, mutation)
    outside = _snapshot(elsewhere)
    assert quiet(["report", str(out)]) in (0, 2)
    assert quiet(["run", *RUN, "--out", str(out), "--resume"]) in (0, 2)
    assert quiet(["run", *RUN, "--out", str(out), "--overwrite"]) in (0, 2)
    assert _snapshot(elsewhere) == outside, "a file outside the output folder was changed"
