"""shard.py plan and merge with real rclone on a local folder remote.

A shard is run the way its Task runs it: sync-data's two rclone commands (``copyto`` of its ``files.txt``,
``copy --files-from-raw``), validate.py on the input, a predictor, validate.py on the output, then
``sync_output.py --shard <i>``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from compiler.runtime._common import walk_files
from compiler.runtime._partition import shard_of
from tests.support.rclone import run_rclone

from .conftest import RUNTIME, clean_env, run_program
from .test_layering import _python39

GOOD = [
    "a.json", "sub/b.json", "sub/deep/c.json", " lead.json", "sp ace.json", "#hash.json", ";semi.json",
    "star*.json", "br[a].json", "ünï.json", "q?.json", "{x}.json", "trail .json", "x/y/z/w.json",
    *(f"many/{i:03}.json" for i in range(12)),
]  # fmt: skip
BAD = ["notes.txt", "sub/readme.md"]  # not .json: validate rejects them (R0)


def _request(i: int) -> bytes:
    tensor = {"name": "x", "shape": [1], "datatype": "FP32", "data": [float(i)]}
    return json.dumps({"id": f"r{i}", "inputs": [tensor]}).encode()


@dataclass
class Run:
    """One request's run: the input under store/in, the run's folder store/out/<rid>."""

    tmp: Path
    remote: dict[str, str]
    rid: str = "req-1"

    @property
    def store(self) -> Path:
        return Path(self.remote["store"])

    @property
    def folder(self) -> Path:
        return self.store / "out" / self.rid

    def write_inputs(self, names: list[str] | None = None) -> dict[str, bytes]:
        inputs = {name: _request(i) for i, name in enumerate(names if names is not None else GOOD + BAD)}
        for name, data in inputs.items():
            path = self.store / "in" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return inputs

    def shard(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        common = ["--dest", "data:out", "--rclone", self.remote["rclone"], "--config", self.remote["config"]]
        common += ["--service", "svc"]
        env = {"ODAHU_RUN_UID": "pipelinerun-uid-1", **(env or {})}  # the PipelineRun's, in plan and merge
        return run_program("shard", [*args, *common, *(["--request-id", self.rid] if self.rid else [])], env)

    def plan(self, shards: int, *extra: str) -> subprocess.CompletedProcess[str]:
        results = ["--results-dir", str(self.tmp / "results")]
        return self.shard("plan", "--source", "data:in", "--shards", str(shards), *results, *extra)

    def merge(self, shards: int, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.shard("merge", "--source", "data:in", "--shards", str(shards), *extra)

    def result(self, name: str) -> str:
        return (self.tmp / "results" / name).read_text()

    def partition(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.folder / "_shards" / "partition.json").read_text())
        return doc

    def rclone(self, *args: str | Path) -> None:
        run_rclone(args, config=Path(self.remote["config"]))

    def download(self, shard: int) -> Path:
        """sync-data of shard ``shard``: exactly the two commands of its step."""
        work = self.tmp / f"shard-{shard}"
        lists = f"data:out/{self.rid}/_shards/{shard}/files.txt"
        self.rclone("copyto", lists, work / "files.txt")
        self.rclone("copy", "--files-from-raw", work / "files.txt", "data:in", work / "input")
        return work

    def process(self, shard: int) -> Path:
        """sync-data, validate-input, the predictor (one response per request), validate-output."""
        work = self.download(shard)
        valid, rejected = work / "input", work / "rejected"  # the input is checked in place, as the Task does
        valid.mkdir(exist_ok=True)
        policy = ["--max-rejected", "100", "--jobs", "1", "--quiet"]
        args = ["request", str(valid), "--valid", str(valid), "--rejected", str(rejected / "input")]
        checked = run_program("validate", [*args, *policy])
        assert checked.returncode == 0, checked.stderr
        for rel in walk_files(str(valid)):
            request = json.loads((valid / rel).read_bytes())
            out = {"model_name": "m", "id": request["id"], "outputs": [{**request["inputs"][0], "name": "y"}]}
            (work / "raw-output" / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / "raw-output" / rel).write_text(json.dumps(out))
        (work / "raw-output").mkdir(exist_ok=True)
        args = [
            "response",
            str(work / "raw-output"),
            "--valid",
            str(work / "output"),
            "--requests",
            str(valid),
        ]
        args += ["--rejected", str(rejected / "output"), "--require-one-per-request"]
        checked = run_program("validate", [*args, *policy])
        assert checked.returncode == 0, checked.stderr
        return work

    def upload(self, shard: int, work: Path) -> None:
        """sync_output.py --shard <i>, as the shard's sync-output step runs it."""
        args = ["--output", str(work / "output"), "--rejected", str(work / "rejected"), "--inputs",
                str(work / "input"), "--dest", "data:out", "--request-id", self.rid, "--shard", str(shard),
                "--model-name", "m", "--model-version", "1", "--service", "svc", "--image", "img:1",
                "--source", "data:in",
                "--rclone", self.remote["rclone"], "--config", self.remote["config"]]  # fmt: skip
        uploaded = run_program("sync_output", args)
        assert uploaded.returncode == 0, uploaded.stderr

    def run_shards(self, shards: int, skip: tuple[int, ...] = ()) -> None:
        for shard in range(shards):
            if shard not in skip:
                self.upload(shard, self.process(shard))

    def complete(self, shards: int) -> None:
        planned = self.plan(shards)
        assert planned.returncode == 0, planned.stderr
        self.run_shards(shards)

    def manifest(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.folder / "_manifest.json").read_text())
        return doc

    def edit_shard_manifest(self, shard: int, **changes: Any) -> None:
        path = self.folder / "_shards" / str(shard) / "_manifest.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.fixture
