"""The admission rules of Argo Workflows' own validator that its JSON schema does not express.

Source: argoproj/argo-workflows v4.1.2 (commit f016ad89eb), ``workflow/validate/validate.go`` unless a
rule says otherwise. The controller runs this validator on every Workflow it picks up and the Argo
Server on every WorkflowTemplate it accepts; a document that fails it never runs. Each rule below
names the upstream function it encodes; ``tests/argo/test_argo_rules.py`` replays upstream's own
``validate_test.go`` fixtures through it.

Codes (``Violation.rule``):

* AW1  object names: Workflow, WorkflowTemplate, ClusterWorkflowTemplate <= 63 characters, CronWorkflow
       <= 52 (``Workflow``, ``WorkflowTemplate``, ``ClusterWorkflowTemplate``, ``CronWorkflow``).
* AW2  template names: present, unique, ``[a-zA-Z0-9][-a-zA-Z0-9]*``, <= 128 (``validateWorkflowFieldNames``).
* AW3  exactly one template type (``validateTemplateType``); ``container.image`` set (``validateLeaf``).
* AW4  entrypoint and onExit name a template; ``workflowTemplateRef`` excludes ``templates``; step and
       task template references resolve (``Workflow``, ``WorkflowTemplateRefFields``,
       ``validateTemplateHolder``).
* AW5  parameter and artifact names ``[-a-zA-Z0-9_]+``, present, unique; argument values
       (``validateInputs``, ``validateOutputs``, ``validateArgumentsFieldNames``,
       ``validateArgumentsValues``): see :mod:`compiler.argo.rules_names`.
* AW6  steps (``validateSteps``) and AW7 DAG tasks (``validateDAG``): :mod:`compiler.argo.rules_flow`.
* AW8  fan-out (``addItemsToScope``) and AW12 ``{{...}}`` references resolvable in scope
       (``resolveAllVariables``): :mod:`compiler.argo.rules_scope`.
* AW9  containerSet: containers, names, dependencies, cycles, ``main`` for inputs/outputs, reserved
       names (``ContainerSetTemplate.Validate`` in
       ``pkg/apis/workflow/v1alpha1/container_set_template_types.go``, ``validateLeaf``; reserved names
       from ``workflow/common/common.go`` ``IsArgoSidecar``).
* AW10 fields valid only on some template types: ``parallelism`` only on steps/dag (``validateLeaf``),
       ``activeDeadlineSeconds`` only on leaves (``validateNonLeaf``), ``timeout`` only on leaves
       (``validateTemplate``).
* AW11 volume mounts: no two mounts (or a mount and an input artifact) on one path (``validateLeaf``,
       ``ContainerSetTemplate.Validate``); every mount names a volume of the template, the spec or a
       volumeClaimTemplate (``workflow/controller/workflowpod.go`` ``addVolumeReferences``).

Every finding is a :class:`~compiler.manifests.violations.Violation` located by a JSON pointer; every
finding is reported, not only the first one, and malformed shapes never crash (the schema's job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compiler.argo import rules_flow
from compiler.argo.rules_names import check_arguments, check_field_names, check_outputs
from compiler.argo.rules_scope import Spec, find_cycle, template_names, template_type
from compiler.manifests.violations import Sink, Violation, as_list, as_map, as_str, maps, ptr

ARGO_API_VERSION = "argoproj.io/v1alpha1"
# validate.go maxCharsInObjectName / maxCharsInCronWorkflowName: object names become label values.
NAME_LIMITS = {"Workflow": 63, "WorkflowTemplate": 63, "ClusterWorkflowTemplate": 63, "CronWorkflow": 52}
# workflow/common/common.go: WaitContainerName, SupervisorContainerName, ArtifactPluginSidecarPrefix.
RESERVED_CONTAINERS = ("wait", "supervisor")
RESERVED_PREFIX = "artifact-plugin-"


def check_documents(docs: Sequence[Mapping[str, Any]]) -> list[Violation]:
    """Every violation in ``docs`` (Argo objects as plain data; other kinds are skipped). A Workflow's
    ``workflowTemplateRef`` is resolved against the WorkflowTemplates among ``docs``."""
    templates = {
        as_str(as_map(d.get("metadata")).get("name")): d
        for d in docs
        if isinstance(d, Mapping) and d.get("kind") == "WorkflowTemplate"
    }
    out: list[Violation] = []
    names = template_names(templates)
    for doc in docs:
        if isinstance(doc, Mapping) and doc.get("apiVersion") == ARGO_API_VERSION:
            check_document(doc, templates, out, names)
    return out


def check_document(
    doc: Mapping[str, Any],
    workflow_templates: Mapping[str, Mapping[str, Any]],
    out: list[Violation],
    names: Mapping[str, frozenset[str]] | None = None,
) -> None:
    kind = as_str(doc.get("kind"))
    meta = as_map(doc.get("metadata"))
    sink = Sink(kind, as_str(meta.get("name")) or as_str(meta.get("generateName")), out)
    check_name_length(kind, as_str(meta.get("name")), sink)
    if kind not in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"):
        return
    spec = as_map(doc.get("spec"))
    ref_target = _referenced_template(spec, workflow_templates, sink)
    known = names if names is not None else template_names(workflow_templates)
    context = Spec.of(doc, ref_target, kind == "Workflow", known)
    check_entrypoints(spec, context, sink)
    check_field_names(as_list(spec.get("templates")), "/spec/templates", sink, "AW2")
    check_arguments(spec.get("arguments"), "/spec/arguments", not context.submitted, sink)
    for i, tmpl in maps(spec.get("templates")):
        check_template(tmpl, ptr("/spec/templates", i), context, sink)


def check_name_length(kind: str, name: str, sink: Sink) -> None:
    """AW1 (validate.go ``Workflow``/``WorkflowTemplate``/``CronWorkflow``: ``maxCharsInObjectName``)."""
    limit = NAME_LIMITS.get(kind)
    if limit is not None and len(name) > limit:
        label = {
            "WorkflowTemplate": "workflow template",
            "ClusterWorkflowTemplate": "cluster workflow template",
        }
        what = label.get(kind, "cron workflow" if kind == "CronWorkflow" else "workflow")
        sink.add(
            "AW1",
            "/metadata/name",
            f'{what} name "{name}" must not be more than {limit} characters long (currently {len(name)})',
        )


def _referenced_template(
    spec: Mapping[str, Any], workflow_templates: Mapping[str, Mapping[str, Any]], sink: Sink
) -> Mapping[str, Any] | None:
    """AW4 (``WorkflowTemplateRefFields``): a Workflow that refers to a WorkflowTemplate carries no
    templates of its own; the referenced one must be among the documents (the controller's getter fails
    otherwise). Cluster-scoped references are outside a namespaced tree and are not resolved."""
    ref = spec.get("workflowTemplateRef")
    if not isinstance(ref, Mapping):
        return None
    if as_list(spec.get("templates")):
        sink.add(
            "AW4",
            "/spec/templates",
            "Templates is invalid field in spec if workflow referred WorkflowTemplate reference",
        )
    if ref.get("clusterScope") is True:
        return None
    name = as_str(ref.get("name"))
    target = workflow_templates.get(name)
    if target is None:
        sink.add("AW4", "/spec/workflowTemplateRef/name", f"WorkflowTemplate {name!r} not found")
    return target


def check_entrypoints(spec: Mapping[str, Any], context: Spec, sink: Sink) -> None:
    """AW4 (validate.go ``Workflow``): ``spec.entrypoint is required``; entrypoint and onExit resolve
    through ``validateTemplateHolder`` (``template name '%s' undefined``)."""
    if not context.templates_known:
        return  # a cluster-scoped or missing WorkflowTemplate: nothing to resolve against
    if not context.entrypoint:
        # WorkflowTemplate() sets IgnoreEntrypoint when a template has none: a Workflow names it.
        if context.submitted:
            sink.add("AW4", "/spec/entrypoint", "spec.entrypoint is required")
    elif context.entrypoint not in context.templates:
        sink.add("AW4", "/spec/entrypoint", f"template name '{context.entrypoint}' undefined")
    on_exit = as_str(spec.get("onExit")) or context.inherited_on_exit
    if on_exit and on_exit not in context.templates:
        sink.add("AW4", "/spec/onExit", f"template name '{on_exit}' undefined")


def check_template(tmpl: Mapping[str, Any], path: str, context: Spec, sink: Sink) -> None:
    kinds = template_type(tmpl)
    name = as_str(tmpl.get("name"))
    if not kinds:
        sink.add("AW3", path, f"templates.{name} template type unspecified")
    elif len(kinds) > 1:
        sink.add("AW3", path, f"templates.{name} multiple template types specified: {', '.join(kinds)}")
    inputs, outputs = as_map(tmpl.get("inputs")), as_map(tmpl.get("outputs"))
    for part, holder in (("inputs", inputs), ("outputs", outputs)):
        for field in ("parameters", "artifacts"):
            items = as_list(holder.get(field))
            check_field_names(items, f"{path}/{part}/{field}", sink, "AW5", params=True)
    kind = kinds[0] if len(kinds) == 1 else ""
    check_outputs(tmpl, kind, path, sink)
    check_type_fields(tmpl, kind, path, sink)
    if kind == "container":
        _check_container(tmpl, path, sink)
    if kind == "containerSet":
        check_container_set(tmpl, path, sink)
    check_reserved_sidecars(tmpl, path, sink)
    check_volume_names(tmpl, path, context, sink)
    rules_flow.check_flow(tmpl, kind, path, context, sink)


def check_type_fields(tmpl: Mapping[str, Any], kind: str, path: str, sink: Sink) -> None:
    """AW10: ``validateLeaf`` (parallelism), ``validateNonLeaf`` (activeDeadlineSeconds) and
    ``validateTemplate`` (timeout) refuse fields on the wrong kind of template."""
    name = as_str(tmpl.get("name"))
    orchestrates = kind in ("steps", "dag")
    if "parallelism" in tmpl and kind and not orchestrates:
        sink.add(
            "AW10",
            f"{path}/parallelism",
            f"templates.{name}.parallelism is only valid for steps and dag templates",
        )
    if "activeDeadlineSeconds" in tmpl and orchestrates:
        sink.add(
            "AW10",
            f"{path}/activeDeadlineSeconds",
            f"templates.{name}.activeDeadlineSeconds is only valid for leaf templates",
        )
    if as_str(tmpl.get("timeout")) and (orchestrates or kind == "suspend"):
        sink.add("AW10", f"{path}/timeout", f"{kind} template doesn't support timeout field")


def _check_container(tmpl: Mapping[str, Any], path: str, sink: Sink) -> None:
    """AW3 (``validateLeaf``: ``container.image may not be empty``; templateDefaults are not emitted by
    this project, so an image is always required) and AW11 (mount-path collisions with input artifacts)."""
    name = as_str(tmpl.get("name"))
    container = as_map(tmpl.get("container"))
    if not as_str(container.get("image")):
        sink.add("AW3", f"{path}/container/image", f"templates.{name}.container.image may not be empty")
    mounts = {
        as_str(m.get("mountPath")): f"container.volumeMounts.{as_str(m.get('name'))}"
        for _, m in maps(container.get("volumeMounts"))
    }
    _check_mount_paths(container.get("volumeMounts"), f"{path}/container/volumeMounts", name, sink)
    for i, art in maps(as_map(tmpl.get("inputs")).get("artifacts")):
        art_path = as_str(art.get("path"))
        if art_path and art_path in mounts:
            sink.add(
                "AW11",
                f"{path}/inputs/artifacts/{i}/path",
                f"templates.{name}.inputs.artifacts[{i}].path '{art_path}' "
                f"already mounted in {mounts[art_path]}",
            )


def _check_mount_paths(mounts: Any, path: str, name: str, sink: Sink) -> None:
    seen: dict[str, str] = {}
    for i, mount in maps(mounts):
        mount_path = as_str(mount.get("mountPath"))
        if mount_path in seen:
            sink.add(
                "AW11",
                f"{path}/{i}/mountPath",
                f"templates.{name} volumeMounts[{i}].mountPath '{mount_path}' "
                f"already mounted in {seen[mount_path]}",
            )
        seen.setdefault(mount_path, f"volumeMounts.{as_str(mount.get('name'))}")


def check_container_set(tmpl: Mapping[str, Any], path: str, sink: Sink) -> None:
    """AW9 (``ContainerSetTemplate.Validate`` and ``validateLeaf``) and AW11 for its shared mounts."""
    name = as_str(tmpl.get("name"))
    here = f"{path}/containerSet"
    cset = as_map(tmpl.get("containerSet"))
    containers = as_list(cset.get("containers"))
    if not containers:
        sink.add(
            "AW9",
            f"{here}/containers",
            f"templates.{name}.containerSet.containers must have at least one container",
        )
    check_field_names(containers, f"{here}/containers", sink, "AW9")
    _check_mount_paths(cset.get("volumeMounts"), f"{here}/volumeMounts", name, sink)
    names = [as_str(as_map(c).get("name")) for c in containers]
    graph: dict[str, list[str]] = {}
    for i, ctr in maps(containers):
        ctr_name = as_str(ctr.get("name"))
        deps = [as_str(d) for d in as_list(ctr.get("dependencies"))]
        graph[ctr_name] = deps
        for j, dep in enumerate(deps):
            if dep not in names:
                sink.add(
                    "AW9",
                    f"{here}/containers/{i}/dependencies/{j}",
                    f"templates.{name}.containerSet.containers.{ctr_name} dependency '{dep}' not defined",
                )
        if ctr_name in RESERVED_CONTAINERS or ctr_name.startswith(RESERVED_PREFIX):
            sink.add(
                "AW9",
                f"{here}/containers/{i}/name",
                f"templates.{name}.containerSet.containers: {ctr_name!r} is a reserved Argo container name",
            )
        if not as_str(ctr.get("image")):
            # Kubernetes pod validation (containers[].image is required) rejects the pod at creation.
            sink.add(
                "AW9",
                f"{here}/containers/{i}/image",
                f"templates.{name}.containerSet.containers.{ctr_name}.image is required",
            )
    cycle = find_cycle(graph)
    if cycle:
        sink.add(
            "AW9",
            f"{here}/containers",
            f"templates.{name}.containerSet.containers dependency cycle: {'->'.join(cycle)}",
        )
    inputs, outputs = as_map(tmpl.get("inputs")), as_map(tmpl.get("outputs"))
    if (
        as_list(inputs.get("artifacts"))
        or as_list(outputs.get("parameters"))
        or as_list(outputs.get("artifacts"))
    ) and ("main" not in names):
        sink.add(
            "AW9",
            f"{here}/containers",
            f"templates.{name}.containerSet.containers "
            'must have a container named "main" for input or output',
        )


def check_reserved_sidecars(tmpl: Mapping[str, Any], path: str, sink: Sink) -> None:
    """AW9 (``validateLeaf``): sidecars may not take the names of Argo's own containers."""
    for i, sidecar in maps(tmpl.get("sidecars")):
        side = as_str(sidecar.get("name"))
        if side in RESERVED_CONTAINERS or side.startswith(RESERVED_PREFIX):
            sink.add(
                "AW9",
                f"{path}/sidecars/{i}/name",
                f"templates.{as_str(tmpl.get('name'))}.sidecars: {side!r} is a reserved Argo container name",
            )


