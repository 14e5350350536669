"""Benchmark of ``odahu-batch compile`` against the floor of dumping its output with PyYAML's C dumper.

Generates 1,000 InferenceServices, 1,000 InferenceJobs and 10 Connections (one spec file per service
and its job) into a temp dir, then, in this process:

* compile: the whole ``pipeline.compile`` (load, validate, resolve, plan, render, guards, emit) into
  an empty folder;
* recompile: the same compile over the written tree, which must write no file (inodes and mtimes
  are compared before and after);
* floor: ``yaml.dump`` with ``CSafeDumper`` of the very same output objects, one string per file.

Each measurement runs ``--repeat`` times, interleaved with the others, and the best run counts.
Prints both figures, the ratio (target: compile <= 3x the floor) and where the time goes, for each
backend (``--target``: tekton, argo, or both, the default), each against the floor of its own output.

Run: python bench/bench_compile.py [--services N] [--repeat N] [--target tekton|argo|both]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from compiler import pipeline
from compiler.backend import BACKENDS, TARGETS, Generated, Target, paused_gc
from compiler.plan.planner import plan
from compiler.runtime_bundle import RuntimeBundle, load_bundle

T = TypeVar("T")
HEAD = "apiVersion: batch.odahu.org/v1alpha1\n"
CONNECTIONS = 10


def _connection(i: int) -> str:
    kind, uri = [("s3", f"s3://bench-{i}/data"), ("gcs", f"gs://bench-{i}/data"),
                 ("azureblob", f"https://bench{i:03d}.blob.core.windows.net/c{i}/data")][i % 3]  # fmt: skip
    creds = f"{{secretRef: {{name: conn-{i}-creds}}}}" if i % 2 else "{workloadIdentity: true}"
    return f"{HEAD}kind: Connection\nmetadata: {{name: conn-{i}}}\nspec:\n  type: {kind}\n  uri: {uri}\n" + (
        f"  credentials: {creds}\n"
    )


def _service_and_job(i: int) -> str:
    conn = f"conn-{i % CONNECTIONS}"
    return f"""\
{HEAD}kind: InferenceService
metadata: {{name: svc-{i:04d}}}
spec:
  image: registry.example.com/predictors/svc-{i:04d}:1.{i % 7}
  command: [python3]
  args: [/opt/app/predictor.py, --threads, "{1 + i % 4}"]
  modelRegistry:
    remote: {{modelConnection: {conn}, modelPath: models/svc-{i:04d}}}
  dataSource: {{connection: {conn}, path: input/svc-{i:04d}}}
  outputDestination: {{connection: {conn}, path: output/svc-{i:04d}}}
  resources:
    requests: {{cpu: 500m, memory: 1Gi}}
    limits: {{cpu: "2", memory: 2Gi{", gpu: 1" if i % 5 == 0 else ""}}}
  nodeSelector: {{pool: batch-{i % 3}}}
  timeout: {30 + i % 90}m
---
{HEAD}kind: InferenceJob
metadata: {{name: job-{i:04d}}}
spec:
  inferenceServiceId: svc-{i:04d}
  dataSource: {{connection: {conn}, path: input/svc-{i:04d}/2026-11-{1 + i % 28:02d}}}
