"""Tekton Pipelines v1.15.0 and Triggers v0.37.0 behaviour, as code: defaulting and the pod.

Each function names the upstream file it encodes (``P:`` tektoncd/pipeline at v1.15.0, ``T:``
tektoncd/triggers at v0.37.0). The functions are pure: they return a new object and never change
their argument.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

Obj = dict[str, Any]

# P: pkg/apis/config/default.go: DefaultTimeoutMinutes 60, DefaultServiceAccount "default",
# DefaultManagedByLabelValue "tekton-pipelines".
DEFAULT_TIMEOUT = "1h0m0s"
DEFAULT_SERVICE_ACCOUNT = "default"
MANAGED_BY = ("app.kubernetes.io/managed-by", "tekton-pipelines")


def _param_spec(param: Obj) -> None:
    # P: pkg/apis/pipeline/v1/param_types.go ParamSpec.SetDefaults: the type follows the default's,
    # else object when properties are given, else string.
    if param.get("type"):
        return
    default = param.get("default")
    if isinstance(default, list):
        param["type"] = "array"
    elif isinstance(default, dict) or "properties" in param:
        param["type"] = "object"
    else:
        param["type"] = "string"


def _result(result: Obj) -> None:
    # P: pkg/apis/pipeline/v1/result_defaults.go TaskResult.SetDefaults.
    if not result.get("type"):
        result["type"] = "object" if "properties" in result else "string"


def _task_spec(spec: Obj) -> None:
    # P: pkg/apis/pipeline/v1/task_defaults.go TaskSpec.SetDefaults.
    for param in spec.get("params") or ():
        _param_spec(param)
    for result in spec.get("results") or ():
        _result(result)


def _task_ref(ref: Obj | None) -> None:
    # P: taskrun_defaults.go / pipeline_defaults.go: a named taskRef without a resolver gets kind Task.
    if ref is not None and ref.get("name") and not ref.get("resolver") and not ref.get("kind"):
        ref["kind"] = "Task"


def _pipeline_spec(spec: Obj) -> None:
    # P: pkg/apis/pipeline/v1/pipeline_defaults.go PipelineSpec.SetDefaults / PipelineTask.SetDefaults.
    for param in spec.get("params") or ():
        _param_spec(param)
    for task in (*(spec.get("tasks") or ()), *(spec.get("finally") or ())):
        _task_ref(task.get("taskRef"))
        if task.get("taskSpec") is not None:
            _embedded_task(task["taskSpec"])


def _embedded_task(spec: Obj) -> None:
    # P: pkg/apis/pipeline/v1/pipeline_types.go EmbeddedTask: the object is stored as its Go type
    # marshals (the defaulting webhook answers with a patch to the re-marshalled object), and
    # encoding/json never omits the struct Metadata, while the unset runtime.RawExtension Spec
    # marshals as null (k8s.io/apimachinery pkg/runtime/extension.go MarshalJSON).
    spec.setdefault("metadata", {})
    spec.setdefault("spec", None)
    _task_spec(spec)


def _taskrun(obj: Obj) -> None:
    # P: pkg/apis/pipeline/v1/taskrun_defaults.go TaskRun.SetDefaults and TaskRunSpec.SetDefaults.
    spec = obj.setdefault("spec", {})
    _task_ref(spec.get("taskRef"))
    spec.setdefault("timeout", DEFAULT_TIMEOUT)
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
    if spec.get("taskSpec") is not None:
        _task_spec(spec["taskSpec"])
    labels = obj.setdefault("metadata", {}).setdefault("labels", {})
    labels.setdefault(*MANAGED_BY)


def _pipelinerun(obj: Obj) -> None:
    # P: pkg/apis/pipeline/v1/pipelinerun_defaults.go PipelineRunSpec.SetDefaults (no label here).
    spec = obj.setdefault("spec", {})
    spec.setdefault("timeouts", {}).setdefault("pipeline", DEFAULT_TIMEOUT)
    template = spec.setdefault("taskRunTemplate", {})
    if not template.get("serviceAccountName"):
        template["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
    if spec.get("pipelineSpec") is not None:
        _pipeline_spec(spec["pipelineSpec"])


def _bindings(bindings: list[Obj] | None) -> None:
    # T: pkg/apis/triggers/v1beta1/trigger_defaults.go defaultBindings: every binding, inline ones
    # included, gets kind TriggerBinding.
    for binding in bindings or ():
        binding.setdefault("kind", "TriggerBinding")


def _interceptors(interceptors: list[Obj] | None) -> None:
    # T: pkg/apis/triggers/v1beta1/trigger_types.go defaultInterceptorKind.
    for interceptor in interceptors or ():
        if "ref" in interceptor and not interceptor["ref"].get("kind"):
            interceptor["ref"]["kind"] = "ClusterInterceptor"


def _trigger(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _bindings(spec.get("bindings"))
    _interceptors(spec.get("interceptors"))


def _eventlistener(obj: Obj) -> None:
    # T: pkg/apis/triggers/v1beta1/event_listener_defaults.go EventListener.SetDefaults.
    spec = obj.setdefault("spec", {})
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
    for trigger in spec.get("triggers") or ():
        _bindings(trigger.get("bindings"))
        _interceptors(trigger.get("interceptors"))


def _triggertemplate(obj: Obj) -> None:
    # T: trigger_template_defaults.go sets nothing; the resource templates are defaulted when
    # Tekton admits the runs they create.
    for template in obj.get("spec", {}).get("resourcetemplates") or ():
        set_defaults_in_place(template)


_DEFAULTS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("tekton.dev/v1", "Task"): lambda o: _task_spec(o.setdefault("spec", {})),
    ("tekton.dev/v1", "Pipeline"): lambda o: _pipeline_spec(o.setdefault("spec", {})),
    ("tekton.dev/v1", "TaskRun"): _taskrun,
    ("tekton.dev/v1", "PipelineRun"): _pipelinerun,
    ("triggers.tekton.dev/v1beta1", "Trigger"): _trigger,
    ("triggers.tekton.dev/v1beta1", "EventListener"): _eventlistener,
    ("triggers.tekton.dev/v1beta1", "TriggerTemplate"): _triggertemplate,
    # T: trigger_binding_defaults.go sets nothing.
    ("triggers.tekton.dev/v1beta1", "TriggerBinding"): lambda o: None,
}


def has_defaults(obj: Mapping[str, Any]) -> bool:
    return (obj.get("apiVersion"), obj.get("kind")) in _DEFAULTS


def set_defaults_in_place(obj: Obj) -> None:
    rule = _DEFAULTS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if rule is not None:
        rule(obj)


def set_defaults(obj: Mapping[str, Any]) -> Obj:
    """The object as the webhook's defaulting leaves it (a new object)."""
    out = copy.deepcopy(dict(obj))
    set_defaults_in_place(out)
    return out


