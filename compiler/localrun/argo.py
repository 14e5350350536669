"""Argo Workflows' semantics that a local run of the compiled Workflow relies on, as pure functions.

Upstream: argoproj/argo-workflows v4.1.2 (commit f016ad89eb), cited per function. In the order the
controller applies them:

1. **Arguments** (``workflow/util/merge.go`` ``JoinWorkflowSpec``): the Workflow's spec over its
   WorkflowTemplate's; ``arguments.parameters`` merge by name, the Workflow's value winning.
2. **Inputs** (``workflow/common/util.go`` ``ProcessArgs``): each input parameter of the template takes the
   argument of the same name, else its ``default``; neither is an error.
3. **Substitution** (``util/template/``, ``SubstituteParams``): a plain text replacement of ``{{tag}}``
   (from ``{{`` to the first ``}}``, the tag trimmed), over the whole template, globals
   (``workflow.*``) first, then ``inputs.*``. Nothing is parsed as YAML or a shell word. The submit-time
   validator refuses a tag nothing resolves (``workflow/validate/validate.go`` ``resolveAllVariables``):
   so does the local run, before anything starts. Expressions (``{{=...}}``) are not evaluated locally.
4. **Fan-out** (``workflow/controller/dag.go`` ``expandTask``, ``operator.go`` ``processItem``): ``withParam``
   is a JSON list; each item becomes one task, ``{{item}}`` its value (a string as is, a number or bool
   printed, a map or list as JSON; a map's keys as ``{{item.<key>}}``).
5. **The pod**: a containerSet's containers start in ``dependencies`` order, a container whose dependency
   failed never runs (``cmd/argoexec/commands/emissary.go``); ``podSpecPatch`` is a strategic merge patch
   of the pod spec (``workflow/util/util.go`` ``ApplyPodSpecPatch``); output parameters are read from
   ``valueFrom.path`` of the ``main`` container, one trailing newline trimmed, ``valueFrom.default`` when
   the file is missing (``workflow/executor/executor.go`` ``SaveParameters``).

Kubernetes' ``$(VAR)`` expansion comes after, in the pod, as for Tekton (``tekton.k8s_expand``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from compiler.localrun.errors import LocalRunError

Doc = Mapping[str, Any]
Scope = Mapping[str, str]
START, END = "{{", "}}"


def _split(text: str) -> list[tuple[str, bool]]:
    """``text`` as (literal, False) and (tag, True) parts, as valyala/fasttemplate splits it."""
    parts: list[tuple[str, bool]] = []
    rest = text
    while True:
        start = rest.find(START)
        if start < 0:
            parts.append((rest, False))
            return parts
        end = rest.find(END, start + len(START))
        if end < 0:
            raise LocalRunError(f"cannot find end tag {END!r} in {text!r}")
        parts.append((rest[:start], False))
        parts.append((rest[start + len(START) : end], True))
        rest = rest[end + len(END) :]


def tags(text: str) -> list[str]:
    """The trimmed tags of ``text``."""
    return [part.strip() for part, is_tag in _split(text) if is_tag] if START in text else []


def replace(text: str, scope: Scope) -> str:
    """``text`` with every tag ``scope`` knows replaced; the others kept, as the controller keeps them."""
    if START not in text:
        return text
    out = []
    for part, is_tag in _split(text):
        out.append(scope.get(part.strip(), START + part + END) if is_tag else part)
    return "".join(out)


def replace_all(value: Any, scope: Scope) -> Any:
    """``replace`` over every string of a document (Argo replaces in the template's JSON text)."""
    if isinstance(value, str):
        return replace(value, scope)
    if isinstance(value, Mapping):
        return {key: replace_all(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_all(item, scope) for item in value]
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def check_references(value: Any, known: Scope, where: str, later: tuple[str, ...] = ()) -> None:
    """Every tag of ``value`` resolves in ``known`` (validate.go ``resolveAllVariables``), else an error
    naming them all; tags that start with one of ``later`` are checked where they are resolved."""
    found = {tag for text in _strings(value) for tag in tags(text)}
    bad = sorted(tag for tag in found if tag not in known and not (later and tag.startswith(later)))
    if bad:
        listing = ", ".join(START + tag + END for tag in bad)
        what = "expressions are not evaluated locally" if any(t.startswith("=") for t in bad) else ""
        raise LocalRunError(f"{where}: failed to resolve {listing}" + (f" ({what})" if what else ""))


def _params(spec: Doc) -> list[Doc]:
    return list((spec.get("arguments") or {}).get("parameters") or [])


def joined_spec(workflow_spec: Doc, template_spec: Doc) -> dict[str, Any]:
    """The Workflow's spec over its WorkflowTemplate's (``JoinWorkflowSpec``): the Workflow's fields win,
    arguments merge by name. ``templates`` come from the WorkflowTemplate."""
    joined: dict[str, Any] = {**template_spec, **workflow_spec}
    joined.pop("workflowTemplateRef", None)
    given = {str(p["name"]): p for p in _params(workflow_spec)}
    merged = [given.pop(str(p["name"]), p) for p in _params(template_spec)]
    joined["arguments"] = {"parameters": [*merged, *given.values()]}
    return joined


def global_scope(name: str, namespace: str, uid: str, spec: Doc) -> dict[str, str]:
    """The workflow's global variables (``operator.go`` ``setGlobalParameters``)."""
    scope = {
        "workflow.name": name,
        "workflow.namespace": namespace,
        "workflow.uid": uid,
        "workflow.mainEntrypoint": str(spec.get("entrypoint", "")),
        "workflow.serviceAccountName": str(spec.get("serviceAccountName", "")),
    }
    parameters = _params(spec)
    scope["workflow.parameters"] = json.dumps(parameters, separators=(",", ":"))
    for param in parameters:
        if param.get("value") is not None:
            scope[f"workflow.parameters.{param['name']}"] = text_value(param["value"])
    return scope


def text_value(value: Any) -> str:
    """A parameter value as Argo holds it (``AnyString``): a string, or a scalar as it was written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def input_values(template: Doc, arguments: Mapping[str, str]) -> dict[str, str]:
    """Each input parameter: the argument of the same name, else its default (``ProcessArgs``)."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for param in (template.get("inputs") or {}).get("parameters") or []:
        name = str(param["name"])
        if name in arguments:
            values[name] = arguments[name]
        elif param.get("default") is not None:
            values[name] = text_value(param["default"])
        elif param.get("value") is not None:
            values[name] = text_value(param["value"])
        else:
            missing.append(f"inputs.parameters.{name}")
    if missing:
        raise LocalRunError(f"template {template.get('name')}: {', '.join(missing)} was not supplied")
    return values


def process_args(
    template: Doc, arguments: Mapping[str, str], scope: Scope, later: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The template with its inputs filled and every tag substituted (``ProcessArgs``, ``SubstituteParams``).

    Checked first against what the two passes know, so a misspelt tag stops the run before a pod starts;
    then globals, then inputs, each a lenient pass as in the controller (a value that carries a tag of the
    second pass's is replaced by it, as on a cluster). ``later``: the prefixes of tags a dag resolves per
    task (``tasks.``, ``item``)."""
    values = input_values(template, arguments)
    local = {f"inputs.parameters.{name}": value for name, value in values.items()}
    local["inputs.parameters"] = json.dumps(
        [{"name": name, "value": value} for name, value in values.items()], separators=(",", ":")
    )
    for param in (template.get("outputs") or {}).get("parameters") or []:
        path = (param.get("valueFrom") or {}).get("path")
        if path:
            local[f"outputs.parameters.{param['name']}.path"] = str(path)
    body = {key: value for key, value in template.items() if key != "inputs"}
    check_references(body, {**scope, **local}, f"template {template.get('name')}", later)
    filled = replace_all(replace_all(body, scope), local)
    inputs = [{"name": name, "value": value} for name, value in values.items()]
    return {**filled, "inputs": {"parameters": inputs}}


def item_scope(item: Any) -> dict[str, str]:
    """``{{item}}`` (and ``{{item.<key>}}`` of a map) of one withParam item (``processItem``): a string as
    is, a number or bool printed, a map or list as JSON (a map's keys sorted, as Go marshals it)."""
    if isinstance(item, str):
        return {"item": item}
    if isinstance(item, bool | int | float):
        return {"item": text_value(item)}
    if isinstance(item, Mapping):
        keys = {f"item.{key}": text_value(value) for key, value in item.items()}
        return {"item": json.dumps(item, separators=(",", ":"), sort_keys=True), **keys}
    if isinstance(item, list):
        return {"item": json.dumps(item, separators=(",", ":"))}
    raise LocalRunError(f"withParam item {item!r}: expected a string, number, list or map")


def fan_out(with_param: str, task: str) -> list[dict[str, str]]:
    """The items of a task's substituted ``withParam`` (``expandTask``)."""
    try:
        items = json.loads(with_param)
    except ValueError as exc:
        raise LocalRunError(
            f"task {task}: withParam value could not be parsed as a JSON list: {with_param.strip()}"
        ) from exc
    if not isinstance(items, list):
        raise LocalRunError(f"task {task}: withParam value is not a JSON list: {with_param.strip()}")
    return [item_scope(item) for item in items]


def container_order(containers: Sequence[Doc], where: str) -> list[Doc]:
    """The containers in an order their ``dependencies`` allow, the listed order among the ready ones
    (``ContainerSetTemplate.Validate``: every dependency defined, no cycle)."""
    names = [str(c.get("name")) for c in containers]
    for container in containers:
        for dep in container.get("dependencies") or []:
            if dep not in names:
                raise LocalRunError(
                    f"{where}: containers.{container.get('name')} dependency {dep!r} not defined"
                )
    done: set[str] = set()
    ordered: list[Doc] = []
    while len(ordered) < len(containers):
        ready = [
            c
            for c in containers
            if str(c.get("name")) not in done and set(c.get("dependencies") or []) <= done
        ]
        if not ready:
            raise LocalRunError(f"{where}: the containers' dependencies form a cycle")
        ordered.append(ready[0])
        done.add(str(ready[0].get("name")))
    return ordered


def _load_patch(text: str, where: str) -> Doc:
    try:
        data = YAML(typ="safe", pure=True).load(text) if text.strip() else {}
    except YAMLError as exc:
        raise LocalRunError(f"{where}: podSpecPatch is not YAML or JSON ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise LocalRunError(f"{where}: podSpecPatch must be a pod spec (a map), not {text!r}")
    return data


def pod_spec_patch(text: str, containers: Sequence[str], where: str) -> tuple[dict[str, Doc], list[str]]:
    """``podSpecPatch`` as (container -> the resources patched in, what the local run ignores).

    A strategic merge patch merges ``containers`` by name and ``resources`` key by key
    (``ApplyPodSpecPatch``): the resources returned are merged into the container's own as a TaskRun's
    ``stepSpecs`` are. A patch
    that adds a container or changes anything else of one cannot run locally and is refused."""
    patch = _load_patch(text, where)
    resources: dict[str, Doc] = {}
    for entry in patch.get("containers") or []:
        name = str((entry or {}).get("name", ""))
        if name not in containers:
            raise LocalRunError(f"{where}: podSpecPatch adds container {name!r}, which does not run locally")
        other = sorted(set(entry) - {"name", "resources"})
        if other:
            raise LocalRunError(
                f"{where}: podSpecPatch sets {', '.join(other)} of container {name}: not supported locally"
            )
        resources[name] = entry.get("resources") or {}
    ignored = [f"podSpecPatch {key}" for key in sorted(set(patch) - {"containers"})]
    return resources, ignored


def output_parameters(template: Doc, read: Callable[[str], str | None]) -> dict[str, str]:
    """The template's output parameters: ``valueFrom.path`` read from the ``main`` container (``read``: None
    when there is no such file), one trailing newline trimmed, else ``valueFrom.default``."""
    outputs: dict[str, str] = {}
    for param in (template.get("outputs") or {}).get("parameters") or []:
        source = param.get("valueFrom") or {}
        path = source.get("path")
        if not path:
            raise LocalRunError(f"output parameter {param['name']}: only valueFrom.path runs locally")
        text = read(str(path))
        if text is None:
            if source.get("default") is None:
                raise LocalRunError(
                    f"output parameter {param['name']}: open {path}: no such file or directory"
                )
            text = text_value(source["default"])
        outputs[str(param["name"])] = text.removesuffix("\n")
    return outputs
