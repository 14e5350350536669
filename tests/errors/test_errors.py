"""Error snapshots: each case folder holds a bad input and the exact diagnostics expected.

A case is ``tests/errors/<case>/``: ``input/`` (the specs), optionally ``paths.txt`` (the paths to
analyse, one per line, relative to the case; default ``input``) and ``expected.txt`` (the rendered
diagnostics, file names relative to the case). Regenerate after a deliberate change with
``ODAHU_UPDATE_ERRORS=1 pytest tests/errors`` and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from compiler.diagnostics import render_text
from compiler.pipeline import analyse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASES = sorted(p.name for p in HERE.iterdir() if (p / "input").exists())
UPDATE = os.environ.get("ODAHU_UPDATE_ERRORS") == "1"


def rendered(case: Path) -> str:
    listing = case / "paths.txt"
    names = listing.read_text(encoding="utf-8").split() if listing.exists() else ["input"]
    calls = case / "calls.txt"
    jobs = frozenset(calls.read_text(encoding="utf-8").split()) if calls.exists() else frozenset()
    _, diags, sources = analyse([str(case / name) for name in names], for_cluster=True, calls=jobs)
    return render_text(diags, sources).replace(f"{case}/", "")


@pytest.mark.parametrize("name", CASES)
def test_error_case(name: str) -> None:
    case = HERE / name
    text = rendered(case)
    expected = case / "expected.txt"
    if UPDATE:
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")
    # The case's name says which code it is about.
    code = name.split("-", 1)[0].upper()
    assert f"[{code}]" in text


def test_enough_cases() -> None:
    assert len(CASES) >= 30


def test_every_documented_code_has_a_case_and_every_emitted_code_is_documented() -> None:
    documented = set(re.findall(r"^\| ([EW]\d{3}) \|", (ROOT / "docs" / "diagnostics.md").read_text(), re.M))
    covered = {
        code
        for name in CASES
        for code in re.findall(r"\[([EW]\d{3})\]", (HERE / name / "expected.txt").read_text())
    }
    front_end = ("load", "validate", "resolve", "resolve_access", "checks", "translate")
    emitted = {
        code
        for module in front_end
        for code in re.findall(r'"([EW][1-3]\d\d)"', (ROOT / "compiler/front" / f"{module}.py").read_text())
    }
    assert emitted <= documented
    assert documented - covered == set()


def test_diagnostics_name_a_line_unless_they_are_about_a_whole_file() -> None:
    for name in CASES:
        for line in (HERE / name / "expected.txt").read_text().splitlines():
            match = re.match(r"^(\S+?)(:\d+:\d+)?: (error|warning)\[([EW]\d{3})\]", line)
            if match and match.group(4) not in ("E101", "W101", "W102"):
                assert match.group(2), line
