"""``odahu-batch status`` against real parts: the run's folder on moto's S3 server (read with the run's own
rclone config and the Secret's values from ``--secrets-file``), and the cluster through the ``kubernetes``
client talking to ``tests/support/kube_api.py``, an HTTP server on 127.0.0.1 that stands in for the API
server and serves recorded Tekton objects in the Kubernetes list format.

The TaskRun status shapes are Tekton's own: the succeeded status is the example of tektoncd/pipeline
v1.15.0 docs/taskruns.md ("Monitoring execution status"), and the other conditions are rows of the table
that follows it (docs/pipelineruns.md's for the PipelineRun).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.cli import main
from tests.e2e.status_support import status_json as _status
from tests.e2e.test_run_support import Store, job, s3_store, service, write_specs
from tests.support.kube_api import KubeApiServer
from tests.support.servers import MotoS3Server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NS = "odahu-batch"

# tektoncd/pipeline v1.15.0 docs/taskruns.md, "Monitoring execution status": a TaskRun that succeeded.
DOCS_SUCCEEDED_STATUS = yaml.safe_load("""
completionTime: "2019-08-12T18:22:57Z"
conditions:
  - lastTransitionTime: "2019-08-12T18:22:57Z"
    message: All Steps have completed executing
    reason: Succeeded
    status: "True"
    type: Succeeded
podName: status-taskrun-pod
startTime: "2019-08-12T18:22:51Z"
steps:
  - container: step-hello
    imageID: docker-pullable://busybox@sha256:895ab622e92e18d6b461d671081757af7dbaa3b00e3e28e12505af7817f73649
    name: hello
    terminationReason: Completed
    terminated:
      containerID: docker://d5a54f5bbb8e7a6fd3bc7761b78410403244cf4c9c5822087fb0209bf59e3621
      exitCode: 0
      finishedAt: "2019-08-12T18:22:56Z"
      reason: Completed
      startedAt: "2019-08-12T18:22:54Z"
