"""``odahu-batch status`` for a project compiled for Argo Workflows, against real parts: the run's folder
on moto's S3 server (read with the rclone config the WorkflowTemplate's ``configure-rclone`` container
would write, the Secret's values from ``--secrets-file``), and the cluster through the ``kubernetes``
client talking to ``tests/support/kube_api.py``, which serves Workflows as the API server lists them.

The Workflows served are the ones ``compile --target argo`` emits for the job (their labels are what
status selects by), with a status shaped as argo-workflows v4.1.2 writes it
(``pkg/apis/workflow/v1alpha1/workflow_types.go`` ``WorkflowStatus``/``NodeStatus``; node ids and names
as ``Workflow.NodeID`` and ``workflow/controller/dag.go`` make them; unit-tested against upstream's own
status objects in ``tests/unit/test_status_argo.py``).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from compiler.cli import main
from compiler.pipeline import generate_documents
from compiler.status.argo import fnv32a
from tests.e2e.status_support import status_json as _status
from tests.e2e.test_run_support import Store, job, service, write_specs
from tests.support.kube_api import KubeApiServer

pytestmark = pytest.mark.e2e

NS = "odahu-batch"
SELECTOR = "labelSelector=batch.odahu.org/service=multiplier,batch.odahu.org/job=job-1"


@pytest.fixture
def specs(tmp_path: Path, store: Store) -> Path:
    """A project whose settings choose Argo: no ``--target`` needed."""
    return write_specs(
        tmp_path / "specs", [store], service(), [job("job-1", "req-1")], settings={"backend": "argo"}
    )


@pytest.fixture
def sharded_specs(tmp_path: Path, store: Store) -> Path:
    jobs = [job("job-1", "req-1", parallelism=2)]
    return write_specs(tmp_path / "sharded", [store], service(), jobs, settings={"backend": "argo"})


def compiled_workflow(specs: Path) -> dict[str, Any]:
    """The job's Workflow as ``compile`` writes it, as the API server returns it once created."""
    result = generate_documents([str(specs)], for_cluster=False)
    assert result.generated is not None
    (workflow,) = [copy.deepcopy(d) for d in result.generated.objects if d["kind"] == "Workflow"]
    workflow["metadata"] |= {"uid": "0f9c7a52-1c1e-4c55-9d5e-b2f0a9a4c001",
                             "creationTimestamp": "2026-12-01T10:00:00Z"}  # fmt: skip
    return workflow


def node(
    wf: str, name: str, kind: str, phase: str, template: str, boundary: str | None = None
) -> dict[str, Any]:
    """A NodeStatus named ``name``: id ``<workflow>-<fnv32a(name)>``, the entrypoint's the workflow's name."""
    body = {"id": wf if name == wf else f"{wf}-{fnv32a(name)}", "name": name,
            "displayName": name.rsplit(".", 1)[-1], "type": kind, "phase": phase, "templateName": template,
            "startedAt": "2026-12-01T10:00:02Z"}  # fmt: skip
    return body if name == wf else body | {"boundaryID": boundary or wf}


