"""Benchmark of sharded jobs: the 1,000-file job of ``bench_run.py`` with N = 1 and N = 2 shards.

Data: 1,000 V2 inference requests of about 100 KB in a bucket of moto's S3 server on 127.0.0.1, the
multiplier example's predictor with its model baked in (bound from the host), as in ``bench_run.py``.
N = 1 is the service's Task as one TaskRun; N = 2 is the compiled PipelineRun, run by ``odahu-batch run``:
the plan task, the two shards' TaskRuns as parallel local processes, the merge task. Rounds interleave
the two; the best time of each is kept. Prints both, the speed-up (target >= 1.6x on a 2-core machine),
and the compiled size of a sharded service for N = 2 and N = 64 (target: equal but for the digits of N).

Run: python bench/bench_shard.py [--repeat N] [--files N] [--kb N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_run import app_folder, generate  # noqa: E402

from compiler.pipeline import compile  # noqa: E402
from tests.support.rclone import run_rclone  # noqa: E402
from tests.support.servers import MotoS3Server, unique_bucket  # noqa: E402

API = "batch.odahu.org/v1alpha1"
TARGET = 1.6


def specs(server: MotoS3Server | None, bucket: str, parallelism: int = 1) -> list[dict[str, object]]:
    def doc(kind: str, name: str, spec: Mapping[str, object]) -> dict[str, object]:
        return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}

    connection = {
        "type": "s3",
        "uri": f"s3://{bucket}",
        "region": server.region if server else "us-east-1",
        "endpoint": server.endpoint if server else "http://127.0.0.1:9000",
        "pathStyle": True,
        "credentials": {"secretRef": {"name": "bench-s3"}},
    }
    service = {
        "image": "docker.io/library/python:3.12-slim",
        "command": ["python3"],
        "args": ["/opt/app/predictor.py"],
        "modelRegistry": {
            "local": {"modelPath": "/opt/app/model", "meta": {"name": "multiplier", "version": "1"}}
        },
        "dataSource": {"connection": "data", "path": "input"},
        "outputDestination": {"connection": "data", "path": "output"},
        "parallelism": parallelism,
    }
    jobs = [
        doc(
            "InferenceJob",
            f"bench-{n}",
            {"inferenceServiceId": "multiplier", "requestId": f"n{n}", "parallelism": n},
        )
        for n in (1, 2)
    ]
    return [doc("Connection", "data", connection), doc("InferenceService", "multiplier", service), *jobs]


def write(folder: Path, docs: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "specs.yaml").write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    return folder


def compiled_size(work: Path, parallelism: int) -> tuple[int, int]:
    """(files, bytes) of the compiled tree of a sharded service with ``parallelism`` and its jobs."""
    spec = write(work / f"size-{parallelism}", specs(None, "bucket", parallelism))
    out = work / f"build-{parallelism}"
    result = compile([spec], out)
    assert result.ok, result.diagnostics
    files = [p for p in out.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best time of each is kept")
    parser.add_argument("--files", type=int, default=1000, help="number of input files")
    parser.add_argument("--kb", type=int, default=100, help="size of each input file, KB")
    parser.add_argument("--dir", help="work folder (default: a fresh temp dir, removed afterwards)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-shard-", dir=args.dir))
    try:
        sizes = {n: compiled_size(work, n) for n in (2, 64)}
        with MotoS3Server() as server:
            best = run(server, work, args.files, args.kb, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    speedup = best[1] / best[2]
    print(f"input: {args.files} files of about {args.kb} KB; {os.cpu_count()} CPUs; best of {args.repeat}")
    print(f"N = 1 (one TaskRun)            {best[1]:8.2f} s")
    print(f"N = 2 (PipelineRun, 2 shards)  {best[2]:8.2f} s")
    verdict = "meets" if speedup >= TARGET else "misses"
    print(f"speed-up                       {speedup:8.2f} x   ({verdict} the target of {TARGET}x)")
    for n, (files, size) in sizes.items():
        print(f"compiled, parallelism {n:<3}      {files} files, {size} bytes")
    print(f"compiled size difference       {sizes[64][1] - sizes[2][1]} bytes (the digits of N)")


def run(server: MotoS3Server, work: Path, files: int, kb: int, repeat: int) -> dict[int, float]:
    bucket = unique_bucket("bench")
    server.create_bucket(bucket)
    env = server.rclone_env("srv")
    generate(work / "data", files, kb)
    run_rclone(["copy", work / "data", f"srv:{bucket}/input"], env=env, timeout=900)
    app = app_folder(work / "app")
    folder = write(work / "specs", specs(server, bucket))
    secrets = work / "secrets.json"
    secrets.write_text(json.dumps({"bench-s3": {"accessKeyID": "test", "secretAccessKey": "test"}}))
    base = [sys.executable, "-m", "compiler.cli", "run", str(folder), "--workdir", str(work / "runs")]
    base += ["--bind", f"{app}:/opt/app", "--secrets-file", str(secrets)]
    best = {1: float("inf"), 2: float("inf")}
    for _ in range(repeat):
        for n in (1, 2):
            run_rclone(["purge", f"srv:{bucket}/output"], env=env, check=False)
            start = time.perf_counter()
            done = subprocess.run([*base, "--job", f"bench-{n}"], cwd=work, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"the job with N = {n} failed:\n{done.stdout}\n{done.stderr}")
            listing = run_rclone(["lsf", "-R", "--files-only", f"srv:{bucket}/output/n{n}"], env=env).stdout
            outputs = [name for name in listing.split() if name.startswith("request-")]
            assert len(outputs) == files, f"N = {n}: {len(outputs)} outputs, not {files}"
            assert "_SUCCESS" in listing.split()
            best[n] = min(best[n], seconds)
    return best


if __name__ == "__main__":
    main()
