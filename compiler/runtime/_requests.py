"""validate.py's cross-file checks: a response against the request of the same relative path (R23, A21).

What a response is checked against is the request's id and requested output names. validate-input, which
parses every request anyway, can write them to a facts file (``--facts``), so validate-output reads one small
file instead of parsing every request a second time (``--request-facts``); without it, each request is read.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

try:
    from . import _files
    from .v2rules import Findings
except ImportError:  # run as a plain file next to its siblings
    import _files  # type: ignore[no-redef,import-not-found]
    from v2rules import Findings  # type: ignore[no-redef,import-not-found]

Facts = Tuple[Optional[str], List[str]]  # the request's id, its requested output names
NO_FACTS: Facts = (None, [])


def facts_of(doc: Any) -> Facts:
    """The id and requested output names of a parsed request."""
    if type(doc) is not dict:
        return NO_FACTS
    rid, outs = doc.get("id"), doc.get("outputs")
    if outs is None:
        return rid if type(rid) is str else None, []
    names = (
        [o["name"] for o in outs if isinstance(o, dict) and isinstance(o.get("name"), str)]
        if isinstance(outs, list)
        else []
    )
    return rid if isinstance(rid, str) else None, names


def read_facts(path: str) -> Facts:
    """The facts of a request file (parsed only when the bytes can hold them)."""
    raw = _files.read_bytes(path, 1 << 62)  # a request here passed validate-input's own size limit
    if b'"id"' not in raw and b'"outputs"' not in raw and b"\\u" not in raw:
        return NO_FACTS
    try:
        return facts_of(json.loads(raw))
    except ValueError:
        return NO_FACTS


@lru_cache(maxsize=2)
def load_facts(path: str) -> Dict[str, Facts]:
    """A facts file: {relative path: [id, [output names]]}, requests with neither left out.

    Cached: each pool worker loads it at most once (forked workers inherit what the main process loaded).
    """
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return {rel: (value[0], list(value[1])) for rel, value in data.items()}


def cross(requests: str, facts_file: Optional[str], matching_ids: bool, rel: str, doc: Dict[str, Any],
          found: Findings) -> None:  # fmt: skip
    """R23 (and A21): the response ``doc`` at ``rel`` against the request of the same relative path."""
    path = os.path.join(requests, rel)
    if not os.path.isfile(path):
        found.warn("", "R23", "no request file of the same name")
        return
    if not matching_ids:
        return
    rid, requested = load_facts(facts_file).get(rel, NO_FACTS) if facts_file else read_facts(path)
    if rid is not None and doc.get("id") != rid:
        found.error("/id", "R23", f"id {doc.get('id')!r} does not match the request's id {rid!r}")
    outputs = doc.get("outputs")
    produced = {o.get("name") for o in outputs if isinstance(o, dict)} if isinstance(outputs, list) else set()
    missing = [name for name in requested if name not in produced]
    if missing:
        found.warn("/outputs", "R23", f"requested outputs not in the response: {', '.join(missing)} (A21)")
