"""The Python API's example (docs/api.md) runs as written, and the README shows it."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def example(text: str) -> str:
    """The first Python code block after the heading '## Example'."""
    section = text[text.index("## Example"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/api.md has no python block under '## Example'"
    return match.group(1)


def test_the_api_example_runs_and_the_readme_shows_it(tmp_path, monkeypatch, capsys):
    code = example((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert code in (ROOT / "README.md").read_text(encoding="utf-8"), "the README must show docs/api.md's example"
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {"__name__": "__api_example__"})
    printed = capsys.readouterr().out
    assert "Accumulated DSG deficit at 31 March" in printed
    assert "prob_above" in printed and "third_special_school" in printed
    assert (tmp_path / "api-example-out" / "manifest.json").is_file()
