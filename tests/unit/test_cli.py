"""The CLI in-process and as a process: exit codes, formats, usage errors, help, closed pipes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from compiler.cli import (
    COMMANDS,
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    main,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def test_validate_examples_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: ")
    assert err == ""


@pytest.mark.parametrize("name", ["s3", "gcs", "azure", "tarball-model", "baked-model", "odahu-api"])
def test_cluster_examples_need_no_local_permission(name: str) -> None:
    assert main(["validate", str(EXAMPLES / name)]) == 0


def test_multiplier_connection_is_local_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = EXAMPLES / "multiplier" / "specs"
    without_settings = [str(p) for p in sorted(specs.glob("*.yaml")) if p.name != "settings.yaml"]
    assert main(["validate", *without_settings]) == 1
    assert "error[E304]" in capsys.readouterr().err
    assert main(["validate", "--local", *without_settings]) == 0


def test_errors_exit_1_with_located_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: Connection\nid: c\nspec:\n  type: s4\n  uri: s3://b\n", encoding="utf-8")
    assert main(["validate", str(spec)]) == 1
    _, err = capsys.readouterr()
    assert f"{spec}:4:9: error[E206]: spec.type: expected one of 's3', 'gcs', 'azureblob', 'local'" in err
    assert "    4 |   type: s4\n      |         ^^\n" in err
    assert "hint: did you mean 's3'?" in err
    assert err.endswith("odahu-batch: 1 error\n")


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    text = "kind: Connection\nid: c\nspec:\n  type: s3\n  uri: s3://b\n  keySecret: x\n"
    spec.write_text(text, encoding="utf-8")
    assert main(["validate", "--format", "json", str(spec)]) == 1
    out, _ = capsys.readouterr()
    [record] = json.loads(out)
    assert record["code"] == "E207"
    assert (record["file"], record["line"], record["col"]) == (str(spec), 6, 3)
    assert record["field"] == "spec.keySecret"
    assert record["severity"] == "error"


def test_json_format_clean_is_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(EXAMPLES / "s3")]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_missing_path_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "error[E101]" in capsys.readouterr().err


# --- the CLI's contract: version, exit codes, no abbreviations, did you mean, examples, closed pipes ---

COMMAND = [sys.executable, "-m", "compiler.cli"]


def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
        **kwargs,
    )


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == EXIT_OK
    assert re.fullmatch(r"odahu-batch \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_version_as_a_process() -> None:
    done = _cli("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("odahu-batch ")


def test_exit_codes_are_distinct() -> None:
    codes = [EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE]
    assert len(set(codes)) == len(codes)
    documented = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code in codes:
        assert f"| `{code}` |" in documented


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["compil", "examples"], "did you mean 'compile'?"),
        (["validate", "examples", "--fromat", "json"], "did you mean '--format'?"),
        (["compile", "examples", "--ou", "x"], "did you mean '--out'?"),
        (["validate", "examples", "--format", "jsn"], "did you mean 'json'?"),
    ],
)
def test_usage_errors_exit_2_with_did_you_mean(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"hint: {hint}" in err
    # The command's own usage, not the top level's, for a command's flag.
    if argv[0] in COMMANDS:
        assert f"usage: odahu-batch {argv[0]}" in err


def test_no_abbreviations(tmp_path: Path) -> None:
    done = _cli("compile", str(EXAMPLES), "--ou", str(tmp_path / "out"))
    assert done.returncode == EXIT_USAGE
    assert "unrecognized arguments: --ou" in done.stderr
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_help_shows_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == EXIT_OK
    out = capsys.readouterr().out
    assert "examples:\n  odahu-batch " + name in out


def test_internal_error_has_its_own_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import compiler.commands.validate as validate_command

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(validate_command, "run", broken)
    assert main(["validate", str(EXAMPLES)]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "RuntimeError: a bug" in err
    assert "internal error" in err


def test_closed_pipe_is_silent(tmp_path: Path) -> None:
    # A stale (empty) tree: the diff of the whole tree is far more than a pipe holds, so the
    # writer meets a closed pipe after the reader has taken its first line.
    out = tmp_path / "deploy"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*COMMAND, "compile", str(EXAMPLES), "--out", str(out), "--check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert first.startswith(b"--- /dev/null")
    assert "Traceback" not in err
    assert "internal error" not in err
