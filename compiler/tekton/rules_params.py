"""Param declarations and param references (tekton-rules.md 17-23, 28, 41, 48)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from compiler.manifests.violations import Sink, as_map, duplicates, maps, ptr
from compiler.tekton.rules_base import PARAM_TYPES, ParamInfo, param_refs, param_type

_NAME_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9.-]*")
_OBJECT_NAME_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9-]*")
_DEFAULT_SHAPES = {
    "string": lambda d: not isinstance(d, list | Mapping),
    "array": lambda d: isinstance(d, list) and all(isinstance(x, str) for x in d),
    "object": lambda d: isinstance(d, Mapping) and all(isinstance(x, str) for x in d.values()),
}


def check_param_specs(params: Any, path: str, sink: Sink) -> None:
    """Rules 17-19 on the ``params`` of a Task or Pipeline."""
    names = []
    for i, p in maps(params):
        here = f"{path}/{i}"
        name = str(p.get("name", ""))
        names.append(name)
        ptype = param_type(p)
        if ptype not in PARAM_TYPES:
            sink.add("R17", f"{here}/type", f"param {name!r}: type {ptype!r} is not one of {PARAM_TYPES}")
            continue
        if "default" in p and not _DEFAULT_SHAPES[ptype](p["default"]):
            sink.add("R17", f"{here}/default", f"param {name!r}: default does not match type {ptype!r}")
        for key, prop in as_map(p.get("properties")).items():
            if as_map(prop).get("type", "string") != "string":
                sink.add(
                    "R17",
                    ptr(here, "properties", key, "type"),
                    f"param {name!r}: property type must be string",
                )
            if ptype == "object" and not _OBJECT_NAME_RE.fullmatch(str(key)):
                sink.add(
                    "R18",
                    ptr(here, "properties", key),
                    f"object key {key!r} must match {_OBJECT_NAME_RE.pattern}",
                )
        if ptype == "object" and not isinstance(p.get("properties"), Mapping):
            sink.add("R17", here, f"object param {name!r} needs properties")
        name_re = _OBJECT_NAME_RE if ptype == "object" else _NAME_RE
        if not name_re.fullmatch(name):
            sink.add("R18", f"{here}/name", f"{ptype} param name {name!r} must match {name_re.pattern}")
        if "enum" in p:
            sink.add(
                "R19", f"{here}/enum", "param enum needs the alpha flag enable-param-enum (off by default)"
            )
    for name in duplicates(names):
        sink.add("R17", path, f"param {name!r} is declared more than once")


def check_param_usage(
    value: str,
    path: str,
    declared: Mapping[str, ParamInfo],
    sink: Sink,
    *,
    undeclared: str,
    whole: frozenset[str],
) -> None:
    """Rules 20-23 (41 in pipelines) on one string.

    ``undeclared`` is the rule reported for an unknown name; ``whole`` the param types that may be
    referenced as a whole here, and then only as the complete string (isolated).
    """
    for ref in param_refs(value):
        if ref.too_deep:
            sink.add("R21", path, f'{ref.text}: dot notation allows two components; use $(params["..."])')
            continue
        info = declared.get(ref.name)
        if info is None:
            dotted = f"{ref.name}.{ref.key}"
            hint = f'; use $(params["{dotted}"])' if ref.key is not None and dotted in declared else ""
            sink.add(undeclared, path, f"{ref.text}: param {ref.name!r} is not declared{hint}")
            continue
        ptype, keys = info
        is_whole = ref.key is None and (ref.op is None or ref.op == "*")
        if ptype == "string":
            if ref.key is not None or ref.op is not None:
                sink.add("R21", path, f"{ref.text}: {ref.name!r} is a string param (no keys, no index)")
        elif ptype == "array":
            if ref.key is not None:
                sink.add("R22", path, f"{ref.text}: {ref.name!r} is an array param (no keys)")
            elif is_whole and "array" not in whole:
                sink.add(
                    "R22", path, f"{ref.text}: a whole array may only be a complete command/args element"
                )
            elif is_whole and ref.text != value:
                sink.add("R22", path, f"{ref.text}: a whole-array reference must be isolated")
        elif ptype == "object":
            if ref.key is not None:
                if ref.key not in keys:
                    sink.add("R23", path, f"{ref.text}: object param {ref.name!r} has no key {ref.key!r}")
                elif ref.op is not None:
                    sink.add("R23", path, f"{ref.text}: object keys are strings (no index)")
            elif not is_whole or "object" not in whole:
                sink.add("R23", path, f"{ref.text}: only $(params.{ref.name}.<key>) may be used here")
            elif ref.text != value:
                sink.add("R23", path, f"{ref.text}: a whole-object reference must be isolated")


def check_supplied_params(params: Any, path: str, sink: Sink, rule: str) -> None:
    """Run and pipeline-task params: names unique, case-insensitively (rules 28, 41, 48)."""
    names = [str(p.get("name", "")).lower() for _, p in maps(params)]
    for name in duplicates(names):
        sink.add(rule, path, f"param {name!r} is given more than once (names are case-insensitive)")
