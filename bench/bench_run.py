"""Benchmark of ``odahu-batch run``: a whole job through a real S3 server against the floor of its transfers.

Data: 1,000 V2 inference requests of about 100 KB (about 100 MB) in a bucket of moto's S3 server on
127.0.0.1, the multiplier example's predictor, its model baked in (bound from the host).

- **floor**: what any way of running this job must do, measured in the same run: ``rclone copy`` of the
  input from the bucket to a folder, the predictor alone on that folder, ``rclone copy`` of its output back
  to the bucket (rclone's default parallelism, as the job's own rclone calls use);
- **job**: ``odahu-batch run`` of the committed job, every step of the compiled Task (configure, sync,
  validation of input and output, feedback (sink ``none``), the predictor, the upload with its manifest
  and ``_SUCCESS``), as a user starts it.

Rounds interleave the two and the best time of each is kept (the machine may be shared). Prints both, the
ratio, the ratio of each round (floor and job measured back to back) with its median, and where the job's
time went. Target: job <= 1.3 x floor.

Run: python bench/bench_run.py [--repeat N] [--files N] [--kb N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_run_support import BAKED, odahu_run, s3_store, service, write_specs  # noqa: E402
from tests.e2e.test_run_support import job as e2e_job  # noqa: E402
from tests.support.rclone import run_rclone  # noqa: E402
from tests.support.servers import MotoS3Server  # noqa: E402

EXAMPLE = ROOT / "examples" / "multiplier"
TARGET = 1.3


def generate(folder: Path, files: int, kb: int) -> int:
    """``files`` requests of about ``kb`` KB each (one INT32 tensor); returns the total bytes."""
    folder.mkdir(parents=True)
    values = kb * 1000 // 7  # "12345, " is 7 bytes in JSON
    total = 0
    for index in range(files):
        data = [(index * 7919 + i) % 100000 for i in range(values)]
        body = {
            "id": f"r{index}",
            "inputs": [{"name": "x", "shape": [values], "datatype": "INT32", "data": data}],
        }
        blob = json.dumps(body).encode()
        (folder / f"request-{index:04d}.json").write_bytes(blob)
        total += len(blob)
    return total


def app_folder(folder: Path) -> Path:
    shutil.copytree(EXAMPLE / "app", folder)
    shutil.copytree(EXAMPLE / "model", folder / "model")
    return folder


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best time of each measure is kept")
    parser.add_argument("--files", type=int, default=1000, help="number of input files")
    parser.add_argument("--kb", type=int, default=100, help="size of each input file, KB")
    parser.add_argument("--dir", help="work folder (default: a fresh temp dir, removed afterwards)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-run-", dir=args.dir))
    try:
        with MotoS3Server() as server:
            run(server, work, args.files, args.kb, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Floor:
    """The floor's parts: ``rclone copy`` of the input down, the predictor alone on it, its output back up."""

    def __init__(self, work: Path, app: Path, bucket: str, env: dict[str, str]) -> None:
        self.work, self.app, self.bucket, self.env = work, app, bucket, env
        self.inputs, self.outputs = work / "floor-in", work / "floor-out"

    def reset(self) -> None:
        for folder in (self.inputs, self.outputs):
            shutil.rmtree(folder, ignore_errors=True)
        run_rclone(["purge", f"srv:{self.bucket}/floor-output"], env=self.env, check=False)

    def download(self) -> None:
        run_rclone(["copy", f"srv:{self.bucket}/input", self.inputs], env=self.env, timeout=900)

    def predict(self) -> None:
        self.outputs.mkdir()
        env = {
            **os.environ,
            "ODAHU_MODEL_PATH": str(self.app / "model"),
            "ODAHU_INPUT_PATH": str(self.inputs),
            "ODAHU_OUTPUT_PATH": str(self.outputs),
        }
        # Its per-file lines go nowhere, as the job's go to a log file.
        predictor = [sys.executable, str(self.app / "predictor.py")]
        subprocess.run(predictor, env=env, stdout=subprocess.DEVNULL, check=True)

    def upload(self) -> None:
        run_rclone(["copy", self.outputs, f"srv:{self.bucket}/floor-output"], env=self.env, timeout=900)


