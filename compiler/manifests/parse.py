"""Rendered documents read back as the cluster reads them, and measured as Argo CD stores them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import yaml

from compiler.manifests.render import RenderedDoc

OBJECT_MAX = 262_144  # Argo CD's client-side apply keeps the object in a 256 KiB annotation
# Go's encoding/json writes <, > and & as \u003c etc.: 5 more bytes each than this count.
_HTML = re.compile(r"[<>&]")


class _Loader(yaml.CSafeLoader):
    """PyYAML's C parser with a memo of the YAML 1.1 tag of each plain scalar."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            return _scalar_tag(value, implicit)
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


@lru_cache(maxsize=65536)
def _scalar_tag(value: str, implicit: tuple[bool, bool]) -> str:
    return str(yaml.resolver.Resolver().resolve(yaml.ScalarNode, value, implicit))  # type: ignore[no-untyped-call]


_SCALARS: dict[str, Callable[[str], Any]] = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:bool": lambda v: v.lower() in ("true", "yes", "on"),
    "tag:yaml.org,2002:null": lambda v: None,
}


class _Unexpected(Exception):
    pass


def _data(node: yaml.Node) -> Any:
    """The value of a node of our own canonical output: maps, lists, strings, ints, booleans, nulls.

    Several times faster than SafeConstructor, which handles merge keys, dates, floats and more;
    anything else makes ``parse`` fall back to it.
    """
    if isinstance(node, yaml.MappingNode):
        return {_data(k): _data(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_data(v) for v in node.value]
    convert = _SCALARS.get(node.tag)
    if convert is None:
        raise _Unexpected(node.tag)
    return convert(node.value)


def parse(doc: RenderedDoc) -> dict[str, Any]:
    """The document read back as the cluster will read it (PyYAML's C parser, YAML 1.1 tags)."""
    loader = _Loader(doc.text)
    try:
        node = loader.get_single_node()
        value = _data(node) if node is not None else None
    except _Unexpected:
        value = yaml.load(doc.text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:  # a template bug, never the user's
        raise RuntimeError(f"generated {doc.path} is not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    if not isinstance(value, dict):
        raise RuntimeError(f"generated {doc.path} is not a mapping")
    return value


def json_size(obj: Any) -> int:
    """Bytes of the object as ``kubectl apply`` stores it in last-applied-configuration."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")) + 5 * len(_HTML.findall(text))


def json_size_bound(text: str) -> int:
    """An upper bound of ``json_size`` from the YAML text alone, without serialising.

    Per line, compact JSON adds at most quotes, ``:``, ``,`` and brackets (6 bytes) to what the
    YAML line holds; escapes add a byte per quote, backslash or tab and 5 per HTML character.
    """
    escaped = text.count('"') + text.count("\\") + text.count("\t")
    extra = 6 * text.count("\n") + escaped + 5 * len(_HTML.findall(text))
    return len(text.encode("utf-8")) + extra
