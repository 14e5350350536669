"""``odahu-batch init``: the starter project, its name, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.cli import main
from compiler.commands.init import project_name, starter_files


def test_starter_validates_and_compiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "Fraud_Scoring"
    assert main(["init", str(project)]) == 0
    assert "service 'fraud-scoring'" in capsys.readouterr().out
    assert main(["validate", str(project / "specs")]) == 0
    assert capsys.readouterr().out == "ok: 1 connections, 1 services, 1 jobs\n"
    assert main(["compile", str(project / "specs"), "--out", str(project / "deploy")]) == 0
    assert (project / "deploy" / "odahu-batch" / "task" / "fraud-scoring.yaml").is_file()
    assert (project / ".gitignore").read_text(encoding="utf-8").splitlines()[1:] == ["/runs/", "/output/"]


def test_every_placeholder_is_filled() -> None:
    for rel, text in starter_files("demo").items():
        assert "$name" not in text, rel
    assert "ODAHU_MODEL_INPUT" in starter_files("demo")["specs/service.yaml"]  # $$ is a literal $


@pytest.mark.parametrize(
    ("directory", "given", "expected"),
    [
        ("My Project", None, "my-project"),
        ("x", "scorer", "scorer"),
        ("x", "Bad_Name", None),
        ("___", None, None),
        ("x", "a" * 41, None),
    ],
)
def test_project_name(directory: str, given: str | None, expected: str | None) -> None:
    assert project_name(Path(directory), given) == expected


def test_refuses_a_folder_with_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 1
    assert "exists and is not an empty folder; nothing written" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_bad_name_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "p"), "--name", "No_Good"]) == 1
    assert "expected a DNS-1123 label" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_empty_folder_is_used(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    assert main(["init", str(target)]) == 0
    assert (target / "specs" / "job.yaml").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
