"""Tekton's and Kubernetes' string substitution, as a TaskRun's pod sees it.

Two passes, in the order the cluster applies them:

1. **Tekton** (``pkg/substitution.ApplyReplacements``) replaces ``$(params.x)``, ``$(params["x"])``,
   ``$(params['x'])``, ``$(context.taskRun.uid)``, ``$(results.r.path)``, ... in every string of a step,
   ``script`` included, in a single pass: an inserted value is never scanned again. An array param
   written as a whole element of ``command``/``args`` (``$(params.a[*])``) becomes several elements.
2. **Kubernetes** (``third_party/forked/golang/expansion``) expands ``$(VAR)`` in ``command``, ``args``
   and ``env`` values with the container's own variables; ``$$`` is its escape for a literal ``$``.
   It never sees ``script`` (Tekton ships scripts to the pod base64-encoded).

So ``$$(date)`` in an arg reaches the program as ``$(date)``, while Tekton still replaces the
``$(params.x)`` inside ``$$(params.x)`` (the result is ``$`` followed by the value), exactly as on a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compiler.localrun.errors import LocalRunError
from compiler.localrun.pod import StepResults

ParamValue = str | list[str] | dict[str, str]

RESULTS_DIR = "/tekton/results"
STEPS_DIR = "/tekton/steps"

# A Tekton reference: ``$(`` up to the first ``)``, with no ``(`` inside (Tekton's own regexes agree).
_REFERENCE = re.compile(r"\$\(([^()]*)\)")
# Variable families Tekton owns; any other ``$(...)`` is left for Kubernetes or the shell.
_TEKTON_ROOTS = ("params", "context", "results", "step", "steps", "workspaces", "credentials", "tasks")
_ROOT = re.compile(r"^([A-Za-z]+)[.\[]")


@dataclass(frozen=True)
class RunContext:
    """The values behind ``$(context.*)``."""

    taskrun_name: str
    namespace: str
    uid: str
    task_name: str
    retry_count: int = 0


def step_result_path(step: str, result: str) -> str:
    """Where a step result lives in the pod (Tekton: ``/tekton/steps/step-<name>/results/<result>``)."""
    return f"{STEPS_DIR}/step-{step}/results/{result}"


def param_values(task_spec: Mapping[str, Any], taskrun_spec: Mapping[str, Any]) -> dict[str, ParamValue]:
    """The Task's params with their defaults, overridden by the TaskRun's; missing ones are an error."""
    given: dict[str, Any] = {p["name"]: p.get("value") for p in taskrun_spec.get("params") or []}
    values: dict[str, ParamValue] = {}
    missing: list[str] = []
    for spec in task_spec.get("params") or []:
        name = spec["name"]
        value = given.get(name, spec.get("default"))
        if value is None:
            missing.append(name)
            continue
        values[name] = _param_value(name, value)
    if missing:
        raise LocalRunError(
            f"the TaskRun gives no value for param(s) {', '.join(missing)} and the Task has no default"
        )
    return values


def _param_value(name: str, value: Any) -> ParamValue:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise LocalRunError(f"param {name!r} has a value of an unsupported type: {value!r}")


@dataclass(frozen=True)
class Replacements:
    """What Tekton substitutes in one step: whole-string variables and whole-array variables."""

    strings: Mapping[str, str]
    arrays: Mapping[str, Sequence[str]]

    def with_strings(self, extra: Mapping[str, str]) -> Replacements:
        return Replacements({**self.strings, **extra}, self.arrays)


def _name_forms(prefix: str, name: str) -> list[str]:
    return [f"{prefix}.{name}", f'{prefix}["{name}"]', f"{prefix}['{name}']"]


def task_replacements(
    params: Mapping[str, ParamValue],
    context: RunContext,
    result_names: Sequence[str],
) -> Replacements:
    """Tekton's replacements for a TaskRun's steps (``pkg/reconciler/taskrun/resources/apply.go``)."""
    strings: dict[str, str] = {}
    arrays: dict[str, list[str]] = {}
    for name, value in params.items():
        forms = _name_forms("params", name)
        if isinstance(value, str):
            strings.update(dict.fromkeys(forms, value))
        elif isinstance(value, list):
            for form in forms:
                arrays[form] = value
                for index, item in enumerate(value):
                    strings[f"{form}[{index}]"] = item
        else:
            for key, item in value.items():
                for form in forms:
                    strings[f"{form}.{key}"] = item
                    strings[f'{form}["{key}"]'] = item
    strings.update(
        {
            "context.taskRun.name": context.taskrun_name,
            "context.taskRun.namespace": context.namespace,
            "context.taskRun.uid": context.uid,
            "context.task.name": context.task_name,
            "context.task.retry-count": str(context.retry_count),
        }
    )
    for result in result_names:
        for form in _name_forms("results", result):
            strings[f"{form}.path"] = f"{RESULTS_DIR}/{result}"
    return Replacements(strings, arrays)


def step_replacements(base: Replacements, step: str, step_results: Sequence[str]) -> Replacements:
    """``base`` plus ``$(step.results.<r>.path)`` of step ``step``."""
    extra: dict[str, str] = {}
    for result in step_results:
        for form in _name_forms("step.results", result):
            extra[f"{form}.path"] = step_result_path(step, result)
    return base.with_strings(extra)


def substitute(text: str, strings: Mapping[str, str]) -> str:
    """Tekton's single-pass replacement of every known ``$(name)`` in ``text``."""
    if "$(" not in text:
        return text
    return _REFERENCE.sub(lambda m: strings.get(m.group(1), m.group(0)), text)


