"""validate-output's ODAHU compatibility (``_odahu.py``): responses as ODAHU's example predictor writes them.

The response and request below are the files of odahu/odahu-examples 1.5.0, batch-inference/output/
response0.json and input/request.json (tests/data/odahu-examples, see PROVENANCE.md there).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .conftest import run_program

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "odahu-examples" / "batch-inference"
META = {"name": "multiplier", "version": "1"}


def _folders(tmp: Path, responses: dict[str, Any] | None = None) -> Path:
    (tmp / "requests").mkdir()
    shutil.copy(EXAMPLE / "input" / "request.json", tmp / "requests" / "request.json")
    (tmp / "raw").mkdir()
    if responses is None:
        shutil.copy(EXAMPLE / "output" / "response0.json", tmp / "raw" / "response0.json")
    for rel, body in (responses or {}).items():
        (tmp / "raw" / rel).write_text(json.dumps(body))
    (tmp / "model.json").write_text(json.dumps(META))
    return tmp


def _validate(tmp: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    args = ["response", str(tmp / "raw"), "--valid", str(tmp / "valid"), "--rejected", str(tmp / "rejected")]
    args += ["--requests", str(tmp / "requests"), "--require-one-per-request", "--require-matching-ids"]
    result = run_program("validate", [*args, *extra])
    return result.returncode, json.loads((tmp / "rejected" / "_report.json").read_text())


def _messages(report: dict[str, Any]) -> set[str]:
    return {w["message"] for entry in report.get("warnings", []) for w in entry["warnings"]}


def test_strict_responses_refuse_odahus_example_output(tmp_path: Path) -> None:
    code, report = _validate(_folders(tmp_path))
    assert code == 1
    assert report["files"][0]["errors"][0]["rule"] == "R6"
    assert report["missing"] == ["request.json"]


def test_odahu_responses_are_accepted_filled_and_paired_by_id(tmp_path: Path) -> None:
    code, report = _validate(
        _folders(tmp_path), "--odahu-responses", "--model-meta", str(tmp_path / "model.json")
    )
    assert code == 0, report
    assert report["valid"] == 1
    assert report["missing"] == []
    placed = json.loads((tmp_path / "valid" / "response0.json").read_text())
    original = json.loads((EXAMPLE / "output" / "response0.json").read_text())
    assert placed == {"model_name": "multiplier", "model_version": "1", **original}
    # The predictor's own file (hard-linked into the valid folder first) is left as it wrote it.
    assert json.loads((tmp_path / "raw" / "response0.json").read_text()) == original
    assert _messages(report) >= {
        "filled model_name 'multiplier', model_version '1' from the model",
        "paired with request request.json by id 'custom'",
        "no model_name: a strict V2 response carries the model's name (A16)",
    }


def test_pairing_falls_back_to_order_and_keeps_model_version(tmp_path: Path) -> None:
    body = {
        "id": "other",
        "model_version": "7",
        "outputs": [{"name": "y", "shape": [1], "datatype": "INT32", "data": [2]}],
    }
    _folders(tmp_path, {"response0.json": body})
    code, report = _validate(tmp_path, "--odahu-responses", "--model-name", "m", "--model-version", "2")
    assert code == 0, report
    assert json.loads((tmp_path / "valid" / "response0.json").read_text())["model_version"] == "7"
    assert (
        "paired with request request.json by order (a strict response has the request's file name)"
        in _messages(report)
    )


def test_a_response_too_many_is_not_paired_and_a_request_left_is_missing(tmp_path: Path) -> None:
    out = {"outputs": [{"name": "y", "shape": [1], "datatype": "INT32", "data": [2]}]}
    _folders(tmp_path, {"response0.json": out, "response1.json": out})
    code, report = _validate(tmp_path, "--odahu-responses", "--model-name", "m")
    assert code == 0
    assert report["missing"] == []
    (tmp_path / "raw" / "response0.json").unlink()
    (tmp_path / "raw" / "response1.json").unlink()
    shutil.rmtree(tmp_path / "valid")
    code, report = _validate(tmp_path, "--odahu-responses", "--model-name", "m")
    assert code == 1
    assert report["missing"] == ["request.json"]


def test_an_id_two_requests_share_pairs_by_order(tmp_path: Path) -> None:
    _folders(tmp_path, {"response0.json": {"id": "custom", "outputs": []}, "response1.json": {"outputs": []}})
    shutil.copy(tmp_path / "requests" / "request.json", tmp_path / "requests" / "request2.json")
    code, report = _validate(tmp_path, "--odahu-responses", "--model-name", "m")
    assert code == 0, report
    assert report["missing"] == []
    messages = _messages(report)
    assert (
        "paired with request request.json by order (a strict response has the request's file name)"
        in messages
    )
    assert (
        "paired with request request2.json by order (a strict response has the request's file name)"
        in messages
    )
