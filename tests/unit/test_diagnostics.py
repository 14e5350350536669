"""diagnostics: sorting, text with source and caret, JSON, did-you-mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.diagnostics import (
    Diagnostic,
    Location,
    did_you_mean,
    has_errors,
    masked_lines,
    render_json,
    render_text,
    sort_diagnostics,
)


def test_sorted_by_file_line_col_and_deduplicated() -> None:
    a = Diagnostic("E302", "x", Location("b.yaml", 3, 1))
    b = Diagnostic("E204", "y", Location("a.yaml", 10, 2))
    c = Diagnostic("E204", "z", Location("a.yaml", 2, 5))
    assert sort_diagnostics([a, b, c, a]) == [c, b, a]


def test_warnings_are_not_errors() -> None:
    assert not has_errors([Diagnostic("W101", "empty", Location("a.yaml"), severity="warning")])
    assert has_errors([Diagnostic("E101", "gone", Location("a.yaml"))])


def test_text_has_source_line_caret_and_hint() -> None:
    diag = Diagnostic("E302", "unknown 'stor'", Location("s.yaml", 2, 9, 13), hint="did you mean 'store'?")
    text = render_text([diag], {"s.yaml": "kind: X\n  conn: stor\n"})
    assert text == (
        "s.yaml:2:9: error[E302]: unknown 'stor'\n"
        "    2 |   conn: stor\n"
        "      |         ^^^^\n"
        "  hint: did you mean 'store'?\n"
    )


def test_text_without_source_or_line() -> None:
    diag = Diagnostic("E101", "cannot read x", Location("x.yaml"))
    assert render_text([diag]) == "x.yaml: error[E101]: cannot read x\n"
    assert render_text([]) == ""


def test_json_fields() -> None:
    diag = Diagnostic("E204", "unknown field", Location("s.yaml", 4, 3), field="spec.imgae", hint="h")
    [record] = json.loads(render_json([diag]))
    assert record == {
        "file": "s.yaml",
        "line": 4,
        "col": 3,
        "severity": "error",
        "code": "E204",
        "message": "unknown field",
        "field": "spec.imgae",
        "hint": "h",
    }


def test_did_you_mean() -> None:
    assert did_you_mean("imgae", ["image", "args"]) == "did you mean 'image'?"
    assert did_you_mean("IMAGE", ["image"]) == "did you mean 'image'?"
    assert did_you_mean("zzz", ["image"]) is None
    assert did_you_mean("s4", ["s3", "gcs"], cutoff=0.5) == "did you mean 's3'?"


SECRETS = (
    "QUtJQUlPU0ZPRE5ON0VYQU1QTEU=",
    "d0phbHJYVXRuRkVNSS9LN01ERU5HL2JQeFJmaUNZRVhBTVBMRUtFWQ==",
    "MIIEvQIBADAN",
)
DECRYPTED = Path(__file__).resolve().parents[1] / "errors" / "e207-decrypted-export" / "input"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_decrypted_export_never_prints_its_secrets(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    from compiler.cli import main

    assert main(["validate", str(DECRYPTED), "--format", fmt]) == 1
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "E207" in printed
    for secret in SECRETS:
        assert secret not in printed


def test_masked_lines_cover_yaml_json_flow_and_block_values() -> None:
    text = (
        "  keyID: AKIA1  # note\n"
        '  {"keySecret": "c2Vj\\"x", "type": "s3"}\n'
        "  - {password: hunter2, type: s3}\n"
        "  publicKey: |\n"
        "    ssh-rsa AAAA\n"
        "  region: eu\n"
        "  uri: https://a.blob.core.windows.net/c?sv=1&sig=abc%2F&se=2\n"
    )
    assert masked_lines(text) == [
        "  keyID: ***  # note",
        '  {"keySecret": "***", "type": "s3"}',
        "  - {password: ***, type: s3}",
        "  publicKey: ***",
        "    ***",
        "  region: eu",
        "  uri: https://a.blob.core.windows.net/c?sv=1&sig=***&se=2",
    ]


def test_secret_key_names_under_keys_stay_readable() -> None:
    text = "    keys:\n      secretAccessKey: sk\n      keySecret: s3cr3t\n    secretAccessKey: inline\n"
    assert masked_lines(text) == [
        "    keys:",
        "      secretAccessKey: sk",
        "      keySecret: ***",
        "    secretAccessKey: ***",
    ]
