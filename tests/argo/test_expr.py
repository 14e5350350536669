"""The expr evaluator (tests/support/expr.py) against upstream's own cases, for the constructs the Argo
webhook's expressions use (expr-lang/expr v1.17.8: ``expr_test.go``, ``builtin/builtin_test.go``), and
the errors expr raises where the webhook must guard."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.argo_events import environment
from tests.support.expr import CompileError, ExprError, compile_and_run

# expr_test.go TestExpr's env (the fields these cases read) and builtin_test.go TestBuiltin's.
ENV: dict[str, Any] = {"String": "string", "arr": [1, 2, 3], "m": {"a": 1, "b": 2}, "x": 42}


@pytest.mark.parametrize(
    ("code", "want"),
    [
        # expr_test.go TestExpr
        ("1 in [1.5] || 1 not in [1]", False),
        ("-1 not in [1]", True),
        ('String matches "s.+"', True),
        ("'foo' + 'bar' not matches 'foobar'", False),
        ("all(1..3, {# > 0})", True),
        # builtin/builtin_test.go TestBuiltin
        ('len("hello")', 5),
        ("len({foo: 1, bar: 2})", 2),
        ("int(5.5)", 5),
        ("int(5)", 5),
        ('int("5")', 5),
        ("string(5)", "5"),
        ("string(5.5)", "5.5"),
        ('string("5.5")', "5.5"),
        ('"foo" in keys({foo: 1, bar: 2})', True),
        ("'a' in keys(m)", True),
        ("len(arr)", 3),
        ("type(arr)", "array"),
        ("type(m)", "map"),
        ("all(arr, # > 0)", True),
        ("int(x)", 42),
    ],
)
def test_upstream_cases(code: str, want: Any) -> None:
    assert compile_and_run(code, ENV) == want


@pytest.mark.parametrize(
    ("obj", "want"),
    [(None, "nil"), (True, "bool"), (1, "int"), (1.0, "float"), ("string", "string"),
     (["foo", "bar"], "array"), ({"foo": "bar"}, "map")],
)  # fmt: skip
def test_upstream_type_cases(obj: Any, want: str) -> None:
    """builtin_test.go TestBuiltin_type (the JSON kinds)."""
    assert compile_and_run("type(obj)", {"obj": obj}) == want


def test_upstream_nil_coalescing_cases() -> None:
    """expr_test.go TestRun_NilCoalescingOperator (the last one compiled with ``env``, run over ``{}``)."""
    env = {"foo": {"bar": "value"}}
    assert compile_and_run('foo.bar ?? "default"', env) == "value"
    assert compile_and_run('foo.baz ?? "default"', env) == "default"
    assert compile_and_run('foo?.bar ?? "default"', env, {}) == "default"


@pytest.mark.parametrize("code", ['nilString matches "str"', '"str" matches nilString', 'nilString == "str"'])
def test_upstream_nil_string_cases(code: str) -> None:
    """expr_test.go TestExpr_nil_op_str: an operator on a nil string is false, not an error."""
    assert compile_and_run(code, {"nilString": None}) is False


def test_the_event_docs_example() -> None:
    """argo-workflows docs/events.md: the example selector over the example call (header lists)."""
    env = environment("argo", "my-discriminator", b'{"message": "hello events"}', {"X-Argo-E2E": ["true"]})
    selector = (
        'payload.message != "" && metadata["x-argo-e2e"] == ["true"] && discriminator == "my-discriminator"'
    )
    assert compile_and_run(selector, env) is True
    assert compile_and_run("payload.message", env) == "hello events"


@pytest.mark.parametrize(
    ("code", "env"),
    [
        ("payload.spec.x", {"payload": {"spec": None}}),  # a field of nil: runtime.Fetch
        ("payload.spec.x", {"payload": {"spec": "text"}}),  # a field of a string
        ("payload.n.x", {"payload": {"n": 1.0}}),  # a field of a number
        ('payload.n matches "a"', {"payload": {"n": 1.0}}),  # matches on a non-string: OpMatchesConst
        ('payload.n in ["a", "b"]', {"payload": {"n": 1.0}}),  # the optimizer's map[string]struct{}
        ("payload.n < 1", {"payload": {"n": "1"}}),  # mixed types: runtime.Less
        ("payload.n && true", {"payload": {"n": "yes"}}),  # a non-bool operand of &&
        ('keys(payload.n) == ["a"]', {"payload": {"n": [1.0]}}),  # keys of an array
    ],
)
def test_runtime_errors_where_expr_errs(code: str, env: dict[str, Any]) -> None:
    with pytest.raises(ExprError):
        compile_and_run(code, env)


@pytest.mark.parametrize(
    ("code", "env"),
    [
        ("payload.spec", {"payload": None}),  # checker: type nil has no field spec
        ("payload.spec", {"payload": [1.0]}),  # an array indexed by a string
        ("payload.spec", {"payload": "text"}),
        ("body.spec", {"payload": {}}),  # an unknown name: the environment is strict
        ('payload.x ?? "a" + "b"', {"payload": {}}),  # ?? mixed with another operator
        ('"a" matches "("', {}),  # an invalid constant regular expression
    ],
)
def test_compile_errors_where_expr_errs(code: str, env: dict[str, Any]) -> None:
    with pytest.raises(CompileError):
        compile_and_run(code, env)


def test_no_error_where_expr_gives_nil_or_false() -> None:
    env = {"payload": {"spec": {"n": 1.0}}}
    assert compile_and_run("payload.spec.missing", env) is None  # a missing map key: nil
    assert compile_and_run("payload.spec.missing?.deeper", env) is None
    assert compile_and_run('payload.spec.n == "1"', env) is False  # runtime.Equal: different types
    assert compile_and_run("payload.spec.n == 1", env) is True  # numbers by value
    assert compile_and_run('nil in ["a"]', env) is False
    assert compile_and_run('nil in ["", "a"]', env) is True  # nil looks up the map's zero key
    assert compile_and_run('"a$" matches "^a$"', env) is False
    assert compile_and_run('"a\\n" matches "^a$"', env) is False  # RE2's $ is the end of the text
