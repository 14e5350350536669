"""How Tekton Triggers v0.37.0 puts a body value into a TriggerTemplate's resource, as code."""

from __future__ import annotations

import json

OLD_ESCAPE = "triggers.tekton.dev/old-escape-quotes"  # T: pkg/template/event.go OldEscapeAnnotation


def jsonpath_value(value: object) -> str:
    """T: pkg/template/jsonpath.go getResults: a string is JSON-encoded and its surrounding quotes
    dropped, so it is already escaped for embedding in the JSON resource; anything else is JSON."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text[1:-1] if isinstance(value, str) else text


def apply_param(resource: str, name: str, value: str, *, old_escape: bool) -> str:
    """T: pkg/template/resource.go applyParamToResourceTemplate: with the old-escape annotation each
    quote gets one more backslash; ``$(`` is always escaped for Tekton."""
    if old_escape:
        value = value.replace('"', '\\"')
    value = value.replace("$(", "$$(")
    return resource.replace(f"$(tt.params.{name})", value)
