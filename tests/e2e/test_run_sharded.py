"""Sharded jobs end to end: ``odahu-batch run`` executes the compiled PipelineRun, or the Argo Workflow's
dag (plan, the shards as parallel local processes, merge) against S3 servers on 127.0.0.1 (moto; rclone
serve s3 too)."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_run_support import (
    EXAMPLE,
    Store,
    app_folder,
    finish,
    job,
    json_files,
    odahu_run,
    request,
    s3_store,
    service,
    start_run,
    write_specs,
)
from tests.support.servers import MotoS3Server, RcloneS3Server, wait_until

pytestmark = pytest.mark.e2e

FILES = 7  # uneven shards for N = 2 and 4, and some empty ones for N = 4 is likely; N = 8 > FILES below
# A predictor that fails on one request (while the file FAIL_MARKER exists in the app folder).
FLAKY = """\
import os, runpy, sys
app = os.path.dirname(os.path.abspath(__file__))
if os.path.exists(os.path.join(app, "FAIL")) and os.path.exists(
    os.path.join(os.environ["ODAHU_MODEL_INPUT"], "request-0003.json")
):
    sys.exit("predictor: cannot score request-0003.json")
runpy.run_path(os.path.join(app, "multiplier.py"), run_name="__main__")
"""


def seed(store: Store, tmp_path: Path, count: int = FILES) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    for index in range(count):
        (folder / f"request-{index:04d}.json").write_bytes(request(index))
    store.upload(folder, "input")
    store.upload(EXAMPLE / "model", "models/multiplier")


def run_job(
    tmp_path: Path,
    store: Store,
    shards: int,
    app: Path,
    rid: str = "req-1",
    backend: str = "tekton",
    settings: dict[str, Any] | None = None,
) -> Any:
    specs = write_specs(
        tmp_path / f"specs-{shards}-{rid}",
        [store],
        service(),
        [job(request_id=rid, parallelism=shards)],
        settings=settings,
    )
    return odahu_run(tmp_path, specs, app=app, secrets=store.secrets, target=backend)


def fan_out_line(backend: str, shards: int, at_once: int = 8) -> str:
    """How the run announces its shards: a matrix starts them all, withParam queues them."""
    if backend == "tekton":
        return f"task shard: {shards} TaskRuns at once (matrix)"
    return f"task shard: {shards} pods (withParam), at most {at_once} at once, 2 retries each"


def outputs(store: Store, rid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    tree = store.tree(f"output/{rid}")
    assert tree["_SUCCESS"] == b""
    manifest = json.loads(tree["_manifest.json"])
    return json_files(tree), manifest


def test_one_two_and_four_shards_give_the_same_outputs(
    tmp_path: Path, s3_server: MotoS3Server, backend: str
) -> None:
    store = s3_store(s3_server)
    seed(store, tmp_path)
    results: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    app = app_folder(tmp_path)
    for shards in (1, 2, 4):
        result = run_job(tmp_path, store, shards, app, rid=f"n{shards}", backend=backend)
        assert result.code == 0, result.text
        results[shards] = outputs(store, f"n{shards}")
        if shards > 1:
            assert fan_out_line(backend, shards) in result.out
            assert "run succeeded" in result.out
            # The compact view: each shard's end is one line, its steps are not listed one by one.
            shard_lines = [line for line in result.out.splitlines() if line.startswith("  [shard ")]
            assert len(shard_lines) == shards, result.out
            assert all(" succeeded in " in line for line in shard_lines)
    files, single = results[1]
    assert len(files) == FILES
    for shards in (2, 4):
        sharded_files, manifest = results[shards]
        assert sharded_files == files
        assert [e["file"] for e in manifest["outputs"]] == [e["file"] for e in single["outputs"]]
        assert [e["sha256"] for e in manifest["outputs"]] == [e["sha256"] for e in single["outputs"]]
        assert [e["file"] for e in manifest["inputs"]] == [e["file"] for e in single["inputs"]]
        # the manifest says which shard handled which file; every file exactly once
        partition = json.loads(store.tree(f"output/n{shards}/_shards")["partition.json"])
        assert {e["file"]: e["shard"] for e in manifest["inputs"]} == partition["files"]
        assert manifest["shards"] == shards
        assert Counter(e["file"] for e in manifest["outputs"]) == Counter(list(files))


def test_more_shards_than_files(tmp_path: Path, s3_server: MotoS3Server, backend: str) -> None:
    store = s3_store(s3_server)
    seed(store, tmp_path, count=3)
    result = run_job(tmp_path, store, 8, app_folder(tmp_path), backend=backend)
    assert result.code == 0, result.text
    files, manifest = outputs(store, "req-1")
    assert len(files) == 3
    assert manifest["shards"] == 8
    lists = store.tree("output/req-1/_shards")
    assert sum(1 for i in range(8) if lists[f"{i}/files.txt"] == b"") >= 5  # empty shards succeed too


def test_a_failing_shard_fails_the_run_and_a_rerun_completes_it(
    tmp_path: Path, s3_server: MotoS3Server, backend: str
) -> None:
    store = s3_store(s3_server)
    seed(store, tmp_path)
    app = app_folder(tmp_path)
    (app / "predictor.py").rename(app / "multiplier.py")
    (app / "predictor.py").write_text(FLAKY)
    (app / "FAIL").write_text("")
    failed = run_job(tmp_path, store, 2, app=app, backend=backend)
    assert failed.code == 1, failed.text
    assert "cannot score request-0003.json" in failed.text
    assert "retry 2 of 2" in failed.out, failed.text  # a shard is retried on its own
    assert "run failed" in failed.out
    folder = store.files("output/req-1")
    assert "_SUCCESS" not in folder
    assert "_manifest.json" not in folder
    statuses = {r["task"]: r["status"] for r in failed.children() if r["status"] != "succeeded"}
    assert statuses == {"shard": "failed", "merge": "skipped"}
    (app / "FAIL").unlink()
    rerun = run_job(tmp_path, store, 2, app=app, backend=backend)
    assert rerun.code == 0, rerun.text
    files, manifest = outputs(store, "req-1")
    assert len(files) == FILES
    assert Counter(e["file"] for e in manifest["outputs"]) == Counter(list(files))
    assert all(store.files("output/req-1").count(name) == 1 for name in files)
    # The failed run's logs are kept beside the rerun's.
    [root] = [p for p in (tmp_path / "runs").iterdir() if (p / "history").is_dir()]
    kept = "".join(p.read_text() for p in (root / "history" / "1").glob("*/logs/user-container.log"))
    assert "cannot score request-0003.json" in kept
    assert (root / "history" / "1" / "summary.json").is_file()


def test_a_second_s3_server_gives_the_same_outputs(tmp_path: Path, s3_server: MotoS3Server) -> None:
    """rclone's own S3 server (Go, another implementation of the protocol, the sharding benchmark's store)."""
    results = []
    app = app_folder(tmp_path)
    with RcloneS3Server() as other:
        for label, server in (("moto", s3_server), ("rclone", other)):
            store = s3_store(server)
            (tmp_path / label).mkdir()
            seed(store, tmp_path / label)
            result = run_job(tmp_path / label, store, 2, app)
            assert result.code == 0, result.text
            files, manifest = outputs(store, "req-1")
            results.append((files, [e["sha256"] for e in manifest["outputs"]], manifest["shards"]))
    assert len(results[0][0]) == FILES
    assert results[0] == results[1]


# A predictor that records its PID and then waits (bounded) to be stopped.
SLOW = """\
import os, time
app = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(app, "pids", str(os.getpid())), "w") as fh:
    fh.write(os.environ["ODAHU_MODEL_INPUT"])
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_stops_every_shard(tmp_path: Path, s3_server: MotoS3Server, backend: str) -> None:
    store = s3_store(s3_server)
    seed(store, tmp_path)
    app = app_folder(tmp_path, SLOW)
    (app / "pids").mkdir()
    specs = write_specs(tmp_path / "specs", [store], service(), [job(parallelism=2)])
    log = tmp_path / "run.log"
    proc = start_run(tmp_path, specs, log, app=app, secrets=store.secrets, target=backend)
    try:
        wait_until(lambda: proc.poll() is not None or len(list((app / "pids").iterdir())) == 2, 120)
        assert proc.poll() is None, log.read_text()
        pids = [int(p.name) for p in (app / "pids").iterdir()]
        assert all(_alive(pid) for pid in pids)
        proc.send_signal(signal.SIGINT)
    finally:
        result = finish(proc, log, tmp_path / "runs", timeout=60)
    assert result.code == 130, result.out
    assert "run interrupted" in result.out
    wait_until(lambda: not any(_alive(pid) for pid in pids), 10)
    statuses = sorted((r["task"], r["status"]) for r in result.children())
    assert statuses == [
        ("merge", "skipped"),
        ("plan", "succeeded"),
        ("shard", "interrupted"),
        ("shard", "interrupted"),
    ]
    assert "_SUCCESS" not in store.files("output/req-1")


