"""A service's run as a Mermaid flowchart, read off the compiled documents (never drawn by hand).

The service's Task gives the steps in order, each with its image, the volumes it mounts (``ro`` when
read-only) and whether it sees credentials: Secret values in its environment (``secretKeyRef``), or
the rclone config volume those are written to. A service with a sharded Pipeline is drawn inside it:
the plan task, the Task run once per shard (a matrix over the plan's shard ids), the merge task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from compiler import naming as n

Doc = Mapping[str, Any]
_SECRET_ENV = "secret env"
_CONFIG = "rclone config"


def services(objects: Iterable[Doc]) -> list[str]:
    """Names of the services that compiled to a Task, sorted."""
    return sorted(
        _label(o, n.LABEL_SERVICE) for o in objects if o.get("kind") == "Task" and _label(o, n.LABEL_SERVICE)
    )


def mermaid(objects: Sequence[Doc], service: str) -> str:
    """The flowchart of ``service``'s run; KeyError when no Task of that service was compiled."""
    task = _find(objects, "Task", service)
    if task is None:
        raise KeyError(service)
    pipeline = _find(objects, "Pipeline", service)
    lines = ["flowchart TD"]
    if pipeline is None:
        lines += _task_chart(task, "run", f"TaskRun of Task {task['metadata']['name']}", "  ")
    else:
        lines += _pipeline_chart(pipeline, task)
    lines += [
        "  classDef creds fill:#fde2e1,stroke:#c0392b",
        "  classDef user fill:#e1effd,stroke:#2e6da4",
    ]
    return "\n".join(lines) + "\n"


def _label(obj: Doc, key: str) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(key, ""))


def _find(objects: Iterable[Doc], kind: str, service: str) -> Doc | None:
    found = [o for o in objects if o.get("kind") == kind and _label(o, n.LABEL_SERVICE) == service]
    return found[0] if found else None


def _quote(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _credentials(step: Doc) -> list[str]:
    seen = []
    if any("secretKeyRef" in (e.get("valueFrom") or {}) for e in step.get("env") or []):
        seen.append(_SECRET_ENV)
    if any(m.get("name") == n.VOLUME_CONFIG for m in step.get("volumeMounts") or []):
        seen.append(_CONFIG)
    return seen


def _mounts(step: Doc) -> str:
    parts = []
    for mount in step.get("volumeMounts") or []:
        short = str(mount["name"]).removeprefix("odahu-")
        parts.append(short + (" ro" if mount.get("readOnly") else ""))
    return ", ".join(parts) or "no volumes"


def _step_node(node: str, index: int, step: Doc) -> tuple[str, str]:
    creds = _credentials(step)
    label = [f"{index}. {step['name']}", str(step.get("image", "")), f"volumes: {_mounts(step)}"]
    label.append("credentials: " + (" + ".join(creds) if creds else "none"))
    css = "user" if step["name"] == n.STEP_USER else ("creds" if creds else "")
    line = f"{node}[{_quote('<br/>'.join(label))}]" + (f":::{css}" if css else "")
    return line, node


def _task_chart(spec_holder: Doc, prefix: str, title: str, indent: str) -> list[str]:
    """A subgraph of the steps of a Task (or a pipeline task's inline taskSpec), chained in order."""
    spec = spec_holder.get("spec") or spec_holder.get("taskSpec") or {}
    lines = [f"{indent}subgraph {prefix}[{_quote(title)}]", f"{indent}  direction TB"]
    nodes = []
    for index, step in enumerate(spec.get("steps") or [], start=1):
        line, node = _step_node(f"{prefix}_{index}", index, step)
        lines.append(f"{indent}  {line}")
        nodes.append(node)
    if len(nodes) > 1:
        lines.append(f"{indent}  " + " --> ".join(nodes))
    lines.append(f"{indent}end")
    return lines


def _pipeline_chart(pipeline: Doc, task: Doc) -> list[str]:
    name = pipeline["metadata"]["name"]
    lines = [f"  subgraph pipeline[{_quote(f'PipelineRun of Pipeline {name}')}]", "    direction TB"]
    for ptask in pipeline["spec"].get("tasks") or []:
        pname = str(ptask["name"])
        if "taskRef" in ptask:
            matrix = ", ".join(p["name"] for p in (ptask.get("matrix") or {}).get("params") or [])
            title = f"{pname}: one TaskRun of Task {ptask['taskRef']['name']} per shard"
            title += f" (matrix over {matrix})" if matrix else ""
            lines += _task_chart(task, pname, title, "    ")
        else:
            lines += _task_chart(ptask, pname, f"{pname}: TaskRun", "    ")
        for before in ptask.get("runAfter") or []:
            lines.append(f"    {before} --> {pname}")
    lines.append("  end")
    return lines