"""


def generate_specs(root: Path, services: int) -> Path:
    specs = root / "specs"
    specs.mkdir()
    (specs / "connections.yaml").write_text("---\n".join(_connection(i) for i in range(CONNECTIONS)))
    for i in range(services):
        (specs / f"svc-{i:04d}.yaml").write_text(_service_and_job(i))
    return specs


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def floor(objects: list[dict[str, Any]]) -> int:
    """The floor: the same objects dumped with the C dumper, one string per file."""
    return sum(len(yaml.dump(o, Dumper=yaml.CSafeDumper, sort_keys=False)) for o in objects)


def one_round(
    specs: Path, out: Path, bundle: RuntimeBundle, target: Target
) -> tuple[dict[str, float], Generated]:
    """One run of every measurement; the stages each run on the previous stage's output."""
    times: dict[str, float] = {}
    backend = BACKENDS[target]
    shutil.rmtree(out, ignore_errors=True)
    times["compile"], result = timed(lambda: pipeline.compile([specs], out, bundle=bundle, target=target))
    assert result.ok, result.diagnostics[:5]
    assert result.generated is not None
    objects = list(result.generated.objects)
    # compile pauses the cyclic GC (see backend.paused_gc); the floor gets the same treatment,
    # which makes it faster and the ratio stricter. The floor with the GC on is shown as well.
    times["floor with gc"], _ = timed(lambda: floor(objects))
    with paused_gc():
        times["floor"], _ = timed(lambda: floor(objects))
    before = snapshot(out.parent)
    times["recompile"], again = timed(lambda: pipeline.compile([specs], out, bundle=bundle, target=target))
    assert again.emitted is not None
    assert not again.emitted.written
    assert snapshot(out.parent) == before, "a no-change recompile wrote files"
    with paused_gc():  # as compile runs them
        times["analyse"], (project, _, _) = timed(lambda: pipeline.analyse([specs], for_cluster=True))
        assert project is not None
        times["plan"], planned = timed(lambda: plan(project, bundle))
        times["render"], docs = timed(lambda: backend.render(planned))
        times["guards"], _ = timed(lambda: backend.check(docs))
    return times, result.generated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=1000, help="services (and as many jobs)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the measurements; the best counts")
    parser.add_argument("--target", choices=(*TARGETS, "both"), default="both", help="the backend(s)")
    args = parser.parse_args()
    targets: tuple[Target, ...] = TARGETS if args.target == "both" else (args.target,)

    with tempfile.TemporaryDirectory(prefix="odahu-bench-") as tmp:
        specs = generate_specs(Path(tmp), args.services)
        bundle = load_bundle()  # read once: the programs must not change between the rounds
        # Rounds interleave the measurements (and the backends) and the best of each counts, so that
        # load from other processes on the machine skews the ratios as little as possible.
        rounds: dict[Target, list[tuple[dict[str, float], Generated]]] = {t: [] for t in targets}
        for _ in range(args.repeat):
            for target in targets:
                rounds[target].append(one_round(specs, Path(tmp) / f"build-{target}", bundle, target))
    for target in targets:
        report(target, rounds[target], args.services)
    return 0


def report(target: Target, rounds: list[tuple[dict[str, float], Generated]], services: int) -> None:
    best = {key: min(times[key] for times, _ in rounds) for key in rounds[0][0]}
    generated = rounds[-1][1]
    floor_s = best["floor"]
    size = sum(len(d.text) for d in generated.docs)
    dumped = floor(list(generated.objects))

    def row(label: str, key: str) -> str:
        return f"{label:34s} {best[key]:8.3f} s   {best[key] / floor_s:5.2f}x floor"

    print(f"== {target}")
    print(f"input: {services} services, {services} jobs, {CONNECTIONS} connections")
    print(f"output: {len(generated.docs)} files, {size / 1e6:.1f} MB (CSafeDumper: {dumped / 1e6:.1f} MB)")
    with_gc = best["floor with gc"]
    print(f"{'floor (CSafeDumper, same objects)':34s} {floor_s:8.3f} s   (with the GC on: {with_gc:.3f} s)")
    print(row("compile (load..emit)", "compile"))
    print(row("recompile, no change (0 written)", "recompile"))
    print("stages:")
    print(row("  load + validate + resolve", "analyse"))
    print(row("  plan", "plan"))
    print(row("  render", "render"))
    print(row("  guards (parse back, rules)", "guards"))
    rest = best["compile"] - sum(best[k] for k in ("analyse", "plan", "render", "guards"))
    print(f"{'  emit and the rest (by difference)':34s} {rest:8.3f} s   {rest / floor_s:5.2f}x floor")


if __name__ == "__main__":
    sys.exit(main())