# --- the pod ---------------------------------------------------------------------------------

# P: pkg/pod/security_context_config.go LinuxSecurityContext: what Tekton gives its own init
# containers when the feature flag set-security-context is "true" (a prerequisite of the tree).
TEKTON_INIT_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def merge_resources(step: Mapping[str, Any], override: Mapping[str, Any]) -> Obj:
    """P: pkg/apis/pipeline/v1/merge.go MergeStepsWithSpecs: a strategic merge of the step's
    computeResources with the TaskRun's stepSpecs override; ResourceLists merge key by key."""
    out: Obj = {}
    for field in ("limits", "requests"):
        merged = {**(step.get(field) or {}), **(override.get(field) or {})}
        if merged:
            out[field] = merged
    return out


def build_pod(taskrun: Mapping[str, Any], task_spec: Mapping[str, Any]) -> Obj:
    """The pod Tekton builds for a TaskRun of ``task_spec`` (P: pkg/pod/pod.go Builder.Build).

    Steps become containers ``step-<name>`` with the TaskRun's stepSpecs merged in; the pod
    template's securityContext, nodeSelector and tolerations are the pod's; the entrypoint init
    container is Tekton's own.
    """
    spec = taskrun.get("spec") or {}
    overrides = {o["name"]: o.get("computeResources") or {} for o in spec.get("stepSpecs") or ()}
    containers = []
    for step in task_spec.get("steps") or ():
        resources = step.get("computeResources") or {}
        if step["name"] in overrides:
            resources = merge_resources(resources, overrides[step["name"]])
        containers.append(
            {
                "name": f"step-{step['name']}",
                "image": step.get("image"),
                "resources": resources,
                "securityContext": step.get("securityContext"),
                "volumeMounts": step.get("volumeMounts") or [],
            }
        )
    template = spec.get("podTemplate") or {}
    init = {"name": "prepare", "securityContext": TEKTON_INIT_SECURITY, "resources": {}}
    return {
        "spec": {
            "serviceAccountName": spec.get("serviceAccountName"),
            "securityContext": template.get("securityContext"),
            "nodeSelector": template.get("nodeSelector"),
            "tolerations": template.get("tolerations"),
            "initContainers": [init],
            "containers": containers,
            "volumes": [
                *(task_spec.get("volumes") or ()),
                {"name": "tekton-internal-workspace", "emptyDir": {}},
            ],
        }
    }


_UNITS = {"": 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def quantity(text: str) -> float:
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if suffix and str(text).endswith(suffix):
            return float(str(text)[: -len(suffix)]) * _UNITS[suffix]
    return float(text)


def pod_requests(pod: Mapping[str, Any]) -> dict[str, float]:
    """What the scheduler reserves: the sum over containers, at least the largest init container
    (kubernetes pkg/api/v1/resource/helpers.go PodRequests; P: docs/compute-resources.md)."""
    total: dict[str, float] = {}
    for container in pod["spec"]["containers"]:
        for key, value in container_requests(container).items():
            total[key] = total.get(key, 0.0) + quantity(value)
    for container in pod["spec"]["initContainers"]:
        for key, value in container_requests(container).items():
            total[key] = max(total.get(key, 0.0), quantity(value))
    return total


def container_requests(container: Mapping[str, Any]) -> dict[str, str]:
    """A container's requests after API defaulting: a resource with a limit and no request
    requests its limit (kubernetes pkg/apis/core/v1/defaults.go SetDefaults_Pod)."""
    resources = container.get("resources") or {}
    return {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
