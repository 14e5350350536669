"""A service's run as a Mermaid flowchart, read off the compiled documents (never drawn by hand).

The service's Task (Tekton) or WorkflowTemplate (Argo) gives the steps in order, each with its image,
the volumes it mounts (``ro`` when read-only) and whether it sees credentials: Secret values in its
environment (``secretKeyRef``), or the rclone config volume those are written to. A sharded service is
drawn as its sharded run: the plan task, the run once per shard (a matrix, or Argo's ``withParam``,
over the plan's shard ids), the merge task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from compiler import naming as n

Doc = Mapping[str, Any]
_SECRET_ENV = "secret env"
_CONFIG = "rclone config"


_DEFINITIONS = ("Task", "WorkflowTemplate")


def services(objects: Iterable[Doc]) -> list[str]:
    """Names of the services that compiled to a Task or a WorkflowTemplate, sorted."""
    return sorted(
        _label(o, n.LABEL_SERVICE)
        for o in objects
        if o.get("kind") in _DEFINITIONS and _label(o, n.LABEL_SERVICE)
    )


def mermaid(objects: Sequence[Doc], service: str) -> str:
    """The flowchart of ``service``'s run; KeyError when no definition of that service was compiled."""
    task = _find(objects, "Task", service)
    template = _find(objects, "WorkflowTemplate", service)
    lines = ["flowchart TD"]
    if template is not None:
        lines += _workflow_chart(template)
    elif task is None:
        raise KeyError(service)
    elif (pipeline := _find(objects, "Pipeline", service)) is None:
        steps = _steps(task)
        lines += _task_chart(steps, "run", f"TaskRun of Task {task['metadata']['name']}", "  ")
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


def _steps(spec_holder: Doc) -> list[Doc]:
    """The steps of a Task or a pipeline task's inline taskSpec."""
    spec = spec_holder.get("spec") or spec_holder.get("taskSpec") or {}
    return list(spec.get("steps") or [])


def _task_chart(steps: Sequence[Doc], prefix: str, title: str, indent: str) -> list[str]:
    """A subgraph of steps (a Task's, or a containerSet's containers), chained in order."""
    lines = [f"{indent}subgraph {prefix}[{_quote(title)}]", f"{indent}  direction TB"]
    nodes = []
    for index, step in enumerate(steps, start=1):
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
            lines += _task_chart(_steps(task), pname, title, "    ")
        else:
            lines += _task_chart(_steps(ptask), pname, f"{pname}: TaskRun", "    ")
        for before in ptask.get("runAfter") or []:
            lines.append(f"    {before} --> {pname}")
    lines.append("  end")
    return lines


def _containers(template: Doc) -> list[Doc]:
    return list((template.get("containerSet") or {}).get("containers") or [])


def _workflow_chart(workflow_template: Doc) -> list[str]:
    """The single run (template ``run``), or for a sharded service its ``sharded`` dag."""
    name = workflow_template["metadata"]["name"]
    templates = {str(t["name"]): t for t in workflow_template["spec"].get("templates") or []}
    sharded = templates.get(n.ARGO_TEMPLATE_SHARDED)
    if sharded is None:
        run = templates[n.ARGO_TEMPLATE_RUN]
        return _task_chart(_containers(run), "run", f"Workflow of WorkflowTemplate {name}: one pod", "  ")
    title = f"Workflow of WorkflowTemplate {name}, entrypoint {n.ARGO_TEMPLATE_SHARDED}"
    lines = [f"  subgraph dag[{_quote(title)}]", "    direction TB"]
    for task in (sharded.get("dag") or {}).get("tasks") or []:
        tname, target = str(task["name"]), templates[str(task["template"])]
        if task.get("withParam"):
            at_once = sharded.get("parallelism")
            title = f"{tname}: one pod per shard (withParam), {at_once} at once" if at_once else f"{tname}"
        else:
            title = f"{tname}: one pod"
        lines += _task_chart(_containers(target), tname, title, "    ")
        for before in str(task.get("depends") or "").split(" && "):
            if before:
                lines.append(f"    {before} --> {tname}")
    lines.append("  end")
    return lines