def run(tmp_path: Path, local_remote: dict[str, str]) -> Run:
    return Run(tmp_path, local_remote)


def _fails(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1]  # the one-line failure comes last
    assert all(": rclone: " in line for line in lines[:-1]), "before it, only rclone's own error lines"


# --- command line -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["plan"], ["merge"]])
def test_help_as_a_flat_file_and_as_a_module(command: list[str], flat_runtime: Path) -> None:
    flat = run_program("shard", [*command, "--help"], folder=flat_runtime)
    module = subprocess.run(
        [sys.executable, "-m", "compiler.runtime.shard", *command, "--help"],
        capture_output=True, text=True, cwd=RUNTIME.parents[1], check=False,
    )  # fmt: skip
    for result in (flat, module):
        assert result.returncode == 0, result.stderr
        assert "usage: shard" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["split"],
        ["plan", "--dest", "d:x", "--shards", "2"],
        ["plan", "--source", "s:", "--dest", "d:", "--shards", "0"],
        ["merge", "--dest", "d:", "--shards", "257"],
        ["merge", "--dest", "d:", "--shards", "2", "--max-rejected-fraction", "2"],
    ],
)
def test_usage_errors_exit_2(args: list[str], flat_runtime: Path) -> None:
    result = run_program("shard", args, folder=flat_runtime)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


# --- plan -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shards", [1, 2, 4, 7, 40])
def test_every_input_reaches_exactly_one_shard(run: Run, shards: int) -> None:
    inputs = run.write_inputs()
    planned = run.plan(shards)
    assert planned.returncode == 0, planned.stderr
    assert json.loads(run.result("shard-ids")) == [str(i) for i in range(shards)]
    assert run.result("shard-count") == str(shards)
    assert run.result("request-id") == run.rid
    assert run.partition() == {
        "request_id": run.rid,
        "shards": shards,
        "files": {name: shard_of(name, shards) for name in inputs},
    }
    seen: Counter[str] = Counter()
    for shard in range(shards):
        work = run.download(shard)
        got = walk_files(str(work / "input"))
        listed = (run.folder / "_shards" / str(shard) / "files.txt").read_bytes()
        assert listed == "".join(f"{name}\n" for name in got).encode()  # sorted, one a line, LF
        for name in got:
            assert (work / "input" / name).read_bytes() == inputs[name]
        seen.update(got)
    assert seen == Counter(list(inputs))  # the union is the input, and every file came exactly once
    empty = [i for i in range(shards) if not (run.folder / "_shards" / str(i) / "files.txt").read_bytes()]
    assert len(empty) >= shards - len(inputs)
    assert f"{len(inputs)} objects in {shards} shards" in planned.stdout


def test_an_empty_input_gives_empty_shards(run: Run) -> None:
    (run.store / "in").mkdir()
    planned = run.plan(3)
    assert planned.returncode == 0, planned.stderr
    for shard in range(3):
        assert (run.folder / "_shards" / str(shard) / "files.txt").read_bytes() == b""
        assert walk_files(str(run.download(shard) / "input")) == []
    assert run.partition()["files"] == {}


def test_the_shard_count_is_clamped_to_the_cap(run: Run) -> None:
    run.write_inputs()
    planned = run.plan(8, "--cap", "3")
    assert planned.returncode == 0, planned.stderr
    assert "8 shards asked, clamped to the cap of 3" in planned.stdout
    assert run.result("shard-count") == "3"
    assert json.loads(run.result("shard-ids")) == ["0", "1", "2"]
    assert sorted(p.name for p in (run.folder / "_shards").iterdir()) == ["0", "1", "2", "partition.json"]


