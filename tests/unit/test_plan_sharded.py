"""Sharded runs: the Pipeline, its runs and triggers, and what stays as it was without sharding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler.naming import NAME_MAX
from compiler.pipeline import compile, generate_documents
from compiler.plan.planner import plan
from compiler.runtime_bundle import PROGRAMS, RuntimeBundle
from compiler.tekton.rules import check_documents
from tests.support import webhooks
from tests.support.manifests import check_tree, validate_tekton_schema
from tests.unit.compile_fixtures import project_from
from tests.unit.helpers import CONNECTION

STAND_IN = RuntimeBundle(tuple((name, f"# {name}\n") for name in PROGRAMS))


def _service(name: str = "svc", parallelism: int = 1, webhook: bool = True) -> str:
    return f"""\
apiVersion: batch.odahu.org/v1alpha1
kind: InferenceService
metadata:
  name: {name}
spec:
  image: img
  command: [python]
  modelRegistry:
    remote: {{modelConnection: store, modelPath: model}}
  dataSource: {{connection: store, path: in}}
  outputDestination: {{connection: store, path: out}}
  parallelism: {parallelism}
  triggers: {{webhook: {{enabled: {str(webhook).lower()}}}}}
"""


def _job(name: str, service: str = "svc", parallelism: int | None = None) -> str:
    extra = f"  parallelism: {parallelism}\n" if parallelism is not None else ""
    return f"""\
apiVersion: batch.odahu.org/v1alpha1
kind: InferenceJob
metadata:
  name: {name}
