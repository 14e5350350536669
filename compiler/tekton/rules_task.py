"""TaskSpec rules (tekton-rules.md 4-26) and the step-level security rules S1 and S3."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from compiler.manifests.violations import (
    EMPTY,
    Sink,
    as_list,
    as_map,
    as_str,
    duplicates,
    maps,
    ptr,
    walk_strings,
)
from compiler.tekton.rules_base import (
    ARTIFACT_RE,
    CONTEXT_RE,
    PARAM_TYPES,
    STEP_RESULT_PATH_RE,
    STEP_RESULT_RE,
    ParamInfo,
    check_duration,
    check_ref,
    declared_params,
    result_path_names,
    result_type,
)
from compiler.tekton.rules_params import check_param_specs, check_param_usage
from compiler.units import is_dns_label

TASK_CONTEXT = frozenset(
    {"taskRun.name", "taskRun.namespace", "taskRun.uid", "task.name", "task.retry-count"}
)
_NONE: frozenset[str] = frozenset()
_ARRAYS = frozenset({"array"})
_ARGV_FIELDS = ("command", "args")
_FORBIDDEN_WITH_REF = ("image", "command", "args", "script", "workingDir", "env", "volumeMounts", "results")
_STEP_RESULT_FIELDS = ("env", "command", "args")
_RESULT_NAME_RE = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_RESULT_VALUE_RE = re.compile(r"\$\(steps\.([^.()]+)\.results\.([^.()]+)\)")
# S1: values an attacker may control, and the interpreters whose "-c" argument is code.
_UNSAFE_RE = re.compile(r"\$\((?:params[.\[]|tt\.params\.|context\.|tasks\.[^.()]+\.results\.)[^()]*\)")
_INTERPRETER_RE = re.compile(r"(?:.*/)?(?:sh|bash|ash|dash|zsh|ksh|python[0-9.]*)")
_CODE_FLAG_RE = re.compile(r"-[a-zA-Z]*c")
_MERGED_LISTS = {"env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}


@dataclass(frozen=True)
class _TaskScope:
    params: Mapping[str, ParamInfo]
    results: frozenset[str]
    workspaces: frozenset[str]


def merge_step(template: Mapping[str, Any], step: Mapping[str, Any]) -> Mapping[str, Any]:
    """``MergeStepsWithStepTemplate``: step fields win; env / volumeMounts merge by key."""
    if not template or "ref" in step:
        return step
    merged = {**template, **step}
    for key, by in _MERGED_LISTS.items():
        if key in template and key in step:
            items = {str(as_map(x).get(by)): x for x in [*as_list(template[key]), *as_list(step[key])]}
            merged[key] = list(items.values())
    return merged


def check_task_spec(
    spec: Mapping[str, Any], path: str, sink: Sink, outer: Mapping[str, ParamInfo] = EMPTY
) -> None:
    """Rules 4-26, S1, S3 on a TaskSpec. ``outer``: params propagated from the enclosing run or pipeline."""
    check_param_specs(spec.get("params"), f"{path}/params", sink)
    scope = _TaskScope(
        params={**outer, **declared_params(spec.get("params"))},
        results=_check_results(spec.get("results"), f"{path}/results", sink, task=True),
        workspaces=_check_workspace_decls(spec, path, sink),
    )
    steps = as_list(spec.get("steps"))
    if not steps:
        sink.add("R4", f"{path}/steps", "a Task needs at least one step")
    template = as_map(spec.get("stepTemplate"))
    for i, step in maps(steps):
        _check_step(step, merge_step(template, step), f"{path}/steps/{i}", scope, sink)
    step_names = [as_str(s.get("name")) for _, s in maps(steps)]
    for name in duplicates([n for n in step_names if n]):
        sink.add("R5", f"{path}/steps", f"step name {name!r} is used more than once")
    if template:
        _check_container_strings(template, f"{path}/stepTemplate", scope, sink)
        _check_mounts(template, f"{path}/stepTemplate", sink)
        _check_env_from(template, f"{path}/stepTemplate", sink)
    for i, sidecar in maps(spec.get("sidecars")):
        _check_sidecar(sidecar, f"{path}/sidecars/{i}", scope, sink)
    volume_names = [as_str(v.get("name")) for _, v in maps(spec.get("volumes"))]
    for name in duplicates(volume_names):
        sink.add("R14", f"{path}/volumes", f"volume name {name!r} is used more than once")
    for key in ("volumes", "workspaces"):
        for p, s in walk_strings(spec.get(key), f"{path}/{key}"):
            check_param_usage(s, p, scope.params, sink, undeclared="R20", whole=_NONE)


def _check_step(
    step: Mapping[str, Any], merged: Mapping[str, Any], here: str, scope: _TaskScope, sink: Sink
) -> None:
    name = step.get("name")
    if not name or not isinstance(name, str):
        sink.add("R5", here, "steps must be named (project rule; the CRD requires the key)")
    elif not is_dns_label(name):
        sink.add("R5", f"{here}/name", f"step name {name!r} is not a DNS-1123 label")
    if "ref" in step:
        for key in _FORBIDDEN_WITH_REF:
            if key in step:
                sink.add("R7", ptr(here, key), f"a step with ref (StepAction) must not set {key}")
        check_ref(as_map(step["ref"]), f"{here}/ref", sink, "R7")
    else:
        if not merged.get("image"):
            sink.add("R6", here, "step needs an image (or a stepTemplate image)")
        if merged.get("script") and merged.get("command"):
            sink.add("R6", here, "script and command are mutually exclusive (after merging stepTemplate)")
        if "params" in step:
            sink.add("R6", f"{here}/params", "step params are only allowed with ref")
    if "onError" in step:
        on_error = step["onError"]
        if not isinstance(on_error, str) or not (
            on_error in ("continue", "stopAndFail") or on_error.startswith("$(params.")
        ):
            sink.add("R8", f"{here}/onError", f"onError {on_error!r} is not continue / stopAndFail")
    if "timeout" in step:
        check_duration(step["timeout"], f"{here}/timeout", sink, "R9")
    _check_mounts(step, here, sink)
    for key in ("stdoutConfig", "stderrConfig"):
        if key in step:
            sink.add("R11", f"{here}/{key}", f"{key} is an alpha feature (enable-api-fields is beta)")
    if as_str(step.get("script")).startswith("#!win"):
        sink.add("R11", f"{here}/script", "#!win scripts are an alpha feature")
    own_results = _check_results(step.get("results"), f"{here}/results", sink, task=False)
    _check_workspace_usage(step, here, scope, sink)
    _check_env_from(step, here, sink)
    for key, value in step.items():
        for p, s in walk_strings(value, ptr(here, key)):
            if "$(" in s:
                _check_step_string(s, p, str(key), scope, own_results, sink)
    _check_inline_code(merged, here, sink)


def _check_step_string(
    s: str, p: str, field: str, scope: _TaskScope, own_results: frozenset[str], sink: Sink
) -> None:
    _check_container_string(s, p, field, scope, sink)
    for result in result_path_names(s):
        if result not in scope.results:
            sink.add("R25", p, f"$(results.{result}.path): the Task declares no result {result!r}")
    for m in STEP_RESULT_PATH_RE.finditer(s):
        if m.group(1) not in own_results:
            sink.add("R25", p, f"{m.group(0)}: the step declares no result {m.group(1)!r}")
    if field not in _STEP_RESULT_FIELDS and STEP_RESULT_RE.search(s):
        sink.add(
            "R12", p, f"step-result references are only allowed in env, command and args, not in {field}"
        )
    if ARTIFACT_RE.search(s):
        sink.add("R12", p, "artifact references need enable-artifacts (off)")


def _check_container_string(s: str, p: str, field: str, scope: _TaskScope, sink: Sink) -> None:
    """Params (20-23), context (24) and S1 on one string of a step, stepTemplate or sidecar field."""
    whole = _ARRAYS if field in _ARGV_FIELDS else _NONE
    check_param_usage(s, p, scope.params, sink, undeclared="R20", whole=whole)
    for m in CONTEXT_RE.finditer(s):
        if m.group(1) not in TASK_CONTEXT:
            sink.add("R24", p, f"{m.group(0)} is not a Task context variable")
    if field == "script":
        for m in _UNSAFE_RE.finditer(s):
            sink.add("S1", p, f"{m.group(0)} is substituted into a script; pass it through env instead")


def _check_sidecar(sidecar: Mapping[str, Any], here: str, scope: _TaskScope, sink: Sink) -> None:
    name = sidecar.get("name")
    if not name or not isinstance(name, str) or not is_dns_label(name):
        sink.add("R13", here, f"sidecar needs a DNS-1123 label name (project rule), got {name!r}")
    elif name == "tekton-log-results":
        sink.add("R13", f"{here}/name", "the sidecar name tekton-log-results is reserved")
    if not sidecar.get("image"):
        sink.add("R13", here, "sidecar needs an image")
    if sidecar.get("script") and sidecar.get("command"):
        sink.add("R13", here, "sidecar script and command are mutually exclusive")
    _check_workspace_usage(sidecar, here, scope, sink)
    _check_env_from(sidecar, here, sink)
    _check_container_strings(sidecar, here, scope, sink)
    _check_inline_code(sidecar, here, sink)


def _check_container_strings(container: Mapping[str, Any], here: str, scope: _TaskScope, sink: Sink) -> None:
    """Rules 20-24 and S1 on a stepTemplate or sidecar: the webhook does not check them there, but an
    unresolved reference stays a literal ``$(params.x)``."""
    for key, value in container.items():
        for p, s in walk_strings(value, ptr(here, key)):
            if "$(" in s:
                _check_container_string(s, p, str(key), scope, sink)


def _check_inline_code(container: Mapping[str, Any], here: str, sink: Sink) -> None:
    """S1 for ``sh -c CODE`` / ``python -c CODE`` written as command + args."""
    argv = [(f"{key}/{i}", v) for key in _ARGV_FIELDS for i, v in enumerate(as_list(container.get(key)))]
    if not argv or not _INTERPRETER_RE.fullmatch(as_str(argv[0][1])):
        return
    for j in range(1, len(argv) - 1):
        flag = as_str(argv[j][1])
        if _CODE_FLAG_RE.fullmatch(flag):
            where, code = argv[j + 1]
            for m in _UNSAFE_RE.finditer(as_str(code)):
                sink.add(
                    "S1", f"{here}/{where}", f"{m.group(0)} is substituted into {flag} code; pass it via env"
                )
            return
        if not flag.startswith(("-", "+")):
            return


def _check_env_from(container: Mapping[str, Any], here: str, sink: Sink) -> None:
    for i, source in maps(container.get("envFrom")):
        if "secretRef" in source:
            sink.add(
                "S3",
                f"{here}/envFrom/{i}",
                "envFrom a secret injects every key; use env valueFrom.secretKeyRef",
            )


def _check_mounts(container: Mapping[str, Any], here: str, sink: Sink) -> None:
    for i, mount in maps(container.get("volumeMounts")):
        mount_path, name = as_str(mount.get("mountPath")), as_str(mount.get("name"))
        if mount_path.startswith("/tekton/") and not mount_path.startswith("/tekton/home"):
            sink.add(
                "R10", f"{here}/volumeMounts/{i}/mountPath", f"mountPath {mount_path!r} is under /tekton/"
            )
        if name.startswith("tekton-internal-"):
            sink.add("R10", f"{here}/volumeMounts/{i}/name", f"volume name {name!r} is reserved")


def _check_workspace_usage(container: Mapping[str, Any], here: str, scope: _TaskScope, sink: Sink) -> None:
    for i, usage in maps(container.get("workspaces")):
        if as_str(usage.get("name")) not in scope.workspaces:
            sink.add("R16", f"{here}/workspaces/{i}/name", f"workspace {usage.get('name')!r} is not declared")


def _check_workspace_decls(spec: Mapping[str, Any], path: str, sink: Sink) -> frozenset[str]:
    decls = [(i, as_str(w.get("name")), w) for i, w in maps(spec.get("workspaces"))]
    for name in duplicates([name for _, name, _ in decls]):
        sink.add("R15", f"{path}/workspaces", f"workspace {name!r} is declared more than once")
    mounts = {as_str(m.get("mountPath")) for c in _containers(spec) for _, m in maps(c.get("volumeMounts"))}
    seen: set[str] = set()
    for i, name, ws in decls:
        mount_path = as_str(ws.get("mountPath")) or f"/workspace/{name}"
        if mount_path in seen or mount_path in mounts:
            sink.add("R15", f"{path}/workspaces/{i}", f"mountPath {mount_path!r} is already in use")
        seen.add(mount_path)
    return frozenset(name for _, name, _ in decls)


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield as_map(spec.get("stepTemplate"))
    for _, step in maps(spec.get("steps")):
        yield step


def _check_results(results: Any, path: str, sink: Sink, *, task: bool) -> frozenset[str]:
    """Rule 26 on task results (``task``) or step results; returns the declared names."""
    names = []
    for i, result in maps(results):
        here, name = f"{path}/{i}", as_str(result.get("name"))
        names.append(name)
        if not _RESULT_NAME_RE.fullmatch(name):
            sink.add("R26", f"{here}/name", f"result name {name!r} must match {_RESULT_NAME_RE.pattern}")
        rtype = result_type(result)
        if rtype not in PARAM_TYPES:
            sink.add("R26", f"{here}/type", f"result type {rtype!r} is not one of {PARAM_TYPES}")
        if rtype == "object":
            props = result.get("properties")
            if not isinstance(props, Mapping) or not props:
                sink.add("R26", here, f"object result {name!r} needs properties")
            elif any(as_map(v).get("type", "string") != "string" for v in props.values()):
                sink.add(
                    "R26", f"{here}/properties", f"object result {name!r}: property types must be string"
                )
        if task and "value" in result:
            m = _RESULT_VALUE_RE.fullmatch(as_str(result["value"]))
            if m is None or not is_dns_label(m.group(1)):
                sink.add("R26", f"{here}/value", "a result value must be $(steps.<step>.results.<name>)")
    return frozenset(names)