def containers(wf: str, pod: dict[str, Any], phases: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """A containerSet pod's Container nodes, chained in dependency order (container_set_template.go)."""
    nodes = {}
    parent = pod
    for name, phase in phases:
        child = node(wf, f"{pod['name']}.{name}", "Container", phase, pod["templateName"], pod["id"])
        parent.setdefault("children", []).append(child["id"])
        nodes[child["id"]] = child
        parent = child
    return nodes


def single_run(workflow: dict[str, Any], phase: str, pod_phase: str, message: str = "") -> dict[str, Any]:
    wf = workflow["metadata"]["name"]
    root = node(wf, wf, "Pod", pod_phase, "run")
    steps = [("configure-rclone", "Succeeded"), ("sync-data", "Succeeded"), ("user-container", pod_phase)]
    nodes = {wf: root, **containers(wf, root, steps)}
    status = {"phase": phase, "startedAt": "2026-12-01T10:00:01Z", "nodes": nodes}
    if phase in ("Succeeded", "Failed", "Error"):
        status["finishedAt"] = "2026-12-01T10:04:00Z"
    if message:
        status["message"] = message
    return workflow | {"status": status}


def _upload_run(tmp_path: Path, store: Store, rid: str) -> None:
    folder = tmp_path / "upload" / rid
    (folder / "_rejected" / "output").mkdir(parents=True)
    (folder / "request-1.json").write_text('{"model_name": "m", "outputs": []}\n', encoding="utf-8")
    report = {"kind": "response", "checked": 2, "valid": 1, "rejected": 1,
              "files": [{"file": "r2.json", "errors": [{"rule": "R7", "message": "empty"}]}]}  # fmt: skip
    (folder / "_rejected" / "output" / "_report.json").write_text(json.dumps(report), encoding="utf-8")
    counts = {"input": {"checked": 2, "valid": 2, "rejected": 0},
              "output": {"checked": 2, "valid": 1, "rejected": 1}}  # fmt: skip
    manifest = {"request_id": rid, "counts": counts}
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "_SUCCESS").write_text("", encoding="utf-8")
    store.upload(folder, f"output/{rid}")


