"""Compare two output folders table by table: the same files, columns, dtypes and values.

``python -m benchmarks.compare_outputs BEFORE AFTER`` reads every Parquet table of both
folders (partitioned tables as datasets, single files as they are), sorts the rows by every
column but the values, and compares them with pandas ``assert_frame_equal`` (exact: dtypes,
categories, values). A speed change to the writers must leave the table contract as it was:
run the same configuration before and after it and compare. Exits 1 and names the first
difference of each table that differs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from sendsim.outputs.store import MANIFEST, MARKER


def parquet_files(root: Path) -> list[str]:
    """Every Parquet file under ``root``, relative, sorted (the ownership marker and manifest aside)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet") if p.name not in (MARKER, MANIFEST))


def tables(root: Path) -> dict[str, list[str]]:
    """Table name -> its files: a partitioned table (a folder of files) or a single file."""
    out: dict[str, list[str]] = {}
    for relative in parquet_files(root):
        out.setdefault(relative.split("/", 1)[0], []).append(relative)
    return out


def read(root: Path, files: list[str]) -> pd.DataFrame:
    frames = [pq.read_table(root / f).to_pandas() for f in files]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    # Categorical columns of several files: union their categories the same way on both sides.
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str).astype(pd.CategoricalDtype(
                sorted(set(frame[column].cat.categories.astype(str)))))
    return frame


def sorted_frame(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    return frame.sort_values(keys or list(frame.columns), kind="stable").reset_index(drop=True)


def compare(before: Path, after: Path) -> list[str]:
    """The differences between two output folders (empty: the same tables)."""
    problems = []
    a, b = tables(before), tables(after)
    if sorted(a) != sorted(b):
        problems.append(f"tables differ: {sorted(set(a) ^ set(b))}")
    for name in sorted(set(a) & set(b)):
        if a[name] != b[name]:
            problems.append(f"{name}: files differ: {sorted(set(a[name]) ^ set(b[name]))[:5]}")
            continue
        for files in ([f] for f in a[name]):
            left, right = read(before, files), read(after, files)
            schema_a, schema_b = pq.read_schema(before / files[0]), pq.read_schema(after / files[0])
            if not schema_a.remove_metadata().equals(schema_b.remove_metadata()):
                problems.append(f"{files[0]}: Arrow schema differs:\n{schema_a}\n--\n{schema_b}")
                break
            try:
                pd.testing.assert_frame_equal(sorted_frame(left), sorted_frame(right), check_exact=True)
            except AssertionError as error:
                problems.append(f"{files[0]}: {str(error).splitlines()[0:6]}")
                break
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare_outputs", description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    problems = compare(args.before, args.after)
    for problem in problems:
        print(f"DIFFERS: {problem}", file=sys.stderr)
    n = sum(len(v) for v in tables(args.after).values())
    print(f"{n} Parquet files compared: " + ("the same tables" if not problems else f"{len(problems)} differ"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
