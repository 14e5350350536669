"""``odahu-batch compile``'s CI and GitOps faces: ``--check`` reports, ``--format github``, ``--out -``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from compiler.cli import EXIT_USAGE, main
from compiler.diagnostics import Diagnostic, Location, render_github

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BUILD = ROOT / "build"


@pytest.fixture
def stale_tree(tmp_path: Path) -> Path:
    """The committed tree with one file missing, one changed and one extra."""
    tree = tmp_path / "deploy"
    shutil.copytree(BUILD, tree)
    (tree / "odahu-batch" / "task" / "multiplier.yaml").unlink()
    with open(tree / "odahu-batch" / "task" / "ranker.yaml", "a", encoding="utf-8") as handle:
        handle.write("# edited by hand\n")
    (tree / "odahu-batch" / "task" / "leftover.yaml").write_text("kind: Task\n", encoding="utf-8")
    return tree


def test_check_json_lists_each_file(stale_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLES), "--out", str(stale_tree), "--check", "--format", "json"]) == 1
    out, err = capsys.readouterr()
    records = json.loads(out)["diagnostics"]
    got = {
        (r["code"], Path(r["file"]).relative_to(stale_tree).as_posix(), r["message"].split(":")[0])
        for r in records
    }
    assert got == {
        ("E503", "odahu-batch/task/multiplier.yaml", "missing"),
        ("E503", "odahu-batch/task/ranker.yaml", "stale"),
        ("E503", "odahu-batch/task/leftover.yaml", "extra"),
    }
    assert "out of date (1 added, 1 changed, 1 removed)" in err
    assert (stale_tree / "odahu-batch" / "task" / "leftover.yaml").exists()  # --check writes nothing


def test_check_json_clean_tree_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLES), "--out", str(BUILD), "--check", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["diagnostics"] == []
    assert printed["prerequisites"]["namespaces"] == ["odahu-batch"]


def test_check_github_annotations(stale_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLES), "--out", str(stale_tree), "--check", "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        f"::error file={stale_tree}/odahu-batch/task/multiplier.yaml,title=E503::missing"
    )


def test_github_annotations_for_spec_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: Connection\nid: c\nspec:\n  type: s4\n  uri: s3://b\n", encoding="utf-8")
    assert main(["compile", str(spec), "--out", str(tmp_path / "out"), "--format", "github"]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(
        f"::error file={spec},line=4,col=9,endColumn=11,title=E206::spec.type: expected one of"
    )
    assert "%0Ahint: did you mean 's3'?" in line
    assert not (tmp_path / "out").exists()


def test_github_escaping() -> None:
    diag = Diagnostic("W101", "50% done\nnext", Location("a,b:c.yaml", 1, 2), severity="warning")
    assert (
        render_github([diag]) == "::warning file=a%2Cb%3Ac.yaml,line=1,col=2,title=W101::50%25 done%0Anext\n"
    )


def test_out_dash_streams_the_tree_in_its_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLES), "--out", "-"]) == 0
    out = capsys.readouterr().out
    streamed = [d for d in yaml.safe_load_all(out) if d is not None]
    listed = yaml.safe_load((BUILD / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    committed = [yaml.safe_load((BUILD / rel).read_text(encoding="utf-8")) for rel in listed]
    assert streamed == committed
    assert not Path("-").exists()


def test_out_dash_with_check_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLES), "--out", "-", "--check"]) == EXIT_USAGE
    assert "--check" in capsys.readouterr().err


def test_out_dash_spec_errors_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: Nope\n", encoding="utf-8")
    assert main(["compile", str(spec), "--out", "-"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "error[E201]" in err


def test_validate_speaks_github_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: InferenceJob\nid: j\nspec: {inferenceServiceId: nope}\n", encoding="utf-8")
    assert main(["validate", str(spec), "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"::error file={spec},line=")
    assert ",title=E30" in out
