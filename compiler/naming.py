"""Every generated name, in one place.

Names derive from spec ids and content hashes only: never from time, randomness or the tool's
version, so the output is byte-identical across runs and machines.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(value: Any, length: int = 8) -> str:
    """A short, stable hash of a JSON-able value (keys sorted, no whitespace)."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def derived_job_id(service_id: str, spec: Any) -> str:
    """The id of an ODAHU-style InferenceJob written without one: stable for the same content."""
    return f"{service_id[:53]}-{content_hash(spec)}"
