"""Tekton's substitution and Kubernetes' $(VAR) expansion, as the local runner applies them."""

from __future__ import annotations

import pytest

from compiler.localrun.errors import LocalRunError
from compiler.localrun.tekton import (
    Replacements,
    RunContext,
    k8s_expand,
    param_values,
    step_replacements,
    steps_result_refs,
    substitute,
    substitute_list,
    task_replacements,
    unresolved,
)

CONTEXT = RunContext(taskrun_name="job-1", namespace="batch", uid="0000-uid", task_name="svc-run")


def replacements(**params: str | list[str] | dict[str, str]) -> Replacements:
    return task_replacements(params, CONTEXT, ["input-summary"])


def test_param_forms_all_substitute() -> None:
    repl = replacements(**{"source-path": "in/2026", "a.b": "dotted"})
    text = '$(params.source-path)|$(params["source-path"])|$(params[\'source-path\'])|$(params["a.b"])'
    assert substitute(text, repl.strings) == "in/2026|in/2026|in/2026|dotted"


def test_context_variables() -> None:
    repl = replacements()
    text = "$(context.taskRun.name) $(context.taskRun.namespace) $(context.taskRun.uid) $(context.task.name)"
    assert substitute(text, repl.strings) == "job-1 batch 0000-uid svc-run"
    assert substitute("$(context.task.retry-count)", repl.strings) == "0"


def test_results_paths() -> None:
    repl = step_replacements(replacements(), "validate-input", ["count"])
    assert substitute("$(results.input-summary.path)", repl.strings) == "/tekton/results/input-summary"
    assert substitute('$(results["input-summary"].path)', repl.strings) == "/tekton/results/input-summary"
    assert (
        substitute("$(step.results.count.path)", repl.strings)
        == "/tekton/steps/step-validate-input/results/count"
    )


def test_single_pass_never_rescans_inserted_values() -> None:
    repl = replacements(a="$(params.b)", b="never")
    assert substitute("$(params.a)", repl.strings) == "$(params.b)"


def test_unknown_references_are_left_alone() -> None:
    repl = replacements(a="x")
    assert substitute("$(HOME) $(date) ${X} $(params.a)", repl.strings) == "$(HOME) $(date) ${X} x"


def test_escaped_dollar_still_gets_tekton_substitution_then_kubernetes_unescapes() -> None:
    # Tekton has no escape of its own: it replaces the $(params.a) inside $$(params.a)...
    repl = replacements(a="v")
    tekton = substitute("$$(params.a) $$(date)", repl.strings)
    assert tekton == "$v $$(date)"
    # ...and Kubernetes turns $$ into $ in command, args and env values.
    assert k8s_expand(tekton, {}) == "$v $(date)"


def test_array_param_expands_as_whole_element() -> None:
    repl = replacements(files=["a.json", "b.json"])
    assert substitute_list(["--in", "$(params.files[*])", "$(params.files)", "x"], repl) == [
        "--in",
        "a.json",
        "b.json",
        "a.json",
        "b.json",
        "x",
    ]
    assert substitute("$(params.files[1])", repl.strings) == "b.json"


def test_object_param_keys() -> None:
    repl = replacements(conn={"bucket": "data", "path": "in"})
    assert substitute("$(params.conn.bucket)/$(params.conn.path)", repl.strings) == "data/in"


def test_unresolved_reports_undeclared_tekton_references_only() -> None:
    repl = replacements(a="x")
    text = "$(params.a) $(params.nope) $(context.taskRun.bogus) $(results.other.path) $(HOME)"
    text += " $(steps.s.results.r)"
    assert unresolved(text, repl) == ["$(params.nope)", "$(context.taskRun.bogus)", "$(results.other.path)"]


def test_steps_result_refs() -> None:
    assert steps_result_refs("x=$(steps.sync-data.results.count) $(params.a)") == [("sync-data", "count")]


def test_param_values_defaults_overrides_and_missing() -> None:
    task = {"params": [{"name": "a", "default": "1"}, {"name": "b"}, {"name": "c", "default": ["x"]}]}
    run = {"params": [{"name": "b", "value": "2"}, {"name": "extra", "value": "ignored"}]}
    assert param_values(task, run) == {"a": "1", "b": "2", "c": ["x"]}
    with pytest.raises(LocalRunError, match="param\\(s\\) b"):
        param_values(task, {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "1"),
        ("$(A)$(B)", "12"),
        ("pre-$(A)-post", "pre-1-post"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$1"),
        ("$$", "$"),
        ("$x", "$x"),
        ("$", "$"),
        ("$(A", "$(A"),
        ("${A}", "${A}"),
        ("echo $$HOME", "echo $HOME"),
    ],
)
def test_kubernetes_expansion(text: str, expected: str) -> None:
    assert k8s_expand(text, {"A": "1", "B": "2"}) == expected