""")


def _condition(status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": "Succeeded", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2026-12-01T10:00:05Z"}  # fmt: skip


def taskrun(name: str, labels: dict[str, str], request_id: str, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "labels": labels,
                     "creationTimestamp": "2026-12-01T10:00:00Z"},
        "spec": {"params": [{"name": "request-id", "value": request_id}],
                 "taskRef": {"kind": "Task", "name": "multiplier"}},
        "status": status,
    }  # fmt: skip


def running_status() -> dict[str, Any]:
    """Unknown/Running: the pod runs; one step done, one running, one waiting (Kubernetes ContainerState)."""
    return {
        "conditions": [_condition("Unknown", "Running", "Not all Steps in the Task have finished executing")],
        "podName": "job-1-run-pod",
        "startTime": "2026-12-01T10:00:01Z",
        "steps": [
            {"name": "configure-rclone", "container": "step-configure-rclone",
             "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-12-01T10:00:02Z",
                            "finishedAt": "2026-12-01T10:00:03Z"}},
            {"name": "sync-data", "container": "step-sync-data",
             "running": {"startedAt": "2026-12-01T10:00:03Z"}},
            {"name": "sync-model", "container": "step-sync-model", "waiting": {"reason": "PodInitializing"}},
        ],
    }  # fmt: skip


LABELS = {"app.kubernetes.io/part-of": "odahu-batch", "batch.odahu.org/service": "multiplier"}
JOB_LABELS = {**LABELS, "batch.odahu.org/job": "job-1"}


@pytest.fixture
def specs(tmp_path: Path, store: Store) -> Path:
    return write_specs(tmp_path / "specs", [store], service(), [job("job-1", "req-1")])


def _upload_run(tmp_path: Path, store: Store, rid: str, *, success: bool = True) -> None:
    folder = tmp_path / "upload" / rid
    (folder / "_rejected" / "input").mkdir(parents=True)
    (folder / "request-1.json").write_text('{"model_name": "m", "outputs": []}\n', encoding="utf-8")
    (folder / "_rejected" / "input" / "bad.json").write_text("{not json", encoding="utf-8")
    report = {"kind": "request", "checked": 2, "valid": 1, "rejected": 1,
              "files": [{"file": "bad.json", "errors": [{"rule": "R1", "message": "not JSON"}]}]}  # fmt: skip
    (folder / "_rejected" / "input" / "_report.json").write_text(json.dumps(report), encoding="utf-8")
    counts = {
        "input": {"checked": 2, "valid": 1, "rejected": 1},
        "output": {"checked": 1, "valid": 1, "rejected": 0},
    }
    (folder / "_manifest.json").write_text(
        json.dumps({"request_id": rid, "counts": counts}), encoding="utf-8"
    )
    if success:
        (folder / "_SUCCESS").write_text("", encoding="utf-8")
    store.upload(folder, f"output/{rid}")


def test_storage_of_a_finished_run(
    tmp_path: Path, store: Store, specs: Path, secrets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _upload_run(tmp_path, store, "req-1")
    code, got = _status(capsys, str(specs), "--job", "job-1", "--secrets-file", str(secrets), "--no-cluster")
    assert code == 0
    assert (got["state"], got["requestId"], got["run"]) == ("succeeded", "req-1", None)
    storage = got["storage"]
    assert storage["folder"] == "data:output/req-1"
    assert (storage["success"], storage["manifest"], storage["outputs"]) == (True, True, 1)
    assert storage["counts"]["input"] == {"checked": 2, "valid": 1, "rejected": 1}
    assert storage["rejected"] == [{"kind": "input", "file": "bad.json", "reason": "R1: not JSON"}]
    assert store.secrets["data-credentials"]["secretAccessKey"] not in json.dumps(got)


def test_storage_of_a_sharded_run_under_way(
    tmp_path: Path, store: Store, specs: Path, secrets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shards" / "_shards"
    for shard in ("0", "2"):
        (folder / shard).mkdir(parents=True)
        (folder / shard / "_manifest.json").write_text("{}", encoding="utf-8")
    (folder / "partition.json").write_text(json.dumps({"request_id": "req-1", "shards": 4, "files": {}}))
    store.upload(tmp_path / "shards", "output/req-1")
    code, got = _status(capsys, str(specs), "--job", "job-1", "--secrets-file", str(secrets), "--no-cluster")
    assert code == 1  # unknown: no _SUCCESS and no cluster to ask
    assert got["state"] == "unknown"
    assert got["storage"]["shards"] == {"count": 4, "done": ["0", "2"]}
    assert got["storage"]["success"] is False


def test_missing_credentials_are_a_note_not_a_crash(
    store: Store, specs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, got = _status(capsys, str(specs), "--job", "job-1", "--no-cluster")
    assert code == 1
    assert got["storage"] is None
    assert any(note.startswith("storage: ") for note in got["notes"])


def test_cluster_and_storage_agree(
    tmp_path: Path,
    store: Store,
    specs: Path,
    secrets: Path,
    api: KubeApiServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _upload_run(tmp_path, store, "req-1")
    api.set_objects([
        taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", DOCS_SUCCEEDED_STATUS),
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "status-taskrun-pod", "namespace": NS},
         "status": {"phase": "Succeeded"}},
    ])  # fmt: skip
    kubeconfig = str(api.kubeconfig(tmp_path))
    code, got = _status(
        capsys, str(specs), "--job", "job-1", "--secrets-file", str(secrets), "--kubeconfig", kubeconfig
    )
    assert code == 0
    run = got["run"]
    assert (got["state"], run["kind"], run["name"], run["reason"]) == (
        "succeeded",
        "TaskRun",
        "job-1-0a1b2c3d",
        "Succeeded",
    )
    assert (run["startTime"], run["completionTime"]) == ("2019-08-12T18:22:51Z", "2019-08-12T18:22:57Z")
    assert (run["pod"], run["podPhase"]) == ("status-taskrun-pod", "Succeeded")
    assert run["steps"] == [{"name": "hello", "state": "terminated (Completed, exit 0)"}]
    assert got["storage"]["success"] is True
    wanted = "labelSelector=batch.odahu.org/service=multiplier,batch.odahu.org/job=job-1"
    assert f"/apis/tekton.dev/v1/namespaces/{NS}/taskruns?{wanted}" in api.requests


@pytest.mark.parametrize(
    ("status", "state", "code"),
    [
        ({}, "scheduling", 0),
        ({"conditions": [_condition("Unknown", "Pending", "pod PodScheduled False")]}, "scheduling", 0),
        (running_status(), "running", 0),
        ({"conditions": [_condition("False", "Failed", "step-user-container exited with code 1")],
          "completionTime": "2026-12-01T10:05:00Z"}, "failed", 1),
        ({"conditions": [_condition("False", "TaskRunTimeout", "TaskRun timed out")],
          "completionTime": "2026-12-01T12:00:00Z"}, "failed", 1),
        ({"conditions": [_condition("False", "ExceededNodeResources", "retrying")]}, "running", 0),
    ],
)  # fmt: skip
def test_tekton_conditions_as_odahu_states(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str],
    status: dict[str, Any], state: str, code: int,
) -> None:  # fmt: skip
    api.set_objects([taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", status)])
    kubeconfig = str(api.kubeconfig(tmp_path))
    got_code, got = _status(capsys, str(specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig)
    assert (got_code, got["state"]) == (code, state)


def test_running_steps_in_text(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    api.set_objects([taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", running_status())])
    kubeconfig = str(api.kubeconfig(tmp_path))
    assert main(["status", str(specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig]) == 0
    out = capsys.readouterr().out
    assert "state: running (Running)" in out
    assert "  step sync-data: running\n" in out
    assert "  step sync-model: waiting (PodInitializing)\n" in out
    assert "  pod job-1-run-pod\n" in out  # the stand-in has no such pod: no phase, no failure


def test_webhook_run_by_body(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"spec": {"inferenceServiceId": "multiplier", "requestId": "nov-2026"}}))
    api.set_objects([
        taskrun("multiplier-x7k2p", LABELS, "other", running_status()),
        taskrun("multiplier-q9d4m", LABELS, "nov-2026", DOCS_SUCCEEDED_STATUS),
    ])  # fmt: skip
    kubeconfig = str(api.kubeconfig(tmp_path))
    code, got = _status(
        capsys, str(specs), "--webhook-body", str(body), "--no-storage", "--kubeconfig", kubeconfig
    )
    assert code == 0
    assert (got["job"], got["requestId"], got["run"]["name"]) == (None, "nov-2026", "multiplier-q9d4m")


def test_sharded_pipelinerun_one_line_per_shard(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    done = {"conditions": [_condition("True", "Succeeded")], "completionTime": "2026-12-01T10:09:00Z"}
    pr = taskrun(
        "job-1-5e6f7a8b",
        JOB_LABELS,
        "req-1",
        {"conditions": [_condition("Unknown", "Running", "Tasks Completed: 2")]},
    )
    pr["kind"] = "PipelineRun"
    child = {"tekton.dev/pipelineRun": "job-1-5e6f7a8b", **JOB_LABELS}
    api.set_objects([
        pr,
        taskrun("job-1-5e6f7a8b-plan", {**child, "tekton.dev/pipelineTask": "plan"}, "req-1", done),
        taskrun("job-1-5e6f7a8b-shard-0", {**child, "tekton.dev/pipelineTask": "shard"}, "req-1", done),
        taskrun("job-1-5e6f7a8b-shard-1", {**child, "tekton.dev/pipelineTask": "shard"}, "req-1",
                running_status()),
    ])  # fmt: skip
    kubeconfig = str(api.kubeconfig(tmp_path))
    assert main(["status", str(specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig]) == 0
    out = capsys.readouterr().out
    assert "PipelineRun job-1-5e6f7a8b: running (Running)" in out
    assert "  shard job-1-5e6f7a8b-shard-0: succeeded (Succeeded)\n" in out
    assert "  shard job-1-5e6f7a8b-shard-1: running (Running)\n" in out
    assert "\n  TaskRun job-1-5e6f7a8b-plan: succeeded (Succeeded)\n" in out


def _watch_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_watch_until_succeeded_as_a_process(tmp_path: Path, specs: Path, api: KubeApiServer) -> None:
    api.set_objects([taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", running_status())])
    kubeconfig = str(api.kubeconfig(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler.cli", "status", str(specs), "--job", "job-1", "--no-storage",
         "--kubeconfig", kubeconfig, "--watch", "--interval", "0.2", "--timeout", "60", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_watch_env(), cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    assert first["state"] == "running"
    api.set_objects([taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", DOCS_SUCCEEDED_STATUS)])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [json.loads(line)["state"] for line in out.splitlines()] == ["succeeded"]


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_a_watch_never_shows_secret_values_in_its_command_line(
    tmp_path: Path, specs: Path, api: KubeApiServer
) -> None:
    """``--watch`` lasts as long as the run and ``ps`` shows argv to any user: the values leave it, as for
    ``run`` (localrun/secrets.py). Before, the process kept them for the whole watch."""
    api.set_objects([taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", running_status())])
    kubeconfig = str(api.kubeconfig(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler.cli", "status", str(specs), "--job", "job-1", "--no-storage",
         "--secret", "creds/key=S3CRET-VALUE", "--kubeconfig", kubeconfig, "--watch", "--interval", "0.2",
         "--timeout", "60", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_watch_env(), cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["state"] == "running"
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
    api.set_objects([taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", DOCS_SUCCEEDED_STATUS)])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "S3CRET" not in cmdline
    assert "creds/key=***" in cmdline


def test_watch_gives_up_at_its_timeout(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    api.set_objects([taskrun("job-1-0a1b2c3d", JOB_LABELS, "req-1", running_status())])
    kubeconfig = str(api.kubeconfig(tmp_path))
    args = ["status", str(specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig]
    assert main([*args, "--watch", "--interval", "0.2", "--timeout", "1"]) == 1
    out, err = capsys.readouterr()
    assert out.count("state: running (Running)") == 1  # printed when it changes, not every look
    assert "still running after 1 s" in err


def test_unknown_job_is_a_clear_error(specs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(specs), "--job", "job-2", "--no-cluster"]) == 1
    err = capsys.readouterr().err
    assert "no InferenceJob 'job-2' in the specs; did you mean 'job-1'?" in err
    assert "Traceback" not in err


def test_only_the_output_connections_credentials_are_needed(
    tmp_path: Path, s3_server: MotoS3Server, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = s3_store(s3_server, "data"), s3_store(s3_server, "results")
    svc = service(output=("results", "output"))
    specs = write_specs(tmp_path / "specs", [data, out], svc, [job("job-1", "req-1")])
    _upload_run(tmp_path, out, "req-1")
    only_output = tmp_path / "output-secrets.json"
    only_output.write_text(json.dumps(out.secrets), encoding="utf-8")  # nothing for "data"
    code, got = _status(
        capsys, str(specs), "--job", "job-1", "--secrets-file", str(only_output), "--no-cluster"
    )
    assert (code, got["state"], got["storage"]["folder"]) == (0, "succeeded", "results:output/req-1")
