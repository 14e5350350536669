"""Argo Workflows' semantics as the local runner applies them (``compiler/localrun/argo.py``).

Cases marked "upstream" reproduce argoproj/argo-workflows v4.1.2 tests: ``util/template/replace_test.go``
``Test_Replace``, ``workflow/common/util_test.go`` ``TestOverridableTemplateInputParamsValue``,
``workflow/controller/operator_test.go`` ``TestExpandWithItemsMap``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.localrun import argo
from compiler.localrun.errors import LocalRunError
from compiler.localrun.pod import Pod, Verbatim
from compiler.localrun.prepare import Preparer
from compiler.localrun.rundir import RunDir
from compiler.localrun.secrets import SecretStore
from compiler.localrun.tekton import merge_step_resources


def test_replace_simple_upstream() -> None:
    assert argo.replace("{{foo}}", {"foo": "bar"}) == "bar"


def test_unresolved_is_kept_by_a_pass_and_refused_by_the_check_upstream() -> None:
    assert argo.replace("{{foo}}", {}) == "{{foo}}"
    with pytest.raises(LocalRunError, match=r"failed to resolve \{\{foo\}\}"):
        argo.check_references("{{foo}}", {}, "template run")


def test_an_unterminated_tag_is_an_error_upstream() -> None:
    with pytest.raises(LocalRunError, match="cannot find end tag"):
        argo.replace("{{", {})


def test_a_tag_is_trimmed_and_a_value_is_plain_text() -> None:
    scope = {"inputs.parameters.p": "a b; $(rm -rf /) {x}"}
    assert argo.replace("--p={{ inputs.parameters.p }}", scope) == "--p=a b; $(rm -rf /) {x}"


def test_a_value_is_not_scanned_again_in_the_same_pass() -> None:
    assert argo.replace("{{a}}", {"a": "{{b}}", "b": "never"}) == "{{b}}"


def test_expressions_are_refused_with_the_reason() -> None:
    with pytest.raises(LocalRunError, match="expressions are not evaluated locally"):
        argo.check_references({"args": ["{{=sprig.int(retries)}}"]}, {}, "template run")


def test_input_value_is_overridden_by_the_argument_upstream() -> None:
    template = {
        "name": "artifact-printing",
        "inputs": {"parameters": [{"name": "value-from-param", "value": "abc"}]},
    }
    assert argo.input_values(template, {"value-from-param": "override"}) == {"value-from-param": "override"}
    assert argo.input_values(template, {}) == {"value-from-param": "abc"}


def test_inputs_take_the_argument_by_name_else_the_default_else_an_error() -> None:
    template = {
        "name": "run",
        "inputs": {
            "parameters": [{"name": "a", "default": "da"}, {"name": "b", "default": "db"}, {"name": "c"}]
        },
    }
    assert argo.input_values(template, {"b": "given", "c": "", "unused": "x"}) == {
        "a": "da",
        "b": "given",
        "c": "",
    }
    with pytest.raises(LocalRunError, match=r"template run: inputs.parameters.c was not supplied"):
        argo.input_values(template, {})


def test_process_args_substitutes_globals_then_inputs() -> None:
    template = {
        "name": "run",
        "inputs": {"parameters": [{"name": "p"}]},
        "outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/r/o"}}]},
        "container": {
            "args": ["{{inputs.parameters.p}}", "{{workflow.uid}}", "{{outputs.parameters.o.path}}"],
            "env": [{"name": "G", "value": "{{workflow.parameters.g}}"}],
        },
    }
    # A global's value that holds an input tag is replaced by the second pass, as SubstituteParams does.
    scope = {"workflow.uid": "u-1", "workflow.parameters.g": "{{inputs.parameters.p}}"}
    filled = argo.process_args(template, {"p": "v"}, scope)
    assert filled["container"]["args"] == ["v", "u-1", "/r/o"]
    assert filled["container"]["env"] == [{"name": "G", "value": "v"}]
    assert filled["inputs"] == {"parameters": [{"name": "p", "value": "v"}]}


def test_process_args_refuses_a_tag_nothing_resolves_before_anything_runs() -> None:
    template = {"name": "run", "container": {"args": ["{{inputs.parameters.typo}}", "{{workflow.nope}}"]}}
    with pytest.raises(LocalRunError) as info:
        argo.process_args(template, {}, {})
    assert str(info.value) == (
        "template run: failed to resolve {{inputs.parameters.typo}}, {{workflow.nope}}"
    )


def test_a_dag_leaves_task_outputs_and_items_to_its_tasks() -> None:
    dag = {
        "name": "sharded",
        "dag": {"tasks": [{"name": "s", "withParam": "{{tasks.plan.outputs.parameters.ids}}"}]},
    }
    assert argo.process_args(dag, {}, {}, later=("tasks.", "item"))["dag"] == dag["dag"]


def test_the_workflow_arguments_win_by_name_and_its_fields_over_the_template() -> None:
    template = {
        "entrypoint": "run",
        "activeDeadlineSeconds": 10,
        "arguments": {"parameters": [{"name": "a", "value": "ta"}, {"name": "b", "value": "tb"}]},
        "templates": [{"name": "run"}],
    }
    workflow = {
        "workflowTemplateRef": {"name": "svc"},
        "entrypoint": "sharded",
        "arguments": {"parameters": [{"name": "b", "value": "wb"}, {"name": "c", "value": "wc"}]},
    }
    joined = argo.joined_spec(workflow, template)
    assert joined["entrypoint"] == "sharded"
    assert joined["activeDeadlineSeconds"] == 10
    assert joined["templates"] == [{"name": "run"}]
    assert "workflowTemplateRef" not in joined
    assert joined["arguments"]["parameters"] == [
        {"name": "a", "value": "ta"},
        {"name": "b", "value": "wb"},
        {"name": "c", "value": "wc"},
    ]
    scope = argo.global_scope("wf-1", "ns", "uid-1", joined)
    assert scope["workflow.parameters.b"] == "wb"
    assert (scope["workflow.name"], scope["workflow.namespace"], scope["workflow.uid"]) == (
        "wf-1",
        "ns",
        "uid-1",
    )


def test_items_of_a_map_upstream() -> None:
    item = argo.item_scope({"os": "debian", "version": 9.1})
    assert argo.replace("{{item.os}} {{item.version}} JSON({{item}})", item) == (
        'debian 9.1 JSON({"os":"debian","version":9.1})'
    )


def test_with_param_items() -> None:
    items = argo.fan_out('["0", 1, true, [2]]', "shard")
    assert [i["item"] for i in items] == ["0", "1", "true", "[2]"]
    with pytest.raises(LocalRunError, match="withParam value could not be parsed as a JSON list: nope"):
        argo.fan_out("nope", "shard")
    with pytest.raises(LocalRunError, match="not a JSON list"):
        argo.fan_out('{"a": 1}', "shard")


def test_containers_run_in_dependencies_order() -> None:
    containers: list[dict[str, Any]] = [
        {"name": "c", "dependencies": ["b"]},
        {"name": "a"},
        {"name": "b", "dependencies": ["a"]},
        {"name": "d", "dependencies": ["a"]},
    ]
    assert [c["name"] for c in argo.container_order(containers, "t")] == ["a", "b", "c", "d"]
    with pytest.raises(LocalRunError, match=r"containers\.c dependency 'x' not defined"):
        argo.container_order([{"name": "c", "dependencies": ["x"]}], "t")
    with pytest.raises(LocalRunError, match="cycle"):
        argo.container_order(
            [{"name": "a", "dependencies": ["b"]}, {"name": "b", "dependencies": ["a"]}], "t"
        )


def test_pod_spec_patch_merges_the_user_containers_resources_key_by_key() -> None:
    patch = json.dumps({"containers": [{"name": "user-container", "resources": {"limits": {"cpu": "4"}}}]})
    resources, ignored = argo.pod_spec_patch(patch, ["sync-data", "user-container"], "template run")
    assert ignored == []
    own = {"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "1"}}
    merged = merge_step_resources(own, resources["user-container"])
    assert merged == {"limits": {"cpu": "4", "memory": "2Gi"}, "requests": {"cpu": "1"}}
    assert argo.pod_spec_patch("{}", ["user-container"], "t") == ({}, [])


def test_pod_spec_patch_that_cannot_run_locally() -> None:
    with pytest.raises(LocalRunError, match="adds container 'sidecar'"):
        argo.pod_spec_patch('{"containers": [{"name": "sidecar"}]}', ["main"], "t")
    with pytest.raises(LocalRunError, match="sets env of container main"):
        argo.pod_spec_patch('{"containers": [{"name": "main", "env": []}]}', ["main"], "t")
    assert argo.pod_spec_patch("nodeSelector: {a: b}", ["main"], "t") == ({}, ["podSpecPatch nodeSelector"])


def test_output_parameters_trim_one_newline_and_fall_back_to_the_default() -> None:
    template = {
        "outputs": {
            "parameters": [
                {"name": "ids", "valueFrom": {"path": "/r/ids"}},
                {"name": "gone", "valueFrom": {"path": "/r/gone", "default": "d"}},
            ]
        }
    }
    files = {"/r/ids": '["0","1"]\n\n'}

    def read(path: str) -> str | None:
        return files.get(path)

    assert argo.output_parameters(template, read) == {"ids": '["0","1"]\n', "gone": "d"}
    files.clear()
    with pytest.raises(LocalRunError, match="open /r/ids: no such file"):
        argo.output_parameters(template, read)


def test_tekton_references_stay_literal_in_an_argo_pod(tmp_path: Path) -> None:
    """Argo documents get Kubernetes' $(VAR) expansion only: a $(params.x) reaches the program as written."""
    container = {
        "name": "main",
        "image": "python",
        "command": ["python3"],
        "args": ["$(params.x)", "$(GREETING) world", "$$(GREETING)"],
        "env": [{"name": "GREETING", "value": "hello"}],
    }
    pod = Pod("template run", "wf-1", "ns", "uid", (container,), (), None, Verbatim())
    step = Preparer(pod, RunDir(tmp_path), SecretStore()).check()[0]
    assert step.args == ("$(params.x)", "hello world", "$(GREETING)")