def test_a_rerun_keeps_the_partition(run: Run) -> None:
    run.write_inputs()
    assert run.plan(4).returncode == 0
    shards = run.folder / "_shards"
    before = {p.relative_to(shards): p.read_bytes() for p in shards.rglob("*") if p.is_file()}
    again = run.plan(6)  # another count asked: the stored partition of the same keys wins
    assert again.returncode == 0, again.stderr
    assert "kept the stored partition (4 shards)" in again.stdout
    assert run.result("shard-count") == "4"
    assert {p.relative_to(shards): p.read_bytes() for p in shards.rglob("*") if p.is_file()} == before


def test_a_changed_input_is_not_partitioned_again_silently(run: Run) -> None:
    run.write_inputs()
    assert run.plan(4).returncode == 0
    before = (run.folder / "_shards" / "partition.json").read_bytes()
    (run.store / "in" / "a.json").unlink()
    run.write_inputs(["late.json", "later.json"])
    _fails(run.plan(4), "the input changed since request req-1 was partitioned (2 objects added, 1 removed)")
    assert (run.folder / "_shards" / "partition.json").read_bytes() == before
    again = run.plan(2, "--repartition")
    assert again.returncode == 0, again.stderr
    assert set(run.partition()["files"]) == set(GOOD + BAD + ["late.json", "later.json"]) - {"a.json"}
    assert sorted(p.name for p in (run.folder / "_shards").iterdir()) == ["0", "1", "partition.json"]


def test_plan_starts_a_run_afresh(run: Run) -> None:
    run.write_inputs()
    run.complete(2)
    assert run.merge(2).returncode == 0
    assert (run.folder / "_SUCCESS").exists()
    assert run.plan(2).returncode == 0
    assert not (run.folder / "_SUCCESS").exists()
    left = sorted(str(p.relative_to(run.folder)) for p in (run.folder / "_shards").rglob("*") if p.is_file())
    assert left == ["_shards/0/files.txt", "_shards/1/files.txt", "_shards/partition.json"]
    assert (run.folder / "_manifest.json").exists()  # outputs and manifest stay until merge replaces them


def test_plan_takes_the_request_id_from_the_run_uid(run: Run) -> None:
    run.write_inputs(["a.json"])
    run.rid = ""
    results = ["--results-dir", str(run.tmp / "results")]
    env = {"ODAHU_RUN_UID": "uid-7"}
    planned = run.shard("plan", "--source", "data:in", "--shards", "2", *results, env=env)
    assert planned.returncode == 0, planned.stderr
    assert (run.store / "out" / "uid-7" / "_shards" / "partition.json").exists()
    assert run.result("request-id") == "uid-7"  # the id every task of the run goes on with


def test_a_missing_source_fails_clearly(run: Run) -> None:
    _fails(run.plan(2), "shard: error: list the input: rclone exited 3")
    assert not (run.tmp / "results").exists()


# --- merge ------------------------------------------------------------------------------------------


def test_merge_writes_one_manifest_naming_each_files_shard(run: Run) -> None:
    inputs = run.write_inputs()
    run.complete(3)
    merged = run.merge(3)
    assert merged.returncode == 0, merged.stderr
    assert f"3 shards, {len(GOOD)} outputs, {len(BAD)} rejected files, 0 stale files removed" in merged.stdout
    assert (run.folder / "_SUCCESS").read_bytes() == b""
    owner = run.partition()["files"]
    doc = run.manifest()
    assert set(doc) == {"request_id", "service", "source", "model_name", "model_version", "image", "counts",
                        "inputs", "outputs", "rejected", "rejected_shards", "shards"}  # fmt: skip
    assert (doc["request_id"], doc["service"], doc["image"], doc["shards"]) == (run.rid, "svc", "img:1", 3)
    assert [(e["file"], e["shard"]) for e in doc["inputs"]] == sorted((n, owner[n]) for n in GOOD)
    assert [(e["file"], e["shard"]) for e in doc["outputs"]] == sorted((n, owner[n]) for n in GOOD)
    assert all(len(e["sha256"]) == 64 for e in doc["outputs"])
    assert doc["rejected"] == {"input": sorted(BAD), "output": []}
    assert doc["rejected_shards"] == {"input": {n: owner[n] for n in BAD}, "output": {}}
    assert doc["counts"]["input"] == {"checked": 28, "valid": 26, "rejected": 2, "missing": 0, "files": 26}
    assert doc["counts"]["output"] == {"checked": 26, "valid": 26, "rejected": 0, "missing": 0, "files": 26}
    report = json.loads((run.folder / "_rejected" / "input" / "_report.json").read_text())
    assert (report["kind"], report["checked"], report["valid"], report["rejected"]) == ("request", 28, 26, 2)
    assert [(e["file"], e["shard"], e["errors"][0]["rule"]) for e in report["files"]] == [
        (n, owner[n], "R0") for n in sorted(BAD)
    ]
    assert report["policy"] == {"passed": True, "rule": "up to 100 rejected"}
    output_report = json.loads((run.folder / "_rejected" / "output" / "_report.json").read_text())
    assert (output_report["checked"], output_report["missing"]) == (26, [])
    for name in BAD:
        assert (run.folder / "_rejected" / "input" / name).read_bytes() == inputs[name]
    first = (run.folder / "_manifest.json").read_bytes()
    assert run.merge(3).returncode == 0
    assert (run.folder / "_manifest.json").read_bytes() == first  # a rerun gives the same bytes


