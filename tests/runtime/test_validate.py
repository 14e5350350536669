"""validate.py as the Task runs it: valid/rejected folders, the report, the policy, the cross-file checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from compiler.runtime import validate
from compiler.runtime.v2rules import Profile

from .conftest import RUNTIME, run_program
from .test_layering import _python39

GOOD = {"id": "a", "inputs": [{"name": "x", "shape": [2], "datatype": "INT8", "data": [1, 2]}]}
BAD = {"inputs": [{"name": "x", "shape": [2], "datatype": "INT8", "data": [1, 200]}]}


def _write(root: Path, files: dict[str, Any]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return root


def _validate(
    tmp: Path, kind: str, *extra: str, in_place: bool = False
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run validate.py on ``tmp/src``: into ``tmp/valid``, or checking the folder in place."""
    src = str(tmp / "src")
    valid = src if in_place else str(tmp / "valid")
    result = run_program(
        "validate", [kind, src, "--valid", valid, "--rejected", str(tmp / "rejected"), *extra]
    )
    path = tmp / "rejected" / "_report.json"
    return result, json.loads(path.read_text()) if path.exists() else {}


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr).strip().splitlines()[-1]


def test_sorts_files_and_reports(tmp_path: Path) -> None:
    raw_good = b'{"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [true]}]}  \n'
    _write(tmp_path / "src", {"a.json": GOOD, "deep/er/b.json": raw_good, "c.json": BAD, "notes.txt": b"hi"})
    result, report = _validate(
        tmp_path, "request", "--summary", str(tmp_path / "summary.json"), "--jobs", "1"
    )
    assert result.returncode == 1
    assert (tmp_path / "valid" / "deep/er/b.json").read_bytes() == raw_good
    assert (tmp_path / "valid" / "a.json").read_bytes() == json.dumps(GOOD).encode()
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        "_report.json",
        "c.json",
        "notes.txt",
    ]
    assert (tmp_path / "rejected" / "notes.txt").read_bytes() == b"hi"
    assert report["kind"] == "request"
    assert (report["checked"], report["valid"], report["rejected"]) == (4, 2, 2)
    assert report["files"] == [
        {"file": "c.json", "errors": [{"pointer": "/inputs/0/data/1", "rule": "R18",
                                       "message": "INT8 element 200 is outside [-128, 127]"}]},
        {"file": "notes.txt", "errors": [{"pointer": "", "rule": "R0", "message": "not a .json file"}]},
    ]  # fmt: skip
    assert report["policy"] == {"passed": False, "rule": "no rejections allowed"}
    summary = (tmp_path / "summary.json").read_text().strip()
    assert json.loads(summary) == {"checked": 4, "valid": 2, "rejected": 2, "missing": 0}
    assert len(summary) < 100
    assert _last_line(result) == (
        "validate-input: 4 checked, 2 valid, 2 rejected (R0 x1, R18 x1)"
        " -> FAILED (policy: no rejections allowed)"
    )
    assert "Traceback" not in result.stderr


def test_all_valid_passes_and_warnings_are_reported(tmp_path: Path) -> None:
    fp16 = {"inputs": [{"name": "h", "shape": [1], "datatype": "FP16", "data": [0.5]}]}
    _write(tmp_path / "src", {"a.json": GOOD, "h.json": fp16})
    result, report = _validate(tmp_path, "request")
    assert result.returncode == 0, result.stderr
    assert report["files"] == []
    assert report["warnings"][0]["file"] == "h.json"
    assert report["warnings"][0]["warnings"][0]["rule"] == "R19"
    assert _last_line(result).endswith("-> OK (policy: no rejections allowed)")


@pytest.mark.parametrize(
    ("policy", "code"),
    [
        ([], 1),
        (["--max-rejected", "1"], 0),
        (["--max-rejected", "0"], 1),
        (["--max-rejected-fraction", "0.5"], 0),
        (["--max-rejected-fraction", "0.4"], 1),
        (["--max-rejected", "5", "--max-rejected-fraction", "0.1"], 1),
    ],
)
def test_policy(tmp_path: Path, policy: list[str], code: int) -> None:
    _write(tmp_path / "src", {"a.json": GOOD, "b.json": BAD})
    result, report = _validate(tmp_path, "request", *policy)
    assert result.returncode == code
    assert (tmp_path / "rejected" / "b.json").exists(), "the pass finishes whatever the policy says"
    assert (tmp_path / "valid" / "a.json").exists()
    assert report["policy"]["passed"] is (code == 0)


