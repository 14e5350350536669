"""What every backend's admission-rule checker shares: the violation record, the sink that collects
them, and tolerant accessors.

Every accessor tolerates malformed input (a list where a map is expected, a number where a string
is expected): shape errors are the JSON schema's job, a checker only must not crash on them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Violation:
    rule: str  # "R20" (tekton-rules.md numbering), "S1".."S3" (security), "L1" (size), "R0" (scope)
    kind: str
    name: str
    path: str  # JSON pointer into the document, e.g. "/spec/steps/0/script"
    message: str

    def __str__(self) -> str:
        return f"{self.rule} {self.kind}/{self.name} {self.path or '/'}: {self.message}"


class Sink:
    """Collects the violations of one document; ``prefix`` locates an embedded object in it."""

    __slots__ = ("kind", "name", "out", "prefix")

    def __init__(self, kind: str, name: str, out: list[Violation], prefix: str = "") -> None:
        self.kind = kind
        self.name = name
        self.out = out
        self.prefix = prefix

    def add(self, rule: str, path: str, message: str) -> None:
        self.out.append(Violation(rule, self.kind, self.name, self.prefix + path, message))

    def nested(self, path: str) -> Sink:
        return Sink(self.kind, self.name, self.out, self.prefix + path)


# --- tolerant accessors ---------------------------------------------------------------------------


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else EMPTY


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def maps(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, item) of the mapping items of a list; other items are the schema's business."""
    for i, item in enumerate(as_list(value)):
        if isinstance(item, Mapping):
            yield i, item


def ptr(path: str, *keys: str | int) -> str:
    """Extend a JSON pointer, escaping ``~`` and ``/`` in keys."""
    for key in keys:
        path += "/" + str(key).replace("~", "~0").replace("/", "~1")
    return path


def walk_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(pointer, string) for every string below ``value`` (keys excluded)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, ptr(path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_strings(item, f"{path}/{i}")


def duplicates(names: list[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    return dups


def strings_containing(value: Any, path: str, needle: str) -> Iterator[tuple[str, str]]:
    """(pointer, string) for every string below ``value`` that contains ``needle``: ``walk_strings``
    for the few strings a check looks at, building a pointer only for those."""
    keys: list[str | int] = []

    def visit(node: Any) -> Iterator[tuple[str, str]]:
        if isinstance(node, str):
            if needle in node:
                yield ptr(path, *keys), node
        elif isinstance(node, Mapping):
            for key, item in node.items():
                keys.append(key)
                yield from visit(item)
                keys.pop()
        elif isinstance(node, list):
            for i, item in enumerate(node):
                keys.append(i)
                yield from visit(item)
                keys.pop()

    return visit(value)
