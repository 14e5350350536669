"""validate-output's ODAHU compatibility: responses as predictors written for ODAHU write them.

ODAHU never checked its predictors' responses, and its published example predictor
(odahu/odahu-examples 1.5.0, batch-inference/predictor/predictor.py) writes them without ``model_name``,
names them ``response<i>.json`` in the order it lists the input folder, and sets ``"id": "custom"``. Unless
``--strict-responses`` is given, validate-output accepts such responses and says, per file, what a strict V2
response would carry:

- a missing ``model_name`` / ``model_version`` is filled from the model's metadata (the file placed in the
  valid folder is rewritten; the predictor's own file is left as it is);
- a response without a request of the same name is paired with a request by ``id`` (when exactly one
  unpaired request carries it), then by order of the remaining names, as ODAHU's example numbers them.

Everything else of the V2 rules applies unchanged. Standard library only.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

try:
    from . import _common as common
    from . import _files, _requests
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _files  # type: ignore[no-redef,import-not-found]
    import _requests  # type: ignore[no-redef,import-not-found]

Entry = Dict[str, Any]
# (relative path, valid?, report entry or None, facts): validate.py's Result
Result = Tuple[str, bool, Optional[Entry], Any]
FILL_RULE = "R6"


def _warn(entry: Optional[Entry], rule: str, message: str) -> Entry:
    out = dict(entry or {})
    out["warnings"] = [*out.get("warnings", []), {"pointer": "", "rule": rule, "message": message}]
    return out


def needs_fill(entry: Optional[Entry]) -> bool:
    """Whether v2rules left the lenient R6 warning: a response without ``model_name``."""
    return entry is not None and any(w["rule"] == FILL_RULE for w in entry.get("warnings", []))


def fill_meta(valid_dir: str, rel: str, meta: Dict[str, str]) -> None:
    """Rewrite the placed response with ``model_name`` (and ``model_version`` if absent) from the model.

    The placed file may be a hard link to the predictor's own file: it is unlinked first, so only the copy
    that is uploaded changes.
    """
    path = os.path.join(valid_dir, rel)
    doc = json.loads(_files.read_bytes(path))
    filled = {"model_name": meta["name"]}
    if "model_version" not in doc and meta["version"]:
        filled["model_version"] = meta["version"]
    os.unlink(path)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({**filled, **doc}, fh, ensure_ascii=False)


def fill_all(valid_dir: str, results: List[Result], meta: Dict[str, str]) -> List[Result]:
    out: List[Result] = []
    for rel, ok, entry, facts in results:
        if ok and needs_fill(entry):
            fill_meta(valid_dir, rel, meta)
            version = f", model_version {meta['version']!r}" if meta["version"] else ""
            entry = _warn(entry, FILL_RULE, f"filled model_name {meta['name']!r}{version} from the model")
        out.append((rel, ok, entry, facts))
    return out


def _response_id(src: str, rel: str) -> Optional[str]:
    try:
        doc = json.loads(_files.read_bytes(os.path.join(src, rel)))
    except (OSError, ValueError):
        return None
    rid = doc.get("id") if isinstance(doc, dict) else None
    return rid if isinstance(rid, str) else None


def _request_ids(requests: str, facts_file: Optional[str], rels: Sequence[str]) -> Dict[str, Optional[str]]:
    if facts_file:
        known = _requests.load_facts(facts_file)
        return {rel: known.get(rel, _requests.NO_FACTS)[0] for rel in rels}
    return {rel: _requests.read_facts(os.path.join(requests, rel))[0] for rel in rels}


def pair(
    src: str, requests: str, facts_file: Optional[str], results: List[Result]
) -> Tuple[List[Result], List[str]]:
    """Pair responses to requests by name, then id, then order; the results and the unpaired requests."""
    wanted = [rel for rel in common.walk_files(requests) if rel.endswith(".json")]
    answered, known = {r[0] for r in results}, set(wanted)
    open_requests = [rel for rel in wanted if rel not in answered]
    strays = [r[0] for r in results if r[0].endswith(".json") and r[0] not in known]
    holders: Dict[str, List[str]] = {}
    for req, rid in _request_ids(requests, facts_file, open_requests).items():
        if rid is not None:
            holders.setdefault(rid, []).append(req)
    notes: Dict[str, str] = {}
    paired = set()
    for rel in strays:
        rid = _response_id(src, rel)
        found = holders.get(rid, []) if rid is not None else []
        if len(found) == 1 and found[0] not in paired:
            paired.add(found[0])
            notes[rel] = f"paired with request {found[0]} by id {rid!r}"
    left = [req for req in open_requests if req not in paired]
    by_order = [rel for rel in strays if rel not in notes]
    for index in range(min(len(by_order), len(left))):  # the rest in name order, as ODAHU's example numbers
        notes[by_order[index]] = (
            f"paired with request {left[index]} by order (a strict response has the request's file name)"
        )
    open_requests = left[len(by_order) :]
    out = [(rel, ok, _warn(entry, "R23", notes[rel]) if rel in notes else entry, facts)
           for rel, ok, entry, facts in results]  # fmt: skip
    return out, open_requests
