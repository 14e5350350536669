"""Triggers rules (tekton-rules.md 52-62) and S2 (``$(tt.params.*)`` only as whole string values)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from compiler.manifests.violations import Sink, as_list, as_map, as_str, duplicates, maps, walk_strings
from compiler.tekton.rules_base import TT_PARAM_RE
from compiler.tekton.rules_runs import check_pipelinerun, check_taskrun
from compiler.units import is_label_value

# S2: fields where a raw, attacker-controlled value must never land.
_TT_FORBIDDEN_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "image",
        "script",
        "serviceAccountName",
        "workingDir",
        "kind",
        "apiVersion",
    }
)
_NESTED = {("tekton.dev/v1", "TaskRun"): check_taskrun, ("tekton.dev/v1", "PipelineRun"): check_pipelinerun}
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_POD_FIELDS = frozenset(
    {
        "serviceAccountName",
        "containers",
        "tolerations",
        "nodeSelector",
        "affinity",
        "topologySpreadConstraints",
    }
    | {"imagePullSecrets", "securityContext"}
)
_CONTAINER_FIELDS = frozenset(
    {"resources", "env", "livenessProbe", "readinessProbe", "startupProbe", "securityContext"}
)
_CUSTOM_CONTAINER_FIELDS = frozenset({"resources", "env", "securityContext"})


def check_triggertemplate(doc: Mapping[str, Any], sink: Sink) -> None:
    check_template_spec(as_map(doc.get("spec")), "/spec", sink)


def check_template_spec(spec: Mapping[str, Any], path: str, sink: Sink) -> None:
    """Rules 52-53, S2, and the Tekton rules on each run the template creates."""
    templates = as_list(spec.get("resourcetemplates"))
    if not templates:
        sink.add("R52", f"{path}/resourcetemplates", "a TriggerTemplate needs resourcetemplates")
    declared = {as_str(p.get("name")) for _, p in maps(spec.get("params"))}
    for i, item in enumerate(templates):
        here = f"{path}/resourcetemplates/{i}"
        item = as_map(item)
        if not item.get("kind") or not item.get("apiVersion"):
            sink.add("R52", here, "each resource template needs kind and apiVersion")
        for p, s in walk_strings(item, here):
            if "$(tt." in s:
                _check_tt_usage(s, p, declared, sink)
        check = _NESTED.get((as_str(item.get("apiVersion")), as_str(item.get("kind"))))
        if check is not None:
            check(_substituted(item), sink.nested(here))


def _check_tt_usage(s: str, p: str, declared: set[str], sink: Sink) -> None:
    refs = list(TT_PARAM_RE.finditer(s))
    for m in refs:
        if m.group(1) not in declared:
            sink.add("R53", p, f"{m.group(0)}: the TriggerTemplate declares no param {m.group(1)!r}")
    if not refs:
        return
    field = next((seg for seg in reversed(p.split("/")) if not seg.isdigit()), "")
    if field in _TT_FORBIDDEN_FIELDS:
        sink.add("S2", p, f"$(tt.params.*) must not be used in {field} (the value is inserted raw)")
    elif len(refs) > 1 or refs[0].group(0) != s:
        sink.add("S2", p, "$(tt.params.*) must be a whole string value, not part of one")


def _substituted(value: Any) -> Any:
    """The template as Triggers would render it: tt params and $(uid) replaced by harmless text."""
    if isinstance(value, str):
        return TT_PARAM_RE.sub("tt-param", value).replace("$(uid)", "uid") if "$(" in value else value
    if isinstance(value, Mapping):
        return {k: _substituted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v) for v in value]
    return value


def check_triggerbinding(doc: Mapping[str, Any], sink: Sink) -> None:
    """Rule 54 (TriggerBinding and ClusterTriggerBinding)."""
    params = as_list(as_map(doc.get("spec")).get("params"))
    if not params:
        sink.add("R54", "/spec", "a TriggerBinding spec must be non-empty")
    for name in duplicates([as_str(p.get("name")) for _, p in maps(params)]):
        sink.add("R54", "/spec/params", f"param {name!r} is bound more than once")
    for i, param in maps(params):
        value = param.get("value")
        if not isinstance(value, str):
            sink.add("R54", f"/spec/params/{i}/value", "a binding value must be a string")
        elif not _balanced(value):
            sink.add(
                "R54", f"/spec/params/{i}/value", f"{value!r}: every $( must be closed before the next $("
            )


def _balanced(value: str) -> bool:
    start = value.find("$(")
    while start >= 0:
        close, following = value.find(")", start), value.find("$(", start + 2)
        if close < 0 or 0 <= following < close:
            return False
        start = following
    return True


def check_trigger(doc: Mapping[str, Any], sink: Sink) -> None:
    _check_trigger_spec(as_map(doc.get("spec")), "/spec", sink)


def check_eventlistener(doc: Mapping[str, Any], sink: Sink) -> None:
    """Rules 55-61."""
    spec = as_map(doc.get("spec"))
    if not (
        spec.get("labelSelector")
        or as_map(spec.get("namespaceSelector")).get("matchNames")
        or spec.get("triggerGroups")
        or spec.get("triggers")
    ):
        sink.add(
            "R55", "/spec", "needs triggers, triggerGroups, labelSelector or namespaceSelector.matchNames"
        )
    for i, trigger in enumerate(as_list(spec.get("triggers"))):
        here = f"/spec/triggers/{i}"
        trigger = as_map(trigger)
        name = trigger.get("name", "")
        if not isinstance(name, str) or not is_label_value(name):
            sink.add("R56", f"{here}/name", f"trigger name {name!r} is not a valid label value")
        if trigger.get("triggerRef"):
            for key in ("template", "bindings", "interceptors"):
                if trigger.get(key):
                    sink.add("R56", f"{here}/{key}", f"triggerRef excludes {key}")
        elif not trigger.get("template"):
            sink.add("R56", here, "a trigger needs template or triggerRef")
        else:
            _check_trigger_spec(trigger, here, sink, nil_rule="R56")
    for i, group in maps(spec.get("triggerGroups")):
        here = f"/spec/triggerGroups/{i}"
        if not as_list(group.get("interceptors")):
            sink.add("R60", f"{here}/interceptors", "a trigger group needs interceptors")
        _check_interceptors(group.get("interceptors"), f"{here}/interceptors", sink)
        selector = as_map(group.get("triggerSelector"))
        if not (selector.get("labelSelector") or as_map(selector.get("namespaceSelector")).get("matchNames")):
            sink.add("R60", f"{here}/triggerSelector", "needs labelSelector or namespaceSelector.matchNames")
    _check_resources(as_map(spec.get("resources")), "/spec/resources", sink)


def _check_trigger_spec(spec: Mapping[str, Any], path: str, sink: Sink, nil_rule: str = "R59") -> None:
    """Rules 57-59 on a Trigger spec or an EventListener trigger (where a nil interceptor is rule 56)."""
    template = as_map(spec.get("template"))
    if ("ref" in template) == ("spec" in template):
        sink.add("R57", f"{path}/template", "a trigger template needs exactly one of ref and spec")
    elif "ref" in template and not as_str(template.get("ref")):
        sink.add("R57", f"{path}/template/ref", "template ref must be non-empty")
    if template.get("apiversion", "v1beta1") not in ("v1alpha1", "v1beta1"):
        sink.add("R57", f"{path}/template/apiversion", "template apiversion must be v1alpha1 or v1beta1")
    if isinstance(template.get("spec"), Mapping):
        check_template_spec(template["spec"], f"{path}/template/spec", sink)
    for i, binding in enumerate(as_list(spec.get("bindings"))):
        here, binding = f"{path}/bindings/{i}", as_map(binding)
        if bool(binding.get("ref")) == bool(binding.get("name")):
            sink.add("R58", here, "a binding needs exactly one of ref and name")
        elif binding.get("ref") and (binding.get("kind") or "TriggerBinding") not in (
            "TriggerBinding",
            "ClusterTriggerBinding",
        ):
            sink.add(
                "R58", f"{here}/kind", f"binding kind {binding.get('kind')!r} is not (Cluster)TriggerBinding"
            )
        elif binding.get("name") and "value" not in binding:
            sink.add("R58", here, "a binding with name needs value")
    _check_interceptors(spec.get("interceptors"), f"{path}/interceptors", sink, nil_rule)


def _check_interceptors(interceptors: Any, path: str, sink: Sink, nil_rule: str = "R59") -> None:
    for i, item in enumerate(as_list(interceptors)):
        here = f"{path}/{i}"
        if not isinstance(item, Mapping):
            sink.add(nil_rule, here, "an interceptor entry must not be empty")
            continue
        webhook = item.get("webhook")
        if webhook is None:
            if not as_map(item.get("ref")).get("name"):
                sink.add("R59", f"{here}/ref", "an interceptor needs ref.name (or webhook)")
            continue
        target = as_map(as_map(webhook).get("objectRef"))
        if target.get("kind") != "Service" or target.get("apiVersion") != "v1":
            sink.add(
                "R59", f"{here}/webhook/objectRef", "a webhook interceptor needs objectRef kind Service, v1"
            )
        for j, header in maps(as_map(webhook).get("header")):
            name = as_str(header.get("name"))
            if not name or canonical_header(name) != name:
                sink.add("R59", f"{here}/webhook/header/{j}/name", f"header {name!r} is not canonical")
            if not header.get("value"):
                sink.add("R59", f"{here}/webhook/header/{j}/value", "a header needs a value")


def canonical_header(name: str) -> str:
    """Go ``http.CanonicalHeaderKey``."""
    if not _TOKEN_RE.fullmatch(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _check_resources(resources: Mapping[str, Any], path: str, sink: Sink) -> None:
    """Rule 61."""
    k8s, custom = resources.get("kubernetesResource"), resources.get("customResource")
    if k8s is not None and custom is not None:
        sink.add("R61", path, "kubernetesResource and customResource are exclusive")
    if isinstance(k8s, Mapping):
        here = f"{path}/kubernetesResource"
        replicas = k8s.get("replicas", 1)
        if not isinstance(replicas, int) or replicas < 0:
            sink.add("R61", f"{here}/replicas", "replicas must be >= 0")
        if "serviceLoadBalancerClass" in k8s and k8s.get("serviceType") != "LoadBalancer":
            sink.add("R61", f"{here}/serviceLoadBalancerClass", "only allowed with serviceType LoadBalancer")
        pod = as_map(as_map(as_map(k8s.get("spec")).get("template")).get("spec"))
        for key in sorted(set(pod) - _POD_FIELDS):
            sink.add("R61", f"{here}/spec/template/spec/{key}", f"the EventListener pod may not set {key}")
        _check_containers(pod, f"{here}/spec/template/spec", _CONTAINER_FIELDS, sink)
    if isinstance(custom, Mapping):
        pod = as_map(as_map(as_map(custom.get("spec")).get("template")).get("spec"))
        _check_containers(pod, f"{path}/customResource/spec/template/spec", _CUSTOM_CONTAINER_FIELDS, sink)


def _check_containers(pod: Mapping[str, Any], path: str, allowed: frozenset[str], sink: Sink) -> None:
    containers = as_list(pod.get("containers"))
    if len(containers) > 1:
        sink.add("R61", f"{path}/containers", "at most one container")
    for i, container in maps(containers):
        here = f"{path}/containers/{i}"
        for key in sorted(set(container) - allowed):
            sink.add("R61", f"{here}/{key}", f"the EventListener container may not set {key}")
        names = []
        for j, env in maps(container.get("env")):
            names.append(env.get("name"))
            if set(env) - {"name", "valueFrom"} or set(as_map(env.get("valueFrom"))) != {"secretKeyRef"}:
                sink.add("R61", f"{here}/env/{j}", "env may only use name + valueFrom.secretKeyRef")
        if ("TLS_CERT" in names) != ("TLS_KEY" in names):
            sink.add("R61", f"{here}/env", "TLS_CERT and TLS_KEY must be set together")


def check_interceptor(doc: Mapping[str, Any], sink: Sink) -> None:
    """Rule 62 (Interceptor and ClusterInterceptor)."""
    config = as_map(as_map(doc.get("spec")).get("clientConfig"))
    if "url" in config and "service" in config:
        sink.add("R62", "/spec/clientConfig", "url and service are exclusive")
    if "service" in config:
        service = as_map(config["service"])
        for key in ("name", "namespace"):
            if not service.get(key):
                sink.add("R62", f"/spec/clientConfig/service/{key}", f"service needs {key}")