def test_a_rejection_is_a_verdict_not_retried_and_reported_in_storage(
    tmp_path: Path, s3_server: MotoS3Server, backend: str
) -> None:
    # Before: validate-input exited 1 in the shard's Task, so the shard was retried twice for the same
    # answer and the merge never ran: the report died with the pod.
    store = s3_store(s3_server)
    seed(store, tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad.json").write_bytes(b'{"inputs": "not a list"}')
    store.upload(bad, "input")
    failed = run_job(tmp_path, store, 2, app_folder(tmp_path), backend=backend)
    assert failed.code == 1, failed.text
    assert "retry" not in failed.out, failed.text
    statuses = {r["task"]: r["status"] for r in failed.children() if r["status"] != "succeeded"}
    assert statuses == {"merge": "failed"}
    tree = store.tree("output/req-1")
    assert tree["_rejected/input/bad.json"] == b'{"inputs": "not a list"}'
    report = json.loads(tree["_rejected/input/_report.json"])
    assert report["policy"]["passed"] is False
    assert [entry["file"] for entry in report["files"]] == ["bad.json"]
    assert json.loads(tree["_manifest.json"])["rejected"]["input"] == ["bad.json"]
    assert "_SUCCESS" not in tree


# A predictor that records when it ran (start and end, wall clock) beside itself, then scores as usual.
TIMED = """\
import json, os, runpy, sys, time
app = os.path.dirname(os.path.abspath(__file__))
start = time.time()
time.sleep(1.0)
try:
    runpy.run_path(os.path.join(app, "multiplier.py"), run_name="__main__")
finally:
    with open(os.path.join(app, "spans", str(os.getpid())), "w") as fh:
        json.dump([start, time.time()], fh)
"""


def test_argo_queues_shards_beyond_max_parallel_shards(tmp_path: Path, s3_server: MotoS3Server) -> None:
    """Argo's template parallelism queues pods (argo-workflows docs/parallelism.md): a job of 4 shards
    under ``maxParallelShards: 2`` keeps its 4 shards, and no more than 2 predictors run at once."""
    store = s3_store(s3_server)
    seed(store, tmp_path)
    app = app_folder(tmp_path)
    (app / "predictor.py").rename(app / "multiplier.py")
    (app / "predictor.py").write_text(TIMED)
    (app / "spans").mkdir()
    settings = {"maxParallelShards": 2}
    result = run_job(tmp_path, store, 4, app, backend="argo", settings=settings)
    assert result.code == 0, result.text
    assert fan_out_line("argo", 4, at_once=2) in result.out
    files, manifest = outputs(store, "req-1")
    assert len(files) == FILES
    assert manifest["shards"] == 4
    assert len(json.loads(store.tree("output/req-1/_shards")["partition.json"])["files"]) == FILES
    spans = [json.loads(p.read_text()) for p in (app / "spans").iterdir()]
    assert len(spans) == 4
    most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert most <= 2, spans