def test_storage_of_a_run_compiled_for_argo(
    tmp_path: Path, store: Store, specs: Path, secrets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``BatchSettings.backend: argo``: the target comes from the Workflow. Before, status looked for a
    TaskRun in the Argo documents and found no job at all."""
    _upload_run(tmp_path, store, "req-1")
    code, got = _status(capsys, str(specs), "--job", "job-1", "--secrets-file", str(secrets), "--no-cluster")
    assert code == 0
    assert (got["state"], got["requestId"], got["reason"]) == ("succeeded", "req-1", "_SUCCESS in storage")
    storage = got["storage"]
    assert (storage["folder"], storage["success"], storage["outputs"]) == ("data:output/req-1", True, 1)
    assert storage["counts"]["output"] == {"checked": 2, "valid": 1, "rejected": 1}
    assert storage["rejected"] == [{"kind": "output", "file": "r2.json", "reason": "R7: empty"}]
    assert store.secrets["data-credentials"]["secretAccessKey"] not in json.dumps(got)


def test_target_flag_overrides_the_projects_backend(
    tmp_path: Path, store: Store, secrets: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    tekton_project = write_specs(tmp_path / "tekton", [store], service(), [job("job-1", "req-1")])
    _upload_run(tmp_path, store, "req-1")
    kubeconfig = str(api.kubeconfig(tmp_path))
    args = [str(tekton_project), "--job", "job-1", "--secrets-file", str(secrets), "--kubeconfig", kubeconfig]
    code, got = _status(capsys, *args, "--target", "argo")
    assert (code, got["state"], got["storage"]["folder"]) == (0, "succeeded", "data:output/req-1")
    assert got["notes"] == [f"no Workflow of this run in namespace {NS}"]
    assert api.requests == [f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows?{SELECTOR}"]
    api.requests.clear()
    code, got = _status(capsys, *args)  # the project's own backend: Tekton
    assert got["notes"] == [f"no TaskRun or PipelineRun of this run in namespace {NS}"]
    assert all("/tekton.dev/v1/" in request for request in api.requests)


def test_cluster_and_storage_agree(
    tmp_path: Path,
    store: Store,
    specs: Path,
    secrets: Path,
    api: KubeApiServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _upload_run(tmp_path, store, "req-1")
    workflow = single_run(compiled_workflow(specs), "Succeeded", "Succeeded")
    name = workflow["metadata"]["name"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
           "status": {"phase": "Succeeded"}}  # fmt: skip
    api.set_objects([workflow, pod])
    kubeconfig = str(api.kubeconfig(tmp_path))
    code, got = _status(
        capsys, str(specs), "--job", "job-1", "--secrets-file", str(secrets), "--kubeconfig", kubeconfig
    )
    assert code == 0
    run = got["run"]
    assert (got["state"], run["kind"], run["name"], run["reason"]) == (
        "succeeded",
        "Workflow",
        name,
        "Succeeded",
    )
    assert (run["startTime"], run["completionTime"]) == ("2026-12-01T10:00:01Z", "2026-12-01T10:04:00Z")
    assert (run["pod"], run["podPhase"]) == (name, "Succeeded")  # the entrypoint's pod: the Workflow's name
    assert [s["name"] for s in run["steps"]] == ["configure-rclone", "sync-data", "user-container"]
    assert {s["state"] for s in run["steps"]} == {"succeeded"}
    assert (got["requestId"], got["storage"]["success"], got["notes"]) == ("req-1", True, [])
    # All it asks (the README's Role): list workflows by label, get the pod.
    assert sorted(api.requests) == [
        f"/api/v1/namespaces/{NS}/pods/{name}",
        f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows?{SELECTOR}",
    ]


@pytest.mark.parametrize(
    ("phase", "pod_phase", "state", "code"),
    [
        ("", "", "scheduling", 0),  # not seen by the controller yet
        ("Pending", "", "scheduling", 0),
        ("Running", "Pending", "scheduling", 0),  # the pod is Pending: unschedulable, pulling images
        ("Running", "Running", "running", 0),
        ("Succeeded", "Succeeded", "succeeded", 0),
        ("Failed", "Failed", "failed", 1),
        ("Error", "Error", "failed", 1),
    ],
)
def test_argo_phases_as_odahu_states(
    tmp_path: Path,
    specs: Path,
    api: KubeApiServer,
    capsys: pytest.CaptureFixture[str],
    phase: str,
    pod_phase: str,
    state: str,
    code: int,
) -> None:
    workflow = compiled_workflow(specs)
    if phase:
        workflow = single_run(workflow, phase, pod_phase or "Pending")
    api.set_objects([workflow])
    kubeconfig = str(api.kubeconfig(tmp_path))
    got_code, got = _status(capsys, str(specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig)
    assert (got_code, got["state"]) == (code, state)


def test_a_failed_run_says_why(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = single_run(compiled_workflow(specs), "Failed", "Failed", "Activity deadline exceeded")
    user = next(n for n in workflow["status"]["nodes"].values() if n["displayName"] == "user-container")
    user["message"] = "Error (exit code 3)"
    api.set_objects([workflow])
    kubeconfig = str(api.kubeconfig(tmp_path))
    assert main(["status", str(specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig]) == 1
    out = capsys.readouterr().out
    assert "state: failed (Failed)\n" in out
    assert "  message: Activity deadline exceeded\n" in out
    assert "  step user-container: failed (Error (exit code 3))\n" in out


def test_webhook_run_by_body(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A webhook's Workflow: the service's label, no job label, its request id as an argument."""
    base = compiled_workflow(specs)
    runs = []
    for name, rid, phase in (
        ("multiplier-x7k2p", "other", "Running"),
        ("multiplier-q9d4m", "nov-2026", "Succeeded"),
    ):
        wf = copy.deepcopy(base)
        wf["metadata"] |= {"name": name, "uid": f"uid-{name}"}
        del wf["metadata"]["labels"]["batch.odahu.org/job"]
        wf["spec"]["arguments"]["parameters"] = [{"name": "request-id", "value": rid}]
        runs.append(single_run(wf, phase, phase))
    api.set_objects(runs)
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"spec": {"inferenceServiceId": "multiplier", "requestId": "nov-2026"}}))
    kubeconfig = str(api.kubeconfig(tmp_path))
    code, got = _status(
        capsys, str(specs), "--webhook-body", str(body), "--no-storage", "--kubeconfig", kubeconfig
    )
    assert code == 0
    assert (got["job"], got["requestId"], got["run"]["name"]) == (None, "nov-2026", "multiplier-q9d4m")
    wanted = "labelSelector=batch.odahu.org/service=multiplier"
    assert f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows?{wanted}" in api.requests


