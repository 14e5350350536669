"""Argo admission rules about names (AW2, AW5, and the name part of AW6/AW7/AW9) and arguments (AW5).

Source: argoproj/argo-workflows v4.1.2 ``workflow/validate/validate.go`` (``validateWorkflowFieldNames``,
``isValidWorkflowFieldName``, ``isValidParamOrArtifactName``, ``validateArguments``); the same formats are
repeated for containerSet containers in ``pkg/apis/workflow/v1alpha1/validation_utils.go``.
"""

from __future__ import annotations

import re
from typing import Any

from compiler.tekton_rules_base import Sink, as_list, as_map, as_str, maps

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
