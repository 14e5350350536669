"""Benchmark of sharded jobs: the 1,000-file job of ``bench_run.py`` with N = 1 and N = 2 shards.

Data: 1,000 V2 inference requests of about 100 KB in a bucket of an S3 server on 127.0.0.1, the
multiplier example's predictor with its model baked in (bound from the host), as in ``bench_run.py``.
N = 1 is the service's Task as one TaskRun; N = 2 is the compiled PipelineRun, run by ``odahu-batch run``:
the plan task, the two shards' TaskRuns as parallel local processes, the merge task. Rounds interleave
the two; the best time of each is kept, with the CPU seconds it used (its processes and the S3 server's)
and where its time went (each TaskRun's steps, from the run directories' ``summary.json``). The CPU
seconds give a bound no implementation can pass on this machine: N = 2 cannot take less wall time than
N = 1's CPU work divided by the cores (sharding adds work, it never removes any).

Two S3 servers: moto (one Python process: every byte of both shards goes through one core, the one the
shards also need) and rclone's own ``rclone serve s3`` (Go, threaded; a store that scales, as a real one
does). Prints, for each, both times and the speed-up (target >= 1.6x on a 2-core machine), then the
compiled size of a sharded service for N = 2 and N = 64 (target: equal but for the digits of N).

Run: python bench/bench_shard.py [--repeat N] [--files N] [--kb N] [--store moto|rclone|both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_run import Floor, app_folder, generate  # noqa: E402

from compiler.pipeline import compile  # noqa: E402
from tests.e2e.test_run_support import BAKED, Store, odahu_run, s3_store, service, write_specs  # noqa: E402
from tests.e2e.test_run_support import job as e2e_job  # noqa: E402
from tests.support.servers import MotoS3Server, RcloneS3Server  # noqa: E402

TARGET = 1.6
SERVERS: dict[str, type[MotoS3Server]] = {"moto": MotoS3Server, "rclone": RcloneS3Server}


def write(folder: Path, store: Store, parallelism: int = 1) -> Path:
    svc = service(model=BAKED)
    svc["spec"]["parallelism"] = parallelism
    jobs = [e2e_job(f"bench-{n}", f"n{n}", parallelism=n) for n in (1, 2)]
    return write_specs(folder, [store], svc, jobs)


def compiled_size(work: Path, parallelism: int) -> tuple[int, int]:
    """(files, bytes) of the compiled tree of a sharded service with ``parallelism`` and its jobs."""
    connection: dict[str, object] = {
        "type": "s3",
        "uri": "s3://bucket",
        "region": "us-east-1",
        "endpoint": "http://127.0.0.1:9000",
    }
    connection["credentials"] = {"secretRef": {"name": "data-credentials"}}
    spec = write(work / f"size-{parallelism}", Store("data", connection, "srv:bucket"), parallelism)
    out = work / f"build-{parallelism}"
    result = compile([spec], out)
    assert result.ok, result.diagnostics
    files = [p for p in out.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def step_times(runs: Path) -> dict[str, dict[str, float]]:
    """Every TaskRun's step durations under ``runs``: {TaskRun directory: {step: seconds}}."""
    found: dict[str, dict[str, float]] = {}
    for path in sorted(runs.rglob("summary.json")):
        summary = json.loads(path.read_text())
        if "steps" in summary:
            found[path.parent.name] = {s["name"]: s["durationSeconds"] or 0.0 for s in summary["steps"]}
    return found


class Measure(NamedTuple):
    seconds: float  # wall time of the whole job
    cpu: float  # CPU seconds of the job's processes (every step, the runner) and of the S3 server
    steps: dict[str, dict[str, float]]


def server_cpu(pid: int | None) -> float:
    """CPU seconds the server process has used so far (user + system, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Part(NamedTuple):
    seconds: float
    cpu: float  # of its processes and the S3 server


def measured(fn: Callable[[], None], server_pid: int | None) -> Part:
    before, served = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(server_pid)
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Part(seconds, cpu + server_cpu(server_pid) - served)


# The least work a check of each file can do: parse it (bench_validate.py's floor), in a process of its own.
PARSE = """import json, os, sys
for name in os.listdir(sys.argv[1]):
    with open(os.path.join(sys.argv[1], name), "rb") as fh:
        json.load(fh)
