"""Argo admission rules about flow: steps (AW6) and DAG tasks (AW7), each checked with the scope of
:mod:`compiler.argo.rules_scope`. See :mod:`compiler.argo.rules` for the code table.

Source: argoproj/argo-workflows v4.1.2 ``workflow/validate/validate.go`` (``validateSteps``,
``validateDAG``, ``verifyNoCycles``, ``validateDAGTargets``, ``validateDAGTaskArgumentDependency``) and
the dependency grammar of ``workflow/common/ancestry.go`` (``taskNameRegex``, ``GetTaskDependencies``,
``ValidateTaskResults``, ``GetTaskAncestry``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from compiler.argo.rules_names import check_arguments, check_field_names, field_name_problems
from compiler.argo.rules_scope import (
    Spec,
    add_outputs,
    base_scope,
    check_fan_out,
    check_references,
    check_template_ref,
    find_cycle,
)
from compiler.manifests.violations import Sink, as_list, as_map, as_str, maps, ptr

FIELD_NAME = r"[a-zA-Z0-9][-a-zA-Z0-9]*"
# ancestry.go taskNameRegex: ``task.Result`` or a bare task name inside a ``depends`` expression.
DEPENDS_RE = re.compile(rf"({FIELD_NAME}?\.[A-Z][a-zA-Z]+)|({FIELD_NAME})")
TASK_RESULTS = (
    "Succeeded",
    "Failed",
    "Errored",
    "Skipped",
    "Omitted",
    "Daemoned",
    "AnySucceeded",
    "AllFailed",
)
ITEM_RESULTS = ("AnySucceeded", "AllFailed")  # DependencyTypeItems


def check_flow(tmpl: Mapping[str, Any], kind: str, path: str, context: Spec, sink: Sink) -> None:
    scope = base_scope(tmpl, kind, context)
    if kind == "steps":
        check_steps(tmpl, path, scope, context, sink)
    elif kind == "dag":
        check_dag(tmpl, path, scope, context, sink)
    else:
        check_references(tmpl, path, scope, context, sink)
        return
    check_references(tmpl.get("outputs"), f"{path}/outputs", scope, context, sink)


def check_steps(tmpl: Mapping[str, Any], path: str, scope: set[str], context: Spec, sink: Sink) -> None:
    """AW6 (``validateSteps``): names present, unique, well formed; each step's references resolve against
    the steps before it (outputs) and itself (status)."""
    seen: set[str] = set()
    tname = as_str(tmpl.get("name"))
    for i, group in enumerate(as_list(tmpl.get("steps"))):
        for j, step in maps(group):
            where, name = f"{path}/steps/{i}/{j}", as_str(step.get("name"))
            if not name:
                sink.add("AW6", f"{where}/name", f"templates.{tname}.steps[{i}].name is required")
            elif name in seen:
                sink.add("AW6", f"{where}/name", f"templates.{tname}.steps[{i}].name '{name}' is not unique")
            elif problems := field_name_problems(re.sub(r"\{\{[^}]*\}\}", "x", name)):
                sink.add(
                    "AW6",
                    f"{where}/name",
                    f"templates.{tname}.steps[{i}].name '{name}' is invalid: {';'.join(problems)}",
                )
            seen.add(name)
            scope.add(f"steps.{name}.status")
            check_fan_out(step, where, scope, sink)
            check_arguments(step.get("arguments"), f"{where}/arguments", False, sink)
            check_template_ref(step, where, context, sink)
            inline = {
                f"inputs.parameters.{as_str(p.get('name'))}"
                for _, p in maps(as_map(as_map(step.get("inline")).get("inputs")).get("parameters"))
            }
            if as_map(step.get("hooks")).get("exit") is not None or as_str(step.get("onExit")):
                # HasExitHook: the exit hook's arguments may use the step's own outputs.
                add_outputs(name, "steps", step, context, scope, ancestor=False)
            check_references(step, where, scope | inline, context, sink)
            add_outputs(name, "steps", step, context, scope, ancestor=False)


def task_dependencies(task: Mapping[str, Any]) -> dict[str, str]:
    """ancestry.go ``GetTaskDependencies``: task name -> the result it waits on ('' for a bare name)."""
    depends = as_str(task.get("depends")) or " && ".join(as_str(d) for d in as_list(task.get("dependencies")))
    found: dict[str, str] = {}
    for match in DEPENDS_RE.finditer(depends):
        if match.group(1):
            dep, _, result = match.group(1).partition(".")
            if result in ITEM_RESULTS or dep not in found:
                found[dep] = result
        else:
            found.setdefault(match.group(2), "")
    return found


def check_dag(tmpl: Mapping[str, Any], path: str, scope: set[str], context: Spec, sink: Sink) -> None:
    """AW7 (``validateDAG``, ``verifyNoCycles``, ``validateDAGTargets``, ``ValidateTaskResults``,
    ``validateDAGTaskArgumentDependency``)."""
    tname, dag = as_str(tmpl.get("name")), as_map(tmpl.get("dag"))
    tasks = {as_str(t.get("name")): (i, t) for i, t in maps(dag.get("tasks"))}
    here = f"{path}/dag/tasks"
    if not tasks:
        sink.add("AW7", here, f"templates.{tname} must have at least one task")
    check_field_names(as_list(dag.get("tasks")), here, sink, "AW7")
    deps = {name: task_dependencies(task) for name, (_, task) in tasks.items()}
    using_depends = any(as_str(t.get("depends")) for _, t in tasks.values())
    for name, (i, task) in tasks.items():
        _check_task_shape(tname, name, task, f"{here}/{i}", using_depends, tasks, deps[name], sink)
        check_template_ref(task, f"{here}/{i}", context, sink)
        add_outputs(name, "tasks", task, context, scope, ancestor=False)
    cycle = find_cycle({n: [d for d in ds if d in tasks] for n, ds in deps.items()})
    if cycle:
        sink.add("AW7", here, f"templates.{tname}.tasks dependency cycle detected: {'->'.join(cycle)}")
    target = as_str(dag.get("target"))
    check_references(target, f"{path}/dag/target", scope, context, sink)
    for t in target.split():
        if not t.startswith("{{") and t not in tasks:
            sink.add("AW7", f"{path}/dag/target", f"templates.{tname}.targets: target '{t}' is not defined")
    if not cycle:
        for name, (i, task) in tasks.items():
            _check_task_refs(name, task, f"{here}/{i}", scope, deps, tasks, context, sink)


def _check_task_shape(
    tname: str,
    name: str,
    task: Mapping[str, Any],
    where: str,
    using_depends: bool,
    tasks: Mapping[str, Any],
    deps: Mapping[str, str],
    sink: Sink,
) -> None:
    if (using_depends or as_list(task.get("dependencies"))) and name[:1].isdigit():
        sink.add(
            "AW7",
            f"{where}/name",
            f"templates.{tname}.tasks.{name} name cannot begin with a digit "
            "when using either 'depends' or 'dependencies'",
        )
    if using_depends and as_list(task.get("dependencies")):
        sink.add(
            "AW7",
            f"{where}/dependencies",
            f"templates.{tname} cannot use both 'depends' and 'dependencies' in the same DAG template",
        )
    if using_depends and "continueOn" in task:
        sink.add(
            "AW7", f"{where}/continueOn", f"templates.{tname} cannot use 'continueOn' when using 'depends'"
        )
    for dep, result in deps.items():
        if dep not in tasks:
            sink.add("AW7", where, f"templates.{tname}.tasks.{name} dependency '{dep}' not defined")
        elif result and result not in TASK_RESULTS:
            sink.add(
                "AW7",
                f"{where}/depends",
                f"templates.{tname}.tasks.{name} task result '{result}' for task '{dep}' is invalid",
            )
        elif result in ITEM_RESULTS and not any(
            tasks[dep][1].get(k) for k in ("withItems", "withParam", "withSequence")
        ):
            sink.add(
                "AW7",
                where,
                f"templates.{tname}.tasks.{name} dependency '{dep}' uses an items-based condition "
                "such as .AnySucceeded or .AllFailed but does not contain any items",
            )


def ancestry(name: str, deps: Mapping[str, Mapping[str, str]]) -> list[str]:
    """ancestry.go ``GetTaskAncestry``: every task ``name`` waits on, directly or not."""
    found: list[str] = []
    todo = list(deps.get(name, {}))
    while todo:
        dep = todo.pop()
        if dep not in found and dep in deps:
            found.append(dep)
            todo += list(deps[dep])
    return found


def _check_task_refs(
    name: str,
    task: Mapping[str, Any],
    where: str,
    scope: set[str],
    deps: Mapping[str, Mapping[str, str]],
    tasks: Mapping[str, tuple[int, Mapping[str, Any]]],
    context: Spec,
    sink: Sink,
) -> None:
    task_scope = set(scope)
    ancestors = ancestry(name, deps)
    for ancestor in ancestors:
        add_outputs(ancestor, "tasks", tasks[ancestor][1], context, task_scope, ancestor=True)
    check_fan_out(task, where, task_scope, sink)
    check_references(task, where, task_scope, context, sink)
    check_arguments(task.get("arguments"), f"{where}/arguments", False, sink)
    args = as_map(task.get("arguments"))
    for field, key in (("parameters", "value"), ("artifacts", "from")):
        for j, arg in maps(args.get(field)):
            text = str(arg.get(key, ""))
            if text.startswith("{{tasks."):
                ref = text.split(".")[1]
                if ref not in ancestors:
                    what = "parameter" if field == "parameters" else "artifact"
                    sink.add(
                        "AW7",
                        ptr(where, "arguments", field, j, key),
                        f"missing dependency '{ref}' for {what} '{as_str(arg.get('name'))}'",
                    )
