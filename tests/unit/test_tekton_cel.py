"""The webhook rules as Triggers' CEL (compiler/tekton/cel.py): literals and the interceptor chain."""

from __future__ import annotations

from dataclasses import replace

from compiler.plan.model import WebhookAuth
from compiler.tekton.cel import cel_string, interceptors
from tests.support import webhooks


def test_cel_strings() -> None:
    assert cel_string("a'b\\c") == "'a\\'b\\\\c'"
    assert cel_string("é") == "'\\u00e9'"


def test_the_chain_follows_the_auth_rule() -> None:
    rules = webhooks.rules()
    assert [(i.name, i.ref) for i in interceptors(rules)] == [
        ("verify-signature", "github"),
        ("filter-and-default", "cel"),
    ]
    token = replace(rules, auth=WebhookAuth("token", "t", "k"))
    assert interceptors(token)[0].filter == "header.canonical('X-Secret-Token').compareSecret('k', 't')"
    assert [i.name for i in interceptors(replace(rules, auth=WebhookAuth("none", "", "")))] == [
        "filter-and-default"
    ]
