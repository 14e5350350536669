"""Shared pieces of the Tekton rule checker: the violation record, tolerant accessors, name formats,
``$(...)`` reference parsing, Go durations and the admission defaults (tekton-rules.md 0.4).

Every accessor tolerates malformed input (a list where a map is expected, a number where a string
is expected): shape errors are the JSON schema's job, the checker only must not crash on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from compiler import units
from compiler.manifests.violations import Sink, as_map, maps
from compiler.units import is_qualified_name

# --- name formats -----------------------------------------------------------------------------------


def looks_like_url(value: str) -> bool:
    """``RefNameLikeUrl``: the name parses as an absolute URL (scheme://...)."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value) is not None


# --- $(...) references ---------------------------------------------------------------------------


def _variable_re(prefix: str) -> re.Pattern[str]:
    """The webhook's ``fullVariableReferenceRegex`` (pkg/substitution) for one prefix."""
    return re.compile(
        r"\$\(" + prefix + r"(?:\.(?P<v1>.*?)|\['(?P<v2>.*?)'\]|\[\"(?P<v3>.*?)\"\])"
        r"(?:\[(?P<op>[0-9]+|\*)\])?\)"
    )


_PARAM_RE = _variable_re("params")


@dataclass(frozen=True)
class ParamRef:
    text: str  # the whole "$(params...)" expression
    name: str
    key: str | None  # object key of "$(params.obj.key)"
    op: str | None  # "*" or an index
    too_deep: bool  # dot notation with more than two components (rule 21)


def param_refs(value: str) -> list[ParamRef]:
    """Every ``$(params...)`` in ``value``, resolved the way the webhook resolves them (rule 21)."""
    if "$(params" not in value:
        return []
    refs = []
    for m in _PARAM_RE.finditer(value):
        dotted = m.group("v1")
        key = None
        if dotted is not None:
            parts = dotted.split(".")
            name, key = parts[0], (parts[1] if len(parts) == 2 else None)
            too_deep = len(parts) > 2
        else:
            name, too_deep = m.group("v2") if m.group("v2") is not None else m.group("v3"), False
        refs.append(ParamRef(m.group(0), name, key, m.group("op"), too_deep))
    return refs


# Simple expressions as the webhook sees them in pipeline-task params (``VariableSubstitutionRegex``).
SIMPLE_EXPR_RE = re.compile(r"\$\(([_a-zA-Z0-9.-]+(?:\.[_a-zA-Z0-9.-]+)*)(?:\[(?:[0-9]+|\*)\])?\)")
CONTEXT_RE = re.compile(r"\$\(context\.([^()]*)\)")
TASK_RESULT_RE = re.compile(
    r"\$\((?P<scope>tasks|finally)\.(?P<task>[^.\[\]()]+)\.results\.(?P<result>[^.\[\]()]+)"
    r"(?:\.(?P<key>[^.\[\]()]+))?(?:\[(?P<op>\*|[0-9]+)\])?\)"
)
EXEC_STATUS_RE = re.compile(r"\$\(tasks\.(?:(?P<task>[^.()]+)\.)?(?:status|reason)\)")
STEP_RESULT_RE = re.compile(r"\$\(steps\.([^.()]+)\.results\.([^.()\[\]]+)")
ARTIFACT_RE = re.compile(r"\$\((?:step\.artifacts\.path|steps\.[^.()]+\.(?:inputs|outputs))")
RESULT_PATH_RE = re.compile(r"\$\(results(?:\.([^.\[\]()]+)|\[([\"'])(.*?)\2\])\.path\)")
STEP_RESULT_PATH_RE = re.compile(r"\$\(step\.results\.([^.()]+)\.path\)")
TT_PARAM_RE = re.compile(r"\$\(tt\.params\.([_a-zA-Z][_a-zA-Z0-9.-]*)\)")


def result_path_names(value: str) -> Iterator[str]:
    for m in RESULT_PATH_RE.finditer(value):
        yield m.group(1) if m.group(1) is not None else m.group(3)


# --- Go durations ---------------------------------------------------------------------------------


def parse_duration(value: Any) -> float | None:
    """Seconds of a Go ``time.ParseDuration`` string (a sign allowed, as Go allows it), or None if Go
    would reject it; the units are parsed in one place, ``compiler.units``."""
    if not isinstance(value, str):
        return None
    text, sign = value, 1.0
    if text and text[0] in "+-":
        sign, text = (-1.0 if text[0] == "-" else 1.0), text[1:]
    if not text or text[0] in "+-":
        return None
    try:
        return sign * units.parse_duration(text) / 1e9
    except ValueError:
        return None


def check_duration(value: Any, path: str, sink: Sink, rule: str) -> float | None:
    """Seconds of a duration field, or None after reporting one that is not a Go duration >= 0."""
    seconds = parse_duration(value)
    if seconds is None or seconds < 0:
        sink.add(rule, path, f"{value!r} is not a Go duration >= 0 (e.g. 1h0m0s)")
        return None
    return seconds


# --- admission defaults (tekton-rules.md 0.4) -----------------------------------------------------

ParamInfo = tuple[str, frozenset[str]]  # (type, object property keys)
PARAM_TYPES = ("string", "array", "object")


def param_type(spec: Mapping[str, Any]) -> str:
    """``ParamSpec.SetDefaults``: explicit type, else inferred from properties / default."""
    declared = spec.get("type")
    if declared:
        return str(declared)
    if "properties" in spec:
        return "object"
    default = spec.get("default")
    if isinstance(default, list):
        return "array"
    if isinstance(default, Mapping):
        return "object"
    return "string"


def result_type(spec: Mapping[str, Any]) -> str:
    declared = spec.get("type")
    if declared:
        return str(declared)
    return "object" if "properties" in spec else "string"


def value_type(value: Any) -> str:
    """The type of a ParamValue (any scalar unmarshals to a string)."""
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "string"


def declared_params(specs: Any) -> dict[str, ParamInfo]:
    return {
        str(p["name"]): (param_type(p), frozenset(as_map(p.get("properties"))))
        for _, p in maps(specs)
        if isinstance(p.get("name"), str)
    }


def supplied_params(params: Any) -> dict[str, ParamInfo]:
    """Params given by a run or pipeline task, as propagated into an inline spec."""
    out: dict[str, ParamInfo] = {}
    for _, p in maps(params):
        if isinstance(p.get("name"), str):
            value = p.get("value")
            out[p["name"]] = (value_type(value), frozenset(as_map(value)))
    return out


def check_ref(ref: Mapping[str, Any], path: str, sink: Sink, rule: str) -> None:
    """A taskRef / pipelineRef / step ref (``validateRef``) under the default flags: resolvers and
    their params are beta (on), the concise ``name`` + ``resolver`` syntax is off."""
    name, resolver = ref.get("name"), ref.get("resolver")
    if resolver:
        if name:
            sink.add(rule, f"{path}/name", "name with resolver needs enable-concise-resolver-syntax (off)")
        return
    if ref.get("params"):
        sink.add(rule, f"{path}/params", "ref params need a resolver")
    if not name:
        sink.add(rule, path, "ref needs a name or a resolver")
    elif not isinstance(name, str) or looks_like_url(name) or not is_qualified_name(name):
        sink.add(rule, f"{path}/name", f"ref name {name!r} is not a qualified name")
