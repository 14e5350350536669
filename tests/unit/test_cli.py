"""The CLI in-process: exit codes 0 / 1 and the JSON format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def test_validate_examples_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: ")
    assert err == ""


@pytest.mark.parametrize("name", ["s3", "gcs", "azure", "tarball-model", "baked-model", "odahu-api"])
def test_cluster_examples_need_no_local_permission(name: str) -> None:
    assert main(["validate", str(EXAMPLES / name)]) == 0


def test_multiplier_connection_is_local_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = EXAMPLES / "multiplier" / "specs"
    without_settings = [str(p) for p in sorted(specs.glob("*.yaml")) if p.name != "settings.yaml"]
    assert main(["validate", *without_settings]) == 1
    assert "error[E304]" in capsys.readouterr().err
    assert main(["validate", "--local", *without_settings]) == 0


def test_errors_exit_1_with_located_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: Connection\nid: c\nspec:\n  type: s4\n  uri: s3://b\n", encoding="utf-8")
    assert main(["validate", str(spec)]) == 1
    _, err = capsys.readouterr()
    assert f"{spec}:4:9: error[E206]: spec.type: expected one of 's3', 'gcs', 'azureblob', 'local'" in err
    assert "    4 |   type: s4\n      |         ^^\n" in err
    assert "hint: did you mean 's3'?" in err
    assert err.endswith("odahu-batch: 1 error\n")


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    text = "kind: Connection\nid: c\nspec:\n  type: s3\n  uri: s3://b\n  keySecret: x\n"
    spec.write_text(text, encoding="utf-8")
    assert main(["validate", "--format", "json", str(spec)]) == 1
    out, _ = capsys.readouterr()
    [record] = json.loads(out)
    assert record["code"] == "E207"
    assert (record["file"], record["line"], record["col"]) == (str(spec), 6, 3)
    assert record["field"] == "spec.keySecret"
    assert record["severity"] == "error"


def test_json_format_clean_is_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(EXAMPLES / "s3")]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_missing_path_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "error[E101]" in capsys.readouterr().err