"""


def parse(folder: Path) -> Callable[[], None]:
    def run() -> None:
        subprocess.run([sys.executable, "-c", PARSE, str(folder)], check=True)

    return run


def floor_parts(server: MotoS3Server, work: Path, store: Store) -> dict[str, Part]:
    """What any implementation of the job must do, each part alone: transfers, parses, the predictor."""
    bucket = store.root.split(":", 1)[1]
    floor = Floor(work, work / "app", bucket, store.remote_env)
    floor.reset()
    steps = {
        "download": floor.download,
        "parse input": parse(floor.inputs),
        "predictor": floor.predict,
        "parse output": parse(floor.outputs),
        "upload": floor.upload,
    }
    return {name: measured(fn, server.pid) for name, fn in steps.items()}


def run_job(work: Path, specs: Path, store: Store, n: int) -> None:
    """``odahu-batch run`` of the job with N = ``n``, as a user starts it."""
    done = odahu_run(work, specs, job_name=f"bench-{n}", app=work / "app", secrets=store.secrets)
    if done.code != 0:
        raise SystemExit(f"the job with N = {n} failed:\n{done.text}")


def run(
    server: MotoS3Server, work: Path, files: int, repeat: int
) -> tuple[dict[int, Measure], dict[str, Part]]:
    store = s3_store(server)
    store.upload(work / "data", "input")
    specs = write(work / f"specs-{server.label}", store)
    best: dict[int, Measure] = {}
    floor: dict[str, Part] = {}
    for _ in range(repeat):
        parts = floor_parts(server, work, store)
        floor = {k: min(floor[k], parts[k]) if k in floor else parts[k] for k in parts}
        for n in (1, 2):
            if store.files("output"):
                store.rclone(["purge", store.location("output")])
            shutil.rmtree(work / "runs", ignore_errors=True)
            part = measured(partial(run_job, work, specs, store, n), server.pid)
            listing = store.files(f"output/n{n}")
            assert len([name for name in listing if name.startswith("request-")]) == files, listing[:5]
            assert "_SUCCESS" in listing
            if n not in best or part.seconds < best[n].seconds:
                best[n] = Measure(part.seconds, part.cpu, step_times(work / "runs"))
    return best, floor


def report_floor(floor: dict[str, Part]) -> None:
    """The speed-up no implementation can pass here: N = 1 at its floor, N = 2 with every core busy."""
    cores = os.cpu_count() or 1
    parses = [k for k in floor if k.startswith("parse")]
    # At N = 1 only the checks can use every core; transfers and the predictor take their own time.
    fastest = sum(p.seconds for k, p in floor.items() if k not in parses)
    fastest += sum(floor[k].cpu for k in parses) / cores
    cpu = sum(p.cpu for p in floor.values())
    print("  floor of any implementation, each part alone (s, CPU s incl. the server):")
    print("    " + ", ".join(f"{k} {p.seconds:.2f} ({p.cpu:.2f})" for k, p in floor.items()))
    print(
        f"    N = 1 at the floor: {fastest:.2f} s (parses on {cores} cores); "
        f"N = 2 at best {cpu:.2f} CPU s / {cores} = {cpu / cores:.2f} s: "
        f"at most {fastest / (cpu / cores):.2f}x"
    )


def report(label: str, best: dict[int, Measure]) -> None:
    speedup = best[1].seconds / best[2].seconds
    cores = os.cpu_count() or 1
    # No schedule beats the CPU work divided by the cores: N = 2 needs at least N = 1's CPU seconds / cores.
    bound = best[1].seconds / (best[1].cpu / cores)
    verdict = "meets" if speedup >= TARGET else "misses"
    print(f"\n{label}")
    for n, what in ((1, "one TaskRun"), (2, "PipelineRun, 2 shards")):
        m = best[n]
        print(
            f"  N = {n} ({what}): {m.seconds:6.2f} s, {m.cpu:6.2f} CPU s ({m.cpu / m.seconds:.2f} cores busy)"
        )
    print(f"  speed-up {speedup:.2f}x ({verdict} the target of {TARGET}x)")
    print(
        f"  bound on {cores} cores: N = 1's CPU seconds / {cores} = {best[1].cpu / cores:.2f} s, {bound:.2f}x"
    )
    for n in (1, 2):
        print(f"  where N = {n}'s time went (each TaskRun's steps, s):")
        for taskrun, steps in best[n].steps.items():
            print(f"    {taskrun}: " + ", ".join(f"{name} {sec:.2f}" for name, sec in steps.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best time of each is kept")
    parser.add_argument("--files", type=int, default=1000, help="number of input files")
    parser.add_argument("--kb", type=int, default=100, help="size of each input file, KB")
    parser.add_argument("--store", choices=("moto", "rclone", "both"), default="both", help="the S3 server")
    parser.add_argument("--dir", help="work folder (default: a fresh temp dir, removed afterwards)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-shard-", dir=args.dir))
    try:
        sizes = {n: compiled_size(work, n) for n in (2, 64)}
        total = generate(work / "data", args.files, args.kb)
        app_folder(work / "app")
        print(
            f"input: {args.files} files, {total / 1e6:.1f} MB; {os.cpu_count()} CPUs; best of {args.repeat}"
        )
        for name in ("moto", "rclone") if args.store == "both" else (args.store,):
            with SERVERS[name]() as server:
                best, floor = run(server, work, args.files, args.repeat)
                report(f"S3 server: {server.label}", best)
                report_floor(floor)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    for n, (files, size) in sizes.items():
        print(f"compiled, parallelism {n:<3}      {files} files, {size} bytes")
    print(f"compiled size difference       {sizes[64][1] - sizes[2][1]} bytes (the digits of N)")


if __name__ == "__main__":
    main()
