"""ruamel's round-trip nodes to plain data, with where each key and value sits in the file.

Part of the load stage: ``load.py`` reads and parses, this turns one parsed document into the plain
values and the two span maps of a raw document, bounded in depth and size.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

from compiler.diagnostics import Diagnostic, Location

PathKey = tuple[str | int, ...]
MAX_DEPTH = 64
MAX_NODES = 200_000


@dataclass(frozen=True)
class Span:
    line: int
    col: int
    end_col: int = 0


def node_pos(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, lc.col + 1
    return 1, 1


class TooBig(Exception):
    def __init__(self, line: int, col: int) -> None:
        super().__init__(line, col)
        self.line, self.col = line, col


class TreeBuilder:
    """ruamel's round-trip nodes -> plain data, recording where each key and value sits."""

    def __init__(self, file: str, lines: list[str]) -> None:
        self.file = file
        self.lines = lines
        self.keys: dict[PathKey, Span] = {}
        self.values: dict[PathKey, Span] = {}
        self.diags: list[Diagnostic] = []
        self.nodes = 0

    def convert(self, node: Any, path: PathKey, depth: int) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            line, col = node_pos(node)
            raise TooBig(line, col)
        if isinstance(node, CommentedMap):
            return self._mapping(node, path, depth)
        if isinstance(node, CommentedSeq):
            out: list[Any] = []
            for i, item in enumerate(node):
                pos = node.lc.data.get(i) if node.lc.data else None
                if pos is not None:
                    self.values[(*path, i)] = Span(pos[0] + 1, pos[1] + 1, self._end(item, pos[0], pos[1]))
                out.append(self.convert(item, (*path, i), depth + 1))
            return out
        return _scalar(node)

    def _end(self, value: Any, line0: int, col0: int) -> int:
        line = self.lines[line0] if 0 <= line0 < len(self.lines) else ""
        return _scalar_end(value, line, col0)

    def _mapping(self, node: CommentedMap, path: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        data = node.lc.data or {}
        for raw_key, value in node.items():
            pos = data.get(raw_key)
            key = _key(raw_key)
            if key is None:
                line, col = (pos[0] + 1, pos[1] + 1) if pos else node_pos(node)
                self.diags.append(
                    Diagnostic(
                        "E107",
                        f"mapping key {raw_key!r} is not a string",
                        Location(self.file, line, col),
                        hint="spec keys are field names; quote the key if it is meant as text",
                    )
                )
                continue
            here = (*path, key)
            if pos is not None:
                self.keys[here] = Span(pos[0] + 1, pos[1] + 1, pos[1] + 1 + len(key))
                # An empty value has no token of its own; ruamel reports the next token's position.
                self.values[here] = (
                    self.keys[here]
                    if value is None
                    else Span(pos[2] + 1, pos[3] + 1, self._end(value, pos[2], pos[3]))
                )
            out[key] = self.convert(value, here, depth + 1)
        return out


def _key(raw: Any) -> str | None:
    if isinstance(raw, str):
        return str(raw)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    return None


def _scalar(node: Any) -> Any:
    if isinstance(node, TaggedScalar):
        return str(node.value)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, datetime.date):
        # YAML timestamps stay text: spec fields never hold dates.
        return node.isoformat()
    return str(node)


_PLAIN_END = re.compile(r"\s+#|,\s|[,\]}]|\s*$")


def _scalar_end(value: Any, line: str, col0: int) -> int:
    """1-based end column (exclusive) of a single-line scalar, for the caret; 0 if unknown."""
    if isinstance(value, CommentedMap | CommentedSeq) or col0 >= len(line):
        return 0
    rest = line[col0:]
    if rest[0] in "'\"":
        quote = rest[0]
        i = 1
        while i < len(rest):
            if quote == '"' and rest[i] == "\\":
                i += 2
                continue
            if rest[i] == quote:
                if quote == "'" and rest[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return col0 + i + 2
            i += 1
        return 0
    if rest[0] in "|>[{&*!":
        return 0
    text = str(value)
    if text and "\n" not in text and rest.startswith(text):
        return col0 + 1 + len(text)
    match = _PLAIN_END.search(rest)
    end = match.start() if match else len(rest)
    return col0 + 1 + end if end > 0 else 0
