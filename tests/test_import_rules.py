"""The house rules on imports, enforced.

- simcore imports only numpy, numba and the standard library;
- inputs, outputs and calibration build on simcore (and each other as listed), never on the
  command line (sendsim), tests or benchmarks;
- nothing imports sendsim except sendsim itself; nothing imports tests or benchmarks except
  tests and benchmarks.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)
THIRD_PARTY_CORE = {"numpy", "numba", "pandas", "pyarrow"}
PACKAGES = ("simcore", "inputs", "outputs", "calibration", "sendsim", "benchmarks", "tests")

# package -> the top-level modules it may import besides the standard library
ALLOWED = {
    "simcore": {"numpy", "numba", "simcore"},
    "inputs": THIRD_PARTY_CORE | {"simcore", "inputs", "tomllib"},
    "outputs": THIRD_PARTY_CORE | {"simcore", "inputs", "outputs", "matplotlib", "openpyxl"},
    "calibration": THIRD_PARTY_CORE | {"simcore", "inputs", "outputs", "calibration", "scipy"},
    "sendsim": THIRD_PARTY_CORE | {"simcore", "inputs", "outputs", "calibration", "sendsim", "dask", "distributed"},
    # benchmarks run the command line only as a subprocess; they import the packages below it
    "benchmarks": THIRD_PARTY_CORE | {"simcore", "inputs", "outputs", "benchmarks", "pytest"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package):
    files = python_files(package)
    assert files, f"package {package} has no Python files"
    offences = []
    for path in files:
        for module in imported_modules(path):
            if module in STDLIB or module == "__future__":
                continue
            if module not in ALLOWED[package]:
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == [], "\n".join(offences)


def test_nothing_imports_tests_benchmarks_or_the_command_line():
    offences = []
    for package in ("simcore", "inputs", "outputs", "calibration", "sendsim"):
        for path in python_files(package):
            modules = imported_modules(path)
            for forbidden in ("tests", "benchmarks"):
                if forbidden in modules:
                    offences.append(f"{path.relative_to(ROOT)} imports {forbidden}")
            if package != "sendsim" and "sendsim" in modules:
                offences.append(f"{path.relative_to(ROOT)} imports sendsim")
    assert offences == [], "\n".join(offences)


def test_kernels_do_not_use_numba_global_random_or_fastmath():
    for path in python_files("simcore"):
        text = path.read_text(encoding="utf-8")
        assert "np.random" not in text, f"{path.name} uses numpy's global generator"
        if path.name != "_jit.py":
            assert "fastmath" not in text and "numba.njit(" not in text and "@njit" not in text, (
                f"{path.name} sets numba options outside simcore/_jit.py")
