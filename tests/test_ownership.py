"""Nothing the user owns is ever deleted: sendsim removes only files its own records say it
wrote, never through a symbolic link, never an input of the current run; a folder it did not
make is refused by name. Inside the scratch folder ``.partial`` sendsim trusts only records that
prove themselves (a ledger headed by the folder identity, a lock file holding it) and refuses,
before changing anything, to work beside an entry it cannot show it made.

The property tests run ``sendsim run --overwrite``, ``sendsim run --resume`` and ``sendsim
report`` on folders holding content sendsim did not write (alone, or mixed into a finished run)
and check that every such file is left byte-identical. ``SENDSIM_FUZZ_EXAMPLES`` sets the
number of examples (the suite's default keeps it to seconds; the robustness figures in
docs/robustness.md were measured with 1,500).
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendsim.cli import main
from sendsim.outputs.store import MARKER, PARTIAL, OutputError, OutputStore, claim_report_folder, read_marker

EXAMPLES = int(os.environ.get("SENDSIM_FUZZ_EXAMPLES", "10"))
# A run short enough to be cheap but with a complete financial year (so it has money outputs
# and a report can be made of it).
RUN = ["--runs", "1", "--months", "15", "--quiet", "--no-flows", "--no-draws"]
# Names a user's files might have, including every name sendsim itself uses.
NAMES = st.sampled_from(["manifest.json", PARTIAL, "stock", "cost", "deficit", "scenario=baseline",
                         "runs-000000-000000.parquet", "summary.parquet", "report", "report.html", "_ledger",
                         "_chunks", "_run.json", "_lock", "notes.txt", "data.csv", ".git", "x"])
PATHS = st.lists(st.one_of(NAMES, st.text("abcdefgh_.-0123456789", min_size=1, max_size=8)
                           .filter(lambda n: n not in (".", ".."))), min_size=1, max_size=4)
CONTENT = st.lists(st.tuples(PATHS, st.binary(max_size=64)), min_size=1, max_size=8)


def quiet_main(arguments: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(arguments)


def plant(root: Path, content: list[tuple[list[str], bytes]]) -> dict[Path, bytes]:
    """Write the user's files under ``root`` where they fit beside what is there; returns them."""
    planted: dict[Path, bytes] = {}
    for parts, data in content:
        path = root.joinpath(*parts)
        try:
            if path.exists() or any(p.is_file() or p.is_symlink() for p in path.parents if root in p.parents):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError:  # a name clashes with a file of the same name on the way: skip it
            continue
        planted[path] = data
    return planted