def test_a_failed_shard_fails_the_run_and_a_rerun_completes_it(run: Run) -> None:
    run.write_inputs()
    assert run.plan(3).returncode == 0
    run.run_shards(3, skip=(1,))  # shard 1 fails before its sync-output step
    (run.folder / "_SUCCESS").write_bytes(b"")  # left by an earlier run of this request
    _fails(run.merge(3), "1 of 3 shards wrote no manifest (shards 1): they failed or did not finish")
    assert not (run.folder / "_SUCCESS").exists()
    assert not (run.folder / "_manifest.json").exists()
    # The rerun: the plan keeps the partition and drops the old manifests; every shard runs again.
    assert run.plan(3).returncode == 0
    _fails(run.merge(3), "3 of 3 shards wrote no manifest (shards 0, 1, 2)")
    run.run_shards(3)
    merged = run.merge(3)
    assert merged.returncode == 0, merged.stderr
    assert (run.folder / "_SUCCESS").exists()
    assert len(run.manifest()["inputs"]) == len(GOOD)


def test_a_shard_retried_on_its_own_completes_the_run(run: Run) -> None:
    run.write_inputs()
    assert run.plan(2).returncode == 0
    run.run_shards(2, skip=(0,))
    _fails(run.merge(2), "1 of 2 shards wrote no manifest (shards 0)")
    run.upload(0, run.process(0))
    assert run.merge(2).returncode == 0
    assert (run.folder / "_SUCCESS").exists()


def test_merge_deletes_what_no_shard_wrote(run: Run) -> None:
    run.write_inputs()
    assert run.plan(2).returncode == 0
    stale = ["old.json", "sub/b.json.partial", "_rejected/input/gone.txt", "_rejected/0/input/x.json"]
    kept = ["_manifest-0.json", "_shards/7/files.txt"]  # outside a single run's sync scope too
    for name in stale + kept:
        (run.folder / name).parent.mkdir(parents=True, exist_ok=True)
        (run.folder / name).write_text("stale")
    run.run_shards(2)
    merged = run.merge(2)
    assert merged.returncode == 0, merged.stderr
    assert "4 stale files removed" in merged.stdout
    assert [name for name in stale if (run.folder / name).exists()] == []
    assert all((run.folder / name).exists() for name in kept + GOOD)


def test_merge_keeps_files_whose_names_rclone_shows_with_look_alikes(run: Run) -> None:
    # rclone lists "tab\tx.json" as "tab\u2409x.json"; the shard's disk, and so its manifest, has the tab.
    run.write_inputs(["tab\tx.json", "lit\u2409y.json", "del\x7fz.json", "a.json"])
    run.complete(2)
    assert set(run.partition()["files"]) == {
        "tab\u2409x.json",
        "lit\u201b\u2409y.json",
        "del\u2421z.json",
        "a.json",
    }
    merged = run.merge(2)
    assert merged.returncode == 0, merged.stderr
    assert "0 stale files removed" in merged.stdout
    assert [e["file"] for e in run.manifest()["outputs"]] == [
        "a.json",
        "del\x7fz.json",
        "lit\u2409y.json",
        "tab\tx.json",
    ]
    assert all((run.folder / name).exists() for name in ("tab\tx.json", "lit\u2409y.json", "del\x7fz.json"))


def test_merge_refuses_two_shards_writing_one_output(run: Run) -> None:
    run.write_inputs()
    run.complete(2)
    theirs = json.loads((run.folder / "_shards" / "0" / "_manifest.json").read_text())["outputs"][0]
    mine = json.loads((run.folder / "_shards" / "1" / "_manifest.json").read_text())["outputs"]
    run.edit_shard_manifest(1, outputs=[*mine, theirs])
    _fails(run.merge(2), f"shards 0 and 1 both wrote the output {theirs['file']!r}; names must differ")
    assert not (run.folder / "_SUCCESS").exists()