def check_volume_names(tmpl: Mapping[str, Any], path: str, context: Spec, sink: Sink) -> None:
    """AW11 (``workflow/controller/workflowpod.go`` ``addVolumeReferences``): every mount of the main
    container, a containerSet (shared and per container), init containers and sidecars names a volume of
    the template, of the spec, or of a volumeClaimTemplate; otherwise the pod is never created
    (``volume '%s' not found in workflow spec``)."""
    known = context.volumes | {as_str(v.get("name")) for _, v in maps(tmpl.get("volumes"))}
    cset = as_map(tmpl.get("containerSet"))
    holders: list[tuple[str, Any]] = [
        (f"{path}/container/volumeMounts", as_map(tmpl.get("container")).get("volumeMounts")),
        (f"{path}/script/volumeMounts", as_map(tmpl.get("script")).get("volumeMounts")),
        (f"{path}/containerSet/volumeMounts", cset.get("volumeMounts")),
    ]
    holders += [
        (f"{path}/containerSet/containers/{i}/volumeMounts", c.get("volumeMounts"))
        for i, c in maps(cset.get("containers"))
    ]
    for field in ("initContainers", "sidecars"):
        holders += [
            (f"{path}/{field}/{i}/volumeMounts", c.get("volumeMounts")) for i, c in maps(tmpl.get(field))
        ]
    for where, mounts in holders:
        for i, mount in maps(mounts):
            volume = as_str(mount.get("name"))
            if volume not in known:
                sink.add("AW11", f"{where}/{i}/name", f"volume '{volume}' not found in workflow spec")
