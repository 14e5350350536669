"""A TaskRun and its Task as the pod the local runner executes (Tekton's documents -> :class:`Pod`).

What Tekton decides before the pod starts: params from the TaskRun over the Task's defaults, the
``stepTemplate`` merged into every step, ``stepSpecs`` merged into the steps' resources, the TaskRun's
timeout (Tekton's default 1h); the substitution of ``$(params.x)``, ``$(context.*)`` and results happens
per step, when it starts (``TektonSubstitution``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler.localrun.documents import RunDocuments
from compiler.localrun.errors import LocalRunError
from compiler.localrun.pod import Doc, Pod
from compiler.localrun.prepare import DEFAULT_TIMEOUT, seconds
from compiler.localrun.tekton import RunContext, TektonSubstitution, param_values, task_replacements


def _merge_template(template: Doc, step: Doc) -> Doc:
    """A step with the Task's ``stepTemplate`` under it (env by name, mounts by path)."""
    if not template:
        return step
    merged = {**template, **step}
    for key in ("env", "volumeMounts"):
        ident = "name" if key == "env" else "mountPath"
        own = {item[ident] for item in step.get(key) or []}
        merged[key] = [i for i in template.get(key) or [] if i[ident] not in own] + list(step.get(key) or [])
    return merged


def tekton_pod(docs: RunDocuments, context: RunContext) -> Pod:
    """The TaskRun's pod; a Task the local runner cannot run is refused with the reason."""
    spec: Mapping[str, Any] = docs.task.get("spec") or {}
    run_spec: Mapping[str, Any] = docs.taskrun.get("spec") or {}
    if spec.get("sidecars"):
        raise LocalRunError(f"Task {context.task_name} has sidecars, which the local runner does not start")
    params = param_values(spec, run_spec)
    results = [r["name"] for r in spec.get("results") or []]
    steps = tuple(_merge_template(spec.get("stepTemplate") or {}, s) for s in spec.get("steps") or [])
    if not steps:
        raise LocalRunError(f"Task {context.task_name} has no steps")
    overrides = {str(o.get("name")): o.get("computeResources") or {} for o in run_spec.get("stepSpecs") or []}
    # Tekton fails a TaskRun whose stepSpecs name a step its Task lacks
    # (pkg/reconciler/taskrun/validate_taskrun.go validateOverrides).
    unknown = sorted(set(overrides) - {str(s.get("name")) for s in steps})
    if unknown:
        names = ", ".join(unknown)
        raise LocalRunError(f"invalid stepSpecs: Task {context.task_name} has no step named {names}")
    return Pod(
        owner=f"Task {context.task_name}",
        name=context.taskrun_name,
        namespace=context.namespace,
        uid=context.uid,
        containers=steps,
        volumes=tuple(spec.get("volumes") or []),
        timeout=seconds(run_spec.get("timeout"), DEFAULT_TIMEOUT),
        substitution=TektonSubstitution(task_replacements(params, context, results)),
        configmaps=docs.configmaps,
        service_account=str(run_spec.get("serviceAccountName") or "default"),
        resources=overrides,
    )
