"""compiler.argo.rules against upstream's own cases.

Each fixture in ``fixtures/`` is a YAML string copied unchanged from argoproj/argo-workflows v4.1.2
(``workflow/validate/validate_test.go``, ``validate_dag_test.go``, ``examples/container-set-template``);
``fixtures/PROVENANCE.md`` says where each comes from. The expectation of every case is upstream's own
(the test named next to it): rejected with the rule that encodes the failing check, or accepted, which
here means no finding at all. Cases upstream builds by editing a fixture in Go are rebuilt the same way.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.argo.rules import check_documents
from compiler.manifests.violations import Violation

FIXTURES = Path(__file__).parent / "fixtures"

# (fixture, upstream test, rule, fragment of upstream's message)
REJECTED = [
    ("dupTemplateNames", "TestDuplicateOrEmptyNames", "AW2", "not unique"),
    ("dupInputNames", "TestDuplicateOrEmptyNames", "AW5", "not unique"),
    ("emptyName", "TestDuplicateOrEmptyNames", "AW5", "name is required"),
    ("invalidTemplateNames", "TestInvalidTemplateName", "AW2", "is invalid"),
    ("invalidArgParamNames", "TestInvalidArgParamName", "AW5", "is invalid"),
    ("invalidInputParamNames", "TestInvalidInputParamName", "AW5", "is invalid"),
    ("unsuppliedArgValue", "TestGlobalParam", "AW5", "missing.value or missing.valueFrom is required"),
    ("invalidArgumentNoValue", "TestInvalidArgumentNoValue", "AW5", ".valueFrom is required"),
    ("invalidOutputParamNames", "TestInvalidOutputParam", "AW5", "is invalid"),
    ("invalidOutputArtNames", "TestInvalidOutputArtName", "AW5", "is invalid"),
    ("invalidOutputMissingValueFrom", "TestInvalidOutputParam", "AW5",
     "does not have valueFrom or value specified"),
    ("invalidOutputMultipleValueFrom", "TestInvalidOutputParam", "AW5", "multiple valueFrom"),
    ("invalidOutputIncompatibleValueFromPath", "TestInvalidOutputParam", "AW5",
     ".path must be specified for Container templates"),
    ("invalidOutputIncompatibleValueFromParam", "TestInvalidOutputParam", "AW5",
     ".parameter or expression must be specified for Steps templates"),
    ("multipleTemplateTypes", "TestMultipleTemplateTypes", "AW3", "multiple template types specified"),
    ("invalidWfNoImage", "TestInvalidWfNoImageField", "AW3",
     "templates.whalesay.container.image may not be empty"),
    ("dagUndefinedTemplate", "TestDAGUndefinedTemplate", "AW4", "undefined"),
    ("undefinedTemplateRef", "TestUndefinedTemplateRef", "AW4", "not found"),
    ("invalidStepNames", "TestInvalidStepName", "AW6", "is invalid"),
    ("unresolvedInput", "TestUnresolved", "AW12", "failed to resolve"),
    ("unresolvedStepInput", "TestUnresolved", "AW12", "failed to resolve"),
    ("unresolvedOutput", "TestUnresolved", "AW12", "failed to resolve"),
    ("stepStatusReferencesNoFutureReference", "TestStepStatusReferenceNoFutureReference", "AW12",
     "failed to resolve {{steps.two.status}}"),
    ("workflowStatusNotOnExit", "TestExitHandler", "AW12", "failed to resolve {{workflow.failures}}"),
    ("dagUnresolvedVar", "TestDAGVariableResolution", "AW12",
     "failed to resolve {{tasks.A.outputs.parameters.unresolvable}}"),
    ("dagStatusNoFutureReferenceSimple", "TestDAGStatusReference", "AW12",
     "failed to resolve {{tasks.B.status}}"),
    ("dagResolvedVarNotAncestor", "TestDAGVariableResolution", "AW7",
     "missing dependency 'B' for parameter 'message'"),
    ("dagCycle", "TestDAGCycle", "AW7", "cycle"),
    ("dagAnyWithoutExpandingTask", "TestAnyWithoutExpandingTask", "AW7", "does not contain any items"),
    ("dagNonexistantTarget", "TestDAGNonExistantTarget", "AW7", "target 'DOESNTEXIST' is not defined"),
    ("dagDependsAndDependencies", "TestDependsAndDependencies", "AW7",
     "templates.dag-target cannot use both 'depends' and 'dependencies' in the same DAG template"),
    ("dagDependsAndContinueOn", "TestDependsAndContinueOn", "AW7",
     "templates.dag-target cannot use 'continueOn' when using 'depends'"),
    ("dagDependsDigit", "TestDAGDependsDigit", "AW7",
     "templates.diamond.tasks.5A name cannot begin with a digit when using either 'depends' or "
     "'dependencies'"),
    ("dagDependenciesDigit", "TestDAGDependenciesDigit", "AW7",
     "templates.diamond.tasks.5A name cannot begin with a digit"),
    ("specBadSequenceCountAndEnd", "TestSpecBadSequenceCountAndEnd", "AW8",
     "only one of count or end can be defined in withSequence"),
    ("invalidContainerSetDependencyNotFound", "TestInvalidContainerSetDependencyNotFound", "AW9",
     "templates.main.containerSet.containers.b dependency 'c' not defined"),
    ("leafWithParallelism", "TestLeafWithParallelism", "AW10", "is only valid"),
    ("volumeMountArtifactPathCollision", "TestVolumeMountArtifactPathCollision", "AW11", "already mounted"),
]  # fmt: skip

# (fixture, upstream test): upstream validates these without error.
ACCEPTED = [
    ("stepOutputReferences", "TestStepOutputReference"),
    ("stepStatusReferences", "TestStepStatusReference"),
    ("exitHandlerWorkflowStatusOnExit", "TestExitHandler"),
    ("validWithItems", "TestValidWithItems"),
    ("podNameVariable", "TestPodNameVariable"),
    ("stepWithItemParam", "TestStepWithItemParam"),
    ("globalParam", "TestGlobalParam"),
    ("stepsOutputParametersForContainerSet", "TestStepsOutputParametersForContainerSet"),
    ("dagResolvedVar", "TestDAGVariableResolution"),
    ("dagStatusReference", "TestDAGStatusReference"),
    ("dagTargetSubstitution", "TestDAGTargetSubstitution"),
    ("dagWithDigitNoDepends", "TestDAGWithDigitNameNoDepends"),
    ("dagOutputsResolveTaskAggregatedOutputs", "TestDAGOutputsResolveTaskAggregatedOutputs"),
    (
        "example-container-set-graph-workflow",
        "examples/container-set-template (e2e: test/e2e/examples_test.go)",
    ),
    (
        "example-container-set-workspace-workflow",
        "examples/container-set-template (e2e: test/e2e/examples_test.go)",
    ),
    ("example-parallelism-template-limit", "examples/parallelism-template-limit.yaml: parallelism on steps"),
]


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def found(violations: list[Violation], rule: str, fragment: str) -> bool:
    return any(v.rule == rule and fragment in v.message for v in violations)


@pytest.mark.parametrize(("fixture", "upstream", "rule", "fragment"), REJECTED, ids=[c[0] for c in REJECTED])
def test_upstream_rejects(fixture: str, upstream: str, rule: str, fragment: str) -> None:
    violations = check_documents([load(fixture)])
    assert found(violations, rule, fragment), f"{upstream}: expected {rule} {fragment!r}, got {violations}"


@pytest.mark.parametrize(("fixture", "upstream"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_upstream_accepts(fixture: str, upstream: str) -> None:
    assert check_documents([load(fixture)]) == [], upstream


def test_template_ref_resolves_among_documents() -> None:
    """TestNestedTemplateRef: with WorkflowTemplate template-ref-target created, the step's templateRef
    resolves; TestWorkflowTemplate: the target alone (no entrypoint) is valid; without it, not found."""
    target, run = load("templateRefTarget"), load("nestedTemplateRef")
    assert check_documents([target]) == []
    assert check_documents([target, run]) == []
    assert found(check_documents([run]), "AW4", "template reference template-ref-target.A not found")
    run["spec"]["templates"][0]["steps"][0][0]["templateRef"]["template"] = "B"
    assert found(check_documents([target, run]), "AW4", "template reference template-ref-target.B not found")


def test_volume_mount_collision_fixed_is_accepted() -> None:
    """TestVolumeMountArtifactPathCollision: moving the mount to /differentpath makes it valid."""
    doc = load("volumeMountArtifactPathCollision")
    doc["spec"]["templates"][0]["container"]["volumeMounts"][0]["mountPath"] = "/differentpath"
    assert check_documents([doc]) == []


@pytest.mark.parametrize(
    ("kind", "limit", "length", "what"),
    [
        ("Workflow", 63, 70, "workflow"),
        ("WorkflowTemplate", 63, 70, "workflow template"),
        ("CronWorkflow", 52, 60, "cron workflow"),
    ],
)
def test_name_length(kind: str, limit: int, length: int, what: str) -> None:
    """TestMaxLengthName: upstream's exact message for 70 (60 for CronWorkflow) characters; a name of
    exactly the limit passes."""
    doc = load("stepOutputReferences")
    doc["kind"] = kind
    doc["metadata"] = {"name": "a" * length}
    [violation] = [v for v in check_documents([doc]) if v.rule == "AW1"]
    expected = (
        f'{what} name "{"a" * length}" must not be more than {limit} characters long (currently {length})'
    )
    assert violation.message == expected
    assert violation.path == "/metadata/name"
    doc["metadata"] = {"name": "a" * limit}
    assert [v for v in check_documents([doc]) if v.rule == "AW1"] == []


def test_reserved_container_names() -> None:
    """TestReservedAuxContainerNames: a containerSet container named ``supervisor`` and a sidecar named
    ``wait`` are refused."""
    doc = load("example-container-set-graph-workflow")
    doc["spec"]["templates"][0]["containerSet"]["containers"][0]["name"] = "supervisor"
    assert found(check_documents([doc]), "AW9", "'supervisor' is a reserved Argo container name")
    doc = load("podNameVariable")
    doc["spec"]["templates"][0]["sidecars"] = [{"name": "wait", "image": "argoproj/argosay:v2"}]
    assert found(check_documents([doc]), "AW9", "'wait' is a reserved Argo container name")


@pytest.mark.parametrize("part", ["inputs.artifacts", "outputs.artifacts", "outputs.parameters"])
def test_container_set_needs_main_for_io(part: str) -> None:
    """TestInvalidContainerSetNoMainContainer: inputs/outputs need a container named ``main``."""
    doc = load("example-container-set-workspace-workflow")
    tmpl = doc["spec"]["templates"][0]
    tmpl["containerSet"]["containers"][1]["name"] = "b"
    tmpl.pop("outputs")
    io, field = part.split(".")
    item = (
        {"name": "m", "path": "/workspace/m"}
        if field == "artifacts"
        else {"name": "m", "valueFrom": {"path": "/w"}}
    )
    tmpl[io] = {field: [item]}
    assert found(check_documents([doc]), "AW9", 'must have a container named "main" for input or output')


def test_container_set_dependency_cycle() -> None:
    """ContainerSetTemplate.Validate ``validateNoCycles``."""
    doc = load("example-container-set-graph-workflow")
    containers = doc["spec"]["templates"][0]["containerSet"]["containers"]
    containers[0]["dependencies"] = [containers[-1]["name"]]
    assert found(check_documents([doc]), "AW9", "dependency cycle")


def test_entrypoint_and_on_exit_resolve() -> None:
    """validate.go Workflow: ``spec.entrypoint is required``; entrypoint and onExit go through
    validateTemplateHolder (``template name '%s' undefined``). Built from exitHandlerWorkflowStatusOnExit."""
    doc = load("exitHandlerWorkflowStatusOnExit")
    broken = copy.deepcopy(doc)
    broken["spec"]["onExit"] = "nowhere"
    broken["spec"]["entrypoint"] = "nothing"
    violations = check_documents([broken])
    assert found(violations, "AW4", "template name 'nothing' undefined")
    assert found(violations, "AW4", "template name 'nowhere' undefined")
    del broken["spec"]["entrypoint"]
    assert found(check_documents([broken]), "AW4", "spec.entrypoint is required")


def test_fan_out_sources_are_exclusive() -> None:
    """addItemsToScope: ``only one of withItems, withParam, withSequence can be specified``."""
    doc = load("stepWithItemParam")
    step = doc["spec"]["templates"][0]["steps"][0][1]
    step["withParam"] = "{{steps.hello-world.outputs.result}}"
    assert found(check_documents([doc]), "AW8", "only one of withItems, withParam, withSequence")


def test_with_param_items_resolve_at_run_time() -> None:
    """resolveAllVariables: with ``withParam`` any ``{{item.*}}`` is accepted (anyItemMagicValue);
    with ``withItems`` only the keys the items have."""
    doc = load("stepWithItemParam")
    step = doc["spec"]["templates"][0]["steps"][0][1]
    step["arguments"]["parameters"][0]["value"] = "{{item.unknown}}"
    assert found(check_documents([doc]), "AW12", "failed to resolve {{item.unknown}}")
    step.pop("withItems")
    step["withParam"] = "{{steps.hello-world.outputs.result}}"
    assert check_documents([doc]) == []


def test_undeclared_volume_is_refused() -> None:
    """workflowpod.go addVolumeReferences: ``volume '%s' not found in workflow spec``."""
    doc = load("example-container-set-workspace-workflow")
    doc["spec"]["templates"][0]["containerSet"]["volumeMounts"][0]["name"] = "scratch"
    violation = next(v for v in check_documents([doc]) if v.rule == "AW11")
    assert violation.message == "volume 'scratch' not found in workflow spec"
    assert violation.path == "/spec/templates/0/containerSet/volumeMounts/0/name"


def test_workflow_template_ref_resolves_among_documents() -> None:
    """validate.go Workflow with workflowTemplateRef: the entrypoint is looked up in the referenced
    WorkflowTemplate; a Workflow with a ref carries no templates (WorkflowTemplateRefFields)."""
    template = load("example-container-set-workspace-workflow")
    template["kind"] = "WorkflowTemplate"
    template["metadata"] = {"name": "svc"}
    run: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "svc-run-1"},
        "spec": {"workflowTemplateRef": {"name": "svc"}},
    }
    assert check_documents([template, run]) == []
    assert found(check_documents([run]), "AW4", "WorkflowTemplate 'svc' not found")
    run["spec"]["templates"] = template["spec"]["templates"]
    assert found(check_documents([template, run]), "AW4", "Templates is invalid field in spec")


def test_workflow_template_parameters_may_come_later() -> None:
    """validate.go: a WorkflowTemplate on its own may leave parameter values out and refer to
    ``workflow.parameters.*`` the Workflow supplies; a Workflow may not."""
    doc = load("unsuppliedArgValue")
    doc["kind"] = "WorkflowTemplate"
    assert [v for v in check_documents([doc]) if v.rule == "AW5"] == []


def test_every_finding_is_located_and_nothing_crashes_on_bad_shapes() -> None:
    doc = load("dagCycle")
    doc["spec"]["templates"].append("not a mapping")
    dag = next(t for t in doc["spec"]["templates"] if isinstance(t, dict) and "dag" in t)
    dag["dag"]["tasks"].append(["nor", "this"])
    violations = check_documents(
        [doc, {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": []}]
    )
    assert violations
    assert all(v.path.startswith("/") for v in violations)