def snapshot(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under ``root`` (not following links): its kind and, for files, its bytes."""
    out = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                out[relative] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                out[relative] = ("dir", b"")
            else:
                out[relative] = ("file", path.read_bytes())
    return out


def assert_untouched(planted: dict[Path, bytes]) -> None:
    for path, data in planted.items():
        assert path.is_file() and not path.is_symlink(), f"{path} was removed"
        assert path.read_bytes() == data, f"{path} was changed"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(content=CONTENT)
def test_a_folder_sendsim_did_not_make_is_left_exactly_as_it_was(tmp_path_factory, content):
    out = tmp_path_factory.mktemp("foreign") / "out"
    out.mkdir()
    plant(out, content)
    before = snapshot(out)
    if not before:
        return
    assert quiet_main(["run", *RUN, "--out", str(out), "--overwrite"]) == 2
    assert quiet_main(["run", *RUN, "--out", str(out), "--resume"]) == 2
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 2
    assert quiet_main(["report", str(out)]) == 2
    assert snapshot(out) == before


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "out"
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    assert quiet_main(["report", str(out)]) == 0
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(content=CONTENT)
def test_files_put_into_a_sendsim_folder_survive_overwrite_resume_and_report(tmp_path_factory, finished_run,
                                                                            content):
    out = tmp_path_factory.mktemp("mixed") / "out"
    shutil.copytree(finished_run, out, symlinks=True)
    planted = plant(out, content)
    assert quiet_main(["run", *RUN, "--out", str(out), "--resume"]) == 2  # complete already
    assert_untouched(planted)
    code = quiet_main(["run", *RUN, "--out", str(out), "--overwrite"])
    assert_untouched(planted)
    # It may refuse (a user's file sits where a table must go) but then says so and writes nothing over it.
    assert code in (0, 2)
    if code == 0:
        assert (out / "manifest.json").is_file()
        code = quiet_main(["report", str(out)])
        assert code in (0, 2)
        assert_untouched(planted)


def test_a_scratch_folder_that_is_a_link_is_neither_emptied_nor_locked(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    out = tmp_path / "out"
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    os.symlink(elsewhere, out / PARTIAL)
    before = snapshot(elsewhere)
    assert quiet_main(["run", *RUN, "--out", str(out), "--overwrite"]) == 2
    assert quiet_main(["run", *RUN, "--out", str(out), "--resume"]) == 2
    assert snapshot(elsewhere) == before and not (elsewhere / "_lock").exists()


def test_a_table_folder_that_is_a_link_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    out = tmp_path / "out"
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    shutil.move(out / "stock", elsewhere)  # the user moved the stock table away and left a link
    os.symlink(elsewhere, out / "stock")
    before = snapshot(elsewhere)
    assert quiet_main(["run", *RUN, "--out", str(out), "--overwrite"]) == 2  # cannot write its table through it
    assert snapshot(elsewhere) == before


def test_an_input_kept_in_the_output_folder_is_read_and_kept(tmp_path):
    out = tmp_path / "out"
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    rows = out / "my_parameters.csv"
    rows.write_text("parameter,date,age,need,placement,to,transfer,reason,value,source,note\n"
                    "p_assess,,,,,,,,0.5,assumption: a test,\n", encoding="utf-8")
    before = rows.read_bytes()
    assert quiet_main(["run", *RUN, "--out", str(out), "--overwrite", "--params", str(rows)]) == 0
    assert rows.read_bytes() == before


def test_an_input_sendsim_wrote_is_not_removed_by_replacing_the_run(tmp_path):
    out = tmp_path / "out"
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    cohort_like = out / "summary.parquet"  # a file the run wrote, given back as an input
    store_inputs = [cohort_like]
    with pytest.raises(OutputError, match="is an input of this run"):
        OutputStore(out, overwrite=True, identity={}, inputs=store_inputs)
    assert cohort_like.is_file()


def test_an_empty_folder_is_adopted_and_marked(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    marker = read_marker(out)
    assert marker is not None and "manifest.json" in marker["files"]
    assert not (out / PARTIAL).exists()


def test_a_damaged_marker_refuses_everything(tmp_path):
    out = tmp_path / "out"
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    (out / MARKER).write_text("{not json")
    before = snapshot(out)
    assert quiet_main(["run", *RUN, "--out", str(out), "--overwrite"]) == 2
    assert snapshot(out) == before


def test_report_refuses_a_folder_with_someone_elses_files(tmp_path):
    target = tmp_path / "slides"
    target.mkdir()
    (target / "report.html").write_text("the board's own page")
    with pytest.raises(OutputError, match="holds files sendsim did not write"):
        claim_report_folder(target, ["report.html"])
    assert (target / "report.html").read_text() == "the board's own page"


# ---- The scratch folder: only what sendsim can show it made ------------------------------------------------
# Regressions found by fuzzing (1,500 examples): a user's things planted inside the ".partial" of a
# finished run, then `run --resume` (refused: complete) and `run --overwrite`.
def run_cli(arguments: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(arguments)
    return code, err.getvalue()


def refused_in_one_line(arguments: list[str], message: str) -> None:
    code, err = run_cli(arguments)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0], err


def finished_copy(finished_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(finished_run, out, symlinks=True)
    return out


def test_a_run_description_and_a_folder_named_like_its_temporary_file_survive(finished_run, tmp_path):
    out = finished_copy(finished_run, tmp_path)
    planted = plant(out, [([PARTIAL, "_run.json"], b"mine"), ([PARTIAL, "_run.json.tmp", "x"], b"also mine")])
    refused_in_one_line(["run", *RUN, "--out", str(out), "--resume"], "is already complete")
    refused_in_one_line(["run", *RUN, "--out", str(out), "--overwrite"], "which sendsim did not write")
    assert_untouched(planted)
    assert sorted(os.listdir(out / PARTIAL)) == ["_run.json", "_run.json.tmp"]  # no lock or ledger left behind


def test_a_folder_named_like_the_ledger_survives(finished_run, tmp_path):
    out = finished_copy(finished_run, tmp_path)
    planted = plant(out, [([PARTIAL, "_ledger", "notes.txt"], b"mine")])
    refused_in_one_line(["run", *RUN, "--out", str(out), "--resume"], "is already complete")
    refused_in_one_line(["run", *RUN, "--out", str(out), "--overwrite"], "is not a ledger sendsim can show it wrote")
    assert_untouched(planted)


def test_a_file_named_like_the_run_description_survives_overwrite(finished_run, tmp_path):
    out = finished_copy(finished_run, tmp_path)
    planted = plant(out, [([PARTIAL, "_run.json"], b"")])
    before = snapshot(out)
    refused_in_one_line(["run", *RUN, "--out", str(out), "--resume"], "is already complete")
    refused_in_one_line(["run", *RUN, "--out", str(out), "--overwrite"], "'_run.json', which sendsim did not write")
    assert_untouched(planted)
    assert snapshot(out) == before  # refused before anything was changed: the finished run is intact too


def test_a_file_named_like_the_lock_is_neither_opened_for_writing_nor_removed(finished_run, tmp_path):
    out = finished_copy(finished_run, tmp_path)
    planted = plant(out, [([PARTIAL, "_lock"], b"")])
    refused_in_one_line(["run", *RUN, "--out", str(out), "--resume"], "is already complete")
    refused_in_one_line(["run", *RUN, "--out", str(out), "--overwrite"], "is not the lock file sendsim made")
    assert_untouched(planted)
    assert os.listdir(out / PARTIAL) == ["_lock"]


def test_a_ledger_someone_else_wrote_is_not_trusted_to_name_files(finished_run, tmp_path):
    out = finished_copy(finished_run, tmp_path)
    # A "ledger" naming the user's own files, in and out of .partial, in the format earlier
    # versions used (no header): trusted, it would have them removed.
    planted = plant(out, [(["notes.txt"], b"mine"), ([PARTIAL, "mine.csv"], b"a,b"),
                          (["stock", "baseline", "runs-000009-000009.parquet"], b"not a table"),
                          ([PARTIAL, "_ledger"], b"notes.txt\n.partial/mine.csv\n"
                                                 b".partial/stock/baseline/runs-000009-000009.parquet\n")])
    for arguments, message in ((["--resume"], "is already complete"),
                               (["--overwrite"], "is not a ledger sendsim can show it wrote"),
                               (["--overwrite"], "remove"), ([], "pass --overwrite")):
        refused_in_one_line(["run", *RUN, "--out", str(out), *arguments], message)
        assert_untouched(planted)
    assert quiet_main(["report", str(out)]) == 2  # the user's file among the tables is read, and refused
    assert_untouched(planted)


def test_an_earlier_versions_ledger_is_refused_with_what_to_do(tmp_path):
    out = tmp_path / "out"
    store = OutputStore(out, identity={"seed": 1})
    ledger = out / PARTIAL / "_ledger"
    ledger.write_bytes(b"".join(line + b"\n" for line in ledger.read_bytes().splitlines()[1:]))  # no header
    store.close()
    before = snapshot(out)
    for options in ({"resume": True}, {"overwrite": True}):
        with pytest.raises(OutputError, match=r"earlier sendsim version.*remove .*\.partial yourself"):
            OutputStore(out, identity={"seed": 1}, **options)
    assert snapshot(out) == before
    shutil.rmtree(out / PARTIAL)  # what the message asks for
    OutputStore(out, overwrite=True, identity={"seed": 1}).close()


def test_a_users_file_where_a_chunk_will_go_stops_the_resume(tmp_path):
    out = tmp_path / "out"
    OutputStore(out, identity={"seed": 1}).close()  # an unfinished run, no chunk written yet
    planted = plant(out, [([PARTIAL, "stock", "baseline", "runs-000000-000000.parquet"], b"mine")])
    with pytest.raises(OutputError, match=r"'stock', which sendsim did not write"):
        OutputStore(out, resume=True, identity={"seed": 1})
    with pytest.raises(OutputError, match=r"'stock', which sendsim did not write"):
        OutputStore(out, overwrite=True, identity={"seed": 1})
    assert_untouched(planted)


def test_a_stray_scratch_folder_is_tidied_only_by_its_own_records(tmp_path):
    out = tmp_path / "out"
    assert quiet_main(["run", *RUN, "--out", str(out)]) == 0
    # A run killed after its manifest: its scratch records are left (and the user adds a file).
    store = OutputStore.__new__(OutputStore)
    store.root, store.partial, store.folder_id = out, out / PARTIAL, read_marker(out)["folder_id"]
    (out / PARTIAL / "_chunks").mkdir(parents=True)
    (out / PARTIAL / "_ledger").write_text(f"# sendsim ledger of output folder {store.folder_id}\n"
                                           ".partial/_chunks/x.done\n", encoding="utf-8")
    (out / PARTIAL / "_chunks" / "x.done").write_bytes(b"")
    planted = plant(out, [([PARTIAL, "_chunks", "mine.txt"], b"mine")])
    code, err = run_cli(["run", *RUN, "--out", str(out), "--resume"])
    assert code == 2 and "already complete" in err and "left as they are" in err
    assert_untouched(planted)
    assert sorted(p.name for p in (out / PARTIAL).rglob("*")) == ["_chunks", "mine.txt"]


def test_a_lock_left_half_made_by_a_kill_does_not_block_the_next_run(tmp_path):
    out = tmp_path / "out"
    OutputStore(out, identity={"seed": 1}).close()
    folder_id = read_marker(out)["folder_id"]
    (out / PARTIAL / "_lock").unlink()
    leftover = out / PARTIAL / f"_lock.{folder_id}.{'0' * 32}.tmp"  # killed between writing and linking
    leftover.write_bytes(folder_id.encode()[:3])
    OutputStore(out, resume=True, identity={"seed": 1}).close()
    OutputStore(out, overwrite=True, identity={"seed": 1}).close()
    assert not leftover.exists() and (out / PARTIAL / "_lock").read_bytes() == folder_id.encode()
