"""_claim.py through sync_output: whose work a folder holds, reruns, and one writer per folder."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import RUNTIME, clean_env, run_program


def _run_dirs(root: Path, outputs: dict[str, str]) -> Path:
    for rel, text in outputs.items():
        path = root / "output" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "rejected" / "input").mkdir(parents=True)
    (root / "rejected" / "input" / "bad.json").write_text("{" + root.name)
    return root


def _args(run: Path, remote: dict[str, str], service: str = "svc", *extra: str) -> list[str]:
    return ["--output", str(run / "output"), "--rejected", str(run / "rejected"), "--dest", "data:out",
            "--request-id", "rid", "--model-name", "m", "--model-version", "1", "--service", service,
            "--source", "data:in", "--rclone", remote["rclone"], "--config", remote["config"],
            *extra]  # fmt: skip


def _sync(run: Path, remote: dict[str, str], service: str = "svc", *extra: str) -> Any:
    return run_program("sync_output", _args(run, remote, service, *extra), env={"ODAHU_RUN_UID": run.name})


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_objects_no_run_wrote_are_never_touched(tmp_path: Path, local_remote: dict[str, str]) -> None:
    # Before: rclone sync into <output>/<request id>/ deleted another team's files there.
    dest = Path(local_remote["store"]) / "out" / "rid"
    dest.mkdir(parents=True)
    (dest / "their-data.csv").write_text("private")
    result = _sync(_run_dirs(tmp_path / "run-a", {"a.json": "{}"}), local_remote)
    assert result.returncode == 1
    assert "holds 1 objects that no run wrote (e.g. 'their-data.csv')" in result.stderr
    assert _tree(dest) == {"their-data.csv": b"private"}, "nothing deleted, nothing written"
    replaced = _sync(
        _run_dirs(tmp_path / "run-b", {"a.json": "{}"}), local_remote, "svc", "--replace-output", "true"
    )
    assert replaced.returncode == 1, "replace takes over a run's work only, never other data"
    assert _tree(dest) == {"their-data.csv": b"private"}


def test_another_jobs_work_is_refused_unless_the_job_may_replace_it(
    tmp_path: Path, local_remote: dict[str, str]
) -> None:
    dest = Path(local_remote["store"]) / "out" / "rid"
    assert (
        _sync(_run_dirs(tmp_path / "run-a", {"a.json": "{}", "old.json": "{}"}), local_remote).returncode == 0
    )
    before = _tree(dest)
    other = _run_dirs(tmp_path / "run-b", {"b.json": "{}"})
    result = _sync(other, local_remote, "another-service")
    assert result.returncode == 1
    assert "holds the work of another job (run 'run-a', service 'svc', source 'data:in')" in result.stderr
    assert "replaceOutput: true" in result.stderr
    assert _tree(dest) == before
    replaced = _sync(other, local_remote, "another-service", "--replace-output", "true")
    assert replaced.returncode == 0, replaced.stderr
    manifest = json.loads((dest / "_manifest.json").read_text())
    assert manifest["service"] == "another-service"
    assert sorted(_tree(dest)) == [
        "_SUCCESS", "_claim.json", "_manifest.json", "_rejected/input/bad.json", "b.json",
    ]  # fmt: skip


def test_a_rerun_of_the_same_job_completes_a_broken_folder(
    tmp_path: Path, local_remote: dict[str, str]
) -> None:
    dest = Path(local_remote["store"]) / "out" / "rid"
    dest.mkdir(parents=True)
    # An attempt that died mid-upload: its claim and a partial output, no manifest.
    (dest / "_claim.json").write_text(json.dumps({"run": "dead", "request_id": "rid", "service": "svc"}))
    (dest / "partial.json").write_text("{")
    result = _sync(_run_dirs(tmp_path / "run-a", {"a.json": "{}"}), local_remote)
    assert result.returncode == 0, result.stderr
    assert sorted(_tree(dest)) == [
        "_SUCCESS",
        "_claim.json",
        "_manifest.json",
        "_rejected/input/bad.json",
        "a.json",
    ]


# rclone after a seeded delay; a run's calls that overlap (run_all) take their delays in turn (a lock).
DELAYING_RCLONE = """\
import fcntl, json, os, sys, time
with open(os.environ["DELAYS"], "r+") as fh:
    fcntl.flock(fh, fcntl.LOCK_EX)
    delays = json.load(fh)
    delay = delays.pop(0) if delays else 0.0
    fh.seek(0)
    fh.truncate()
    json.dump(delays, fh)
time.sleep(delay)
os.execv(os.environ["REAL_RCLONE"], [os.environ["REAL_RCLONE"], *sys.argv[1:]])
"""


def _start(run: Path, remote: dict[str, str], delays: list[float], wrapper: Path) -> subprocess.Popen[str]:
    (run / "delays.json").write_text(json.dumps(delays))
    env = clean_env({"ODAHU_RUN_UID": run.name, "DELAYS": str(run / "delays.json"),
                     "REAL_RCLONE": remote["rclone"]})  # fmt: skip
    args = _args(run, {**remote, "rclone": str(wrapper)})
    script = str(RUNTIME / "sync_output.py")
    cmd = [sys.executable, script, *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _assert_folder_equals_its_manifest(dest: Path) -> None:
    tree = _tree(dest)
    manifest = json.loads(tree["_manifest.json"])
    wanted = {entry["file"] for entry in manifest["outputs"]}
    wanted |= {f"_rejected/input/{name}" for name in manifest["rejected"]["input"]}
    assert set(tree) - {"_SUCCESS", "_claim.json", "_manifest.json"} == wanted
    for entry in manifest["outputs"]:
        assert hashlib.sha256(tree[entry["file"]]).hexdigest() == entry["sha256"], entry["file"]


@pytest.mark.parametrize("seed", range(20))
def test_two_uploads_to_one_folder_never_interleave(
    tmp_path: Path, local_remote: dict[str, str], seed: int
) -> None:
    wrapper = tmp_path / "rclone.py"
    wrapper.write_text(f"#!{sys.executable}\n" + DELAYING_RCLONE)
    wrapper.chmod(0o755)
    # Same job, twice (two webhook calls with one request id); their outputs differ in name and size.
    runs = [
        _run_dirs(tmp_path / "run-a", {"a.json": '{"a": 1}', "only-a.json": "{}", "sub/s.json": "1"}),
        _run_dirs(tmp_path / "run-b", {"a.json": '{"b": 22}', "only-b.json": "{}"}),
    ]
    rng = random.Random(seed)
    procs = [_start(run, local_remote, [rng.uniform(0, 0.25) for _ in range(12)], wrapper) for run in runs]
    done = [proc.communicate(timeout=120) for proc in procs]
    codes = [proc.returncode for proc in procs]
    dest = Path(local_remote["store"]) / "out" / "rid"
    # Exactly one wins: the one that claimed last. Its folder equals its manifest; the other names it.
    assert sorted(codes) == [0, 1], done
    winner, loser = (runs[0], runs[1]) if codes[0] == 0 else (runs[1], runs[0])
    assert (dest / "_SUCCESS").exists()
    assert json.loads((dest / "_claim.json").read_text())["run"] == winner.name
    _assert_folder_equals_its_manifest(dest)
    assert json.loads((dest / "a.json").read_text()) == json.loads((winner / "output" / "a.json").read_text())
    loser_err = done[runs.index(loser)][1]
    assert f"claimed by run '{winner.name}' while run '{loser.name}' wrote it" in loser_err, loser_err
