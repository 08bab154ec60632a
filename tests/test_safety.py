"""Safety: nothing read from disk is unpickled or evaluated; scenario names cannot escape the
output folder; `sendsim run` writes only under --out.

- A static check of every module of the packages (AST): no pickle-family imports, no
  ``eval``/``exec``/``compile``/``__import__``, ``np.load`` only with ``allow_pickle=False``, no
  ``read_pickle``, no shell commands, dynamic imports only where the CLI discovers its own
  command modules.
- Scenario names: the check used wherever a name becomes a folder rejects ``..``, separators,
  hidden names, control characters and over-long names, and ``sendsim run`` stops on them
  before creating anything.
- Writes: a real ``sendsim run`` in a child process with an audit hook (``sys.addaudithook``)
  that records every file opened for writing, created, renamed or removed; every such path
  must lie under ``--out`` (or be Python's or numba's compiled-code cache, ``__pycache__``),
  and the working folder, HOME and TMPDIR must stay empty.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sendsim.cli import main
from sendsim.outputs.store import OutputError, OutputStore, check_scenario_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("simcore", "inputs", "outputs", "calibration", "sendsim", "benchmarks")
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal", "joblib", "yaml"}
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__"}
# The command line finds its subcommands by the file names of its own package.
DYNAMIC_IMPORT_ALLOWED = {"sendsim/cli.py"}


def _call_name(node: ast.Call) -> str:
    function = node.func
    parts = []
    while isinstance(function, ast.Attribute):
        parts.append(function.attr)
        function = function.value
    if isinstance(function, ast.Name):
        parts.append(function.id)
    return ".".join(reversed(parts))


def offences_in(path: Path) -> list[str]:
    """Unsafe constructs in one source file."""
    relative = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
    found = []
    for node in ast.walk(tree):
        where = f"{relative}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{where} imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"{where} imports from {node.module}")
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            last = name.rsplit(".", 1)[-1]
            keywords = {k.arg: k.value for k in node.keywords}
            if name in FORBIDDEN_BUILTINS:
                found.append(f"{where} calls {name}()")
            elif name in ("np.load", "numpy.load"):
                flag = keywords.get("allow_pickle")
                if not (isinstance(flag, ast.Constant) and flag.value is False):
                    found.append(f"{where} calls {name} without allow_pickle=False")
            elif last in ("read_pickle", "unsafe_load", "load_pickle"):
                found.append(f"{where} calls {name}()")
            elif name in ("os.system", "os.popen") or name.startswith("os.exec") or name.startswith("os.spawn"):
                found.append(f"{where} runs a shell command via {name}()")
            elif name.startswith("subprocess.") and isinstance(keywords.get("shell"), ast.Constant) \
                    and keywords["shell"].value:
                found.append(f"{where} runs {name}(shell=True)")
            elif name in ("importlib.import_module", "import_module") and relative not in DYNAMIC_IMPORT_ALLOWED:
                found.append(f"{where} imports a module by name")
    return found


def test_no_pickle_eval_or_shell_on_anything_read():
    files = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 20
    offences = [o for path in files for o in offences_in(path)]
    assert offences == [], "\n".join(offences)


def test_the_static_check_finds_what_it_looks_for(tmp_path, monkeypatch):
    # The check itself must be able to fail: a file with every forbidden construct.
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\nfrom yaml import load\nimport numpy as np\nimport importlib\nimport subprocess\n"
                   "x = eval('1')\nexec('y = 2')\nnp.load('a.npy')\nnp.load('a.npy', allow_pickle=True)\n"
                   "import pandas as pd\npd.read_pickle('f')\nimportlib.import_module(x)\n"
                   "subprocess.run('ls', shell=True)\nimport os\nos.system('ls')\n", encoding="utf-8")
    found = offences_in(bad)
    for fragment in ("imports pickle", "imports from yaml", "calls eval()", "calls exec()",
                     "np.load without allow_pickle=False", "calls pd.read_pickle()", "imports a module by name",
                     "shell=True", "os.system"):
        assert any(fragment in o for o in found), fragment
    assert sum("np.load" in o for o in found) == 2


@pytest.mark.parametrize("name", ["..", "../escape", "a/../../b", "a/b", "a\\b", "/etc", "C:evil", ".hidden",
                                  "-flag", "", "a..b", "x" * 65, "new\nline", "tab\there", "space name",
                                  "naïve", "scenario=x", "nul\x00byte"])
def test_unsafe_scenario_names_are_rejected(name):
    with pytest.raises(OutputError, match="is not allowed"):
        check_scenario_name(name)


@pytest.mark.parametrize("name", ["baseline", "third_special_school", "s1.v2-final", "A" * 64])
def test_plain_scenario_names_are_accepted(name):
    assert check_scenario_name(name) == name


def test_store_checks_the_name_where_it_builds_a_path(tmp_path):
    store = OutputStore(tmp_path / "out")
    with pytest.raises(OutputError, match="is not allowed"):
        store.write_chunk("../escape", 0, 0, {})
    with pytest.raises(OutputError, match="is not allowed"):
        store.chunk_done("a/b", 0, 0)
    assert not (tmp_path / "escape").exists()


def test_run_with_an_unsafe_scenario_name_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # --scenario takes a built-in name or a TOML file: a path that is neither is refused...
    assert main(["run", "--scenario", "../escape", "--out", "out", "--runs", "1", "--quiet"]) == 2
    assert "../escape: scenario file not found" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    # ...and a scenario file whose name would escape the output folder too.
    (tmp_path / "evil.toml").write_text('name = "../escape"\n')
    assert main(["run", "--scenario", "evil.toml", "--out", "out", "--runs", "1", "--quiet"]) == 2
    assert "letters, digits" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.toml"]


# Runs `sendsim run` under an audit hook that records every path written, created, renamed or
# removed (resolving names relative to a directory descriptor, as shutil.rmtree uses them).
AUDIT_RUNNER = r'''
import json, os, sys
events = []
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
busy = False
# Audit events that change a path, and which argument is the directory descriptor it is relative to.
DIR_FD_ARGUMENT = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 2, "os.chmod": 2, "os.chown": 3, "os.utime": 3,
                   "os.truncate": None}

def resolve(path, dir_fd=None):
    path = os.fsdecode(path)
    if os.path.isabs(path):
        return os.path.normpath(path)
    # A directory descriptor of -1 (or None) means "relative to the working folder".
    base = os.readlink(f"/proc/self/fd/{dir_fd}") if isinstance(dir_fd, int) and dir_fd >= 0 else os.getcwd()
    return os.path.normpath(os.path.join(base, path))

def hook(event, args):
    global busy
    if busy:
        return
    busy = True
    try:
        if event == "open":
            path, mode, flags = args
            if path is not None and not isinstance(path, int):
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    mode is None and isinstance(flags, int) and flags & WRITE_FLAGS)
                if writing:
                    events.append([event, resolve(path)])
        elif event in ("os.rename", "os.replace", "os.link", "os.symlink"):
            events.append([event, resolve(args[0], args[2] if len(args) > 2 else None)])
            events.append([event, resolve(args[1], args[3] if len(args) > 3 else None)])
        elif event in DIR_FD_ARGUMENT:
            if not isinstance(args[0], int):
                position = DIR_FD_ARGUMENT[event]
                events.append([event, resolve(args[0], None if position is None else args[position])])
        elif event in ("shutil.rmtree", "shutil.copyfile", "shutil.copytree", "shutil.move"):
            events.append([event, resolve(args[-1] if event != "shutil.rmtree" else args[0])])
        elif event == "subprocess.Popen":
            events.append([event, " ".join(map(str, args[1] or [args[0]]))])
    except Exception as error:
        events.append(["hook-error", f"{event} {args!r}: {error!r}"])
    finally:
        busy = False

sys.addaudithook(hook)
from sendsim.cli import main
code = main(sys.argv[1:])
print("AUDIT-JSON " + json.dumps({"code": code, "events": events}))
'''
# Commands the run starts: the manifest records the git commit and the platform.
READ_ONLY_COMMANDS = ("git rev-parse HEAD", "git --no-optional-locks status --porcelain --untracked-files=no",
                      "uname -p")


def test_run_writes_only_under_out(tmp_path):
    work, home, scratch = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for folder in (work, home, scratch):
        folder.mkdir()
    (work / "runner.py").write_text(AUDIT_RUNNER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(home), TMPDIR=str(scratch),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               MPLCONFIGDIR=str(home / "mpl"))
    result = subprocess.run([sys.executable, "runner.py", "run", "--runs", "2", "--months", "15", "--out", "out",
                             "--quiet"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("AUDIT-JSON ")]
    assert result.returncode == 0 and len(lines) == 1, result.stderr
    report = json.loads(lines[0][len("AUDIT-JSON "):])
    assert report["code"] == 0
    out = str((work / "out").resolve())
    outside = []
    for event, path in report["events"]:
        if event == "subprocess.Popen":
            if path not in READ_ONLY_COMMANDS:
                outside.append(f"{event}: {path}")
            continue
        inside = path == out or path.startswith(out + os.sep)
        cache = "__pycache__" in Path(path).parts
        if not (inside or cache or path == os.devnull):
            outside.append(f"{event}: {path}")
    assert outside == [], "\n".join(outside)
    # (os.replace raises the audit event "os.rename")
    assert any(event == "os.rename" and path.startswith(out) for event, path in report["events"])
    assert sorted(p.name for p in work.iterdir()) == ["out", "runner.py"]
    assert list(home.iterdir()) == [] and list(scratch.iterdir()) == []
    assert (work / "out" / "manifest.json").exists()
