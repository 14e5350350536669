"""Argo CD's diff of a custom resource, as code.

argoproj/gitops-engine pkg/diff/diff.go ThreeWayDiff: for a kind with no registered Go scheme (every
Tekton and Triggers CRD), the patch is k8s.io/apimachinery pkg/util/jsonmergepatch/patch.go
CreateThreeWayJSONMergePatch(last-applied, desired, live), applied to live as an RFC 7386 JSON merge
patch (``jsonpatch.MergePatch``); the resource is OutOfSync when the predicted live differs from live.
JSON merge patches replace lists whole: a list the webhook defaulted inside (a field added to one
element) no longer equals the desired list, so the whole list is patched back and never matches.
"""

from __future__ import annotations

from typing import Any

_DELETE = None  # RFC 7386: null in a merge patch deletes the key


def create_merge_patch(current: Any, modified: Any) -> Any:
    """RFC 7386 patch turning ``current`` into ``modified`` (jsonpatch.CreateMergePatch)."""
    if not (isinstance(current, dict) and isinstance(modified, dict)):
        return modified
    patch: dict[str, Any] = {}
    for key, value in modified.items():
        if key not in current:
            patch[key] = value
        elif current[key] != value:
            patch[key] = create_merge_patch(current[key], value) if isinstance(value, dict) else value
    for key in current:
        if key not in modified:
            patch[key] = _DELETE
    return patch


def _without_deletions(patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    return {k: _without_deletions(v) for k, v in patch.items() if v is not _DELETE}


def _only_deletions(patch: Any) -> Any:
    if not isinstance(patch, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in patch.items():
        if value is _DELETE:
            out[key] = _DELETE
        elif isinstance(value, dict) and (inner := _only_deletions(value)):
            out[key] = inner
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = (
            _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
        )
    return out


def three_way_patch(original: Any, modified: Any, current: Any) -> dict[str, Any]:
    """CreateThreeWayJSONMergePatch: additions and changes from current to modified, deletions from
    original to modified."""
    add_change = _without_deletions(create_merge_patch(current, modified))
    deletions = _only_deletions(create_merge_patch(original, modified))
    return _merge(add_change if isinstance(add_change, dict) else {}, deletions)


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch (a list in the patch replaces the target's whole)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is _DELETE:
            out.pop(key, None)
        else:
            out[key] = apply_merge_patch(out.get(key), value)
    return out


def out_of_sync(last_applied: dict[str, Any], desired: dict[str, Any], live: dict[str, Any]) -> bool:
    """ThreeWayDiff's verdict: does the predicted live differ from live?"""
    predicted = apply_merge_patch(live, three_way_patch(last_applied, desired, live))
    return bool(predicted != live)