def substitute_list(items: Sequence[str], replacements: Replacements) -> list[str]:
    """``command``/``args``: an element that is exactly a whole-array reference becomes its items."""
    out: list[str] = []
    for item in items:
        match = _REFERENCE.fullmatch(item)
        if match is not None:
            name = match.group(1).removesuffix("[*]")
            if name in replacements.arrays:
                out.extend(replacements.arrays[name])
                continue
        out.append(substitute(item, replacements.strings))
    return out


def unresolved(text: str, replacements: Replacements) -> list[str]:
    """Tekton references in ``text`` that nothing replaces (the webhook would reject them)."""
    found: list[str] = []
    for match in _REFERENCE.finditer(text):
        name = match.group(1)
        root = _ROOT.match(name)
        if root is None or root.group(1) not in _TEKTON_ROOTS:
            continue
        if name in replacements.strings or name.removesuffix("[*]") in replacements.arrays:
            continue
        if root.group(1) == "steps":  # step results: resolved when the step starts
            continue
        found.append(match.group(0))
    return found


def steps_result_refs(text: str) -> list[tuple[str, str]]:
    """``(step, result)`` for every ``$(steps.<step>.results.<result>)`` in ``text``."""
    refs: list[tuple[str, str]] = []
    for match in _REFERENCE.finditer(text):
        parts = match.group(1).split(".")
        if len(parts) == 4 and parts[0] == "steps" and parts[2] == "results":
            refs.append((parts[1], parts[3]))
    return refs


def k8s_expand(text: str, variables: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known variables replaced, ``$$`` -> ``$``, the rest kept."""
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char != "$" or i + 1 == n:
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2 : close]
                out.append(variables.get(name, f"$({name})"))
                i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def merge_step_resources(step: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A step's computeResources with a TaskRun ``stepSpecs`` override merged in, as Tekton merges
    them (pkg/apis/pipeline/v1/merge.go MergeStepsWithSpecs: a strategic merge, so limits and
    requests merge key by key and a key the override leaves out keeps the step's value)."""
    out: dict[str, Any] = {}
    for field in ("limits", "requests"):
        merged = {**(step.get(field) or {}), **(override.get(field) or {})}
        if merged:
            out[field] = merged
    return out


@dataclass(frozen=True)
class TektonSubstitution:
    """Tekton's substitution as a pod's :class:`~compiler.localrun.pod.Substitution`."""

    replacements: Replacements

    def text(self, value: str) -> str:
        return substitute(value, self.replacements.strings)

    def items(self, values: Sequence[str]) -> list[str]:
        return substitute_list(values, self.replacements)

    def unresolved(self, value: str) -> list[str]:
        return unresolved(value, self.replacements)

    def for_step(self, name: str, raw: Mapping[str, Any], step_results: StepResults) -> TektonSubstitution:
        """``$(step.results.r.path)`` of the step, and ``$(steps.s.results.r)`` of the steps before it."""
        own = [str(r["name"]) for r in raw.get("results") or []]
        repl = step_replacements(self.replacements, name, own)
        values: dict[str, str] = {}
        texts = [*(raw.get("command") or []), *(raw.get("args") or [])]
        texts += [str(e.get("value", "")) for e in raw.get("env") or []]
        for text in texts:
            for step, result in steps_result_refs(text):
                value = step_results(step, result)
                if value is None:
                    raise LocalRunError(f"step {name}: no result {result!r} of step {step!r}")
                values[f"steps.{step}.results.{result}"] = value
        return TektonSubstitution(repl.with_strings(values))
