"""compiler.argo.render: the Argo tree of the examples says what the Tekton tree says, in Argo's terms.

Each test compiles the same specs for both backends and compares what a run gets: the same params, the
same pod (steps, images, env, mounts, security), the same credentials in the same container only, the
same job resources; and what only Argo can do: a sharded run keeps its shard count and queues its shards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from compiler import naming as n
from compiler.argo.mapping import argo_ref, deadline_seconds, pod_spec_patch
from compiler.backend import Target
from compiler.pipeline import generate_documents
from compiler.plan.model import Join, ParamRef, Resources, ShardCapRef, TaskResultRef
from tests.support.manifests import check_documents_all

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Doc = Mapping[str, Any]


def objects(target: Target | None, *paths: Path) -> list[Doc]:
    result = generate_documents([*paths] or [EXAMPLES], for_cluster=True, target=target)
    assert result.generated is not None, result.diagnostics
    assert result.generated.ok, result.diagnostics
    return list(result.generated.objects[1:])


def by_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture(scope="module")
def tekton() -> list[Doc]:
    return objects("tekton")


@pytest.fixture(scope="module")
def argo() -> list[Doc]:
    return objects("argo")


def test_the_whole_tree_passes_schemas_rules_and_defaulting(argo: list[Doc]) -> None:
    assert check_documents_all(argo) == []


def test_every_job_is_a_workflow_under_its_runs_name_with_the_same_params(
    tekton: list[Doc], argo: list[Doc]
) -> None:
    runs = {**by_kind(tekton, "TaskRun"), **by_kind(tekton, "PipelineRun")}
    workflows = by_kind(argo, "Workflow")
    assert set(workflows) == set(runs)
    for name, wf in workflows.items():
        assert "generateName" not in wf["metadata"]
        given = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
        given.pop(n.PARAM_POD_SPEC_PATCH, None)
        assert given == {p["name"]: p["value"] for p in runs[name]["spec"]["params"]}
        sharded = runs[name]["kind"] == "PipelineRun"
        assert wf["spec"]["entrypoint"] == (n.ARGO_TEMPLATE_SHARDED if sharded else n.ARGO_TEMPLATE_RUN)
        # Argo CD creates it once and never prunes or patches it (as the TaskRuns).
        annotations = wf["metadata"]["annotations"]
        assert annotations[n.ANNOTATION_SYNC_OPTIONS].startswith("Prune=false")
        assert annotations[n.ANNOTATION_SYNC_WAVE] == "1"


def test_the_run_pod_is_the_tasks_steps(tekton: list[Doc], argo: list[Doc]) -> None:
    tasks = by_kind(tekton, "Task")
    for name, wt in by_kind(argo, "WorkflowTemplate").items():
        run = next(t for t in wt["spec"]["templates"] if t["name"] == n.ARGO_TEMPLATE_RUN)
        containers = run["containerSet"]["containers"]
        steps = tasks[name]["spec"]["steps"]
        assert [c["name"] for c in containers] == [s["name"] for s in steps]
        # One after the other, as Tekton runs steps.
        assert [c.get("dependencies") for c in containers] == [None, *([s["name"]] for s in steps[:-1])]
        for container, step in zip(containers, steps, strict=True):
            for key in ("image", "securityContext", "env"):
                if key != "env":
                    assert container.get(key) == step.get(key), (name, step["name"], key)
            assert container["resources"] == step["computeResources"]
            assert [e["name"] for e in container["env"]] == [e["name"] for e in step["env"]]
        secret_users = [c["name"] for c in containers if any("valueFrom" in e for e in c["env"])]
        assert secret_users in ([], [n.STEP_CONFIGURE_RCLONE])
        # Only the executor holds an API token (docs/security.md "Workflow Pod Permissions").
        assert wt["spec"]["automountServiceAccountToken"] is False
        assert wt["spec"]["executor"]["serviceAccountName"] == wt["spec"]["serviceAccountName"]


def test_the_summaries_land_on_a_volume_of_the_pod(argo: list[Doc]) -> None:
    wt = by_kind(argo, "WorkflowTemplate")["multiplier"]
    run = wt["spec"]["templates"][0]
    sync = next(c for c in run["containerSet"]["containers"] if c["name"] == n.STEP_SYNC_OUTPUT)
    assert f"{n.ARGO_RESULTS_DIR}/{n.RESULT_INPUT_SUMMARY}" in sync["args"]
    assert {"name": n.ARGO_RESULTS_VOLUME, "mountPath": n.ARGO_RESULTS_DIR} in sync["volumeMounts"]
    assert {"name": n.ARGO_RESULTS_VOLUME, "emptyDir": {}} in run["volumes"]
    assert not any("/tekton/" in json.dumps(d) for d in argo if d["kind"] != "ConfigMap")


def test_a_sharded_run_keeps_its_shard_count_and_queues_the_shards(argo: list[Doc]) -> None:
    """The backfill asks for 16 shards with maxParallelShards 8: Tekton clamps the count to 8, Argo keeps
    16 and runs 8 at once (template parallelism: docs/parallelism.md)."""
    wt = by_kind(argo, "WorkflowTemplate")["scorer"]
    templates = {t["name"]: t for t in wt["spec"]["templates"]}
    dag = templates[n.ARGO_TEMPLATE_SHARDED]
    assert dag["parallelism"] == 8
    plan = templates[n.PIPELINE_TASK_PLAN]
    main = plan["containerSet"]["containers"][-1]
    assert main["name"] == n.ARGO_MAIN_CONTAINER
    assert main["args"][main["args"].index("--cap") + 1] == "256"
    shard = next(t for t in dag["dag"]["tasks"] if t["name"] == n.PIPELINE_TASK_SHARD)
    assert shard["withParam"] == "{{tasks.plan.outputs.parameters.shard-ids}}"
    assert shard["template"] == n.ARGO_TEMPLATE_SHARD
    assert templates[n.ARGO_TEMPLATE_SHARD]["retryStrategy"] == {"limit": 2}
    assert "retryStrategy" not in templates[n.ARGO_TEMPLATE_RUN]
    backfill = next(
        w for w in by_kind(argo, "Workflow").values() if w["metadata"]["name"].startswith("scorer-backfill")
    )
    given = {p["name"]: p["value"] for p in backfill["spec"]["arguments"]["parameters"]}
    assert given[n.PARAM_SHARD_COUNT] == "16"


def test_job_resources_patch_the_user_container_as_tekton_merges_step_specs(
    tekton: list[Doc], argo: list[Doc]
) -> None:
    runs = {**by_kind(tekton, "TaskRun"), **by_kind(tekton, "PipelineRun")}
    patched = 0
    for name, wf in by_kind(argo, "Workflow").items():
        spec = runs[name]["spec"]
        step_specs = spec.get("stepSpecs") or [
            s for t in spec.get("taskRunSpecs") or () for s in t.get("stepSpecs") or ()
        ]
        given = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
        if not step_specs:
            assert n.PARAM_POD_SPEC_PATCH not in given
            continue
        patched += 1
        [override] = step_specs
        patch = json.loads(given[n.PARAM_POD_SPEC_PATCH])
        assert patch == {
            "containers": [{"name": override["name"], "resources": override["computeResources"]}]
        }
    assert patched >= 2


def test_the_timeout_becomes_the_deadline(tekton: list[Doc], argo: list[Doc]) -> None:
    runs = by_kind(tekton, "TaskRun")
    for name, wf in by_kind(argo, "Workflow").items():
        if name in runs:
            assert wf["spec"]["activeDeadlineSeconds"] == deadline_seconds(runs[name]["spec"]["timeout"])
    assert deadline_seconds("1h0m0s") == 3600
    assert deadline_seconds("1.5s") == 2
    assert deadline_seconds("0") == 0


def test_the_runner_may_only_report_task_results(argo: list[Doc]) -> None:
    """docs/workflow-rbac.md: the executor needs workflowtaskresults create and patch, nothing else."""
    role = by_kind(argo, "Role")[n.ARGO_EXECUTOR_ROLE]  # the others are the webhooks' (test_argo_webhook.py)
    assert role["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}
    ]
    binding = by_kind(argo, "RoleBinding")[n.ARGO_EXECUTOR_ROLE]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["name"] == "odahu-batch-runner"


def test_references_print_in_argo_syntax() -> None:
    assert argo_ref(ParamRef("data-path")) == "{{inputs.parameters.data-path}}"
    assert argo_ref(ParamRef("data-path"), "workflow") == "{{workflow.parameters.data-path}}"
    assert (
        argo_ref(Join((ParamRef("a"), ":", ParamRef("b"))))
        == "{{inputs.parameters.a}}:{{inputs.parameters.b}}"
    )
    assert (
        argo_ref(TaskResultRef("plan", "shard-ids", whole=True))
        == "{{tasks.plan.outputs.parameters.shard-ids}}"
    )
    assert argo_ref(ShardCapRef(8, 256)) == "256"
    assert pod_spec_patch(None) == "{}"
    assert json.loads(pod_spec_patch(Resources(requests=(("cpu", "1"),)))) == {
        "containers": [{"name": "user-container", "resources": {"requests": {"cpu": "1"}}}]
    }


SETTINGS = """\
apiVersion: batch.odahu.org/v1alpha1
kind: BatchSettings
metadata:
  name: settings
