"""One look at a run: the cluster's view and the storage's view, joined into ODAHU's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.status.cluster import RunView, shard_views
from compiler.status.states import State
from compiler.status.storage import StorageStatus
from compiler.status.target import Target


@dataclass(frozen=True)
class Report:
    target: Target
    state: State
    reason: str
    run: RunView | None = None
    storage: StorageStatus | None = None
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.target.service,
            "job": self.target.job,
            "requestId": (self.run.request_id if self.run else "") or self.target.request_id,
            "namespace": self.target.namespace,
            "state": self.state,
            "reason": self.reason,
            "run": self.run.as_json() if self.run else None,
            "storage": self.storage.as_json() if self.storage else None,
            "notes": list(self.notes),
        }


def join(
    target: Target, run: RunView | None, storage: StorageStatus | None, notes: tuple[str, ...]
) -> Report:
    """The cluster's condition decides while there is a run; storage's ``_SUCCESS`` otherwise."""
    if run is not None:
        state, reason = run.condition.state, run.condition.reason
        if state == "succeeded" and storage is not None and not storage.success:
            notes += ("the run succeeded but its folder has no _SUCCESS (removed since, or another folder)",)
    elif storage is not None and storage.success:
        state, reason = "succeeded", "_SUCCESS in storage"
    elif storage is not None and storage.found:
        state, reason = "unknown", "files in storage but no _SUCCESS: under way, failed or interrupted"
    else:
        state, reason = "unknown", "no run found"
    return Report(target, state, reason, run, storage, notes)


def text(report: Report) -> str:
    t = report.target
    rid = (report.run.request_id if report.run else "") or t.request_id or "(the run's uid)"
    who = f"job {t.job}" if t.job else "webhook run"
    lines = [f"{who} of service {t.service}, request {rid}, namespace {t.namespace}"]
    lines.append(f"state: {report.state}" + (f" ({report.reason})" if report.reason else ""))
    if report.run is not None:
        lines += _run_lines(report.run, "")
    if report.storage is not None:
        lines += _storage_lines(report.storage)
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def _run_lines(run: RunView, indent: str) -> list[str]:
    c = run.condition
    head = f"{indent}{run.kind} {run.name}: {c.state}" + (f" ({c.reason})" if c.reason else "")
    lines = [head]
    if c.message and c.state != "succeeded":
        lines.append(f"{indent}  message: {c.message}")
    lines.append(f"{indent}  started {run.start or '-'}, finished {run.finish or '-'}")
    if run.pod:
        lines.append(f"{indent}  pod {run.pod}" + (f" ({run.pod_phase})" if run.pod_phase else ""))
    lines += [f"{indent}  step {name}: {state}" for name, state in run.steps]
    shards = shard_views(run)
    others = [child for child in run.children if child not in shards]
    for child in others:
        lines += _run_lines(child, indent + "  ")
    for shard in shards:  # one line each: a run of many shards stays readable
        reason = f" ({shard.condition.reason})" if shard.condition.reason else ""
        lines.append(f"{indent}  shard {shard.name}: {shard.condition.state}{reason}")
    return lines


def _storage_lines(storage: StorageStatus) -> list[str]:
    lines = [f"storage {storage.folder}:"]
    if not storage.found:
        return [*lines, "  empty: nothing uploaded yet"]
    lines.append(
        f"  _SUCCESS {'yes' if storage.success else 'no'}, _manifest.json "
        f"{'yes' if storage.manifest is not None else 'no'}, {storage.outputs} response files"
    )
    for kind, counts in sorted(storage.counts.items()):
        lines.append(f"  {kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    lines += [f"  rejected {r.kind} {r.file}: {r.reason}" for r in storage.rejected]
    if storage.shards is not None:
        lines.append(f"  shards: {len(storage.shards_done)} of {storage.shards} uploaded their manifest")
    return lines
