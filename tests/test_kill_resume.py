"""Nothing lost: real `python -m sendsim run` processes killed with SIGKILL at random points.

After every kill the output folder must be either absent or recognisably incomplete (no
``manifest.json``; a folder that has one must hold the complete, correct tables), and
``--resume`` (itself killed once, then resumed again) must finish it with tables identical,
file for file, to those of an uninterrupted run.

Kill points are chosen with a seeded generator among the phases of a run: while it starts
(imports, input loading), after the k-th chunk marker (then the resume is killed too), and
while the finished tables are moved into place. Each process takes a few seconds to start
(imports), so the test runs seven processes: 25-50 s on two shared cores.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sendsim.cli import main
from sendsim.outputs.store import (
    CHUNKS,
    MANIFEST,
    PARTIAL,
    RUN_DESCRIPTION,
    OutputError,
    OutputStore,
    is_complete,
    write_marker,
)

ROOT = Path(__file__).resolve().parent.parent
RUNS, MONTHS, CHUNK_SIZE, SEED = 10, 15, 1, 5  # 15 months: the money model needs a full financial year
OPTIONS = ["--runs", str(RUNS), "--months", str(MONTHS), "--chunk-size", str(CHUNK_SIZE), "--seed", str(SEED),
           "--quiet"]
POLL_SECONDS = 0.002
PROCESS_TIMEOUT_SECONDS = 300


def tables(out: Path) -> dict[str, object]:
    """Every Parquet file of a finished folder (relative path -> table), hidden folders aside."""
    found = {}
    for path in sorted(out.rglob("*.parquet")):
        relative = path.relative_to(out)
        if any(part.startswith(".") for part in relative.parts):
            continue
        found[str(relative)] = pq.read_table(path)
    return found


def assert_same_tables(out: Path, reference: dict[str, object]) -> None:
    got = tables(out)
    assert sorted(got) == sorted(reference)
    for name, table in reference.items():
        assert got[name].equals(table), name


def launch(out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "sendsim", "run", "--out", str(out), *OPTIONS, *extra], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def markers(out: Path) -> int:
    folder = out / PARTIAL / CHUNKS / "baseline"
    return len(list(folder.glob("*.done"))) if folder.exists() else 0


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], jitter_seconds: float) -> bool:
    """SIGKILL ``process`` ``jitter_seconds`` after ``ready()`` first holds. Returns False if
    the process ended first (then it must have finished cleanly)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT_SECONDS
    while not ready():
        if process.poll() is not None:
            assert process.returncode == 0, process.stderr.read().decode()
            return False
        assert time.monotonic() < deadline, "the run did not reach the kill point"
        time.sleep(POLL_SECONDS)
    time.sleep(jitter_seconds)
    if process.poll() is not None:
        assert process.returncode == 0, process.stderr.read().decode()
        return False
    process.send_signal(signal.SIGKILL)
    process.wait(PROCESS_TIMEOUT_SECONDS)
    return True


def assert_absent_or_incomplete(out: Path, reference: dict[str, object]) -> None:
    """What a kill may leave: nothing, a folder without manifest, or a finished folder."""
    if not out.exists():
        return
    if (out / MANIFEST).exists():
        assert is_complete(out)
        assert_same_tables(out, reference)  # killed after the manifest: complete and correct
        return
    assert not is_complete(out)
    assert (out / PARTIAL).exists(), "an incomplete folder keeps its .partial (it is resumable or overwritable)"


