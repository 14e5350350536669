"""Argo admission rules about names (AW2, AW5, and the name part of AW6/AW7/AW9) and arguments (AW5).

Source: argoproj/argo-workflows v4.1.2 ``workflow/validate/validate.go`` (``validateWorkflowFieldNames``,
``isValidWorkflowFieldName``, ``isValidParamOrArtifactName``, ``validateArguments``); the same formats are
repeated for containerSet containers in ``pkg/apis/workflow/v1alpha1/validation_utils.go``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from compiler.manifests.violations import Sink, as_list, as_map, as_str, maps

FIELD_NAME_RE = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")  # workflowFieldNameFmt
FIELD_NAME_MAX = 128  # workflowFieldMaxLength
PARAM_NAME_RE = re.compile(r"[-a-zA-Z0-9_]+")  # paramOrArtifactNameRegex


def check_field_names(items: list[Any], path: str, sink: Sink, rule: str, params: bool = False) -> None:
    """AW2/AW5 (``validateWorkflowFieldNames``): each ``name`` present, well-formed, unique. Parameters and
    artifacts use ``paramOrArtifactNameRegex``; everything else ``workflowFieldNameFmt`` and 128 chars."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = as_str(as_map(item).get("name"))
        where = f"{path}/{i}/name"
        if not name:
            sink.add(rule, where, f"[{i}].name is required")
            continue
        problems = _param_name_problems(name) if params else field_name_problems(name)
        if problems:
            sink.add(rule, where, f"[{i}].name: '{name}' is invalid: {';'.join(problems)}")
        if name in seen:
            sink.add(rule, where, f"[{i}].name '{name}' is not unique")
        seen.add(name)


def field_name_problems(name: str) -> list[str]:
    """``isValidWorkflowFieldName``."""
    problems = []
    if len(name) > FIELD_NAME_MAX:
        problems.append(f"must be no more than {FIELD_NAME_MAX} characters")
    if FIELD_NAME_RE.fullmatch(name) is None:
        problems.append(
            "name must consist of alpha-numeric characters or '-', and must start with an alpha-numeric "
            "character (e.g. My-name1-2, 123-NAME)"
        )
    return problems


def _param_name_problems(name: str) -> list[str]:
    """``isValidParamOrArtifactName``."""
    if PARAM_NAME_RE.fullmatch(name) is None:
        return [
            "Parameter/Artifact name must consist of alpha-numeric characters, '_' or '-' e.g. my_param_1"
        ]
    return []


def check_arguments(arguments: Any, path: str, allow_empty: bool, sink: Sink) -> None:
    """AW5 (``validateArguments``): names, and every parameter has a value or a ``valueFrom`` of
    default/configMapKeyRef/supplied. ``allow_empty`` holds for a WorkflowTemplate on its own (values
    come with the Workflow: ``allowEmptyValues`` in validate.go ``Workflow``)."""
    args = as_map(arguments)
    check_field_names(as_list(args.get("parameters")), f"{path}/parameters", sink, "AW5", params=True)
    check_field_names(as_list(args.get("artifacts")), f"{path}/artifacts", sink, "AW5", params=True)
    for i, param in maps(args.get("parameters")):
        where, name = f"{path}/parameters/{i}", as_str(param.get("name"))
        value_from = as_map(param.get("valueFrom"))
        if "value" not in param and not value_from and not allow_empty:
            sink.add("AW5", where, f"{name}.value or {name}.valueFrom is required")
        if value_from and not any(k in value_from for k in ("default", "configMapKeyRef", "supplied")):
            sink.add(
                "AW5",
                f"{where}/valueFrom",
                f"{name}.valueFrom only allows: default, configMapKeyRef and supplied",
            )
        enum = param.get("enum")
        if enum is not None and not as_list(enum):
            sink.add("AW5", f"{where}/enum", f"{name}.enum should contain at least one value")
        elif as_list(enum) and "value" in param and str(param.get("value")) not in map(str, as_list(enum)):
            sink.add("AW5", f"{where}/value", f"{name}.value should be present in {name}.enum list")


# Template.GetType() spelling, for upstream's messages.
TYPE_NAMES = {
    "container": "Container",
    "containerSet": "ContainerSet",
    "script": "Script",
    "steps": "Steps",
    "dag": "DAG",
}
VALUE_FROM_KINDS = ("path", "jqFilter", "jsonPath", "parameter", "expression", "supplied")


def check_outputs(tmpl: Mapping[str, Any], kind: str, path: str, sink: Sink) -> None:
    """AW5 (``validateOutputs``, ``validateOutputParameter``): an output parameter has a value or exactly
    one ``valueFrom`` source, the one its template kind can fill; global names are parameter names;
    an output artifact path only on a leaf."""
    name, outputs = as_str(tmpl.get("name")), as_map(tmpl.get("outputs"))
    for i, param in maps(outputs.get("parameters")):
        where, ref = (
            f"{path}/outputs/parameters/{i}",
            f"templates.{name}.outputs.parameters.{as_str(param.get('name'))}",
        )
        value_from = param.get("valueFrom")
        if value_from is not None and "value" in param:
            sink.add("AW5", where, f"{ref} has both valueFrom and value specified, choose one")
        elif value_from is None and "value" not in param:
            sink.add("AW5", where, f"{ref} does not have valueFrom or value specified")
        if isinstance(value_from, Mapping):
            _check_value_from(value_from, kind, f"{where}/valueFrom", ref, sink)
        _check_global_name(param, where, ref, sink)
    for i, art in maps(outputs.get("artifacts")):
        where, ref = (
            f"{path}/outputs/artifacts/{i}",
            f"templates.{name}.outputs.artifacts.{as_str(art.get('name'))}",
        )
        if as_str(art.get("path")) and kind in ("steps", "dag"):
            sink.add("AW5", f"{where}/path", f"{ref}.path only valid in container/script templates")
        _check_global_name(art, where, ref, sink)


def _check_value_from(value_from: Mapping[str, Any], kind: str, where: str, ref: str, sink: Sink) -> None:
    given = [k for k in VALUE_FROM_KINDS if value_from.get(k) not in (None, "")]
    if not given:
        sink.add(
            "AW5",
            where,
            "valueFrom type unspecified. choose one of: path, jqFilter, jsonPath, parameter, raw, expression",
        )
    elif len(given) > 1:
        sink.add(
            "AW5",
            where,
            "multiple valueFrom types specified. choose one of: path, jqFilter, jsonPath, parameter, raw",
        )
    type_name = TYPE_NAMES.get(kind, kind)
    if kind in ("container", "containerSet", "script") and not as_str(value_from.get("path")):
        sink.add("AW5", where, f"{ref}.path must be specified for {type_name} templates")
    if kind in ("steps", "dag") and not (
        as_str(value_from.get("parameter")) or as_str(value_from.get("expression"))
    ):
        sink.add("AW5", where, f"{ref}.parameter or expression must be specified for {type_name} templates")


def _check_global_name(item: Mapping[str, Any], where: str, ref: str, sink: Sink) -> None:
    global_name = as_str(item.get("globalName"))
    # A globalName that is itself a {{...}} reference is resolved at run time (isParameter).
    if global_name and "{{" not in global_name and PARAM_NAME_RE.fullmatch(global_name) is None:
        sink.add("AW5", f"{where}/globalName", f"{ref}.globalName: {_param_name_problems(global_name)[0]}")
