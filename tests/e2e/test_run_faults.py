"""Faults: the storage server dies (SIGKILL to its own PID) in the middle of the input sync or of the
upload. The run must fail saying which step and why, write no ``_SUCCESS``, and a rerun of the same job
after the server is back must complete with every output present exactly once.

Each test starts its own server (never the shared session ones). Azurite keeps its data across the
restart, so what the killed run left behind is checked; moto's server starts empty again, so its bucket
and input are put back before the rerun.

rclone keeps retrying a refused connection file by file (low-level retries with backoff, then whole
retries), so a transfer to a dead server can take many minutes to give up. The job's ``timeout`` bounds
that: the runner stops the step at the TaskRun's deadline and says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_run_support import (
    BAKED,
    RunResult,
    Store,
    azure_store,
    baked_app,
    finish,
    gcs_store,
    job,
    many_requests,
    odahu_run,
    s3_store,
    service,
    start_run,
    step_log_shows,
    write_specs,
)
from tests.support.servers import AzuriteServer, GcsEmulator, MotoS3Server, ProcessServer, wait_until

pytestmark = pytest.mark.e2e

FILES = 300
VALUES = 6000  # about 35 KB per request and per response
TIMEOUT = "45s"  # the job's (TaskRun's) timeout: a normal run of these files takes about 10 s
MARKERS = {
    "_SUCCESS",
    "_claim.json",
    "_manifest.json",
    "_rejected/input/_report.json",
    "_rejected/output/_report.json",
}


def setup_job(tmp_path: Path, store: Store) -> tuple[Path, Path, Path]:
    """Input on the store, a baked model bound from the host; returns (specs, app, input folder)."""
    inputs = many_requests(tmp_path / "input", FILES, VALUES)
    store.upload(inputs, "input")
    app = baked_app(tmp_path)
    specs = write_specs(tmp_path / "specs", [store], service(model=BAKED), [job(timeout=TIMEOUT)])
    return specs, app, inputs


def run_and_kill(
    tmp_path: Path, specs: Path, app: Path, store: Store, server: ProcessServer, step: str
) -> RunResult:
    """Start the job; SIGKILL the server once ``step`` has moved its first file; wait for the run's end.

    The input sync shows each file in its log (rclone -v); the upload shows in the bucket.
    """
    log = tmp_path / "killed-run.log"
    proc = start_run(tmp_path, specs, log, app=app, secrets=store.secrets)
    runs = tmp_path / "runs"

    def moving() -> bool:
        if step == "sync-data":
            return step_log_shows(runs, step, "Copied")
        # The run's claim lands first; the upload has started once an output is there.
        uploaded = store.files("output/req-1")
        return step_log_shows(runs, step, "") and any(f.startswith("request-") for f in uploaded)

    try:
        wait_until(lambda: proc.poll() is not None or moving(), 180, interval=0.02)
        assert proc.poll() is None, f"the run ended before {step} was interrupted:\n{log.read_text()}"
        server.kill()
    finally:
        result = finish(proc, log, runs)
    return result


def check_failed_run(result: RunResult, step: str) -> None:
    """The run failed at ``step``: rclone's error, or the TaskRun's deadline while rclone kept retrying."""
    assert result.code == 1, result.text
    status = result.statuses()[step]
    assert status in ("failed", "timed out"), result.text
    if status == "failed":
        assert f"step {step} failed (exit" in result.text
    else:
        assert f"step {step} timed out (killed after" in result.text
        assert f"(the TaskRun's timeout of {TIMEOUT})" in result.text
    assert result.summary()["status"] == "Failed"
    assert all(
        s == "skipped" for s in list(result.statuses().values())[list(result.statuses()).index(step) + 1 :]
    )


def check_complete(store: Store, inputs: Path) -> None:
    files = store.files("output/req-1")
    expected = sorted({p.name for p in inputs.iterdir()} | MARKERS)
    assert files == expected
    assert len(files) == len(set(files))


def rerun(tmp_path: Path, specs: Path, app: Path, store: Store) -> RunResult:
    result = odahu_run(tmp_path, specs, app=app, secrets=store.secrets)
    assert result.code == 0, result.text
    assert set(result.statuses().values()) == {"succeeded"}
    return result


def test_gcs_dies_during_upload(tmp_path: Path) -> None:
    # Kept on disk: what the killed run left behind is still there after the restart.
    with GcsEmulator(in_memory=False) as server:
        store = gcs_store(server)
        specs, app, inputs = setup_job(tmp_path, store)
        result = run_and_kill(tmp_path, specs, app, store, server, "sync-output")
        check_failed_run(result, "sync-output")
        server.restart()
        left = store.files("output/req-1")
        assert "_SUCCESS" not in left
        assert 0 < len([f for f in left if f.startswith("request-")]) < FILES, (
            "the upload was not interrupted"
        )
        rerun(tmp_path, specs, app, store)
        check_complete(store, inputs)


def test_s3_dies_during_upload(tmp_path: Path) -> None:
    with MotoS3Server() as server:
        store = s3_store(server)
        specs, app, inputs = setup_job(tmp_path, store)
        result = run_and_kill(tmp_path, specs, app, store, server, "sync-output")
        check_failed_run(result, "sync-output")
        server.restart()
        # moto starts empty: no _SUCCESS; the bucket and the input are put back for the rerun.
        store = s3_store(server, bucket=bucket_of(store))
        assert store.files("output/req-1") == []
        store.upload(inputs, "input")
        rerun(tmp_path, specs, app, store)
        check_complete(store, inputs)


def test_azure_dies_during_input_sync(tmp_path: Path) -> None:
    with AzuriteServer() as server:
        store = azure_store(server)
        specs, app, inputs = setup_job(tmp_path, store)
        result = run_and_kill(tmp_path, specs, app, store, server, "sync-data")
        check_failed_run(result, "sync-data")
        check_input_interrupted(result)
        server.restart()
        # Azurite may lose its last writes to SIGKILL: put the container and the input back.
        store = azure_store(server, container=bucket_of(store))
        assert "_SUCCESS" not in store.files("output/req-1")
        store.upload(inputs, "input")
        rerun(tmp_path, specs, app, store)
        check_complete(store, inputs)


def test_s3_dies_during_input_sync(tmp_path: Path) -> None:
    with MotoS3Server() as server:
        store = s3_store(server)
        specs, app, inputs = setup_job(tmp_path, store)
        result = run_and_kill(tmp_path, specs, app, store, server, "sync-data")
        check_failed_run(result, "sync-data")
        check_input_interrupted(result)
        server.restart()
        store = s3_store(server, bucket=bucket_of(store))
        store.upload(inputs, "input")
        rerun(tmp_path, specs, app, store)
        check_complete(store, inputs)


def bucket_of(store: Store) -> str:
    return store.root.split(":", 1)[1]


def check_input_interrupted(result: RunResult) -> None:
    raw = result.rundir() / "volumes" / "odahu-input"
    assert 0 < len(list(raw.iterdir())) < FILES, "the input sync was not interrupted"
    assert result.statuses()["user-container"] == "skipped"