def finish(out: Path, reference: dict[str, object]) -> str:
    """Bring a killed folder to completion as a user would; returns what was done."""
    if (out / MANIFEST).exists():
        if (out / PARTIAL).exists():
            # Killed between the manifest and the removal of the scratch folder: complete; a
            # --resume says so and tidies up.
            process = launch(out, "--resume")
            assert process.wait(PROCESS_TIMEOUT_SECONDS) == 2
            assert "already complete" in process.stderr.read().decode()
            return "complete already (stray .partial removed by --resume)"
        return "complete already"
    if not out.exists():
        process = launch(out)
        assert process.wait(PROCESS_TIMEOUT_SECONDS) == 0, process.stderr.read().decode()
        return "started again (nothing was left)"
    described = (out / PARTIAL / RUN_DESCRIPTION).exists()
    process = launch(out, "--resume")
    code = process.wait(PROCESS_TIMEOUT_SECONDS)
    err = process.stderr.read().decode()
    if not described:
        # Killed before the run described itself: there is nothing to resume, say so.
        assert code == 2 and "--overwrite" in err, err
        process = launch(out, "--overwrite")
        assert process.wait(PROCESS_TIMEOUT_SECONDS) == 0, process.stderr.read().decode()
        return "started again with --overwrite"
    assert code == 0, err
    return "resumed"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("reference") / "out"
    assert main(["run", "--out", str(out), *OPTIONS]) == 0
    found = tables(out)
    assert {"stock", "flows", "cost", "pipeline"} <= {name.split("/")[0] for name in found}
    return found


def test_sigkill_at_random_points_then_resume(tmp_path, reference):
    rng = random.Random(20240118)
    after = rng.randint(1, RUNS - 2)  # the number of finished chunks the second trial waits for
    trials: list[tuple[str, Callable[[Path], Callable[[], bool]]]] = [
        ("while starting", lambda out: (lambda: True)),
        ("after some chunks", lambda out: (lambda: markers(out) >= after)),
        ("while moving tables into place", lambda out: (lambda: (out / "stock").exists())),
    ]
    outcomes = []
    for k, (phase, condition) in enumerate(trials):
        out = tmp_path / f"trial{k}"
        # "while starting": a random moment of the first seconds (imports, reading inputs).
        jitter = rng.uniform(0.5, 3.0) if phase == "while starting" else rng.uniform(0.0, 0.02)
        killed = kill_when(launch(out), condition(out), jitter)
        assert_absent_or_incomplete(out, reference)
        if killed and k == 1 and not (out / MANIFEST).exists() and (out / PARTIAL / RUN_DESCRIPTION).exists():
            # Kill the resume too, part way through what is left; then resume again.
            done = markers(out)
            def resumed_some(out: Path = out, done: int = done) -> bool:
                return markers(out) > done

            killed_again = kill_when(launch(out, "--resume"), resumed_some, rng.uniform(0.0, 0.02))
            assert_absent_or_incomplete(out, reference)
            phase += ", then its resume" if killed_again else ""
        outcomes.append((phase, finish(out, reference)))
        assert is_complete(out) and not (out / PARTIAL).exists()
        assert_same_tables(out, reference)
    print(outcomes)


def test_resume_refuses_a_different_run(tmp_path):
    out = tmp_path / "out"
    first = OutputStore(out, identity={"seed": 1, "runs": 10})
    del first  # the interrupted run's process is gone (its lock with it)
    with pytest.raises(OutputError, match=r"differs in runs \(10 then, 12 now\); seed \(1 then, 2 now\)"):
        OutputStore(out, resume=True, identity={"seed": 2, "runs": 12})
    OutputStore(out, resume=True, identity={"runs": 10, "seed": 1})  # the same run: accepted


def test_two_processes_cannot_write_one_folder(tmp_path):
    out = tmp_path / "out"
    writing = OutputStore(out, identity={"seed": 1})
    with pytest.raises(OutputError, match="being written by another sendsim process"):
        OutputStore(out, resume=True, identity={"seed": 1})
    assert writing.chunk_done("baseline", 0, 0) is False


def test_a_run_killed_before_describing_itself_cannot_be_resumed(tmp_path):
    out = tmp_path / "out"
    (out / PARTIAL).mkdir(parents=True)  # what a kill while clearing an old run leaves
    write_marker(out, "a-folder-sendsim-made", [])
    with pytest.raises(OutputError, match="cannot be resumed; start it again with --overwrite"):
        OutputStore(out, resume=True, identity={"seed": 1})
    OutputStore(out, overwrite=True, identity={"seed": 1})
    assert (out / PARTIAL / RUN_DESCRIPTION).exists()
