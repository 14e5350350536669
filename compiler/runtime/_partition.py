"""The partition of a run's input into shards, and the documents that describe it.

A key's shard is the first 8 bytes of sha256(UTF-8 key), big-endian, mod N: it depends on the key and N only
(not on Python's salted ``hash()``), so every process and every rerun puts a key in the same shard. A shard's
file list is what ``rclone copy --files-from-raw`` reads: one key per line, relative to the source root.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Iterable, List, Optional

try:
    from . import _common as common
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]

MAX_SHARDS = 256  # Tekton's default-max-matrix-combinations-count
RESULTS_LIMIT = 4096  # all results of a TaskRun share one termination message of 4 KiB


def shard_of(key: str, shards: int) -> int:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def partition(keys: Iterable[str], shards: int) -> Dict[str, int]:
    """Every key with its shard, 0 <= shard < ``shards``."""
    if shards < 1:
        raise ValueError(f"shard count must be at least 1, not {shards}")
    return {key: shard_of(key, shards) for key in keys}


def file_lists(assignment: Dict[str, int], shards: int) -> List[List[str]]:
    """The sorted keys of each shard; a shard that gets no key has an empty list."""
    lists: List[List[str]] = [[] for _ in range(shards)]
    for key, shard in assignment.items():
        lists[shard].append(key)
    for keys in lists:
        keys.sort()
    return lists


def files_txt(keys: List[str]) -> bytes:
    return "".join(key + "\n" for key in keys).encode("utf-8")


def key_problem(key: str) -> Optional[str]:
    """Why ``key`` cannot be a line of a --files-from-raw list (rclone drops a line's final CR), or None."""
    if not key:
        return "an empty key"
    if "\n" in key or "\r" in key:
        return "a line break in a key"
    return None


def partition_doc(request_id: str, shards: int, assignment: Dict[str, int]) -> Dict[str, Any]:
    return {"request_id": request_id, "shards": shards, "files": assignment}


def load_partition(doc: Any, request_id: str, where: str) -> Dict[str, Any]:
    """A stored partition.json, checked: its request id, a shard count in range, every shard in range."""
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
        raise common.Fail(f"{where} is not a partition (an object with shards and files)")
    if doc.get("request_id") != request_id:
        raise common.Fail(f"{where} belongs to request {doc.get('request_id')!r}, not {request_id!r}")
    shards = doc.get("shards")
    if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= MAX_SHARDS:
        raise common.Fail(f"{where}: shards must be an integer from 1 to {MAX_SHARDS}, not {shards!r}")
    for key, shard in doc["files"].items():
        if not isinstance(shard, int) or isinstance(shard, bool) or not 0 <= shard < shards:
            raise common.Fail(f"{where}: key {key!r} has shard {shard!r}, outside 0..{shards - 1}")
    return doc


def plan_results(shards: int) -> Dict[str, str]:
    """The plan task's results: ``shard-ids`` (a JSON array of strings: a Tekton matrix or Argo's
    ``withParam`` fans out over it), ``shard-count``. They must fit the stricter engine's limit, Tekton's."""
    results = {
        "shard-ids": json.dumps([str(i) for i in range(shards)], separators=(",", ":")),
        "shard-count": str(shards),
    }
    check_results_size(results)
    return results


def check_results_size(results: Dict[str, str]) -> None:
    """Fail unless the results fit the termination message as Tekton writes it (with its StartedAt entry)."""
    entries: List[Dict[str, Any]] = [{"key": k, "value": v, "type": 1} for k, v in sorted(results.items())]
    entries.append({"key": "StartedAt", "value": "2006-01-02T15:04:05.000Z", "type": 3})
    size = len(json.dumps(entries, separators=(",", ":")).encode("utf-8"))
    if size > RESULTS_LIMIT:
        names = ", ".join(sorted(results))
        raise common.Fail(f"results {names} take {size} bytes; Tekton allows {RESULTS_LIMIT} for all of them")