def test_merge_refuses_a_shard_that_missed_files_of_its_list(run: Run) -> None:
    run.write_inputs()
    run.complete(2)
    inputs = json.loads((run.folder / "_shards" / "1" / "_manifest.json").read_text())["inputs"]
    run.edit_shard_manifest(1, inputs=inputs[1:])
    listed = len((run.folder / "_shards" / "1" / "files.txt").read_text().splitlines())
    _fails(run.merge(2), f"shard 1 processed {listed - 1} input files, its list holds {listed}")


def test_merge_refuses_shards_that_ran_different_models(run: Run) -> None:
    run.write_inputs()
    run.complete(2)
    run.edit_shard_manifest(1, model_version="2")
    _fails(run.merge(2), "the shards disagree on model_version: 1 / 2")


def test_merge_refuses_an_output_that_is_not_there(run: Run) -> None:
    run.write_inputs()
    run.complete(2)
    (run.folder / "a.json").unlink()
    _fails(run.merge(2), f"1 files the shards list are not in data:out/{run.rid}, e.g. 'a.json'")
    assert not (run.folder / "_SUCCESS").exists()


def test_merge_applies_the_rejection_policy_to_the_whole_run(run: Run) -> None:
    run.write_inputs()
    run.complete(2)
    _fails(run.merge(2, "--max-rejected", "1"), "input validation of the whole run: 2 of 28 files rejected")
    assert not (run.folder / "_SUCCESS").exists()
    # The verdict comes after the upload: the run's reports and manifest are in storage all the same.
    failed = json.loads((run.folder / "_rejected" / "input" / "_report.json").read_text())
    assert failed["policy"] == {"passed": False, "rule": "up to 1 rejected (whole run)"}
    assert len(run.manifest()["rejected"]["input"]) == 2
    assert run.merge(2, "--max-rejected", "2").returncode == 0
    report = json.loads((run.folder / "_rejected" / "input" / "_report.json").read_text())
    assert report["policy"] == {"passed": True, "rule": "up to 2 rejected (whole run)"}


def test_merge_needs_the_plan_and_its_shard_count(run: Run) -> None:
    run.write_inputs()
    _fails(run.merge(2), "_shards/partition.json is missing: shard.py plan did not run for req-1")
    assert run.plan(2).returncode == 0
    _fails(run.merge(3), "request req-1 has 2 shards, not 3")


def test_plan_runs_on_python_3_9(run: Run, flat_runtime: Path) -> None:
    run.write_inputs(["a.json", "sub/b.json"])
    args = ["plan", "--source", "data:in", "--dest", "data:out", "--request-id", run.rid, "--shards", "2"]
    args += ["--rclone", run.remote["rclone"], "--config", run.remote["config"]]
    result = subprocess.run(
        [_python39(), str(flat_runtime / "shard.py"), *args], capture_output=True, text=True, check=False,
        env=clean_env({"ODAHU_RUN_UID": "uid-1"}),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert run.partition()["shards"] == 2


def test_plan_never_takes_a_folder_of_other_data_or_another_job(run: Run) -> None:
    run.write_inputs()
    run.folder.mkdir(parents=True)
    (run.folder / "theirs.csv").write_text("private")
    _fails(run.plan(2), "holds 1 objects that no run wrote (e.g. 'theirs.csv')")
    assert sorted(p.name for p in run.folder.iterdir()) == ["theirs.csv"], "nothing written, nothing deleted"
    (run.folder / "theirs.csv").unlink()
    run.complete(2)
    assert run.merge(2).returncode == 0
    other = run.shard("plan", "--source", "data:elsewhere", "--shards", "2")
    _fails(other, "holds the work of another job")
    assert (run.folder / "_SUCCESS").exists(), "the other job's work stands"


def test_merge_stops_when_another_run_claimed_the_folder(run: Run) -> None:
    run.write_inputs()
    run.complete(2)
    # A second PipelineRun of the same job planned meanwhile: it owns the folder now.
    second = run.shard("plan", "--source", "data:in", "--shards", "2", env={"ODAHU_RUN_UID": "uid-2"})
    assert second.returncode == 0, second.stderr
    run.run_shards(2)
    _fails(run.merge(2), "claimed by run 'uid-2' while run 'pipelinerun-uid-1' wrote it")
    assert not (run.folder / "_SUCCESS").exists()
