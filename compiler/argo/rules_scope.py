"""The scope of Argo's ``{{...}}`` references (AW12) and the pieces the flow rules share: the spec a
template is checked against, template kinds, fan-out (AW8), step/task outputs, template references (AW4).

Source: argoproj/argo-workflows v4.1.2 ``workflow/validate/validate.go`` (``newTemplateValidationCtx``,
``validateInputs``, ``addItemsToScope``, ``addOutputsToScope``, ``resolveAllVariables``,
``validateTemplateHolder``), ``util/template/validate.go`` (tags, ``=`` expressions skipped) and the
variable names of ``util/variables/keys``. The scope is built the way upstream builds it, with one
deliberate widening: output ``globalName`` s of every template count as defined everywhere (upstream adds
them in validation order), so this checker never refuses what the validator accepts on that account.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from compiler.manifests.violations import Sink, as_list, as_map, as_str, maps, strings_containing

TEMPLATE_TYPES = (
    "container",
    "containerSet",
    "steps",
    "script",
    "resource",
    "dag",
    "suspend",
    "data",
    "http",
    "plugin",
)
LEAF_TYPES = ("container", "containerSet", "script", "resource", "data", "http", "plugin")  # Template.IsLeaf
POD_TYPES = ("container", "containerSet", "script", "resource", "data")  # Template.IsPodType
# workflow/common/common.go GlobalVarValidWorkflowVariablePrefix: only these tags are checked at all.
CHECKED_PREFIXES = ("item.", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")
# resolveAllVariables: prefixes resolved only at run time.
RUNTIME_PREFIXES = (
    "outputs.",
    "workflow.creationTimestamp",
    "workflow.scheduledTime",
    "workflow.duration",
    "tasks.name",
    "steps.name",
    "node.name",
)
ANY_ITEM = "item.*"  # validate.go anyItemMagicValue


@dataclass(frozen=True)
class Spec:
    """What a template is checked against: the spec's templates, volumes and global variables."""

    templates: Mapping[str, Mapping[str, Any]]
    entrypoint: str
    inherited_on_exit: str
    volumes: frozenset[str]
    globals: frozenset[str]
    submitted: bool  # a Workflow (runs now) rather than a WorkflowTemplate checked on its own
    templates_known: bool  # False for a reference this checker cannot follow
    # The namespace's WorkflowTemplates (among the checked documents): name -> its template names.
    workflow_templates: Mapping[str, frozenset[str]]

    @classmethod
    def of(
        cls,
        doc: Mapping[str, Any],
        ref: Mapping[str, Any] | None,
        submitted: bool,
        workflow_templates: Mapping[str, frozenset[str]],
    ) -> Spec:
        spec, ref_spec = as_map(doc.get("spec")), as_map(as_map(ref).get("spec"))
        own = list(maps(spec.get("templates")))
        templates = {as_str(t.get("name")): t for _, t in (own or list(maps(ref_spec.get("templates"))))}
        volumes = {as_str(v.get("name")) for s in (spec, ref_spec) for _, v in maps(s.get("volumes"))}
        volumes |= {
            as_str(as_map(c.get("metadata")).get("name"))
            for s in (spec, ref_spec)
            for _, c in maps(s.get("volumeClaimTemplates"))
        }
        return cls(
            templates=templates,
            entrypoint=as_str(spec.get("entrypoint")) or as_str(ref_spec.get("entrypoint")),
            inherited_on_exit=as_str(ref_spec.get("onExit")),
            volumes=frozenset(volumes),
            globals=frozenset(_globals(doc, ref_spec, templates)),
            submitted=submitted,
            templates_known=not isinstance(spec.get("workflowTemplateRef"), Mapping) or ref is not None,
            workflow_templates=workflow_templates,
        )


