"""compiler.units: the one home of Kubernetes' name formats (k8s.io/apimachinery
pkg/util/validation/validation.go), matched over the whole value as Go's regexp does: Python's ``$``
would also accept a trailing newline, which the apiserver and RE2 refuse."""

from __future__ import annotations

import pytest

from compiler.units import is_dns1035_label, is_dns_label, is_dns_subdomain, is_label_value, is_qualified_name


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        # validation_test.go TestIsDNS1123Label, TestIsDNS1123Subdomain, TestIsDNS1035Label,
        # TestIsQualifiedName, TestIsValidLabelValue (a few cases each).
        (is_dns_label, ["a", "ab", "a-b", "1-2", "a" * 63], ["", "A", "-a", "a-", "a_b", "a.b", "a" * 64]),
        (is_dns_subdomain, ["a.b", "a-1.b-2", "a" * 253], ["", "a.", ".a", "a..b", "A.b", "a" * 254]),
        (is_dns1035_label, ["a", "a-b", "a1"], ["1a", "-a", "a-", "a.b"]),
        (
            is_qualified_name,
            ["simple", "now-with-dashes", "prefix.com/name", "1-num.2-num/3-num"],
            ["", "/", "a/", "_a", "a" * 64],
        ),
        (is_label_value, ["", "simple", "now-with-dashes", "1.2.3", "a" * 63], ["-", "a-", "a b", "a" * 64]),
    ],
)
def test_upstream_cases(check: object, good: list[str], bad: list[str]) -> None:
    assert callable(check)
    assert [v for v in good if not check(v)] == []
    assert [v for v in bad if check(v)] == []


@pytest.mark.parametrize(
    "check", [is_dns_label, is_dns_subdomain, is_dns1035_label, is_qualified_name, is_label_value]
)
def test_a_trailing_newline_is_refused(check: object) -> None:
    assert callable(check)
    assert not check("abc\n")