def sharded_run(workflow: dict[str, Any]) -> dict[str, Any]:
    """The ``sharded`` dag as the controller records it: plan done, shard 0 done, shard 1 on its second
    attempt (a Retry node over Pod nodes ``(0)``, ``(1)``), merge not started."""
    wf = workflow["metadata"]["name"]
    root = node(wf, wf, "DAG", "Running", "sharded")
    plan = node(wf, f"{wf}.plan", "Pod", "Succeeded", "plan")
    group = node(wf, f"{wf}.shard", "TaskGroup", "Running", "shard")
    nodes = {wf: root, plan["id"]: plan, group["id"]: group}
    nodes |= containers(wf, plan, [("configure-rclone", "Succeeded"), ("fetch-rclone", "Succeeded"),
                                   ("main", "Succeeded")])  # fmt: skip
    for index, attempts in ((0, ["Succeeded"]), (1, ["Failed", "Running"])):
        retry = node(wf, f"{wf}.shard({index}:{index})", "Retry", attempts[-1], "shard")
        for number, phase in enumerate(attempts):
            attempt = node(wf, f"{retry['name']}({number})", "Pod", phase, "shard")
            retry.setdefault("children", []).append(attempt["id"])
            nodes[attempt["id"]] = attempt
        group.setdefault("children", []).append(retry["id"])
        nodes[retry["id"]] = retry
    merge = node(wf, f"{wf}.merge", "Pod", "Pending", "merge")
    nodes[merge["id"]] = merge
    status = {"phase": "Running", "startedAt": "2026-12-01T10:00:01Z", "nodes": nodes}
    return workflow | {"status": status}


def test_sharded_workflow_one_line_per_shard(
    tmp_path: Path, sharded_specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = compiled_workflow(sharded_specs)
    assert workflow["spec"]["entrypoint"] == "sharded"
    api.set_objects([sharded_run(workflow)])
    kubeconfig = str(api.kubeconfig(tmp_path))
    args = ["status", str(sharded_specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig]
    assert main(args) == 0
    out = capsys.readouterr().out
    wf = workflow["metadata"]["name"]
    assert f"Workflow {wf}: running (Running)" in out
    assert "\n  Pod plan: succeeded (Succeeded)\n" in out
    assert "    step main: succeeded\n" in out
    assert f"    pod {wf}-plan-{fnv32a(wf + '.plan')}\n" in out
    assert "\n  Pod merge: scheduling (Pending)\n" in out
    assert "  shard shard(0:0): succeeded (Succeeded)\n" in out
    assert "  shard shard(1:1): running (Running)\n" in out
    assert out.count("  shard ") == 2  # a shard's attempts are not shards
    code, got = _status(capsys, *args[1:])
    assert code == 0
    shards = [t for t in got["run"]["taskRuns"] if t["pipelineTask"] == "shard"]
    assert [s["pod"] for s in shards] == [
        f"{wf}-shard-{fnv32a(f'{wf}.shard(0:0)(0)')}",
        f"{wf}-shard-{fnv32a(f'{wf}.shard(1:1)(1)')}",  # the newest attempt's
    ]


def test_watch_until_the_workflow_succeeds(
    tmp_path: Path, specs: Path, api: KubeApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = compiled_workflow(specs)
    api.set_objects([single_run(workflow, "Running", "Running")])

    def finish() -> None:  # once the first look has listed the Workflow and asked for its pod
        deadline = time.monotonic() + 30
        while len(api.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        api.set_objects([single_run(workflow, "Succeeded", "Succeeded")])

    mover = threading.Thread(target=finish, daemon=True)
    mover.start()
    kubeconfig = str(api.kubeconfig(tmp_path))
    args = ["status", str(specs), "--job", "job-1", "--no-storage", "--kubeconfig", kubeconfig]
    code = main([*args, "--watch", "--interval", "0.2", "--timeout", "30", "--format", "json"])
    mover.join(timeout=30)
    assert code == 0
    states = [json.loads(line)["state"] for line in capsys.readouterr().out.splitlines()]
    assert states == ["running", "succeeded"]
