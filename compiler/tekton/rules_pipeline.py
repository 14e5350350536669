"""PipelineSpec rules (tekton-rules.md 34-46)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler.manifests.violations import EMPTY, Sink, as_list, as_map, as_str, duplicates, maps, walk_strings
from compiler.tekton.rules_base import (
    CONTEXT_RE,
    EXEC_STATUS_RE,
    SIMPLE_EXPR_RE,
    TASK_RESULT_RE,
    ParamInfo,
    check_ref,
    declared_params,
    result_type,
    supplied_params,
)
from compiler.tekton.rules_params import check_param_specs, check_param_usage, check_supplied_params
from compiler.tekton.rules_task import check_task_spec
from compiler.units import is_dns_label

PIPELINE_CONTEXT = frozenset(
    {"pipelineRun.name", "pipelineRun.namespace", "pipelineRun.uid", "pipeline.name", "pipelineTask.retries"}
)
_PREFIXES = frozenset({"params", "tasks", "finally", "context", "workspaces", "results"})
_WHOLE = frozenset({"array", "object"})
_GROUP_VERSION_RE = re.compile(r"[^/\s]+/[^/\s]+")
MAX_MATRIX_COMBINATIONS = 256


@dataclass
class _Scope:
    params: Mapping[str, ParamInfo]
    workspaces: frozenset[str]
    tasks: dict[str, Mapping[str, Any]]
    finals: dict[str, Mapping[str, Any]]
    deps: dict[str, set[str]] = field(default_factory=dict)

    def results_of(self, name: str) -> dict[str, str] | None:
        """Declared results (name -> type) of an embedded task; None when unknown (taskRef)."""
        task = self.tasks.get(name) or self.finals.get(name) or EMPTY
        spec = task.get("taskSpec")
        if not isinstance(spec, Mapping):
            return None
        return {as_str(r.get("name")): result_type(r) for _, r in maps(spec.get("results"))}


def check_pipeline_spec(
    spec: Mapping[str, Any], path: str, sink: Sink, outer: Mapping[str, ParamInfo] = EMPTY
) -> None:
    """Rules 34-46 on a PipelineSpec. ``outer``: params supplied by an enclosing PipelineRun."""
    check_param_specs(spec.get("params"), f"{path}/params", sink)
    tasks, finals = list(maps(spec.get("tasks"))), list(maps(spec.get("finally")))
    scope = _Scope(
        params={**outer, **declared_params(spec.get("params"))},
        workspaces=_check_workspace_decls(spec.get("workspaces"), f"{path}/workspaces", sink),
        tasks={as_str(t.get("name")): t for _, t in tasks},
        finals={as_str(t.get("name")): t for _, t in finals},
    )
    for name in duplicates([as_str(t.get("name")) for _, t in tasks + finals]):
        sink.add("R34", path, f"pipeline task name {name!r} is used more than once (tasks and finally)")
    if finals and not tasks:
        sink.add("R38", f"{path}/finally", "finally needs a non-empty tasks section")
    for section, items in (("tasks", tasks), ("finally", finals)):
        for i, task in items:
            _check_task(task, f"{path}/{section}/{i}", section == "finally", scope, sink)
    cycle = _cycle(scope.deps)
    if cycle:
        sink.add("R37", f"{path}/tasks", f"the tasks form a cycle: {' -> '.join(cycle)}")
    _check_results(spec.get("results"), f"{path}/results", scope, sink)


def _check_task(task: Mapping[str, Any], here: str, final: bool, scope: _Scope, sink: Sink) -> None:
    name = as_str(task.get("name"))
    if not is_dns_label(name):
        sink.add("R34", f"{here}/name", f"pipeline task name {name!r} is not a DNS-1123 label")
    _check_ref_or_spec(task, here, scope, sink)
    if "onError" in task:
        on_error = task["onError"]
        if not (on_error in ("continue", "stopAndFail") or as_str(on_error).startswith("$(params")):
            sink.add("R36", f"{here}/onError", f"onError {on_error!r} is not continue / stopAndFail")
        elif on_error == "continue" and isinstance(task.get("retries"), int) and task["retries"] > 0:
            sink.add("R36", f"{here}/onError", "onError: continue cannot be combined with retries")
    deps = scope.deps.setdefault(name, set()) if not final else set()
    for i, after in enumerate(as_list(task.get("runAfter"))):
        if final:
            sink.add("R38", f"{here}/runAfter", "finally tasks cannot use runAfter")
            break
        if as_str(after) not in scope.tasks:
            sink.add("R37", f"{here}/runAfter/{i}", f"runAfter names unknown task {after!r}")
        deps.add(as_str(after))
    check_supplied_params(task.get("params"), f"{here}/params", sink, "R41")
    for p, s, where in _expressions(task, here):
        if "$(" in s:
            _check_expression(s, p, where, final, scope, deps, sink)
    if isinstance(task.get("taskSpec"), Mapping):  # propagated results (the rest is checked as a TaskSpec)
        for p, s in walk_strings(task["taskSpec"], f"{here}/taskSpec"):
            if "$(tasks." in s:
                _check_result_refs(s, p, final, scope, deps, sink)
    _check_task_workspaces(task, here, scope, sink)
    for i, when in maps(task.get("when")):
        _check_when(when, f"{here}/when/{i}", sink)
    if isinstance(task.get("matrix"), Mapping):
        _check_matrix(task, f"{here}/matrix", sink)


def _check_ref_or_spec(task: Mapping[str, Any], here: str, scope: _Scope, sink: Sink) -> None:
    for key in ("pipelineRef", "pipelineSpec"):
        if key in task:
            sink.add("R35", f"{here}/{key}", f"{key} in a pipeline task is an alpha feature")
    ref, spec = task.get("taskRef"), task.get("taskSpec")
    if (ref is None) == (spec is None):
        sink.add("R35", here, "a pipeline task needs exactly one of taskRef and taskSpec")
    if isinstance(ref, Mapping):
        _check_custom(ref, f"{here}/taskRef", sink)
        check_ref(ref, f"{here}/taskRef", sink, "R35")
    if isinstance(spec, Mapping):
        if "steps" in spec:
            for key in ("apiVersion", "kind"):
                if key in spec:
                    sink.add(
                        "R35", f"{here}/taskSpec/{key}", f"an embedded taskSpec with steps must not set {key}"
                    )
            outer = {**scope.params, **supplied_params(task.get("params"))}
            check_task_spec(spec, f"{here}/taskSpec", sink, outer)
        else:
            _check_custom(spec, f"{here}/taskSpec", sink)


def _check_custom(ref: Mapping[str, Any], here: str, sink: Sink) -> None:
    """A custom task (apiVersion set, or a kind other than Task) needs kind and group/version."""
    kind, api = ref.get("kind"), ref.get("apiVersion")
    if api is None and kind in (None, "", "Task"):
        return
    if not kind or not _GROUP_VERSION_RE.fullmatch(as_str(api)):
        sink.add("R35", here, "a custom task needs both kind and apiVersion (group/version)")


def _expressions(task: Mapping[str, Any], here: str) -> Iterator[tuple[str, str, str]]:
    """(pointer, string, where) for every string in params, when and matrix of a pipeline task."""
    for i, param in maps(task.get("params")):
        for p, s in walk_strings(param.get("value"), f"{here}/params/{i}/value"):
            yield p, s, "params"
    for i, when in maps(task.get("when")):
        for key in ("input", "values", "cel"):
            for p, s in walk_strings(when.get(key), f"{here}/when/{i}/{key}"):
                yield p, s, "when"
    for p, s in walk_strings(task.get("matrix"), f"{here}/matrix"):
        yield p, s, "matrix"


def _check_expression(
    s: str, p: str, where: str, final: bool, scope: _Scope, deps: set[str], sink: Sink
) -> None:
    for m in SIMPLE_EXPR_RE.finditer(s):
        if re.split(r"[.\[]", m.group(1), maxsplit=1)[0] not in _PREFIXES:
            sink.add("R40", p, f"{m.group(0)} is not a Tekton variable (use ${{VAR}} for shell)")
    check_param_usage(s, p, scope.params, sink, undeclared="R41", whole=_WHOLE)
    for m in CONTEXT_RE.finditer(s):
        if m.group(1) not in PIPELINE_CONTEXT:
            sink.add("R42", p, f"{m.group(0)} is not a Pipeline context variable")
    _check_result_refs(s, p, final, scope, deps, sink)
    for m in EXEC_STATUS_RE.finditer(s):
        if not final or where == "matrix":
            sink.add("R39", p, f"{m.group(0)} is only allowed in finally params and when")
        elif m.group("task") is not None and m.group("task") not in scope.tasks:
            sink.add("R39", p, f"{m.group(0)}: no task {m.group('task')!r} in tasks")


def _check_result_refs(s: str, p: str, final: bool, scope: _Scope, deps: set[str], sink: Sink) -> None:
    """``$(tasks.<t>.results.<r>)`` in a pipeline task (its params, when, matrix or embedded spec):
    ``<t>`` is a ``tasks`` entry, which becomes a dependency (rules 37, 38)."""
    rule = "R38" if final else "R37"
    for m in TASK_RESULT_RE.finditer(s):
        task = m.group("task")
        if m.group("scope") != "tasks":
            continue
        if final and task in scope.finals:
            sink.add("R38", p, f"{m.group(0)}: finally tasks cannot use results of finally tasks")
        elif task not in scope.tasks:
            sink.add(rule, p, f"{m.group(0)}: no task {task!r} in tasks")
        else:
            deps.add(task)
            _check_result_use(m, p, rule, scope, sink)


def _check_result_use(m: re.Match[str], p: str, rule: str, scope: _Scope, sink: Sink) -> None:
    """The referenced result exists (embedded tasks) and matrixed results are consumed as strings[*]."""
    task, result = m.group("task"), m.group("result")
    results = scope.results_of(task)
    if results is not None and result not in results:
        sink.add(rule, p, f"{m.group(0)}: task {task!r} declares no result {result!r}")
    owner = scope.tasks.get(task) or scope.finals.get(task) or EMPTY
    if owner.get("matrix"):
        if m.group("op") != "*" or m.group("key") is not None:
            sink.add("R46", p, f"{m.group(0)}: results of a matrixed task are consumed as [*]")
        elif results is not None and results.get(result, "string") != "string":
            sink.add("R46", p, f"{m.group(0)}: only string results of a matrixed task can be consumed")


def _check_workspace_decls(decls: Any, path: str, sink: Sink) -> frozenset[str]:
    names = [as_str(w.get("name")) for _, w in maps(decls)]
    if "" in names:
        sink.add("R43", path, "pipeline workspaces need a name")
    for name in duplicates(names):
        sink.add("R43", path, f"workspace {name!r} is declared more than once")
    return frozenset(names)


def _check_task_workspaces(task: Mapping[str, Any], here: str, scope: _Scope, sink: Sink) -> None:
    names = []
    for i, ws in maps(task.get("workspaces")):
        names.append(as_str(ws.get("name")))
        target = as_str(ws.get("workspace")) or as_str(ws.get("name"))
        if target not in scope.workspaces:
            sink.add("R43", f"{here}/workspaces/{i}", f"pipeline workspace {target!r} is not declared")
    for name in duplicates(names):
        sink.add("R43", f"{here}/workspaces", f"workspace {name!r} is bound more than once")


def _check_when(when: Mapping[str, Any], here: str, sink: Sink) -> None:
    if "cel" in when:
        sink.add("R45", f"{here}/cel", "cel when-expressions need enable-cel-in-whenexpression (off)")
        return
    if when.get("operator") not in ("in", "notin"):
        sink.add("R45", f"{here}/operator", f"operator {when.get('operator')!r} is not in / notin")
    if not as_list(when.get("values")):
        sink.add("R45", f"{here}/values", "when values must be non-empty")


def _check_matrix(task: Mapping[str, Any], here: str, sink: Sink) -> None:
    matrix = as_map(task.get("matrix"))
    names = [as_str(p.get("name")) for _, p in maps(matrix.get("params"))]
    for name in duplicates(names):
        sink.add("R46", f"{here}/params", f"matrix param {name!r} is given more than once")
    for i, include in maps(matrix.get("include")):
        for name in duplicates([as_str(p.get("name")) for _, p in maps(include.get("params"))]):
            sink.add("R46", f"{here}/include/{i}/params", f"include param {name!r} is given more than once")
    for name in sorted(set(names) & {as_str(p.get("name")) for _, p in maps(task.get("params"))}):
        sink.add("R46", here, f"param {name!r} is in both matrix and params")
    count = _combinations(matrix)
    if count > MAX_MATRIX_COMBINATIONS:
        sink.add("R46", here, f"{count} matrix combinations exceed the maximum {MAX_MATRIX_COMBINATIONS}")


def _combinations(matrix: Mapping[str, Any]) -> int:
    """``Matrix.CountCombinations``: the product of the param arrays (a ``$(...)`` array counts as 1,
    a lower bound), plus, per include entry, each leading matrix param whose value is new."""
    values = {as_str(p.get("name")): p.get("value") for _, p in maps(matrix.get("params"))}
    includes = [[p for _, p in maps(i.get("params"))] for _, i in maps(matrix.get("include"))]
    if not values:
        return len(includes)
    count = math.prod(len(v) if isinstance(v, list) else 1 for v in values.values())
    for params in includes:
        for param in params:
            name = as_str(param.get("name"))
            if name in values:
                if param.get("value") in as_list(values[name]):
                    break
                count += 1
    return count


def _check_results(results: Any, path: str, scope: _Scope, sink: Sink) -> None:
    """Rule 44: pipeline results are task-result references to existing tasks."""
    for i, result in maps(results):
        here, found = f"{path}/{i}/value", False
        for p, s in walk_strings(result.get("value"), here):
            refs = {m.group(0) for m in TASK_RESULT_RE.finditer(s)}
            for m in SIMPLE_EXPR_RE.finditer(s):
                if m.group(0) not in refs:
                    sink.add("R44", p, f"{m.group(0)} is not a task-result reference")
            for m in TASK_RESULT_RE.finditer(s):
                found = True
                owners = scope.tasks if m.group("scope") == "tasks" else scope.finals
                if m.group("task") not in owners:
                    sink.add("R44", p, f"{m.group(0)}: no task {m.group('task')!r} in {m.group('scope')}")
                else:
                    _check_result_use(m, p, "R44", scope, sink)
        if not found:
            sink.add("R44", here, "a pipeline result value must reference task results")


def _cycle(deps: Mapping[str, set[str]]) -> list[str]:
    """One dependency cycle among the tasks (empty if none); unknown names were reported already."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in sorted(deps):
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(deps[root])))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif child in deps and state.get(child) == 1:
                names = [n for n, _ in stack]
                return [*names[names.index(child) :], child]
            elif child in deps and not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(deps[child]))))
    return []
