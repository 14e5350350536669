"""_common: request ids, file walks, rclone error lines, model metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.runtime import _common as common


def test_request_id_flag_then_taskrun_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODAHU_RUN_UID", "uid-1")
    assert common.request_id("job-7") == "job-7"
    assert common.request_id("  ") == "uid-1"
    monkeypatch.delenv("ODAHU_RUN_UID")
    with pytest.raises(common.Fail, match="no request id"):
        common.request_id(None)
    with pytest.raises(common.Fail, match="cannot name a folder"):
        common.request_id("a/b")


def test_walk_files_is_sorted_and_relative(tmp_path: Path) -> None:
    for rel in ("b.json", "a/z.json", "a/b/c.txt", "A.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert common.walk_files(str(tmp_path)) == ["A.json", "a/b/c.txt", "a/z.json", "b.json"]
    assert common.walk_files(str(tmp_path / "missing")) == []


def test_last_error_picks_the_error_and_redacts_url_queries() -> None:
    stderr = (
        "2026/01/01 NOTICE: Config file not found\n"
        "2026/01/01 ERROR : a.json: Failed to copy: PUT https://acct.blob.core.windows.net/c/a.json"
        "?sv=2022&sig=SECRET%3D 403\n"
        "2026/01/01 NOTICE: retrying\n"
    )
    line = common.last_error(stderr)
    assert line.startswith("2026/01/01 ERROR : a.json: Failed to copy")
    assert "SECRET" not in line
    assert "https://acct.blob.core.windows.net/c/a.json?<redacted>" in line
    assert common.last_error("") == "no error output"


def test_model_meta_from_file_or_flags(tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"name": "m", "version": 3}))
    assert common.model_meta(str(meta), "ignored", "ignored") == {"name": "m", "version": "3"}
    assert common.model_meta(None, "n", None) == {"name": "n", "version": ""}
    with pytest.raises(common.Fail, match="cannot read model metadata"):
        common.model_meta(str(tmp_path / "nope.json"), None, None)
