"""sync_output against a local rclone remote: outputs, rejections, manifest, _SUCCESS last, reruns."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_program


@pytest.fixture
def run_dirs(tmp_path: Path) -> Path:
    """A finished run's folders: validated input, validated output, rejections with their reports."""
    for rel, text in {
        "input/a.json": '{"inputs": []}',
        "input/sub/b.json": '{"inputs": [1]}',
        "output/a.json": '{"outputs": []}',
        "output/sub/b.json": '{"outputs": [2]}',
        "rejected/input/bad.json": "{",
        "rejected/output/worse.json": "[]",
    }.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    reports = {"input": (3, 2, 1, []), "output": (3, 2, 1, ["c.json"])}
    for kind, (checked, valid, rejected, missing) in reports.items():
        report = {"kind": kind, "checked": checked, "valid": valid, "rejected": rejected, "missing": missing}
        (tmp_path / "rejected" / kind / "_report.json").write_text(json.dumps(report))
    (tmp_path / "meta.json").write_text(json.dumps({"name": "multiplier", "version": "1"}))
    return tmp_path


def _sync(run: Path, remote: dict[str, str], *extra: str) -> Any:
    args = ["--output", str(run / "output"), "--rejected", str(run / "rejected"), "--dest", "data:results",
            "--request-id", "rid-7", "--inputs", str(run / "input"), "--model-meta", str(run / "meta.json"),
            "--image", "reg/predictor:1", "--service", "svc", "--rclone", remote["rclone"],
            "--config", remote["config"], *extra]  # fmt: skip
    return run_program("sync_output", args)


def test_upload_manifest_and_marker(run_dirs: Path, local_remote: dict[str, str]) -> None:
    result = _sync(run_dirs, local_remote)
    assert result.returncode == 0, result.stderr
    dest = Path(local_remote["store"]) / "results" / "rid-7"
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        "_SUCCESS", "_claim.json", "_manifest.json", "_rejected/input/_report.json",
        "_rejected/input/bad.json", "_rejected/output/_report.json", "_rejected/output/worse.json",
        "a.json", "sub/b.json",
    ]  # fmt: skip
    assert (dest / "_SUCCESS").read_bytes() == b""
    assert (dest / "_manifest.json").stat().st_mtime <= (dest / "_SUCCESS").stat().st_mtime
    manifest = json.loads((dest / "_manifest.json").read_text())
    assert manifest == {
        "request_id": "rid-7",
        "service": "svc",
        "source": "",
        "model_name": "multiplier",
        "model_version": "1",
        "image": "reg/predictor:1",
        "counts": {
            "input": {"checked": 3, "valid": 2, "rejected": 1, "missing": 0, "files": 2},
            "output": {"checked": 3, "valid": 2, "rejected": 1, "missing": 1, "files": 2},
        },
        "inputs": [{"file": "a.json", "size": 14}, {"file": "sub/b.json", "size": 15}],
        "outputs": [
            {"file": "a.json", "size": 15, "sha256": hashlib.sha256(b'{"outputs": []}').hexdigest()},
            {"file": "sub/b.json", "size": 16, "sha256": hashlib.sha256(b'{"outputs": [2]}').hexdigest()},
        ],
        "rejected": {"input": ["bad.json"], "output": ["worse.json"]},
    }
    assert "2 outputs" in result.stdout


def test_rerun_is_exact(run_dirs: Path, local_remote: dict[str, str]) -> None:
    assert _sync(run_dirs, local_remote).returncode == 0
    dest = Path(local_remote["store"]) / "results" / "rid-7"
    first = (dest / "_manifest.json").read_bytes()
    (run_dirs / "output" / "sub" / "b.json").unlink()
    (run_dirs / "rejected" / "input" / "bad.json").unlink()
    (run_dirs / "output" / "new.json").write_text("{}")
    assert _sync(run_dirs, local_remote).returncode == 0
    assert not (dest / "sub" / "b.json").exists(), "a rerun leaves only this run's outputs"
    assert not (dest / "_rejected" / "input" / "bad.json").exists()
    assert (dest / "new.json").exists()
    assert (dest / "_SUCCESS").exists()
    second = (dest / "_manifest.json").read_bytes()
    assert first != second
    assert _sync(run_dirs, local_remote).returncode == 0
    assert (dest / "_manifest.json").read_bytes() == second, "the same run gives the same manifest bytes"


