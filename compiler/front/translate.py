"""pydantic's validation errors -> located diagnostics in plain words.

A pydantic ``loc`` is a path into the validated data, interleaved with tags for unions and
validators; the tags are dropped so the rest is a path into the source map.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from compiler.diagnostics import Diagnostic, did_you_mean
from compiler.front.load import PathKey, RawDocument

_TYPE_WORDS = {
    "string_type": "a string",
    "str_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def value_repr(value: Any, limit: int = 40) -> str:
    """A short description of a found value, for 'found ...' in messages."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 3] + "..."
        return repr(text)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _found(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {value_repr(value)}"
    if isinstance(value, bool):
        return f"the boolean {value_repr(value)}"
    if isinstance(value, int | float):
        return f"the number {value_repr(value)}"
    return value_repr(value)


def _clean(loc: tuple[int | str, ...], data: Any, missing_last: bool) -> PathKey:
    """Keep the loc elements that step into ``data``; drop pydantic's union/validator tags."""
    out: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if _steps(cur, part):
            out.append(part)
            cur = cur[part]
        elif last and missing_last and isinstance(part, str):
            out.append(part)
    return tuple(out)


def _steps(cur: Any, part: int | str) -> bool:
    if isinstance(cur, dict):
        return isinstance(part, str) and part in cur
    return isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)


def _unwrap(tp: Any) -> Iterator[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        yield from _unwrap(typing.get_args(tp)[0])
    elif origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(tp):
            if arg is not type(None):
                yield from _unwrap(arg)
    else:
        yield tp


def _model_at(model: Any, path: PathKey) -> Any:
    """The annotation found by walking ``path`` through model fields, lists and dicts."""
    current: Any = model
    for part in path:
        nxt = None
        for tp in _unwrap(current):
            origin = typing.get_origin(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
                info = tp.model_fields.get(part)
                nxt = info.annotation if info else None
            elif origin is list and isinstance(part, int):
                nxt = typing.get_args(tp)[0]
            elif origin is dict and isinstance(part, str):
                nxt = typing.get_args(tp)[1]
            if nxt is not None:
                break
        if nxt is None:
            return None
        current = nxt
    return current


def field_names(model: Any, path: PathKey) -> list[str]:
    """The fields a mapping at ``path`` may have (for 'did you mean')."""
    for tp in _unwrap(_model_at(model, path)):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return list(tp.model_fields)
    return []


def expected_word(model: Any, path: PathKey) -> str | None:
    for tp in _unwrap(_model_at(model, path)):
        origin = typing.get_origin(tp)
        if tp is str:
            return "a string"
        if tp is bool:
            return "true or false"
        if tp is int:
            return "a whole number"
        if tp is float:
            return "a number"
        if origin is list:
            return "a list"
        if origin is dict or (isinstance(tp, type) and issubclass(tp, BaseModel)):
            return "a mapping"
        if origin is typing.Literal:
            return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return None


def pydantic_diagnostics(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    raw: RawDocument,
    prefix: PathKey,
    rename: dict[str, str | None],
) -> list[Diagnostic]:
    out = []
    for err in exc.errors(include_url=False):
        out.append(_one(err, model, data, raw, prefix, rename))
    return out


def _one(
    err: ErrorDetails,
    model: type[BaseModel],
    data: Any,
    raw: RawDocument,
    prefix: PathKey,
    rename: dict[str, str | None],
) -> Diagnostic:
    kind = err["type"]
    rel = _clean(tuple(err["loc"]), data, missing_last=kind == "missing")
    shown: PathKey = rel
    if rel and isinstance(rel[0], str) and rel[0] in rename:
        head = rename[rel[0]]
        shown = rel[1:] if head is None else (head, *rel[1:])
    path = (*prefix, *shown)
    dotted = ".".join(map(str, path)) or "document"
    found = err.get("input")
    if kind == "missing":
        parent = path[:-1]
        expected = expected_word(model, rel)
        if path in raw.keys:  # written with an empty value: null means absent (compiler/front/odahu.py)
            return Diagnostic(
                "E203",
                f"required field '{dotted}' is empty" + (f", expected {expected}" if expected else ""),
                raw.locate(path, key=True),
                hint="give it a value: an empty value (null) counts as absent",
                field=dotted,
            )
        return Diagnostic(
            "E203",
            f"missing required field '{dotted}'" + (f" ({expected})" if expected else ""),
            raw.locate(parent, key=True) if parent else raw.locate(()),
            hint=f"add '{path[-1]}:' under '{'.'.join(map(str, parent))}'" if parent else None,
            field=dotted,
        )
    if kind == "extra_forbidden":
        allowed = field_names(model, rel[:-1])
        return Diagnostic(
            "E204",
            f"unknown field '{dotted}'",
            raw.locate(path, key=True),
            hint=did_you_mean(str(path[-1]), allowed)
            or (f"expected one of: {', '.join(allowed)}" if allowed else None),
            field=dotted,
        )
    # A rule about a whole mapping or list (exactly one of ...) points at its key, not its first item.
    location = raw.locate(path, key=isinstance(found, dict | list) and kind not in _TYPE_WORDS)
    if kind in _TYPE_WORDS:
        expected = _TYPE_WORDS[kind]
        if kind in ("model_type", "dict_type") and found is None:
            return Diagnostic(
                "E205",
                f"{dotted}: expected {expected}, found an empty value",
                location,
                hint="remove the key, or give it a value",
                field=dotted,
            )
        message = f"{dotted}: expected {expected}, found {_found(found)}"
        return Diagnostic("E205", message, location, field=dotted)
    if kind == "literal_error":
        options = str((err.get("ctx") or {}).get("expected", ""))
        choices = [o.strip(" '") for o in options.replace(" or ", ",").split(",")]
        return Diagnostic(
            "E206",
            f"{dotted}: expected one of {options.replace(' or ', ', ')}, found {value_repr(found)}",
            location,
            hint=did_you_mean(str(found), choices, cutoff=0.5),
            field=dotted,
        )
    message = err["msg"].removeprefix("Value error, ")
    code = "E208" if "exactly one of" in message else "E206"
    if kind not in ("value_error", "assertion_error"):
        message = message[:1].lower() + message[1:]
        if found is not None and not isinstance(found, dict | list):
            message += f", found {value_repr(found)}"
    return Diagnostic(code, f"{dotted}: {message}", location, field=dotted)
