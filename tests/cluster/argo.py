"""Argo Workflows v4.1.2 behaviour, as code: the spec a Workflow runs with and the pod the controller
builds for one of its containerSet templates.

Each function names the upstream file it encodes (argoproj/argo-workflows at f016ad89eb). The functions
are pure: they return a new object and never change their argument.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]

# workflow/common/security_context.go MinimalCtrSC: what the docs' "restricted" setup gives the executor
# (docs/workflow-pod-security-context.md), through the controller's config ``executor.securityContext``.
MINIMAL_EXECUTOR_SECURITY: Obj = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 8737,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def execution_spec(workflow: Mapping[str, Any], template: Mapping[str, Any]) -> Obj:
    """workflow/util/merge.go JoinWorkflowSpec: the Workflow's spec over its WorkflowTemplate's, arguments
    merged by parameter name (the Workflow's win), other fields replaced when the Workflow sets them."""
    base = copy.deepcopy(dict(template["spec"]))
    own = {k: v for k, v in workflow["spec"].items() if k != "workflowTemplateRef"}
    params = {p["name"]: dict(p) for p in (base.get("arguments") or {}).get("parameters") or ()}
    for p in (own.pop("arguments", None) or {}).get("parameters") or ():
        params[p["name"]] = {**params.get(p["name"], {}), **p}
    base.update(copy.deepcopy(own))
    base["arguments"] = {"parameters": list(params.values())}
    return base


def substitute(value: Any, scope: Mapping[str, str]) -> Any:
    """util/template: ``{{name}}`` replaced as plain text in every string; an unknown name is left for a
    later pass (the controller resolves ``inputs``, ``workflow`` and ``tasks`` in turn)."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: scope.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, scope) for v in value]
    if isinstance(value, Mapping):
        return {k: substitute(v, scope) for k, v in value.items()}
    return value


def _scope(
    spec: Mapping[str, Any], template: Mapping[str, Any], uid: str, given: Mapping[str, str] | None
) -> dict[str, str]:
    """workflow/common/util.go ProcessArgs: a template's inputs filled by name from the arguments it is
    called with (the Workflow's for the entrypoint, a dag task's ``given`` otherwise), else their
    ``default``; workflow.parameters.* and workflow.uid are global."""
    wf_args = {p["name"]: p.get("value") for p in (spec.get("arguments") or {}).get("parameters") or ()}
    scope = {f"workflow.parameters.{k}": str(v) for k, v in wf_args.items() if v is not None}
    scope["workflow.uid"] = uid
    args = wf_args if given is None else {k: substitute(v, scope) for k, v in given.items()}
    for p in (template.get("inputs") or {}).get("parameters") or ():
        value = args.get(p["name"], p.get("default"))
        if value is None:
            raise ValueError(f"inputs.parameters.{p['name']} was not supplied")
        scope[f"inputs.parameters.{p['name']}"] = str(value)
    return scope


def strategic_merge_containers(containers: list[Obj], patch: Mapping[str, Any]) -> list[Obj]:
    """workflow/util/util.go ApplyPodSpecPatch: a strategic merge patch of the pod spec; containers merge
    by ``name`` (a name the pod lacks is appended) and ResourceLists key by key."""
    out = [copy.deepcopy(c) for c in containers]
    for change in patch.get("containers") or ():
        target = next((c for c in out if c["name"] == change["name"]), None)
        if target is None:
            out.append(copy.deepcopy(dict(change)))
            continue
        for field, value in change.items():
            if field == "resources":
                resources = target.setdefault("resources", {})
                for kind, items in value.items():
                    resources[kind] = {**(resources.get(kind) or {}), **items}
            elif field != "name":
                target[field] = copy.deepcopy(value)
    return out


def build_pod(
    workflow: Mapping[str, Any],
    workflow_template: Mapping[str, Any],
    template_name: str,
    executor_security: Mapping[str, Any] | None = MINIMAL_EXECUTOR_SECURITY,
    uid: str = "00000000-0000-0000-0000-000000000000",
    arguments: Mapping[str, str] | None = None,
) -> Obj:
    """The pod of template ``template_name`` when ``workflow`` runs it as its entrypoint
    (workflow/controller/workflowpod.go createWorkflowPod).

    A containerSet's containers keep their names; the executor adds ``init`` and ``wait`` containers
    with the controller's ``executor.securityContext`` (``newExecContainer``; nil unless configured) and
    the executor token mounted (``setupServiceAccount``); the pod's security context, service account,
    token automount and node selector come from the template, else the execution spec
    (``addSchedulingConstraints``, ``setupServiceAccount``); the template's and the Workflow's
    ``podSpecPatch`` apply last (``processPodSpecPatch``). ``arguments``: those a dag task passes.
    """
    spec = execution_spec(workflow, workflow_template)
    template = next(t for t in spec["templates"] if t["name"] == template_name)
    template = substitute(template, _scope(spec, template, uid, arguments))
    containers = [copy.deepcopy(c) for c in template["containerSet"]["containers"]]
    for patch in (spec.get("podSpecPatch"), template.get("podSpecPatch")):
        if patch:
            containers = strategic_merge_containers(containers, json.loads(patch))
    executor = spec.get("executor") or {}
    token = "executor-token" if executor.get("serviceAccountName") else None

    def exec_container(name: str) -> Obj:
        mounts = (
            [{"name": token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}] if token else []
        )
        return {"name": name, "securityContext": executor_security, "resources": {}, "volumeMounts": mounts}

    volumes = list(template.get("volumes") or ())
    if token:
        secret = f"{executor['serviceAccountName']}.service-account-token"
        volumes.append({"name": token, "secret": {"secretName": secret}})
    return {
        "spec": {
            "serviceAccountName": template.get("serviceAccountName") or spec.get("serviceAccountName"),
            "automountServiceAccountToken": spec.get("automountServiceAccountToken"),
            "securityContext": template.get("securityContext") or spec.get("securityContext"),
            "nodeSelector": template.get("nodeSelector") or spec.get("nodeSelector"),
            "tolerations": template.get("tolerations") or spec.get("tolerations"),
            "initContainers": [exec_container("init")],
            "containers": [*containers, exec_container("wait")],
            "volumes": volumes,
        }
    }