def _failing_rclone(tmp: Path, real: str, verb: str, target_part: str) -> Path:
    """An rclone that logs every call and fails the first ``verb`` whose arguments mention ``target_part``."""
    script = tmp / "rclone-wrapper.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$3 $5" >> {tmp}/calls.log\n'
        f'case "$3 $4 $5" in "{verb} "*{target_part}*)\n'
        '  echo "ERROR : boom: no space left" >&2; exit 5;;\nesac\n'
        f'exec {real} "$@"\n'
    )
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    ("verb", "part", "step"),
    [
        ("copy", "output", "upload the output"),
        ("copy", "rejected", "upload the rejected files"),
        ("copyto", "_manifest", "upload the manifest"),
        ("copyto", "_SUCCESS", "write the success marker"),
    ],
)
def test_failed_upload_writes_no_marker(
    run_dirs: Path, local_remote: dict[str, str], verb: str, part: str, step: str
) -> None:
    assert _sync(run_dirs, local_remote).returncode == 0
    dest = Path(local_remote["store"]) / "results" / "rid-7"
    wrapper = _failing_rclone(run_dirs, local_remote["rclone"], verb, part)
    result = _sync(run_dirs, {**local_remote, "rclone": str(wrapper)})
    assert result.returncode == 1
    # rclone's error shows as it happens, then the step's one-line failure names it again
    assert result.stderr.strip().splitlines() == [
        f"{step}: rclone: ERROR : boom: no space left",
        f"sync-output: error: {step}: rclone exited 5: ERROR : boom: no space left",
    ]
    assert not (dest / "_SUCCESS").exists(), "the old marker went first, and no new one was written"
    calls = (run_dirs / "calls.log").read_text().split()
    assert calls.index("deletefile") < calls.index("copy"), "the old marker goes before any upload"


def test_unknown_remote_fails_with_the_step_name(run_dirs: Path, local_remote: dict[str, str]) -> None:
    args = ["--output", str(run_dirs / "output"), "--rejected", str(run_dirs / "rejected"),
            "--dest", "nope:x", "--request-id", "r",
            "--rclone", local_remote["rclone"], "--config", local_remote["config"]]  # fmt: skip
    result = run_program("sync_output", args)
    assert result.returncode == 1
    assert result.stderr.startswith("sync-output: error: list the run folder: rclone exited")
    assert "Traceback" not in result.stderr
    assert not list(Path(local_remote["store"]).iterdir())


def test_request_id_falls_back_to_the_taskrun_uid(run_dirs: Path, local_remote: dict[str, str]) -> None:
    args = ["--output", str(run_dirs / "output"), "--rejected", str(run_dirs / "nothing"),
            "--dest", "data:res", "--request-id", "", "--model-name", "m", "--model-version", "2",
            "--rclone", local_remote["rclone"], "--config", local_remote["config"]]  # fmt: skip
    result = run_program("sync_output", args, env={"ODAHU_RUN_UID": "uid-9"})
    assert result.returncode == 0, result.stderr
    dest = Path(local_remote["store"]) / "res" / "uid-9"
    manifest = json.loads((dest / "_manifest.json").read_text())
    assert (manifest["model_name"], manifest["model_version"], manifest["inputs"]) == ("m", "2", [])
    assert manifest["rejected"] == {"input": [], "output": []}
    assert (dest / "_SUCCESS").exists()


