"""The plan's backend-neutral notions as Argo Workflows objects, citing the upstream file each relies on.

Upstream: argoproj/argo-workflows v4.1.2 (commit f016ad89eb).

* **Parameters.** Inside a template, a run param is an input parameter (``{{inputs.parameters.x}}``). The
  entrypoint template receives the Workflow's ``spec.arguments`` by name (``workflow/controller/operator.go``
  executes the entrypoint with ``woc.execWf.Spec.Arguments``; ``workflow/common/util.go`` ``ProcessArgs``
  fills each input from the argument of the same name), and the sharded dag passes them to its tasks from
  ``{{workflow.parameters.x}}``. Substitution is a plain text replacement of ``{{...}}``
  (``util/template/replace.go``), so a value is never parsed as YAML or a shell word: steps read values
  as argv items or env values, as with Tekton.
* **Run uid.** ``{{workflow.uid}}``, the Workflow's ``metadata.uid`` (``workflow/common/common.go``
  ``GlobalVarWorkflowUID``), for a single run and for every task of a sharded one; a retried shard keeps it.
* **Results.** Argo has no results folder: steps write them to an ``emptyDir`` mounted at
  ``/odahu/results``, and the plan task's results become output parameters read from there
  (``valueFrom.path``) of its container named ``main``.
* **Shard cap.** Argo's template ``parallelism`` queues the dag's pods (``docs/parallelism.md``,
  ``workflow/controller/operator.go`` ``checkParallelism``), so a sharded run keeps the shard count it
  asked for, up to the product's 256, and at most ``maxParallelShards`` run at once.
* **Resources of a job.** A Workflow cannot change a container of the WorkflowTemplate it references, so a
  job's resources reach the user container as the ``run`` and ``shard`` templates' ``podSpecPatch``, a
  strategic merge patch of the pod spec (``workflow/util/util.go`` ``ApplyPodSpecPatch``): containers
  merge by name and ``resources`` key by key, as Tekton merges ``stepSpecs``. The patch comes from the
  ``pod-spec-patch`` parameter, ``{}`` (no change) unless the job sets resources.
* **Executor RBAC.** The emissary executor reports each pod's outputs as a ``WorkflowTaskResult`` it
  creates and patches (``docs/workflow-rbac.md``, "The minimum for the executor to function", v3.4 and
  later); that is all the runner's ServiceAccount is granted.
"""

from __future__ import annotations

import json
from typing import Literal

from compiler import naming as n
from compiler.manifests.rbac import PolicyRule
from compiler.plan.model import (
    Join,
    ParamRef,
    Resources,
    ResultPathRef,
    ResultsDirRef,
    RunUidRef,
    ShardCapRef,
    ShardedRunUidRef,
    Step,
    TaskResultRef,
    TriggerParamRef,
)
from compiler.units import parse_duration

WORKFLOW_UID = "{{workflow.uid}}"
EXECUTOR_RULES = (PolicyRule(("argoproj.io",), ("workflowtaskresults",), ("create", "patch")),)
NO_PATCH = "{}"
POD_SPEC_PATCH_DOC = (
    "Strategic merge patch of the run's pod (JSON): the job's resources of the user container; {}: none."
)
# Where a run param is read: as an input parameter inside a template, as a workflow parameter in the dag
# that passes it on (templates write ``value | ref('workflow')`` there).
Scope = Literal["template", "workflow"]


def argo_ref(value: object, scope: Scope = "template") -> object:
    """A plan value in Argo's syntax; literals pass through."""
    match value:
        case ParamRef(name):
            root = "inputs" if scope == "template" else "workflow"
            return "{{" + f"{root}.parameters.{name}" + "}}"
        case TriggerParamRef(name):
            return "{{" + f"workflow.parameters.{name}" + "}}"
        case ResultPathRef(name):
            return f"{n.ARGO_RESULTS_DIR}/{name}"
        case ResultsDirRef():
            return n.ARGO_RESULTS_DIR
        case RunUidRef() | ShardedRunUidRef():
            return WORKFLOW_UID
        case ShardCapRef(_, max_shards):
            return str(max_shards)
        case TaskResultRef(task, result, _):
            # An array result is already the JSON list withParam reads (docs/loops.md).
            return "{{" + f"tasks.{task}.outputs.parameters.{result}" + "}}"
        case Join(parts):
            return "".join(str(argo_ref(p, scope)) for p in parts)
    return value


def deadline_seconds(timeout: str) -> int:
    """A run's timeout (a Go duration) as ``activeDeadlineSeconds``, rounded up to whole seconds; 0: none."""
    ns = parse_duration(timeout)
    return -(-ns // 1_000_000_000)


def pod_spec_patch(user_resources: Resources | None) -> str:
    """The ``pod-spec-patch`` value of a run: the user container's resources, else no change."""
    if user_resources is None:
        return NO_PATCH
    resources: dict[str, dict[str, str]] = {}
    if user_resources.limits:
        resources["limits"] = dict(user_resources.limits)
    if user_resources.requests:
        resources["requests"] = dict(user_resources.requests)
    patch = {"containers": [{"name": n.STEP_USER, "resources": resources}]}
    return json.dumps(patch, sort_keys=True, separators=(",", ":"))


def _writes_results(value: object) -> bool:
    match value:
        case ResultPathRef() | ResultsDirRef():
            return True
        case Join(parts):
            return any(_writes_results(p) for p in parts)
    return False


def results_used(step: Step) -> bool:
    """Whether ``step`` writes a result, so its container mounts the results folder."""
    values = (*step.command, *step.args, *(e.value for e in step.env))
    return any(_writes_results(v) for v in values)


def uses_results(steps: tuple[Step, ...]) -> bool:
    return any(results_used(s) for s in steps)


# What the Argo templates read besides the plan's objects.
TEMPLATE_GLOBALS = {
    "results_used": results_used,
    "uses_results": uses_results,
    "results_volume": n.ARGO_RESULTS_VOLUME,
    "results_dir": n.ARGO_RESULTS_DIR,
    "pod_spec_patch_param": n.PARAM_POD_SPEC_PATCH,
    "template_run": n.ARGO_TEMPLATE_RUN,
    "template_shard": n.ARGO_TEMPLATE_SHARD,
    "template_sharded": n.ARGO_TEMPLATE_SHARDED,
    "main_container": n.ARGO_MAIN_CONTAINER,
}