def template_names(workflow_templates: Mapping[str, Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """name -> the names of its templates, for each WorkflowTemplate (computed once per check)."""
    return {
        name: frozenset(as_str(t.get("name")) for _, t in maps(as_map(wft.get("spec")).get("templates")))
        for name, wft in workflow_templates.items()
    }


def _globals(doc: Mapping[str, Any], ref_spec: Mapping[str, Any], templates: Mapping[str, Any]) -> set[str]:
    """validate.go ``newTemplateValidationCtx`` and ``Workflow``: the workflow-wide variables."""
    spec = as_map(doc.get("spec"))
    names = {
        f"workflow.{k}"
        for k in ("name", "namespace", "mainEntrypoint", "serviceAccountName", "uid", "status")
    }
    params = [
        as_str(p.get("name"))
        for s in (spec, ref_spec)
        for _, p in maps(as_map(s.get("arguments")).get("parameters"))
    ]
    if params:
        names |= {"workflow.parameters", "workflow.parameters.json"} | {
            f"workflow.parameters.{p}" for p in params
        }
    meta = as_map(doc.get("metadata"))
    metas = [meta, as_map(spec.get("workflowMetadata")), as_map(ref_spec.get("workflowMetadata"))]
    for field in ("annotations", "labels"):
        keys = {k for m in metas for k in as_map(m.get(field))}
        if field == "labels":
            keys |= {k for m in metas[1:] for k in as_map(m.get("labelsFrom"))}
        names |= {f"workflow.{field}", f"workflow.{field}.json"} | {f"workflow.{field}.{k}" for k in keys}
    if "priority" in spec:
        names.add("workflow.priority")
    if as_str(spec.get("onExit")) or as_str(ref_spec.get("onExit")):
        names.add("workflow.failures")
    for tmpl in templates.values():
        for field, key in (("parameters", "parameters"), ("artifacts", "artifacts")):
            for _, out in maps(as_map(tmpl.get("outputs")).get(field)):
                if as_str(out.get("globalName")):
                    names.add(f"workflow.outputs.{key}.{as_str(out.get('globalName'))}")
    return names


def template_type(tmpl: Mapping[str, Any]) -> list[str]:
    return [t for t in TEMPLATE_TYPES if tmpl.get(t) is not None]


def find_cycle(graph: Mapping[str, list[str]]) -> list[str]:
    """A dependency cycle (``a -> b -> a``) of ``graph`` (node -> its dependencies), or []."""
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> list[str]:
        if node in trail:
            return [*trail[trail.index(node) :], node]
        if node in done:
            return []
        for dep in graph.get(node, []):
            found = visit(dep, [*trail, node])
            if found:
                return found
        done.add(node)
        return []

    for node in graph:
        cycle = visit(node, [])
        if cycle:
            return cycle
    return []


def base_scope(tmpl: Mapping[str, Any], kind: str, context: Spec) -> set[str]:
    """validate.go ``validateInputs`` and ``validateTemplate``: what a template may reference itself."""
    inputs, outputs = as_map(tmpl.get("inputs")), as_map(tmpl.get("outputs"))
    leaf = kind in LEAF_TYPES
    scope = set(context.globals)
    params = [as_str(p.get("name")) for _, p in maps(inputs.get("parameters"))]
    scope |= {f"inputs.parameters.{p}" for p in params} | ({"inputs.parameters"} if params else set())
    for _, art in maps(inputs.get("artifacts")):
        scope.add(f"inputs.artifacts.{as_str(art.get('name'))}")
        if leaf:
            scope.add(f"inputs.artifacts.{as_str(art.get('name'))}.path")
    if kind in POD_TYPES:
        scope.add("pod.name")
    if leaf:
        scope |= {
            f"outputs.artifacts.{as_str(a.get('name'))}.path"
            for _, a in maps(outputs.get("artifacts"))
            if a.get("path")
        }
        scope |= {
            f"outputs.parameters.{as_str(p.get('name'))}.path"
            for _, p in maps(outputs.get("parameters"))
            if as_map(p.get("valueFrom")).get("path")
        }
    return scope


def tags(text: str) -> Iterator[str | None]:
    """The ``{{...}}`` tags of a string as fasttemplate reads them; None for an unclosed ``{{``."""
    start = text.find("{{")
    while start != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            yield None
            return
        yield text[start + 2 : end]
        start = text.find("{{", end + 2)


def check_references(value: Any, path: str, scope: set[str], context: Spec, sink: Sink) -> None:
    """AW12 (``resolveAllVariables``): every simple tag under a checked prefix resolves in ``scope``."""
    for where, text in strings_containing(value, path, "{{"):
        for tag in tags(text):
            if tag is None:
                sink.add("AW12", where, "cannot find end tag=}}")
                continue
            if not tag.startswith("=") and not resolves(tag.strip(), scope, context):
                sink.add("AW12", where, f"failed to resolve {{{{{tag}}}}}")


def resolves(tag: str, scope: set[str], context: Spec) -> bool:
    if not tag.startswith(CHECKED_PREFIXES) or tag in scope:
        return True
    if ANY_ITEM in scope and (tag == "item" or tag.startswith("item.")):
        return True  # withParam: the items' keys are known only at run time
    if tag.startswith(RUNTIME_PREFIXES):
        return True
    # A WorkflowTemplate on its own: its parameters may come from the Workflow that uses it.
    return not context.submitted and tag.startswith("workflow.parameters")


def check_fan_out(node: Mapping[str, Any], where: str, scope: set[str], sink: Sink) -> None:
    """AW8 (``addItemsToScope``): one of withItems, withParam, withSequence; a sequence has count or
    end, not both. Adds ``item``/``item.<key>`` to ``scope``."""
    items, param, seq = (
        as_list(node.get("withItems")),
        as_str(node.get("withParam")),
        node.get("withSequence"),
    )
    if sum((bool(items), bool(param), seq is not None)) > 1:
        sink.add("AW8", where, "only one of withItems, withParam, withSequence can be specified")
    if isinstance(seq, Mapping) and "count" in seq and "end" in seq:
        sink.add("AW8", f"{where}/withSequence", "only one of count or end can be defined in withSequence")
    for item in items:
        if isinstance(item, Mapping):
            scope |= {f"item.{k}" for k in item}
        elif isinstance(item, list):
            scope |= {f"item.[{i}]" for i in range(len(item))}
        else:
            scope.add("item")
    if param:
        scope |= {"item", ANY_ITEM}
    if seq is not None:
        scope.add("item")


def add_outputs(
    name: str, group: str, node: Mapping[str, Any], context: Spec, scope: set[str], ancestor: bool
) -> None:
    """validate.go ``addOutputsToScope`` for ``steps.<name>`` / ``tasks.<name>``."""
    ref = f"{group}.{name}"
    scope |= {f"{ref}.{k}" for k in ("id", "startedAt", "finishedAt", "hostNodeName")}
    tmpl = context.templates.get(as_str(node.get("template")))
    if ancestor:
        scope.add(f"{ref}.status")
    if tmpl is None:
        return
    kind = (template_type(tmpl) or [""])[0]
    names = [
        as_str(as_map(c).get("name")) for c in as_list(as_map(tmpl.get("containerSet")).get("containers"))
    ]
    if tmpl.get("daemon") is True:
        scope.add(f"{ref}.ip")
    if kind in ("container", "script", "data", "http", "plugin") or (
        kind == "containerSet" and "main" in names
    ):
        scope |= {f"{ref}.outputs.result", f"{ref}.exitCode"}  # Template.HasOutput
    outputs = as_map(tmpl.get("outputs"))
    scope |= {f"{ref}.outputs.parameters.{as_str(p.get('name'))}" for _, p in maps(outputs.get("parameters"))}
    scope |= {f"{ref}.outputs.artifacts.{as_str(a.get('name'))}" for _, a in maps(outputs.get("artifacts"))}
    if as_list(node.get("withItems")) or as_str(node.get("withParam")):
        scope.add(f"{ref}.outputs.parameters")
        if kind in ("script", "containerSet"):
            scope |= {f"{ref}.outputs.result", f"{ref}.exitCode"}


def check_template_ref(node: Mapping[str, Any], where: str, context: Spec, sink: Sink) -> None:
    """AW4 (``validateTemplateHolder``): ``template`` names a template of the spec; ``templateRef`` has a
    name and a template and excludes ``template``."""
    name, ref = as_str(node.get("template")), node.get("templateRef")
    if isinstance(ref, Mapping):
        if name:
            sink.add("AW4", f"{where}/template", "template name cannot be specified with templateRef")
        for key, what in (("name", "resource name is required"), ("template", "template name is required")):
            if not as_str(ref.get(key)):
                sink.add("AW4", f"{where}/templateRef", what)
        target, template = as_str(ref.get("name")), as_str(ref.get("template"))
        # The getter finds no WorkflowTemplate, or it has no such template: "template reference %s.%s not
        # found". Cluster-scoped references point outside the namespace's documents and are not followed.
        known = context.workflow_templates.get(target)
        if (
            ref.get("clusterScope") is not True
            and "{{" not in target + template
            and template not in (known or ())
        ):
            sink.add("AW4", f"{where}/templateRef", f"template reference {target}.{template} not found")
    elif name and name not in context.templates:
        sink.add("AW4", f"{where}/template", f"template name '{name}' undefined")