def test_shards_share_a_folder(run_dirs: Path, local_remote: dict[str, str]) -> None:
    dest = Path(local_remote["store"]) / "results" / "rid-7"
    (dest / "_shards" / "0").mkdir(parents=True)
    (dest / "_shards" / "0" / "files.txt").write_text("a.json\n")
    (dest / "_SUCCESS").write_text("")  # an earlier run's: merge, not a shard, removes it
    assert _sync(run_dirs, local_remote, "--shard", "0").returncode == 0
    (run_dirs / "output" / "a.json").unlink()
    (run_dirs / "output" / "z.json").write_text("{}")
    result = _sync(run_dirs, local_remote, "--shard", "1")
    assert result.returncode == 0, result.stderr
    assert "shard 1: 2 outputs, 2 rejected files, _shards/1/_manifest.json written" in result.stdout
    assert (dest / "a.json").exists(), "a shard never deletes another shard's outputs"
    assert (dest / "z.json").exists()
    assert (dest / "_shards" / "0" / "files.txt").read_text() == "a.json\n"
    for shard in ("0", "1"):
        assert json.loads((dest / "_shards" / shard / "_manifest.json").read_text())["shard"] == shard
        assert (dest / "_shards" / shard / "_rejected" / "input" / "_report.json").exists()
    assert (dest / "_rejected" / "input" / "bad.json").exists()
    assert not (dest / "_rejected" / "input" / "_report.json").exists()
    assert not (dest / "_manifest.json").exists()
    assert (dest / "_SUCCESS").exists()
    assert not list(dest.glob("_SUCCESS-*"))
    assert not list(dest.glob("_manifest-*"))


def test_an_empty_shard_id_is_a_single_run(run_dirs: Path, local_remote: dict[str, str]) -> None:
    result = _sync(run_dirs, local_remote, "--shard", "")
    assert result.returncode == 0, result.stderr
    dest = Path(local_remote["store"]) / "results" / "rid-7"
    assert (dest / "_SUCCESS").exists()
    assert "shard" not in json.loads((dest / "_manifest.json").read_text())


def _fail_input_policy(run: Path) -> None:
    report_path = run / "rejected" / "input" / "_report.json"
    report = json.loads(report_path.read_text())
    report["policy"] = {"passed": False, "rule": "no rejections allowed"}
    report_path.write_text(json.dumps(report))


def test_a_failed_verdict_fails_the_step_after_everything_is_in_storage(
    run_dirs: Path, local_remote: dict[str, str]
) -> None:
    # validate-input only records its verdict (it used to exit 1, and Tekton skipped this upload)
    _fail_input_policy(run_dirs)
    result = _sync(run_dirs, local_remote)
    assert result.returncode == 1
    assert "the validation policy failed: input: 1 rejected, 0 missing (policy: no rejections allowed)" in (
        result.stderr
    )
    dest = Path(local_remote["store"]) / "results" / "rid-7"
    assert (dest / "_rejected" / "input" / "bad.json").read_text() == "{"
    assert (
        json.loads((dest / "_rejected" / "input" / "_report.json").read_text())["policy"]["passed"] is False
    )
    assert json.loads((dest / "_manifest.json").read_text())["rejected"]["input"] == ["bad.json"]
    assert (dest / "a.json").exists()
    assert not (dest / "_SUCCESS").exists(), "_SUCCESS means the run passed"


def test_the_counts_reported_are_the_reports_never_the_predictors(
    run_dirs: Path, local_remote: dict[str, str]
) -> None:
    results = run_dirs / "tekton-results"
    results.mkdir()
    # /tekton/results is mounted in the user step too: what it wrote there is replaced
    for name in ("input-summary", "output-summary"):
        (results / name).write_text('{"checked": 999, "valid": 999, "rejected": 0, "missing": 0}')
    extra = ["--input-summary", str(results / "input-summary")]
    extra += ["--output-summary", str(results / "output-summary")]
    assert _sync(run_dirs, local_remote, *extra).returncode == 0
    assert json.loads((results / "input-summary").read_text()) == {
        "checked": 3, "valid": 2, "rejected": 1, "missing": 0,
    }  # fmt: skip
    assert json.loads((results / "output-summary").read_text()) == {
        "checked": 3, "valid": 2, "rejected": 1, "missing": 1,
    }  # fmt: skip


def test_outputs_named_like_the_runs_files_are_refused_before_any_upload(
    run_dirs: Path, local_remote: dict[str, str]
) -> None:
    (run_dirs / "output" / "_SUCCESS.json").write_text("{}")
    result = _sync(run_dirs, local_remote)
    assert result.returncode == 1
    assert "1 outputs take names of the run's own files, e.g. '_SUCCESS.json'" in result.stderr
    assert not list(Path(local_remote["store"]).iterdir())