def test_unreadable_file_is_rejected_not_fatal(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": GOOD})
    (tmp_path / "src" / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    result, report = _validate(tmp_path, "request")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    entry = report["files"][0]
    assert entry["file"] == "dangling.json"
    assert entry["errors"][0]["message"] == "a symbolic link: never followed, its target is not checked"


def test_bad_fraction_is_a_usage_error(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": GOOD})
    result, _ = _validate(tmp_path, "request", "--max-rejected-fraction", "1.5")
    assert result.returncode == 2


def test_missing_source_folder(tmp_path: Path) -> None:
    result, _ = _validate(tmp_path, "request")
    assert result.returncode == 1
    assert result.stderr.strip() == f"validate: error: source folder {tmp_path / 'src'} does not exist"


def test_profile_options_reach_the_rules(tmp_path: Path) -> None:
    nan = b'{"model_name": "m", "outputs": [{"name": "y", "shape": [1], "datatype": "FP32", "data": [NaN]}]}'
    _write(tmp_path / "src", {"r.json": nan})
    assert _validate(tmp_path, "response")[0].returncode == 1
    assert _validate(tmp_path, "response", "--allow-nan-tokens")[0].returncode == 0
    _write(
        tmp_path / "src",
        {"r.json": {"inputs": [{"name": "x", "shape": [1], "datatype": "FP16", "data": [1]}]}},
    )
    assert _validate(tmp_path, "request", "--refuse-fp16")[0].returncode == 1


def test_rerun_into_the_same_folders(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": GOOD, "_report.json": BAD})
    _validate(tmp_path, "request")
    _, report = _validate(tmp_path, "request")
    assert report["rejected"] == 1
    assert (tmp_path / "rejected" / "_report.json~").read_bytes() == json.dumps(BAD).encode()
    assert (tmp_path / "valid" / "a.json").read_bytes() == json.dumps(GOOD).encode()


# Requests the cross-file tests answer: with ids, one asking for two outputs, one without an id.
REQUESTS = {
    "one.json": {**GOOD, "id": "r1"},
    "two.json": {**GOOD, "id": "r2"},
    "sub/three.json": {**GOOD, "id": "r3", "outputs": [{"name": "y"}, {"name": "z"}]},
    "four.json": {"inputs": GOOD["inputs"]},
}


def _response(rid: str | None, names: tuple[str, ...] = ("y",)) -> dict[str, Any]:
    outputs = [{"name": n, "shape": [1], "datatype": "FP32", "data": [1.0]} for n in names]
    return {"model_name": "m", "outputs": outputs, **({"id": rid} if rid is not None else {})}


def test_responses_against_requests(tmp_path: Path) -> None:
    requests = {**REQUESTS, "lost.json": GOOD}
    _write(tmp_path / "requests", requests)
    _write(
        tmp_path / "src",
        {
            "one.json": _response("r1"),
            "two.json": _response("WRONG"),
            "sub/three.json": _response("r3"),
            "four.json": _response(None),
            "extra.json": _response("x"),
        },
    )
    cross = ["--requests", str(tmp_path / "requests"), "--require-one-per-request", "--require-matching-ids"]
    result, report = _validate(tmp_path, "response", *cross)
    assert result.returncode == 1
    assert report["missing"] == ["lost.json"]
    assert [f["file"] for f in report["files"]] == ["two.json"]
    assert report["files"][0]["errors"][0]["rule"] == "R23"
    warned = {w["file"]: w["warnings"][0]["message"] for w in report["warnings"]}
    assert "no request file" in warned["extra.json"]
    assert "z (A21)" in warned["sub/three.json"]
    assert "1 rejected (R23 x1), 1 missing -> FAILED" in _last_line(result)
    assert _last_line(result).startswith("validate-output:")
    allowed = _validate(tmp_path, "response", *cross, "--max-rejected", "2")[0]
    assert allowed.returncode == 0


def test_facts_of_the_requests_replace_reading_them_again(tmp_path: Path) -> None:
    requests = {**REQUESTS, "bad.json": {**BAD, "id": "rb"}}
    _write(tmp_path / "requests", requests)
    facts = tmp_path / "config" / "facts.json"
    src = str(tmp_path / "requests")
    checked = run_program(
        "validate",
        ["request", src, "--valid", src, "--rejected", str(tmp_path / "rejected-in"), "--facts", str(facts),
         "--max-rejected", "1"],
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    # only valid requests, and only those with an id or requested outputs
    assert json.loads(facts.read_text()) == {
        "one.json": ["r1", []],
        "sub/three.json": ["r3", ["y", "z"]],
        "two.json": ["r2", []],
    }
    responses = {
        "one.json": _response("r1"),
        "two.json": _response("WRONG"),
        "sub/three.json": _response("r3"),
        "four.json": _response(None),
        "extra.json": _response("x"),
    }
    cross = ["--requests", src, "--require-one-per-request", "--require-matching-ids"]
    reports = []
    for label, extra in (("read", []), ("facts", ["--request-facts", str(facts)])):
        _write(tmp_path / label / "src", responses)
        result, report = _validate(tmp_path / label, "response", *cross, *extra)
        assert result.returncode == 1
        reports.append(report)
    assert reports[0] == reports[1]
    assert [f["file"] for f in reports[1]["files"]] == ["two.json"]
    warned = {w["file"]: w["warnings"][0]["message"] for w in reports[1]["warnings"]}
    assert "z (A21)" in warned["sub/three.json"]


def test_a_missing_facts_file_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": _response("r1")})
    result, _ = _validate(
        tmp_path, "response", "--requests", str(tmp_path), "--request-facts", "/nowhere.json"
    )
    assert result.returncode == 1
    assert "facts file /nowhere.json does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_parallel_gives_the_same_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, Any] = {}
    for i in range(300):
        files[f"d{i % 7}/f{i:03d}.json"] = BAD if i % 11 == 0 else GOOD
    files["x.bin"] = b"\x00"
    _write(tmp_path / "src", files)
    one, report_one = _validate(tmp_path, "request", "--jobs", "1")
    for folder in ("valid", "rejected"):
        os.rename(tmp_path / folder, tmp_path / f"{folder}-1")
    monkeypatch.setattr(validate, "SERIAL_SECONDS", 0.0)  # small work would stay in one process
    monkeypatch.setattr(validate, "ProcessPoolExecutor", _CountedPool)
    _CountedPool.started = 0
    args = ["request", str(tmp_path / "src"), "--valid", str(tmp_path / "valid")]
    assert validate.main([*args, "--rejected", str(tmp_path / "rejected"), "--jobs", "3"]) == 1
    report_two = json.loads((tmp_path / "rejected" / "_report.json").read_text())
    assert report_one == report_two
    assert report_two["rejected"] == 29
    assert sorted(p.name for p in (tmp_path / "valid").rglob("*.json")) == sorted(
        p.name for p in (tmp_path / "valid-1").rglob("*.json")
    )
    assert _last_line(one) == capsys.readouterr().err.strip().splitlines()[-1]
    assert _CountedPool.started == 1


class _CountedPool(ProcessPoolExecutor):
    started = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _CountedPool.started += 1
        super().__init__(*args, **kwargs)


def test_module_form(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": GOOD})
    args = [
        "request",
        str(tmp_path / "src"),
        "--valid",
        str(tmp_path / "v"),
        "--rejected",
        str(tmp_path / "r"),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "compiler.runtime.validate", *args],
        capture_output=True, text=True, cwd=RUNTIME.parents[1], check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v" / "a.json").exists()


def test_runs_on_python_3_9(tmp_path: Path, flat_runtime: Path) -> None:
    python = _python39()
    _write(tmp_path / "src", {f"f{i}.json": GOOD if i % 2 else BAD for i in range(40)})
    args = [
        "request",
        str(tmp_path / "src"),
        "--valid",
        str(tmp_path / "v"),
        "--rejected",
        str(tmp_path / "r"),
    ]
    result = subprocess.run(
        [python, str(flat_runtime / "validate.py"), *args, "--jobs", "2", "--max-rejected", "20"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "40 checked, 20 valid, 20 rejected (R18 x20) -> OK" in result.stdout


def test_in_place_moves_only_the_rejected_out(tmp_path: Path) -> None:
    files: dict[str, Any] = {"a.json": GOOD, "deep/b.json": GOOD, "deep/c.json": BAD, "n.txt": b"x"}
    files["_report.json"] = BAD  # named like the report: kept under a distinct name
    _write(tmp_path / "src", files)
    before = {rel: (tmp_path / "src" / rel).stat().st_ino for rel in ("a.json", "deep/b.json")}
    result, report = _validate(tmp_path, "request", "--max-rejected", "3", in_place=True)
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(tmp_path / "src")) for p in (tmp_path / "src").rglob("*.*")) == [
        "a.json",
        "deep/b.json",
    ]
    assert {rel: (tmp_path / "src" / rel).stat().st_ino for rel in before} == before, "valid files untouched"
    rejected = tmp_path / "rejected"
    assert (rejected / "deep/c.json").read_bytes() == json.dumps(BAD).encode()
    assert (rejected / "n.txt").read_bytes() == b"x"
    assert (rejected / "_report.json~").read_bytes() == json.dumps(BAD).encode()
    assert (report["checked"], report["valid"], report["rejected"]) == (5, 2, 3)
    assert [entry["file"] for entry in report["files"]] == ["_report.json", "deep/c.json", "n.txt"]


def test_in_place_gives_the_same_report_as_copying(tmp_path: Path) -> None:
    files: dict[str, Any] = {f"d{i % 3}/f{i:02d}.json": BAD if i % 4 == 0 else GOOD for i in range(40)}
    _write(tmp_path / "copy" / "src", files)
    _write(tmp_path / "in-place" / "src", files)
    _, copied = _validate(tmp_path / "copy", "request")
    _, moved = _validate(tmp_path / "in-place", "request", in_place=True)
    assert copied == moved
    kept = sorted(
        p.relative_to(tmp_path / "in-place" / "src") for p in (tmp_path / "in-place/src").rglob("*.json")
    )
    assert kept == sorted(
        p.relative_to(tmp_path / "copy" / "valid") for p in (tmp_path / "copy/valid").rglob("*.json")
    )


def test_in_place_a_rejected_file_that_cannot_leave_fails_the_step(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": GOOD, "b.json": BAD})
    (tmp_path / "rejected").mkdir()
    (tmp_path / "rejected" / "b.json").mkdir()  # a folder where the file must go: the move cannot happen
    (tmp_path / "rejected" / "b.json" / "x").write_text("")
    result, _ = _validate(tmp_path, "request", "--max-rejected", "5", in_place=True)
    assert result.returncode == 1
    assert "cannot move b.json out to" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "src" / "b.json").exists(), "nothing is lost"


def test_the_rejected_folder_may_not_lie_inside_the_source(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": GOOD})
    src = str(tmp_path / "src")
    result = run_program("validate", ["request", src, "--valid", src, "--rejected", f"{src}/rejected"])
    assert result.returncode == 1
    assert "must not lie inside" in result.stderr


def test_in_place_in_parallel_gives_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files: dict[str, Any] = {f"d{i % 5}/f{i:03d}.json": BAD if i % 13 == 0 else GOOD for i in range(400)}
    _write(tmp_path / "one" / "src", files)
    _write(tmp_path / "many" / "src", files)
    _, serial = _validate(tmp_path / "one", "request", "--jobs", "1", in_place=True)
    monkeypatch.setattr(validate, "SERIAL_SECONDS", 0.0)  # small work would stay in one process
    monkeypatch.setattr(validate, "ProcessPoolExecutor", _CountedPool)
    _CountedPool.started = 0
    src, rejected = str(tmp_path / "many" / "src"), str(tmp_path / "many" / "rejected")
    assert (
        validate.main(["request", src, "--valid", src, "--rejected", rejected, "--jobs", "3", "--quiet"]) == 1
    )
    assert _CountedPool.started == 1
    assert json.loads((tmp_path / "many" / "rejected" / "_report.json").read_text()) == serial
    assert serial["rejected"] == 31
    for folder in ("src", "rejected"):
        one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one" / folder).rglob("*.json"))
        many = sorted(p.relative_to(tmp_path / "many") for p in (tmp_path / "many" / folder).rglob("*.json"))
        assert one == many


def test_a_shape_past_the_integer_print_limit_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    """230 dimensions of 2^64-1: their product has over 4,300 digits, which str() refuses (a traceback)."""
    huge = {"inputs": [{"name": "x", "shape": [230] + [2**64 - 1] * 229, "datatype": "INT8", "data": [1]}]}
    _write(tmp_path / "src", {"a.json": huge, "b.json": GOOD})
    response = {"model_name": "m", "outputs": huge["inputs"]}
    _write(tmp_path / "out", {"a.json": response})
    result, report = _validate(tmp_path, "request", "--jobs", "1", in_place=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (entry,) = report["files"]
    assert entry["file"] == "a.json"
    assert entry["errors"][0]["rule"] == "R15"
    assert "holds a 14664-bit integer" in entry["errors"][0]["message"]
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["b.json"]
    out, valid, rejected = (str(tmp_path / name) for name in ("out", "v", "r"))
    answer = run_program("validate", ["response", out, "--valid", valid, "--rejected", rejected])
    assert answer.returncode == 1
    assert json.loads((tmp_path / "r" / "_report.json").read_text())["files"][0]["errors"][0]["rule"] == "R15"


def test_symlinks_are_rejected_never_followed(tmp_path: Path) -> None:
    """A link to a valid file outside, and a linked folder: both rejected (R0), moved out of the input."""
    outside = _write(tmp_path / "outside", {"good.json": GOOD, "folder/inner.json": GOOD})
    src = _write(tmp_path / "src", {"a.json": GOOD})
    (src / "link.json").symlink_to(outside / "good.json")
    (src / "linked").symlink_to(outside / "folder")
    result, report = _validate(tmp_path, "request", "--jobs", "1", in_place=True)
    assert result.returncode == 1
    assert {entry["file"]: entry["errors"][0]["rule"] for entry in report["files"]} == {
        "link.json": "R0",
        "linked": "R0",
    }
    assert "symbolic link" in report["files"][0]["errors"][0]["message"]
    assert sorted(p.name for p in src.iterdir()) == ["a.json"]
    assert (tmp_path / "rejected" / "linked").is_symlink()
    assert (outside / "good.json").read_text() == json.dumps(GOOD)
    assert (outside / "folder" / "inner.json").exists()


def test_a_file_above_the_size_limit_is_rejected_unread(tmp_path: Path) -> None:
    """Past --max-file-bytes (default 8 MiB) a file is refused from its size alone (a sparse file here)."""
    src = _write(tmp_path / "src", {"small.json": GOOD, "big.json": GOOD})
    with open(src / "huge.json", "wb") as fh:
        fh.truncate(8 * 2**20 + 1)  # 8 MiB + 1 of zero bytes: read, it would be an R1 error
    result, report = _validate(tmp_path, "request", "--jobs", "1", "--max-file-bytes", str(8 * 2**20))
    assert result.returncode == 1
    (entry,) = report["files"]
    assert entry["file"] == "huge.json"
    assert entry["errors"][0]["rule"] == "R0"
    assert entry["errors"][0]["message"].startswith("8388609 bytes, larger than the per-file limit 8388608")
    assert validate.Job("request", "", "", "", Profile(), None, False).max_bytes == 8 * 2**20
    small = len(json.dumps(GOOD))
    result, report = _validate(tmp_path, "request", "--jobs", "1", "--max-file-bytes", str(small - 1))
    assert report["rejected"] == 3


def test_rejected_files_named_like_the_report_never_collide(tmp_path: Path) -> None:
    # Before: _report.json was kept as _report.json.file, where the rejected _report.json.file also went.
    names = ["_report.json", "_report.json.file", "_report.json~", "_report.json~~"]
    _write(tmp_path / "src", {name: f"not json {i}".encode() for i, name in enumerate(names)})
    result, report = _validate(tmp_path, "request", "--max-rejected", "9")
    assert result.returncode == 0, result.stderr
    rejected = tmp_path / "rejected"
    kept = {p.name: p.read_bytes() for p in rejected.iterdir() if p.name != "_report.json"}
    assert kept == {
        "_report.json~": b"not json 0",
        "_report.json.file": b"not json 1",
        "_report.json~~": b"not json 2",
        "_report.json~~~": b"not json 3",
    }
    stored = {entry["file"]: entry.get("stored_as", entry["file"]) for entry in report["files"]}
    assert stored == {name: validate.stored_name(name) for name in names}
    assert stored["_report.json.file"] == "_report.json.file", "a name outside the family is kept"


def test_outputs_named_like_the_runs_own_files_are_rejected_with_a_reason(tmp_path: Path) -> None:
    good = {"model_name": "m", "outputs": [{"name": "y", "shape": [1], "datatype": "INT8", "data": [1]}]}
    names = ["_SUCCESS.json", "_manifest.json", "_rejected/output/x.json", "a.json"]
    _write(tmp_path / "src", dict.fromkeys(names, good))
    result, report = _validate(tmp_path, "response", "--max-rejected", "9")
    assert result.returncode == 0, result.stderr
    assert sorted(
        p.relative_to(tmp_path / "valid").as_posix() for p in (tmp_path / "valid").rglob("*.json")
    ) == ["a.json"]
    assert {entry["file"]: entry["errors"][0]["rule"] for entry in report["files"]} == dict.fromkeys(
        names[:3], "R0"
    )
    assert "run's own files" in json.dumps(report)
    assert (tmp_path / "rejected" / "_SUCCESS.json").exists(), "kept under its own name"


def test_a_recorded_verdict_exits_0_and_keeps_the_verdict_in_the_report(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"a.json": GOOD, "b.json": BAD})
    failed, report = _validate(tmp_path, "request")
    assert failed.returncode == 1
    recorded, again = _validate(tmp_path, "request", "--record-verdict")
    assert recorded.returncode == 0, recorded.stderr
    assert again["policy"] == report["policy"] == {"passed": False, "rule": "no rejections allowed"}
    assert "FAILED" in recorded.stderr
