"""Running a compiled Workflow locally: picking it, ordering a dag, filling each task's template, queueing
a fan-out (``compiler/localrun/workflow.py``, ``children.py``)."""

from __future__ import annotations

import copy
import io
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from compiler.localrun import argo
from compiler.localrun.children import ChildRuns
from compiler.localrun.errors import LocalRunError
from compiler.localrun.runner import RunOptions
from compiler.localrun.workflow import WorkflowRunner, _ordered, select_workflow, workflow_of_job
from compiler.pipeline import generate_documents

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def docs() -> Sequence[dict[str, Any]]:
    result = generate_documents([EXAMPLES], for_cluster=False, target="argo")
    assert result.generated is not None
    assert result.generated.ok
    return result.generated.objects


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_the_job_label_names_the_workflow(docs: Sequence[dict[str, Any]]) -> None:
    assert workflow_of_job(docs, "scorer-daily").startswith("scorer-daily-")
    with pytest.raises(LocalRunError, match=r"no job named 'scorer-dayly'.*did you mean 'scorer-daily'"):
        workflow_of_job(docs, "scorer-dayly")


def test_the_single_run_template_is_fully_substituted(docs: Sequence[dict[str, Any]]) -> None:
    name = workflow_of_job(docs, "multiplier-sample")
    runner = WorkflowRunner(docs, name, RunOptions(uid="uid-1"), io.StringIO())
    assert runner.entry["name"] == "run"
    filled = argo.process_args(runner.entry, runner.arguments, runner.scope)
    assert not [s for s in _strings(filled) if "{{" in s]
    env = {e["name"]: e.get("value") for c in filled["containerSet"]["containers"] for e in c.get("env", [])}
    assert env["ODAHU_RUN_UID"] == "uid-1"
    assert env["ODAHU_REQUEST_ID"] == "multiplier-sample"
    assert filled["podSpecPatch"] == "{}"


def test_a_sharded_workflow_fills_each_shard_from_the_plans_outputs(docs: Sequence[dict[str, Any]]) -> None:
    name = workflow_of_job(docs, "scorer-daily")
    wf = select_workflow(docs, name)
    assert wf.spec["entrypoint"] == "sharded"
    runner = WorkflowRunner(docs, name, RunOptions(uid="uid-1"), io.StringIO())
    dag = runner.entry
    assert [t["name"] for t in _ordered(dag["dag"]["tasks"])] == ["plan", "shard", "merge"]
    shard_task = next(t for t in dag["dag"]["tasks"] if t["name"] == "shard")
    outputs = {"tasks.plan.outputs.parameters.request-id": "daily-2026-11-30"}
    scope = {**runner.scope, **outputs}
    [item] = argo.fan_out('["2"]', "shard")
    filled = runner._fill(shard_task, wf.templates["shard"], scope, item)
    values = {p["name"]: p["value"] for p in filled["inputs"]["parameters"]}
    assert values["shard-index"] == "2"
    assert values["request-id"] == "daily-2026-11-30"
    assert filled["retryStrategy"] == {"limit": 2}
    assert not [s for s in _strings(filled) if "{{" in s]
    # Before the plan ran, its outputs resolve nothing: the task is refused, not run with a tag left in.
    with pytest.raises(
        LocalRunError, match=r"failed to resolve \{\{tasks.plan.outputs.parameters.request-id\}\}"
    ):
        runner._fill(shard_task, wf.templates["shard"], runner.scope, item)


def test_depends_orders_the_dag() -> None:
    tasks: list[dict[str, Any]] = [
        {"name": "m", "depends": "a && b.Succeeded"},
        {"name": "b", "dependencies": ["a"]},
        {"name": "a"},
    ]
    assert [t["name"] for t in _ordered(tasks)] == ["a", "b", "m"]
    with pytest.raises(LocalRunError, match="only 'a && b' runs locally"):
        _ordered([{"name": "m", "depends": "a || b"}, {"name": "a"}, {"name": "b"}])
    with pytest.raises(LocalRunError, match="depends on x, which the dag does not have"):
        _ordered([{"name": "m", "depends": "x"}])
    with pytest.raises(LocalRunError, match="cycle"):
        _ordered([{"name": "a", "depends": "b"}, {"name": "b", "depends": "a"}])


def test_a_fan_out_queues_beyond_its_workers_and_runs_every_item() -> None:
    runs = ChildRuns(RunOptions(), io.StringIO(), "the deadline")
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    ran: list[int] = []

    def one(index: int) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
            ran.append(index)

    runs.fan_out(7, one, workers=2)
    assert sorted(ran) == list(range(7))
    assert state["most"] == 2


def test_a_misspelt_tag_stops_the_run_before_anything_is_written(
    docs: Sequence[dict[str, Any]], tmp_path: Path
) -> None:
    name = workflow_of_job(docs, "multiplier-sample")
    broken = copy.deepcopy(list(docs))
    [workflow] = [d for d in broken if d["kind"] == "Workflow" and d["metadata"]["name"] == name]
    template_name = workflow["spec"]["workflowTemplateRef"]["name"]
    [template] = [
        d for d in broken if d["kind"] == "WorkflowTemplate" and d["metadata"]["name"] == template_name
    ]
    [run] = [t for t in template["spec"]["templates"] if t["name"] == "run"]
    run["containerSet"]["containers"][0]["args"].append("{{inputs.parameters.data-connectoin}}")
    runner = WorkflowRunner(broken, name, RunOptions(workdir=tmp_path / "runs"), io.StringIO())
    with pytest.raises(LocalRunError) as info:
        runner.execute()
    assert str(info.value) == "template run: failed to resolve {{inputs.parameters.data-connectoin}}"
    assert not (tmp_path / "runs").exists()


def test_counts_of_the_documents_must_be_whole_numbers(docs: Sequence[dict[str, Any]]) -> None:
    name = workflow_of_job(docs, "scorer-daily")
    broken = copy.deepcopy(list(docs))
    [workflow] = [d for d in broken if d["kind"] == "Workflow" and d["metadata"]["name"] == name]
    workflow["spec"]["activeDeadlineSeconds"] = "{{workflow.parameters.deadline}}"
    with pytest.raises(LocalRunError, match="activeDeadlineSeconds: expected a whole number"):
        WorkflowRunner(broken, name, RunOptions(), io.StringIO())


def test_a_single_pod_is_retried_up_to_its_templates_limit(tmp_path: Path) -> None:
    """A containerSet entrypoint with ``retryStrategy.limit: 2`` that fails twice, then succeeds."""
    counter = tmp_path / "attempts"
    script = f'echo x >> "{counter}"; [ "$(wc -l < "{counter}")" -ge 3 ]'
    workflow = {
        "kind": "Workflow",
        "metadata": {"name": "flaky-1", "namespace": "ns"},
        "spec": {
            "entrypoint": "run",
            "templates": [
                {
                    "name": "run",
                    "retryStrategy": {"limit": "2"},
                    "containerSet": {
                        "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}]
                    },
                }
            ],
        },
    }
    out = io.StringIO()
    options = RunOptions(workdir=tmp_path / "runs", tty=False)
    report = WorkflowRunner([workflow], "flaky-1", options, out).execute()
    assert report.exit_code == 0, out.getvalue()
    assert counter.read_text() == "x\nx\nx\n"
    assert "retry 2 of 2" in out.getvalue()
    assert len(list((tmp_path / "runs" / "flaky-1" / "history").iterdir())) == 2
