"""_common: request ids, file walks, rclone calls and their error lines, model metadata."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from compiler.runtime import _common as common
from tests.runtime.conftest import rclone_binary


def test_request_id_flag_then_taskrun_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODAHU_RUN_UID", "uid-1")
    assert common.request_id("job-7") == "job-7"
    assert common.request_id("  ") == "uid-1"
    monkeypatch.delenv("ODAHU_RUN_UID")
    with pytest.raises(common.Fail, match="no request id"):
        common.request_id(None)
    with pytest.raises(common.Fail, match="cannot name a folder"):
        common.request_id("a/b")


def test_walk_files_is_sorted_and_relative(tmp_path: Path) -> None:
    for rel in ("b.json", "a/z.json", "a/b/c.txt", "A.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert common.walk_files(str(tmp_path)) == ["A.json", "a/b/c.txt", "a/z.json", "b.json"]
    assert common.walk_files(str(tmp_path / "missing")) == []


def test_last_error_picks_the_error_and_redacts_url_queries() -> None:
    stderr = (
        "2026/01/01 NOTICE: Config file not found\n"
        "2026/01/01 ERROR : a.json: Failed to copy: PUT https://acct.blob.core.windows.net/c/a.json"
        "?sv=2022&sig=SECRET%3D 403\n"
        "2026/01/01 NOTICE: retrying\n"
    )
    line = common.last_error(stderr)
    assert line.startswith("2026/01/01 ERROR : a.json: Failed to copy")
    assert "SECRET" not in line
    assert "https://acct.blob.core.windows.net/c/a.json?<redacted>" in line
    assert common.last_error("") == "no error output"


def test_model_meta_from_file_or_flags(tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"name": "m", "version": 3}))
    assert common.model_meta(str(meta), "ignored", "ignored") == {"name": "m", "version": "3"}
    assert common.model_meta(None, "n", None) == {"name": "n", "version": ""}
    with pytest.raises(common.Fail, match="cannot read model metadata"):
        common.model_meta(str(tmp_path / "nope.json"), None, None)


def _fake_rclone(tmp_path: Path, script: str) -> str:
    path = tmp_path / "rclone"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def test_rclone_errors_show_as_they_happen_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _fake_rclone(
        tmp_path,
        'echo "NOTICE: Config file not found" >&2\n'
        'echo "ERROR : a.json: Failed to copy: PUT https://acct.blob.core.windows.net/c/a.json?sig=SECRET"'
        " >&2\n"
        'echo "listing"\n',
    )
    rclone = common.Rclone(fake, None, 30)
    assert rclone.run("upload the output", ["copy", "a", "b"]) == "listing\n"
    err = capsys.readouterr().err
    assert err == (
        "upload the output: rclone: ERROR : a.json: Failed to copy: PUT "
        "https://acct.blob.core.windows.net/c/a.json?<redacted>\n"
    )
    assert "SECRET" not in err
    # a probe that may fail on purpose keeps rclone's lines to itself, and still names a real failure
    with pytest.raises(common.Fail, match=r"probe: rclone exited 1: ERROR : a\.json"):
        common.Rclone(_fake_rclone(tmp_path, "echo 'ERROR : a.json: gone' >&2; exit 1\n"), None, 30).run(
            "probe", ["deletefile", "x"], ok_codes=(0, 3)
        )
    assert capsys.readouterr().err == ""


def test_rclone_past_the_deadline_is_stopped(tmp_path: Path) -> None:
    fake = _fake_rclone(tmp_path, "exec sleep 30\n")
    started = time.monotonic()
    with pytest.raises(common.Fail, match="upload: rclone did not finish within the time limit"):
        common.Rclone(fake, None, 0.5).run("upload", ["copy", "a", "b"])
    assert time.monotonic() - started < 10


def test_rclone_run_all_runs_the_calls_at_once_and_keeps_their_order(tmp_path: Path) -> None:
    # Each call marks that it started, then waits (bounded) for the other's mark: run one after the
    # other, the first would give up and fail.
    fake = _fake_rclone(
        tmp_path,
        f'cd "{tmp_path}"; touch "started-$1"\n'
        'i=0; while [ ! -e "started-$2" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n'
        '[ -e "started-$2" ] || { echo "ERROR : $2 never started" >&2; exit 1; }\n'
        'echo "out of $1"\n',
    )
    rclone = common.Rclone(fake, None, 30)
    outs = rclone.run_all([("first", ["a", "b"], (0,)), ("second", ["b", "a"], (0,))])
    assert outs == ["out of a\n", "out of b\n"]


def test_rclone_run_all_waits_for_every_call_then_raises_the_first_failure(tmp_path: Path) -> None:
    fake = _fake_rclone(
        tmp_path,
        f'cd "{tmp_path}"\n'
        'case "$1" in fail*) echo "ERROR : $1 went wrong" >&2; exit 1 ;; esac\n'
        'sleep 0.3; touch "done-$1"\n',
    )
    with pytest.raises(common.Fail, match=r"^second: rclone exited 1: ERROR : fail-2 went wrong$"):
        common.Rclone(fake, None, 30).run_all([
            ("first", ["slow"], (0,)),
            ("second", ["fail-2"], (0,)),
            ("third", ["fail-3"], (0,)),
        ])  # fmt: skip
    assert (tmp_path / "done-slow").exists()  # the slow call had ended before the failure was raised


def _stats(errors: int, **counters: int) -> str:
    return json.dumps(
        {"level": "error", "msg": "\nTransferred: ...", "stats": {"errors": errors, **counters}}
    )


def test_rclone_log_words_json_lines_as_text_and_watches_stats(capsys: pytest.CaptureFixture[str]) -> None:
    stops: list[int] = []
    log = common._Log("upload", 0.0, lambda: stops.append(1))
    error = {"level": "error", "object": "a.json", "msg": "Failed to copy: PUT https://h/c/a.json?sig=S"}
    lines = [
        _stats(0, listed=50),
        json.dumps(error) + "\n",
        _stats(1, listed=50, bytes=10),  # moved: not stalled
        "plain text line\n",
        _stats(1, listed=50, bytes=10),  # errors and nothing moved for stall (0) seconds
        _stats(2, listed=50, bytes=10),  # stopped once only
    ]
    log.read(iter(line if line.endswith("\n") else line + "\n" for line in lines))  # type: ignore[arg-type]
    assert log.lines == [
        "ERROR : a.json: Failed to copy: PUT https://h/c/a.json?sig=S\n",
        "plain text line\n",
    ]
    assert log.stalled
    assert stops == [1]
    err = capsys.readouterr().err
    assert "upload: rclone: ERROR : a.json: Failed to copy: PUT https://h/c/a.json?<redacted>" in err
    assert "Transferred" not in err  # stats lines are watched, not shown


def test_rclone_log_without_errors_never_gives_up() -> None:
    stops: list[int] = []
    log = common._Log(None, 0.0, lambda: stops.append(1))
    log.read(iter([_stats(0, listed=5) + "\n"] * 5))  # type: ignore[arg-type]
    assert not log.stalled  # a long listing or a slow start is no stall
    assert not stops


def test_rclone_gives_up_on_a_store_that_refuses_every_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port on loopback that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = {"TYPE": "s3", "PROVIDER": "Other", "ACCESS_KEY_ID": "a", "SECRET_ACCESS_KEY": "b"}
    remote.update(ENDPOINT=f"http://127.0.0.1:{port}", FORCE_PATH_STYLE="true")
    for key, value in remote.items():
        monkeypatch.setenv(f"RCLONE_CONFIG_DEAD_{key}", value)
    source = tmp_path / "out"
    source.mkdir()
    for i in range(20):
        (source / f"r{i}.json").write_text("{}")
    started = time.monotonic()
    with pytest.raises(common.Fail) as failed:
        common.Rclone(rclone_binary(), None, 600, stall=3).run(
            "upload the output", ["copy", str(source), "dead:b"]
        )
    message = str(failed.value)
    assert message.startswith("upload the output: rclone got nothing done for 3 s while it kept failing")
    assert "connection refused" in message
    assert time.monotonic() - started < 120  # rclone alone retries this for hours
