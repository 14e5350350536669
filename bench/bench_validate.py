"""Benchmark of compiler/runtime/validate.py against the floor of json.load over the same files.

Two data sets are generated into a temp dir: 40 requests of ~5 MB (one flat FP32 tensor each) and 10,000 small
requests. Measured for each, in interleaved rounds (best time kept): the floor (``json.load`` of every file,
one process); the checks alone (read + parse + every rule, one process); the program as validate-input
runs it, in place (walk + checks + report + facts), with one process and with the machine's cores; and, for
comparison, the form that links each valid file into another folder (as validate-output does), with the
links alone. Prints files/s, MB/s and the ratios to the floor.

Run: python bench/bench_validate.py [--repeat N] [--big N] [--small N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from compiler.runtime import _files, validate
from compiler.runtime._common import walk_files
from compiler.runtime.v2rules import Profile, check


def _big_request(rng: random.Random, target: int) -> bytes:
    count = target // 10  # "-12.3456, " is about 10 bytes
    data = [round(rng.uniform(-100.0, 100.0), 4) for _ in range(count)]
    doc = {"id": "big", "inputs": [{"name": "x", "shape": [count], "datatype": "FP32", "data": data}]}
    return json.dumps(doc).encode()


def _small_request(rng: random.Random, i: int) -> bytes:
    doc = {
        "id": f"r{i}",
        "inputs": [
            {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [[rng.random() for _ in range(4)]]},
            {"name": "k", "shape": [2], "datatype": "INT64", "data": [i, -i]},
        ],
    }
    return json.dumps(doc).encode()


def generate(root: str, big: int, small: int) -> tuple[str, str]:
    rng = random.Random(7)
    big_dir, small_dir = os.path.join(root, "big"), os.path.join(root, "small")
    os.makedirs(big_dir)
    os.makedirs(os.path.join(small_dir, "part"))
    payload = _big_request(rng, 5 << 20)
    for i in range(big):
        with open(os.path.join(big_dir, f"req-{i:03d}.json"), "wb") as fh:
            fh.write(payload)
    for i in range(small):
        sub = "part/" if i % 2 else ""
        with open(os.path.join(small_dir, f"{sub}req-{i:05d}.json"), "wb") as fh:
            fh.write(_small_request(rng, i))
    return big_dir, small_dir


def bench(name: str, src: str, work: str, repeat: int, cores: int) -> None:
    rels = walk_files(src)
    files = [os.path.join(src, rel) for rel in rels]
    total = sum(os.path.getsize(p) for p in files)
    valid, rejected = os.path.join(work, "valid"), os.path.join(work, "rejected")

    def reset() -> None:
        shutil.rmtree(valid, ignore_errors=True)
        shutil.rmtree(rejected, ignore_errors=True)

    def floor() -> None:
        for path in files:
            with open(path) as fh:
                json.load(fh)

    def checks_only() -> None:
        profile = Profile()
        for path in files:
            found, _ = check(_files.read_bytes(path), "request", profile)
            assert not found.errors, found.errors

    def links_only() -> None:
        made: set[str] = set()
        for rel in rels:
            _files.link(os.path.join(src, rel), os.path.join(valid, rel), made)

    def program(jobs: int, into: str) -> Callable[[], None]:
        args = ["request", src, "--valid", into, "--rejected", rejected, "--jobs", str(jobs), "--quiet"]
        if into == src:  # as validate-input runs: it also keeps the requests' facts for validate-output
            args += ["--facts", os.path.join(rejected, "facts.json")]
        return lambda: _quiet(lambda: validate.main(args))

    measures: list[tuple[str, Callable[[], None]]] = [
        ("json.load floor (1 process)", floor),
        ("checks only (1 process)", checks_only),
        ("in place --jobs 1 (the Task's)", program(1, src)),
        (f"in place --jobs {cores}", program(cores, src)),
        ("hard links only", links_only),
        ("links to --valid --jobs 1", program(1, valid)),
        (f"links to --valid --jobs {cores}", program(cores, valid)),
    ]
    best = {label: float("inf") for label, _ in measures}
    for _ in range(repeat):  # rounds interleave the measures, so a burst of load hits them alike
        for label, fn in measures:
            reset()
            start = time.perf_counter()
            fn()
            best[label] = min(best[label], time.perf_counter() - start)
    rows = list(best.items())
    reset()
    base = rows[0][1]
    print(f"\n{name}: {len(files)} files, {total / 1e6:.1f} MB")
    print(f"  {'':32} {'seconds':>8} {'files/s':>9} {'MB/s':>8} {'x floor':>8}")
    for label, seconds in rows:
        print(
            f"  {label:32} {seconds:8.3f} {len(files) / seconds:9.0f} {total / 1e6 / seconds:8.1f}"
            f" {seconds / base:8.2f}"
        )


def _quiet(fn: Callable[[], int]) -> None:
    saved = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    try:
        assert fn() == 0
    finally:
        sys.stdout.close()
        sys.stdout = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best time of each measure is kept")
    parser.add_argument("--big", type=int, default=40, help="number of 5 MB requests")
    parser.add_argument("--small", type=int, default=10000, help="number of small requests")
    parser.add_argument("--dir", help="work folder (default: a fresh temp dir, removed afterwards)")
    args = parser.parse_args()
    cores = _files.cores()
    root = tempfile.mkdtemp(prefix="bench-validate-", dir=args.dir)
    try:
        big_dir, small_dir = generate(root, args.big, args.small)
        print(
            f"python {sys.version.split()[0]}, {cores} cores, data in {root}, load {os.getloadavg()[0]:.2f}"
        )
        bench("big FP32 requests", big_dir, os.path.join(root, "out-big"), args.repeat, cores)
        bench("small requests", small_dir, os.path.join(root, "out-small"), args.repeat, cores)
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other jobs skew the figures)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
