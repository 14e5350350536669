"""Who may call the webhook: the compiled Trigger's auth, run as Tekton Triggers runs it
(tests/support/triggers.py), with upstream's own interceptor test fixtures reproduced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.pipeline import generate_documents
from tests.support import triggers
from tests.support.access_table import SERVICE, documents, service_spec

BODY = json.dumps({"spec": {"inferenceServiceId": SERVICE, "requestId": "r-1"}}).encode()


def _trigger(tmp_path: Path, webhook: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    docs = documents()
    docs[-1]["spec"] = service_spec(triggers={"webhook": {"allowedConnections": ["extra"], **webhook}})
    specs = tmp_path / "specs.yaml"
    specs.write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    result = generate_documents([specs], for_cluster=False)
    assert result.generated is not None, result.diagnostics
    (found,) = [o for o in result.generated.objects if o.get("kind") == "Trigger"]
    return found, [f"{d.severity}[{d.code}]" for d in result.diagnostics]


def _refused(trigger: dict[str, Any], headers: triggers.Headers, secrets: triggers.Secrets) -> bool:
    try:
        triggers.call(trigger, BODY, headers, secrets)
    except triggers.Refused:
        return True
    return False


def test_by_default_a_call_must_carry_the_hmac_of_its_body(tmp_path: Path) -> None:
    trigger, diags = _trigger(tmp_path, {})
    assert diags == []
    first = trigger["spec"]["interceptors"][0]
    assert first["ref"] == {"kind": "ClusterInterceptor", "name": "github"}
    assert first["params"] == [
        {"name": "secretRef", "value": {"secretName": "scorer-webhook", "secretKey": "secret"}}
    ]
    secrets = {"scorer-webhook": {"secret": "k3y"}}
    assert _refused(trigger, {}, secrets)  # unsigned: the call the old default let through
    assert _refused(trigger, {"X-Hub-Signature-256": [triggers.hmac_header("other", BODY)]}, secrets)
    assert _refused(trigger, {"X-Hub-Signature-256": [triggers.hmac_header("k3y", BODY)]}, {})  # no Secret
    signed = {"x-hub-signature-256": [triggers.hmac_header("k3y", BODY)]}
    assert triggers.call(trigger, BODY, signed, secrets)["odahu.request_id"] == "r-1"


def test_a_named_hmac_secret(tmp_path: Path) -> None:
    trigger, _ = _trigger(tmp_path, {"hmac": {"secretName": "scorer-hmac", "secretKey": "token"}})
    signed = {"X-Hub-Signature-256": [triggers.hmac_header("secret", BODY)]}
    assert not _refused(trigger, signed, {"scorer-hmac": {"token": "secret"}})
    assert _refused(trigger, signed, {"scorer-webhook": {"secret": "secret"}})


def test_a_shared_token_compared_with_compare_secret(tmp_path: Path) -> None:
    pytest.importorskip("celpy")
    trigger, diags = _trigger(tmp_path, {"auth": "token"})
    assert diags == []
    first = trigger["spec"]["interceptors"][0]
    assert first["ref"]["name"] == "cel"
    assert first["params"] == [
        {
            "name": "filter",
            "value": "header.canonical('X-Secret-Token').compareSecret('token', 'scorer-webhook')",
        }
    ]
    secrets = {"scorer-webhook": {"token": "t0ken-value"}}
    assert not _refused(trigger, {"x-secret-token": ["t0ken-value"]}, secrets)
    assert _refused(trigger, {"X-Secret-Token": ["t0ken-valuf"]}, secrets)
    assert _refused(trigger, {}, secrets)
    assert _refused(trigger, {"X-Secret-Token": ["t0ken-value"]}, {})


def test_token_implied_by_a_token_secret(tmp_path: Path) -> None:
    trigger, _ = _trigger(tmp_path, {"token": {"secretName": "scorer-token", "secretKey": "value"}})
    assert (
        "compareSecret('value', 'scorer-token')" in trigger["spec"]["interceptors"][0]["params"][0]["value"]
    )


def test_auth_none_opens_the_webhook_and_says_so(tmp_path: Path) -> None:
    trigger, diags = _trigger(tmp_path, {"auth": "none"})
    assert diags == ["warning[W301]"]
    assert [i["name"] for i in trigger["spec"]["interceptors"]] == ["filter-and-default"]
    assert not _refused(trigger, {}, {})


# tektoncd/triggers v0.37.0 pkg/interceptors/cel/cel_test.go: makeSecret() (Secret test-secret, key
# token = "secrettoken") and the compareSecret expressions of TestExpressionEvaluation.
UPSTREAM_SECRET = {"test-secret": {"token": "secrettoken"}}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'secrettoken'.compareSecret('token', 'test-secret') ", True),
        ("'nomatch'.compareSecret('token', 'test-secret') ", False),
        ("header.canonical('X-Secret-Token').compareSecret('token', 'test-secret')", True),
        ("header.canonical('x-test-header') == 'value'", True),
    ],
)
def test_upstream_compare_secret_fixtures(expression: str, expected: bool) -> None:
    pytest.importorskip("celpy")
    headers = {"X-Secret-Token": ["secrettoken"], "X-Test-Header": ["value"]}
    assert bool(triggers.evaluate(expression, {}, headers, UPSTREAM_SECRET)) is expected


# pkg/interceptors/github/github_test.go TestInterceptor_ExecuteTrigger_Signature: body `{}`, Secret
# mysecret/token = "secret", the header from test.HMACHeader(t, "secret", body, "sha256").
GITHUB_PARAMS = {"secretRef": {"secretName": "mysecret", "secretKey": "token"}}


def test_upstream_github_signature_fixtures() -> None:
    body = b"{}"
    header = {"X-Hub-Signature-256": [triggers.hmac_header("secret", body)]}
    # HMAC-SHA256("secret", "{}"), as `printf '{}' | openssl dgst -sha256 -hmac secret` prints it
    assert header["X-Hub-Signature-256"] == [
        "sha256=77325902caca812dc259733aacd046b73817372c777b8d95b402647474516e13"
    ]
    triggers.github(GITHUB_PARAMS, body, header, {"mysecret": {"token": "secret"}})
    triggers.github({}, body, {"X-Hub-Signature-256": ["foo"]}, {})  # "no secret": not checked
    with pytest.raises(triggers.Refused):
        triggers.github(
            GITHUB_PARAMS, body, {"X-Hub-Signature-256": ["foo"]}, {"mysecret": {"token": "secret"}}
        )
    with pytest.raises(triggers.Refused):
        triggers.github({"secretRef": {"secretName": "mysecret", "secretKey": ""}}, body, header, {})
    events = {**GITHUB_PARAMS, "eventTypes": ["MY_EVENT", "YOUR_EVENT"]}
    triggers.github(
        events, body, {**header, "X-GitHub-Event": ["MY_EVENT"]}, {"mysecret": {"token": "secret"}}
    )
    with pytest.raises(triggers.Refused):
        triggers.github(
            events, body, {**header, "X-GitHub-Event": ["OTHER"]}, {"mysecret": {"token": "secret"}}
        )