spec:
  backend: argo
"""


def test_the_projects_setting_chooses_the_backend_and_target_overrides_it(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(SETTINGS)
    docs = objects(None, EXAMPLES / "s3", tmp_path / "settings.yaml")
    assert {d["kind"] for d in docs} >= {"WorkflowTemplate", "Workflow"}
    assert not any(d["apiVersion"].startswith("tekton.dev") for d in docs)
    docs = objects("tekton", EXAMPLES / "s3", tmp_path / "settings.yaml")
    assert "Task" in {d["kind"] for d in docs}
    assert objects(None, EXAMPLES / "s3")[0]["apiVersion"] != "argoproj.io/v1alpha1"


def test_the_executor_token_the_pods_mount_is_in_the_tree_without_a_value(argo: list[Doc]) -> None:
    """With automountServiceAccountToken false, the controller mounts the executor account's token
    Secret, found by name (argo-workflows workflow/controller/workflowpod.go setupServiceAccount,
    util/secrets/secret_name.go TokenName): a tree without it starts no pod."""
    secret = by_kind(argo, "Secret")["odahu-batch-runner.service-account-token"]
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "odahu-batch-runner"}
    assert "data" not in secret
    assert "stringData" not in secret
    result = generate_documents([EXAMPLES], for_cluster=True, target="argo")
    assert result.generated is not None
    needed = {s.name for _, refs in result.generated.prerequisites.secrets for s in refs}
    assert secret["metadata"]["name"] not in needed
    assert "s3-models-credentials" in needed
