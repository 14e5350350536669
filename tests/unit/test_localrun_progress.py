"""Live progress lines and the summary table."""

from __future__ import annotations

import io
from pathlib import Path

from compiler.localrun.progress import (
    FileCount,
    FolderWatch,
    Progress,
    StepRecord,
    format_counts,
    format_duration,
    format_table,
    rclone_files,
)


def test_table_aligns_steps_status_duration_cpu_and_counts() -> None:
    summary = {"input-summary": '{"valid": 998, "rejected": 2}'}
    records = [
        StepRecord("configure-rclone", "succeeded", 0, 0.123, cpu=0.05),
        StepRecord("validate-input", "succeeded", 0, 2.5, summary, cpu=4.75),
        StepRecord("user-container", "failed", 3, 75.0, cpu=61.0),
        StepRecord("sync-output", "skipped"),
    ]
    assert format_table(records) == (
        "step              status     duration    cpu  counts\n"
        "configure-rclone  succeeded      0.1s   0.1s\n"
        "validate-input    succeeded      2.5s   4.8s  valid=998 rejected=2\n"
        "user-container    failed        1m15s  1m01s\n"
        "sync-output       skipped           -      -\n"
    )


def test_counts_from_results() -> None:
    assert format_counts({"n": "7"}) == "n=7"
    assert format_counts({"s": '{"files": 3, "nested": {"x": 1}, "note": "ok"}'}) == "files=3 note=ok"
    assert format_counts({"big": "x" * 100}) == ""
    assert format_counts({}) == ""


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


def test_one_redrawn_line_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, tty=True)
    progress.begin(1, 2, "validate-input")
    progress.update(1.0, FileCount(1, 4))
    progress.end(StepRecord("validate-input", "succeeded", 0, 1.5))
    text = out.getvalue()
    assert text.count("\r\x1b[2K") == 3
    assert "[1/2] validate-input  1.0s  files 1/4" in text
    assert text.endswith("\r\x1b[2K[1/2] validate-input succeeded in 1.5s\n")


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
