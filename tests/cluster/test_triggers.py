"""Trigger params reach the created run unchanged (tests/cluster/triggers.py), and no template asks
Triggers to escape them a second time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cluster.triggers import OLD_ESCAPE, apply_param, jsonpath_value

RESOURCE = '{"spec": {"params": [{"name": "request-id", "value": "$(tt.params.request-id)"}]}}'


def _created(value: str, *, old_escape: bool) -> Any:
    return json.loads(apply_param(RESOURCE, "request-id", jsonpath_value(value), old_escape=old_escape))


def test_a_value_with_a_quote_arrives_unchanged() -> None:
    assert _created('say "hi"', old_escape=False)["spec"]["params"][0]["value"] == 'say "hi"'


def test_the_old_escape_annotation_escapes_twice() -> None:
    """What every TriggerTemplate carried before: a quote in a value breaks the created resource."""
    with pytest.raises(json.JSONDecodeError):
        _created('say "hi"', old_escape=True)


def test_no_template_asks_for_the_old_escape(documents: list[dict[str, Any]]) -> None:
    templates = [d for d in documents if d["kind"] == "TriggerTemplate"]
    assert templates
    assert all(OLD_ESCAPE not in (d["metadata"].get("annotations") or {}) for d in templates)
