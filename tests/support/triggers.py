"""What Tekton Triggers (v0.37.0) does with a compiled Trigger's interceptors, for tests.

Each function follows the named upstream source; CEL is evaluated by cel-python, with the two
Triggers extensions the compiled filters use:
- github: tektoncd/triggers pkg/interceptors/github/github.go ``Process`` (content type, eventTypes,
  ``secretRef``: the ``X-Hub-Signature-256`` header must be go-github's ``ValidateSignature`` of the
  body, ``sha256=`` + hex HMAC-SHA256 keyed by the Secret's value);
- cel: pkg/interceptors/cel/cel.go (``body``, ``header`` as Go's ``http.Header``) with
  ``header.canonical(name)`` (the first value of the canonical header) and
  ``<string>.compareSecret(key, name)`` (pkg/interceptors/cel/triggers.go ``makeCompareSecret``: a
  constant-time comparison; a missing Secret or key is an error, so the call is refused).
A call passes a Trigger only when every interceptor in order lets it continue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

Secrets = Mapping[str, Mapping[str, str]]  # Secret name -> key -> value, in the listener's namespace
Headers = Mapping[str, Sequence[str]]


class Refused(Exception):
    """An interceptor stopped the call (Triggers answers it and creates nothing)."""


def canonical_key(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``x-secret-token`` -> ``X-Secret-Token``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def canonical(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, values in headers.items():
        out.setdefault(canonical_key(name), []).extend(values)
    return out


def hmac_header(secret: str, body: bytes) -> str:
    """tektoncd/triggers test/signature.go ``HMACHeader(t, secret, body, "sha256")``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _secret(secrets: Secrets, ref: Mapping[str, str]) -> str:
    try:
        return secrets[ref["secretName"]][ref["secretKey"]]
    except KeyError:
        raise Refused(f"error getting secret: {ref}") from None


def github(params: Mapping[str, Any], body: bytes, headers: Headers, secrets: Secrets) -> None:
    found = canonical(headers)
    if found.get("Content-Type", [""])[0] == "application/x-www-form-urlencoded":
        raise Refused("form bodies are refused")
    events = params.get("eventTypes")
    if events is not None and found.get("X-Github-Event", [""])[0] not in events:
        raise Refused("event type is not allowed")
    ref = params.get("secretRef")
    if ref is None:
        return
    if not ref.get("secretKey"):
        raise Refused("github interceptor secretRef.secretKey is empty")
    signature = found.get("X-Hub-Signature-256", [""])[0]
    if not signature:
        raise Refused("no X-Hub-Signature-256 header set")
    expected = hmac_header(_secret(secrets, ref), body)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Refused("payload signature check failed")


def cel_environment(secrets: Secrets) -> tuple[Any, dict[str, Any]]:
    """A cel-python environment and the Triggers functions the compiled filters call."""
    import celpy
    from celpy import celtypes

    def compare_secret(value: Any, key: Any, name: Any) -> Any:
        stored = _secret(secrets, {"secretName": str(name), "secretKey": str(key)})
        return celtypes.BoolType(hmac.compare_digest(stored.encode(), str(value).encode()))

    def header_canonical(header: Any, name: Any) -> Any:
        key = celtypes.StringType(canonical_key(str(name)))
        values = header.get(key, celtypes.ListType([]))
        return values[0] if values else celtypes.StringType("")

    return celpy.Environment(), {"compareSecret": compare_secret, "canonical": header_canonical}


def evaluate(expression: str, body: Any, headers: Headers, secrets: Secrets) -> Any:
    from celpy.adapter import json_to_cel

    env, functions = cel_environment(secrets)
    activation = {"body": json_to_cel(body), "header": json_to_cel(canonical(headers))}
    return env.program(env.compile(expression), functions=functions).evaluate(activation)


def cel(params: Mapping[str, Any], body: bytes, headers: Headers, secrets: Secrets) -> dict[str, str]:
    """The overlays' values when the filter is true."""
    data = json.loads(body)
    if "filter" in params and not evaluate(params["filter"], data, headers, secrets):
        raise Refused("expression did not return true")
    return {
        o["key"]: str(evaluate(o["expression"], data, headers, secrets)) for o in params.get("overlays", ())
    }


INTERCEPTORS = {"github": github, "cel": cel}


def call(trigger: Mapping[str, Any], body: bytes, headers: Headers, secrets: Secrets) -> dict[str, str]:
    """The extensions a call yields through ``trigger``'s interceptors; Refused if one stops it."""
    extensions: dict[str, str] = {}
    for item in trigger["spec"]["interceptors"]:
        params = {p["name"]: p["value"] for p in item.get("params", ())}
        found = INTERCEPTORS[item["ref"]["name"]](params, body, headers, secrets)
        extensions.update(found or {})
    return extensions
