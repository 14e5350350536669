"""Live progress lines and the summary table."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from compiler.localrun.progress import (
    FileCount,
    FolderWatch,
    Progress,
    ShardProgress,
    StepRecord,
    format_counts,
    format_duration,
    rclone_files,
    step_table,
)
from compiler.localrun.terminal import ShardBoard, console

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _table_text(records: list[StepRecord], tty: bool) -> str:
    out = io.StringIO()
    console(out, tty).print(step_table(records))
    return out.getvalue()


def test_table_aligns_steps_status_duration_cpu_and_counts() -> None:
    summary = {"input-summary": '{"valid": 998, "rejected": 2}'}
    records = [
        StepRecord("configure-rclone", "succeeded", 0, 0.123, cpu=0.05),
        StepRecord("validate-input", "succeeded", 0, 2.5, summary, cpu=4.75),
        StepRecord("user-container", "failed", 3, 75.0, cpu=61.0),
        StepRecord("sync-output", "skipped"),
    ]
    text = _table_text(records, tty=False)
    assert not ESCAPE.search(text)  # a pipe or a file gets plain text
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    assert re.fullmatch(r"step +status +duration +cpu +counts", lines[0].strip())
    assert set(lines[1].strip()) == {"─"}  # the header rule
    assert re.fullmatch(r"configure-rclone +succeeded +0\.1s +0\.1s", lines[2])
    assert re.fullmatch(r"validate-input +succeeded +2\.5s +4\.8s +valid=998 rejected=2", lines[3])
    assert re.fullmatch(r"user-container +failed +1m15s +1m01s", lines[4])
    assert re.fullmatch(r"sync-output +skipped +- +-", lines[5])
    # Columns line up: every status starts where the header's does.
    assert {
        line.index(word)
        for line, word in zip(lines[2:], ["succeeded", "succeeded", "failed", "skipped"], strict=True)
    } == {lines[0].index("status")}


def test_table_colours_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [StepRecord("a", "succeeded", 0, 1.0), StepRecord("b", "failed", 1, 1.0)]
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    coloured = _table_text(records, tty=True)
    assert "\x1b[32msucceeded" in coloured  # green
    assert "\x1b[1;31mfailed" in coloured  # bold red
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _table_text(records, tty=True)
    assert "\x1b[3" not in plain  # no colour; rich may still use bold for the header
    assert "succeeded" in plain


def test_counts_from_results() -> None:
    assert format_counts({"n": "7"}) == "n=7"
    assert format_counts({"s": '{"files": 3, "nested": {"x": 1}, "note": "ok"}'}) == "files=3 note=ok"
    assert format_counts({"big": "x" * 100}) == ""
    assert format_counts({}) == ""
    both = {"input-summary": '{"checked": 3, "rejected": 1}', "output-summary": '{"checked": 2}'}
    assert format_counts(both) == "input: checked=3 rejected=1 output: checked=2"


def test_durations() -> None:
    assert format_duration(None) == "-"
    assert format_duration(59.94) == "59.9s"
    assert format_duration(3725) == "1h02m05s"


def test_file_count_text() -> None:
    assert str(FileCount(3, 10)) == "files 3/10"
    assert str(FileCount(3, None)) == "files 3"
    assert str(FileCount(None, 10)) == "10 files"


def test_plain_lines_when_not_a_terminal() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, tty=False, interval=30, clock=lambda: now[0])
    progress.begin(2, 9, "sync-data")
    progress.update(5, FileCount(10, None))
    now[0] = 31
    progress.update(31, FileCount(500, 1000))
    progress.end(StepRecord("sync-data", "succeeded", 0, 40.0, {"n": "5"}))
    assert out.getvalue() == (
        "[2/9] sync-data started\n"
        "[2/9] sync-data  31.0s  files 500/1000\n"
        "[2/9] sync-data succeeded in 40.0s  n=5\n"
    )


def test_one_redrawn_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    progress = Progress(out, tty=True)
    progress.begin(1, 2, "validate-input")
    progress.update(1.0, FileCount(1, 4))
    progress.end(StepRecord("validate-input", "succeeded", 0, 1.5))
    text = out.getvalue()
    assert "[1/2] validate-input  1.0s  files 1/4" in text
    assert "\x1b[2K" in text  # the live line is erased, not scrolled
    assert text.endswith("[1/2] validate-input succeeded in 1.5s\n")
    assert text.count("validate-input succeeded") == 1


def test_shards_report_one_line_each_when_not_a_terminal() -> None:
    now = [0.0]
    out = io.StringIO()
    with ShardBoard(out, console(out, False), interval=30, clock=lambda: now[0]) as board:
        shards = [ShardProgress(board, f"run-shard-{i}") for i in range(2)]
        for index, step in enumerate(["configure-rclone", "sync-data", "validate-input"], start=1):
            for shard in shards:
                shard.begin(index, 9, step)
                shard.update(1.0, None)
                shard.end(StepRecord(step, "succeeded", 0, 1.0))
        assert out.getvalue() == ""  # quiet between intervals, whatever the shards do
        now[0] = 31
        shards[0].update(12.0, FileCount(3, 10))
        shards[1].update(12.0, None)
        board.write("run-shard-1: a note\n")
    assert out.getvalue().splitlines() == [
        "run-shard-0: [3/9] validate-input  12.0s  files 3/10",
        "run-shard-1: [3/9] validate-input  12.0s",
        "run-shard-1: a note",
    ]
    assert board.render().row_count == 2


def test_shard_board_is_a_live_table_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    with ShardBoard(out, console(out, True)) as board:
        ShardProgress(board, "run-shard-0").begin(5, 9, "user-container")
        ShardProgress(board, "run-shard-1").begin(2, 9, "sync-data")
        board.write("printed above the table\n")
    text = ESCAPE.sub("", out.getvalue())
    assert "printed above the table" in text
    assert re.search(r"run-shard-0 +\[5/9\] user-container", text)
    assert re.search(r"run-shard-1 +\[2/9\] sync-data", text)


def test_folder_watch_counts_new_files(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    dst.mkdir()
    for name in ("a", "b", "sub/c"):
        (src / name).write_text("x")
    (dst / "already-there").write_text("x")
    now = [0.0]
    watch = FolderWatch([src], [dst], count_every=1.0, clock=lambda: now[0])
    assert watch.count() == FileCount(0, 3)
    (dst / "a").write_text("x")
    assert watch.count() == FileCount(0, 3)  # counted at most once a second
    now[0] = 1.5
    assert watch.count() == FileCount(1, 3)


def test_folder_watch_without_outputs_shows_the_total(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    assert FolderWatch([tmp_path], []).count() == FileCount(None, 1)
    assert FolderWatch([], []).count() is None


def test_rclone_stats_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    log.write_text(
        "Transferred:   	    1.000 MiB / 10 MiB, 10%, 0 B/s, ETA -\n"
        "Transferred:            5 / 100, 5%\n"
        "Transferred:           40 / 100, 40%\n"
    )
    assert rclone_files(log) == FileCount(40, 100)
    watch = FolderWatch([], [tmp_path / "none"], log)
    assert watch.count() == FileCount(40, 100)
    assert rclone_files(tmp_path / "missing.log") is None