def run(server: MotoS3Server, work: Path, files: int, kb: int, repeat: int) -> None:
    store = s3_store(server)
    bucket, env = store.root.split(":", 1)[1], store.remote_env
    total = generate(work / "data", files, kb)
    store.upload(work / "data", "input")
    app = app_folder(work / "app")
    specs = write_specs(work / "specs", [store], service(model=BAKED), [e2e_job("bench", "bench")])
    floor = Floor(work, app, bucket, env)

    def job() -> None:
        done = odahu_run(work, specs, job_name="bench", app=app, secrets=store.secrets)
        if done.code != 0:
            raise SystemExit(f"the job failed:\n{done.text}")

    best = {"download": float("inf"), "predict": float("inf"), "upload": float("inf"), "job": float("inf")}
    floor_best = float("inf")
    steps: dict[str, float] = {}
    ratios: list[float] = []  # job / floor of each round, the two measured back to back
    for _ in range(repeat):  # rounds interleave floor and job, so a burst of load hits them alike
        floor.reset()
        parts = {
            "download": timed(floor.download),
            "predict": timed(floor.predict),
            "upload": timed(floor.upload),
        }
        floor_best = min(floor_best, sum(parts.values()))
        round_floor = sum(parts.values())
        for key, seconds in parts.items():
            best[key] = min(best[key], seconds)
        run_rclone(["purge", f"srv:{bucket}/output"], env=env, check=False)
        seconds = timed(job)
        ratios.append(seconds / round_floor)
        if seconds < best["job"]:
            best["job"] = seconds
            summary = json.loads(next((work / "runs").glob("bench-*/summary.json")).read_text())
            steps = {s["name"]: s["durationSeconds"] for s in summary["steps"]}
    outputs = run_rclone(["lsf", "-R", "--files-only", f"srv:{bucket}/output/bench"], env=env).stdout.split()
    assert len([o for o in outputs if o.startswith("request-")]) == files, (
        "the job did not upload every output"
    )

    report(files, total, repeat, best, floor_best, steps, ratios)


# The job's steps by what they do; what the floor also does is "transfers + predictor".
GROUPS = {
    "transfers + predictor": ("sync-data", "sync-model", "user-container", "sync-output"),
    "validation": ("validate-input", "validate-output"),
    "configure + feedback": ("configure-rclone", "log-input", "log-output"),
}


def report(
    files: int,
    total: int,
    repeat: int,
    best: dict[str, float],
    floor: float,
    steps: dict[str, float],
    ratios: list[float],
) -> None:
    ratio = best["job"] / floor
    machine = f"python {sys.version.split()[0]}, {os.cpu_count()} cores"
    print(f"{machine}; {files} files, {total / 1e6:.1f} MB, moto S3; best of {repeat} rounds")
    parts = " + ".join(f"{key} {best[key]:.2f}" for key in ("download", "predict", "upload"))
    print(f"  floor: {floor:7.2f} s   (best parts: {parts})")
    groups = {name: sum(steps.get(s, 0.0) for s in members) for name, members in GROUPS.items()}
    groups["runner (start, compile, clean-up)"] = best["job"] - sum(steps.values())
    print(f"  job:   {best['job']:7.2f} s   (" + " + ".join(f"{k} {v:.2f}" for k, v in groups.items()) + ")")
    print(f"  job / floor: {ratio:.2f}   (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")
    each = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"  job / floor of each round: {each}; median {statistics.median(ratios):.2f}")
    print("  job's steps, s: " + ", ".join(f"{name} {sec:.2f}" for name, sec in steps.items()))


if __name__ == "__main__":
    main()
