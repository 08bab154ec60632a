"""Run mypy over the project as it is imported: sendsim, sendsim.simcore, ..., and benchmarks.

The repository keeps one top-level folder per subsystem (simcore/, inputs/, ...) and pyproject's
[tool.setuptools.package-dir] installs them as sendsim.simcore, sendsim.inputs, ... An editable
install reaches them through an import hook, which mypy does not run, and mypy maps a file to a
module name by its folders only, so neither `mypy -p sendsim` nor `mypy simcore/` sees the code
under the names it imports. This script builds that layout as a tree of symbolic links
(.mypy_cache/linktree/sendsim/simcore -> simcore/, ..., read from package-dir so that the two
cannot drift apart), runs mypy there with pyproject's [tool.mypy], and prints the messages with
the repository's own paths (sendsim/simcore/kernel.py:12 becomes simcore/kernel.py:12).

Usage: python .ci/typecheck.py [extra mypy options]; the exit status is mypy's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / ".mypy_cache" / "linktree"
TOP_LEVEL = ["benchmarks"]  # checked under their own names (not installed; imported from the checkout)


def build_tree() -> dict[str, str]:
    """Make the link tree; return the prefixes to rewrite (tree path -> repository path)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    if TREE.exists():
        shutil.rmtree(TREE)
    TREE.mkdir(parents=True)
    rewrite: dict[str, str] = {}
    # The root package is a real folder holding links to its files, so that the subsystems can
    # sit beside them; longer names first so that the root's rewrite applies last.
    for name, folder in sorted(package_dir.items(), key=lambda item: -item[0].count(".")):
        target = TREE.joinpath(*name.split("."))
        source = ROOT / folder
        if name.count(".") == 0:
            target.mkdir(parents=True, exist_ok=True)
            for entry in source.iterdir():
                if entry.name != "__pycache__":
                    (target / entry.name).symlink_to(entry)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source, target_is_directory=True)
        rewrite[name.replace(".", "/") + "/"] = folder + "/"
    for name in TOP_LEVEL:
        (TREE / name).symlink_to(ROOT / name, target_is_directory=True)
    return rewrite


def main(argv: list[str]) -> int:
    rewrite = build_tree()
    packages = [arg for name in ["sendsim", *TOP_LEVEL] for arg in ("-p", name)]
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
               "--cache-dir", str(ROOT / ".mypy_cache"), *packages, *argv]
    result = subprocess.run(command, cwd=TREE, capture_output=True, text=True)
    pattern = re.compile("^(" + "|".join(re.escape(prefix) for prefix in rewrite) + ")", re.MULTILINE)
    for stream, text in ((sys.stdout, result.stdout), (sys.stderr, result.stderr)):
        stream.write(pattern.sub(lambda match: rewrite[match.group(1)], text))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