spec:
  inferenceServiceId: {service}
  requestId: {name}
{extra}"""


def _docs(tmp_path: Path, *texts: str) -> dict[tuple[str, str], dict[str, Any]]:
    spec = tmp_path / "specs.yaml"
    spec.write_text("---\n".join([CONNECTION, *texts]))
    result = generate_documents([spec], for_cluster=True, bundle=STAND_IN)
    assert result.generated is not None
    assert result.generated.ok, result.diagnostics
    return {(o["kind"], o["metadata"].get("name", "")): o for o in result.generated.objects[1:]}


def test_a_service_of_one_shard_gets_no_pipeline(tmp_path: Path) -> None:
    docs = _docs(tmp_path, _service(), _job("j"))
    assert not [k for k in docs if k[0] in ("Pipeline", "PipelineRun")]
    task = docs[("Task", "svc")]
    assert "shard-index" not in [p["name"] for p in task["spec"]["params"]]
    role = docs[("Role", "odahu-batch-triggers")]
    assert "pipelineruns" not in str(role["rules"])


def test_a_sharded_service_gets_a_pipeline_runs_and_a_pipeline_trigger(tmp_path: Path) -> None:
    docs = _docs(tmp_path, _service(parallelism=4), _job("one", parallelism=1), _job("many"))
    pipeline = docs[("Pipeline", "svc-sharded")]
    tasks = {t["name"]: t for t in pipeline["spec"]["tasks"]}
    assert list(tasks) == ["plan", "shard", "merge"]
    assert tasks["shard"]["taskRef"] == {"kind": "Task", "name": "svc"}
    assert tasks["shard"]["matrix"] == {
        "params": [{"name": "shard-index", "value": "$(tasks.plan.results.shard-ids[*])"}]
    }
    assert tasks["shard"]["retries"] == 2
    assert {p["name"]: p["value"] for p in tasks["shard"]["params"]}["request-id"] == (
        "$(tasks.plan.results.request-id)"
    )
    assert tasks["merge"]["runAfter"] == ["shard"]
    plan_steps = [s["name"] for s in tasks["plan"]["taskSpec"]["steps"]]
    assert plan_steps == ["configure-rclone", "fetch-rclone", "plan"]
    assert "--cap" in tasks["plan"]["taskSpec"]["steps"][2]["args"]
    task = docs[("Task", "svc")]
    assert task["spec"]["params"][-1] == {
        "name": "shard-index",
        "type": "string",
        "description": task["spec"]["params"][-1]["description"],
        "default": "",
    }
    steps = {s["name"]: s for s in task["spec"]["steps"]}
    for name in ("log-input", "log-output", "sync-output"):
        args = steps[name]["args"]
        assert args[args.index("--shard") + 1] == "$(params.shard-index)"
    assert {"name": "ODAHU_SHARD", "value": "$(params.shard-index)"} in steps["sync-data"]["env"]
    # N = 1: a TaskRun of the Task; N > 1: a PipelineRun of the Pipeline
    assert [k[0] for k in docs if k[0].endswith("Run")] == ["PipelineRun", "TaskRun"]
    run = next(d for k, d in docs.items() if k[0] == "PipelineRun")
    assert run["spec"]["pipelineRef"] == {"name": "svc-sharded"}
    assert {p["name"]: p["value"] for p in run["spec"]["params"]}["shard-count"] == "4"
    template = docs[("TriggerTemplate", "svc")]
    assert template["spec"]["resourcetemplates"][0]["kind"] == "PipelineRun"
    trigger = docs[("Trigger", "svc")]
    binding = {"kind": "TriggerBinding", "name": "shard-count", "value": "$(extensions.odahu.shard_count)"}
    assert trigger["spec"]["bindings"][1] == binding
    role = docs[("Role", "odahu-batch-triggers")]
    assert any(set(r["resources"]) == {"pipelineruns", "taskruns"} for r in role["rules"])
    for doc in docs.values():
        if doc["apiVersion"].startswith("tekton.dev") or doc["kind"].startswith("Trigger"):
            assert validate_tekton_schema(doc) == []
    assert check_documents(list(docs.values())) == []


def test_a_job_with_shards_gives_its_unsharded_service_a_pipeline_and_keeps_its_trigger(
    tmp_path: Path,
) -> None:
    docs = _docs(tmp_path, _service(), _job("many", parallelism=3))
    assert ("Pipeline", "svc-sharded") in docs
    assert docs[("TriggerTemplate", "svc")]["spec"]["resourcetemplates"][0]["kind"] == "TaskRun"
    run = next(d for k, d in docs.items() if k[0] == "PipelineRun")
    assert {p["name"]: p["value"] for p in run["spec"]["params"]}["shard-count"] == "3"


def test_the_compiled_size_does_not_grow_with_the_shard_count(tmp_path: Path) -> None:
    sizes = []
    for count in (2, 64):
        out = tmp_path / f"build-{count}"
        spec = tmp_path / f"specs-{count}.yaml"
        spec.write_text("---\n".join([CONNECTION, _service(parallelism=count), _job("j")]))
        assert compile([spec], out, bundle=STAND_IN).ok
        assert check_tree(out) == []
        # one file per kind (its folder); a run's name holds a hash of its content
        sizes.append({str(p.relative_to(out).parent): len(p.read_bytes()) for p in out.rglob("*.yaml")})
    assert sizes[0].keys() == sizes[1].keys()
    # N is written as a value ("2" or "64") once per document that carries it: one digit more
    assert {path: sizes[1][path] - size for path, size in sizes[0].items() if sizes[1][path] != size} == {
        "odahu-batch/pipeline": 1,
        "odahu-batch/pipelinerun": 1,
        "odahu-batch/triggertemplate": 1,
        "odahu-batch/trigger": 1,
    }


def test_names_stay_within_limits_for_the_longest_service(tmp_path: Path) -> None:
    name = "s" * 53
    docs = _docs(tmp_path, _service(name, parallelism=2), _job("j" * 63, service=name))
    for kind, doc_name in docs:
        assert len(doc_name) <= NAME_MAX, (kind, doc_name)
    assert ("Pipeline", name + "-sharded") in docs


@pytest.mark.parametrize(
    ("parallelism", "accepted", "count"),
    [(None, True, "4"), (2, True, "2"), (256, True, "256"), (0, False, None), (257, False, None),
     (2.5, False, None), ("8", False, None)],
)  # fmt: skip
@pytest.mark.parametrize("backend", sorted(webhooks.BACKENDS))
def test_the_webhook_checks_and_binds_the_shard_count(
    parallelism: object, accepted: bool, count: str | None, backend: str
) -> None:
    pytest.importorskip("celpy")
    project = project_from("---\n".join([CONNECTION, _service(parallelism=4)]))
    rules = plan(project, STAND_IN).triggers[0].rules
    spec: dict[str, object] = {"inferenceServiceId": "svc"}
    if parallelism is not None:
        spec["parallelism"] = parallelism
    params = webhooks.BACKENDS[backend](rules, {"spec": spec})
    assert (params is not None) is accepted
    if params is not None:
        assert params["shard-count"] == count
