"""The house rules on imports, enforced.

What pip installs lives under the ``sendsim`` name: each top-level folder of the repository is
a subsystem installed as ``sendsim.<folder>`` (``simcore/`` is ``sendsim.simcore``), and the
``sendsim/`` folder itself holds the command line. The rules:

- simcore imports only numpy, numba and the standard library;
- the money package imports neither inputs nor outputs (finance inputs and simulated spend
  in, yearly money tables out);
- inputs (reading) and outputs (writing) never import each other;
- the command line (the ``sendsim/`` folder) imports no third-party package: it parses
  options, calls the packages and prints;
- nothing imports the command line, tests or benchmarks (tests and benchmarks aside);
- every import of the project's own code goes through the ``sendsim`` name (a bare ``import
  inputs`` would load a second copy, or a user's ``inputs.py``).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)
CORE = {"numpy", "numba", "pandas", "pyarrow"}
SUBSYSTEMS = ("simcore", "inputs", "money", "outputs", "calibration", "api")
COMMAND_LINE = "sendsim"  # the modules of the sendsim/ folder

# folder -> what its modules may import besides the standard library (a subsystem is named
# "sendsim.<folder>", the command line "sendsim")
ALLOWED = {
    "simcore": {"numpy", "numba", "sendsim.simcore"},
    # the money model: pure (numpy and the engine's codes and calendar; no reading, no writing)
    "money": {"numpy", "sendsim.simcore", "sendsim.money"},
    # reading and validating: builds the engine's parameter sets and the money model's book
    "inputs": CORE | {"tomllib", "sendsim.simcore", "sendsim.money", "sendsim.inputs"},
    # writing and reporting: the money model's results into tables, charts and workbooks
    "outputs": CORE | {"matplotlib", "openpyxl", "sendsim.simcore", "sendsim.money", "sendsim.outputs"},
    "calibration": CORE | {"scipy", "sendsim.simcore", "sendsim.inputs", "sendsim.money", "sendsim.outputs",
                           "sendsim.calibration"},
    # a run, one way: inputs (resolved once), the engine, the money model, the outputs
    "api": CORE | {"dask", "distributed", "sendsim.simcore", "sendsim.inputs", "sendsim.money", "sendsim.outputs",
                   "sendsim.api"},
    # the command line parses options, calls the packages and prints
    "sendsim": {"sendsim.simcore", "sendsim.inputs", "sendsim.money", "sendsim.outputs", "sendsim.calibration",
                "sendsim.api", COMMAND_LINE},
    # benchmarks run the command line only as a subprocess; they import the packages below it
    "benchmarks": CORE | {"pytest", "sendsim.simcore", "sendsim.inputs", "sendsim.money", "sendsim.outputs",
                          "sendsim.api", "benchmarks"},
}


def _owner(module: str) -> str:
    """The unit an imported module belongs to: a subsystem ``sendsim.<name>``, the command line
    ``sendsim``, or the top-level name of anything else."""
    parts = module.split(".")
    if parts[0] == "sendsim":
        return f"sendsim.{parts[1]}" if len(parts) > 1 and parts[1] in SUBSYSTEMS else COMMAND_LINE
    return parts[0]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(_owner(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "sendsim":  # from sendsim import simcore, ...
                names.update(_owner(f"sendsim.{alias.name}") for alias in node.names)
            else:
                names.add(_owner(node.module))
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_folder_imports_only_what_it_may(folder):
    files = python_files(folder)
    assert files, f"folder {folder} has no Python files"
    offences = []
    for path in files:
        for module in imported_modules(path):
            if module in STDLIB or module == "__future__":
                continue
            if module not in ALLOWED[folder]:
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == [], "\n".join(offences)


@pytest.mark.parametrize("folder", sorted(ALLOWED) + ["tests"])
def test_project_code_is_imported_through_the_sendsim_name(folder):
    offences = []
    for path in python_files(folder):
        for module in imported_modules(path):
            if module in SUBSYSTEMS:
                offences.append(f"{path.relative_to(ROOT)} imports {module} (use sendsim.{module})")
    assert offences == [], "\n".join(offences)


def test_nothing_imports_tests_benchmarks_or_the_command_line():
    offences = []
    for folder in SUBSYSTEMS + (COMMAND_LINE,):
        for path in python_files(folder):
            modules = imported_modules(path)
            for forbidden in ("tests", "benchmarks"):
                if forbidden in modules:
                    offences.append(f"{path.relative_to(ROOT)} imports {forbidden}")
            if folder != COMMAND_LINE and COMMAND_LINE in modules:
                offences.append(f"{path.relative_to(ROOT)} imports the command line")
    assert offences == [], "\n".join(offences)


def test_kernels_do_not_use_numba_global_random_or_fastmath():
    for path in python_files("simcore"):
        text = path.read_text(encoding="utf-8")
        assert "np.random" not in text, f"{path.name} uses numpy's global generator"
        if path.name != "_jit.py":
            assert "fastmath" not in text and "numba.njit(" not in text and "@njit" not in text, (
                f"{path.name} sets numba options outside simcore/_jit.py")
