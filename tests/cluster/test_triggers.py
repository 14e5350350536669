"""Trigger params reach the created run unchanged (tests/cluster/triggers.py), and no template asks
Triggers to escape them a second time."""

from __future__ import annotations

import json
import re
from pathlib import Path
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


def _readme_bodies() -> list[dict[str, Any]]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return [json.loads(body) for body in re.findall(r"(?:-d |BODY=)'(\{.*?\})'", readme, re.S)]


def test_every_readme_body_is_accepted_by_its_trigger(trees: dict[str, list[dict[str, Any]]]) -> None:
    """The README's webhook bodies run through the compiled CEL filter of their service, with a CEL
    interpreter (what Triggers' cel ClusterInterceptor evaluates): each names declared things only."""
    celpy = pytest.importorskip("celpy")
    bodies = _readme_bodies()
    assert bodies
    triggers = {d["metadata"]["name"]: d for d in trees["examples"] if d["kind"] == "Trigger"}
    env = celpy.Environment()
    for body in bodies:
        trigger = triggers[body["spec"]["inferenceServiceId"]]
        cel = next(i for i in trigger["spec"]["interceptors"] if i["ref"]["name"] == "cel")
        text = next(p["value"] for p in cel["params"] if p["name"] == "filter")
        assert env.program(env.compile(text)).evaluate({"body": celpy.json_to_cel(body)}), body
