"""The Dask backend on a LocalCluster: tables equal the local backend's whatever the chunking
and the number of workers; a worker killed mid-task is retried and changes nothing; a run
interrupted mid-way and resumed equals an uninterrupted one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from sendsim.api import RunSpec, execute
from sendsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("stock", "flows", "cost", "pipeline", "deficit", "finance", "difference")
# 15 months: January 2024 to March 2025, so that 2024-25 is a complete financial year (money).
COMMON = ["--runs", "6", "--months", "15", "--scenario", "third_special_school", "--quiet"]


def tables(out: Path) -> dict[str, pd.DataFrame]:
    out_tables = {}
    for name in TABLES:
        frame = pd.read_parquet(out / name)
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype(str)
        keys = [c for c in frame.columns if frame[c].dtype == object or c in ("run", "date")]
        out_tables[name] = frame.sort_values(keys).reset_index(drop=True)[sorted(frame.columns)]
    return out_tables


def assert_same_tables(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    for name in TABLES:
        pd.testing.assert_frame_equal(ta[name], tb[name], obj=name)


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    assert main(["run", *COMMON, "--chunk-size", "4", "--out", str(out)]) == 0
    return out


def test_dask_tables_equal_the_local_backend(local_reference, tmp_path):
    out = tmp_path / "dask"
    assert main(["run", *COMMON, "--chunk-size", "2", "--backend", "dask", "--workers", "2", "--out", str(out)]) == 0
    assert_same_tables(local_reference, out)
    manifest = (out / "manifest.json").read_text()
    assert '"backend": "dask"' in manifest


def test_a_worker_killed_mid_task_is_retried_and_changes_nothing(local_reference, tmp_path):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        out = tmp_path / "killed"
        spec = RunSpec(out=out, runs=6, months=15, scenarios=["baseline", "third_special_school"], chunk_size=1,
                       progress=False, backend="dask", scheduler=cluster.scheduler_address)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                execute(spec)
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        runner = threading.Thread(target=run)
        runner.start()
        victim = None
        deadline = time.time() + 120
        while victim is None and time.time() < deadline and runner.is_alive():
            busy = [worker for worker, keys in client.processing().items() if keys]
            if busy:
                victim = busy[0]
                os.kill(pids[victim], signal.SIGKILL)  # mid-task: it holds a task right now
            else:
                time.sleep(0.01)
        runner.join(timeout=600)
        assert not errors, errors
        assert victim is not None, "no task was seen running on a worker"
    assert_same_tables(local_reference, out)


def test_resumed_dask_run_equals_an_uninterrupted_one(local_reference, tmp_path):
    out = tmp_path / "resumed"
    command = [sys.executable, "-m", "sendsim", "run", *COMMON, "--chunk-size", "1", "--backend", "dask",
               "--workers", "2", "--out", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    markers = out / ".partial" / "_chunks" / "baseline"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if markers.exists() and len(list(markers.glob("*.done"))) >= 2:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the run and its local cluster's workers
    process.wait()
    assert not (out / "manifest.json").exists(), "the run finished before it could be interrupted"
    assert main(["run", *COMMON, "--chunk-size", "1", "--backend", "dask", "--workers", "2", "--out", str(out),
                 "--resume"]) == 0
    assert_same_tables(local_reference, out)
