"""The pod Tekton would build for every run of every example (tests/cluster/tekton.py build_pod),
checked against Pod Security Standards "restricted" (tests/cluster/pod_security.py) and sized as
the scheduler sizes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.conftest import compiled
from tests.cluster.pod_security import restricted, seccomp_profile
from tests.cluster.tekton import build_pod, merge_resources, pod_requests

Doc = dict[str, Any]


def _runs(docs: list[Doc]) -> Iterator[tuple[str, Doc, Doc]]:
    """(what, run, task spec) of every pod a tree can create: committed TaskRuns, the TaskRuns of
    TriggerTemplates and the Pipeline tasks of PipelineRuns and sharded TriggerTemplates."""
    tasks = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Task"}
    pipelines = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Pipeline"}
    runs = [d for d in docs if d["kind"] in ("TaskRun", "PipelineRun")]
    runs += [t for d in docs if d["kind"] == "TriggerTemplate" for t in d["spec"]["resourcetemplates"]]
    for run in runs:
        name = run["metadata"].get("name") or run["metadata"]["generateName"]
        if run["kind"] == "TaskRun":
            yield f"TaskRun/{name}", run, tasks[run["spec"]["taskRef"]["name"]]
            continue
        # P: pkg/reconciler/pipelinerun/pipelinerun.go createTaskRun gives each child TaskRun the
        # taskRunTemplate (PipelineRun.GetTaskRunSpec) and the stepSpecs of its taskRunSpecs.
        template = run["spec"].get("taskRunTemplate") or {}
        specs = {s["pipelineTaskName"]: s.get("stepSpecs") for s in run["spec"].get("taskRunSpecs") or ()}
        for task in pipelines[run["spec"]["pipelineRef"]["name"]]["tasks"]:
            spec = task.get("taskSpec") or tasks[task["taskRef"]["name"]]
            child = {"spec": {**template, "stepSpecs": specs.get(task["name"]) or []}}
            yield f"PipelineRun/{name}/{task['name']}", child, spec


def test_every_pod_passes_restricted(documents: list[Doc]) -> None:
    pods = {what: build_pod(run, spec) for what, run, spec in _runs(documents)}
    assert len(pods) > 20
    refused = {what: reasons for what, pod in pods.items() if (reasons := restricted(pod))}
    assert refused == {}


def test_a_step_without_seccomp_is_refused_upstream_fixture() -> None:
    """kubernetes/pod-security-admission policy/check_seccompProfile_restricted_test.go,
    "no explicit seccomp": what every helper step of the earlier Tasks looked like."""
    pod = {"spec": {"containers": [{"name": "a"}]}}
    assert seccomp_profile(pod) == [
        "pod or containers ['a'] must set securityContext.seccompProfile.type "
        'to "RuntimeDefault" or "Localhost"'
    ]
    helper = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}
    assert restricted({"spec": {"containers": [{"name": "step-x", "securityContext": helper}]}})


@pytest.mark.parametrize(
    ("step", "override", "want"),
    [
        # tektoncd/pipeline pkg/apis/pipeline/v1/merge_test.go TestMergeStepSpec cases.
        ({"requests": {"memory": "1Gi"}}, {}, {"requests": {"memory": "1Gi"}}),
        (
            {"requests": {"memory": "1Gi", "cpu": "100m"}},
            {"requests": {"memory": "2Gi"}},
            {"requests": {"cpu": "100m", "memory": "2Gi"}},
        ),
        (
            {"requests": {"memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            {"requests": {"memory": "1.5Gi"}},
            {"requests": {"memory": "1.5Gi"}, "limits": {"memory": "2Gi"}},
        ),
        # the defect of issue 11.3: a job's resources without the service's GPU keep the GPU
        (
            {"limits": {"nvidia.com/gpu": "1", "cpu": "1"}},
            {"limits": {"cpu": "2"}},
            {"limits": {"nvidia.com/gpu": "1", "cpu": "2"}},
        ),
    ],
)
def test_step_specs_merge_as_upstream(step: Doc, override: Doc, want: Doc) -> None:
    assert merge_resources(step, override) == want


def test_a_job_drops_the_services_gpu_in_its_pod(trees: dict[str, list[Doc]]) -> None:
    pods = {what: build_pod(run, spec) for what, run, spec in _runs(trees["baked-model"])}
    pod = pods[next(w for w in pods if w.startswith("TaskRun/baked-multiplier-run-"))]
    user = next(c for c in pod["spec"]["containers"] if c["name"] == "step-user-container")
    assert user["resources"]["limits"]["nvidia.com/gpu"] == "0"


def test_a_pod_reserves_the_helpers_once(documents: list[Doc]) -> None:
    """A pod requests the sum of its containers' requests (tektoncd/pipeline docs/compute-resources.md):
    the helpers add 100m and 256Mi in all, whatever their number."""
    for what, run, spec in _runs(documents):
        pod = build_pod(run, spec)
        users = [c for c in pod["spec"]["containers"] if c["name"] == "step-user-container"]
        user = pod_requests({"spec": {"containers": users, "initContainers": []}})
        total = pod_requests(pod)
        assert total["cpu"] - user.get("cpu", 0.0) == pytest.approx(0.1), what
        assert total["memory"] - user.get("memory", 0.0) == 256 * 1024**2, what


SPECS = """\
apiVersion: batch.odahu.org/v1alpha1
kind: Connection
metadata: {{name: data}}
spec: {{type: s3, uri: s3://bucket/data, region: eu-central-1, credentials: {{workloadIdentity: true}}}}
---
apiVersion: batch.odahu.org/v1alpha1
kind: InferenceService
metadata: {{name: svc}}
spec:
  image: registry.example.com/p:1
  command: [p]
  modelRegistry: {{local: {{modelPath: /m, meta: {{name: m, version: "1"}}}}}}
  dataSource: {{connection: data, path: in}}
  outputDestination: {{connection: data, path: out}}
  userSecurity: {user}
---
apiVersion: batch.odahu.org/v1alpha1
kind: InferenceJob
metadata: {{name: once}}
spec: {{inferenceServiceId: svc}}
---
apiVersion: batch.odahu.org/v1alpha1
kind: BatchSettings
metadata: {{name: settings}}
spec: {{podSecurity: {mode}}}
"""


def _pods(tmp_path: Path, user: str, mode: str) -> list[Doc]:
    spec = tmp_path / "specs.yaml"
    spec.write_text(SPECS.format(user=user, mode=mode), encoding="utf-8")
    return [build_pod(run, task) for _, run, task in _runs(compiled(spec))]


def test_openshift_mode_sets_no_uid_and_stays_restricted(tmp_path: Path) -> None:
    pods = _pods(tmp_path, "restricted", "restricted-v2")
    assert pods
    assert all(restricted(p) == [] for p in pods)
    contexts = [c["securityContext"] for p in pods for c in p["spec"]["containers"]]
    assert all("runAsUser" not in c and c["runAsNonRoot"] is True for c in contexts)


def test_a_service_may_opt_its_step_out(tmp_path: Path) -> None:
    for pod in _pods(tmp_path, "none", "restricted"):
        user = next(c for c in pod["spec"]["containers"] if c["name"] == "step-user-container")
        assert user["securityContext"] is None
        assert restricted(pod)
        assert all("step-user-container" in r for r in restricted(pod))
