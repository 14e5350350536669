"""One table of what a run may name, checked wherever the rule is enforced (``compiler/front/access.py``):
the webhook's CEL filter (cel-python, tests/unit/test_access.py), the compile-time check of a committed
job (same file), the Task's configure-rclone step (tests/runtime/test_configure_rclone.py) and a local
run against moto S3 (tests/e2e/test_run_access.py).

The project: service ``scorer`` reads ``data:input`` and writes ``results:output``, allows ``extra``
(read and write) and ``shared`` (declared readOnly), and fetches its model from ``models``. ``other``
is another team's bucket that the project also declares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

API = "batch.odahu.org/v1alpha1"
SERVICE = "scorer"
CONNECTIONS = ("data", "extra", "models", "other", "results", "shared")
READ_ONLY = ("shared",)
ALLOWED = ("extra", "shared")
MODEL_PATH = "multiplier"
OWN_DATA = ("data", "input")
OWN_OUTPUT = ("results", "output")
REQUEST_ID = "req-1"


@dataclass(frozen=True)
class Case:
    name: str
    body: Mapping[str, Any]  # the webhook body's spec, less inferenceServiceId
    allowed: bool
    code: str = ""  # the compile-time diagnostic of a refused committed job
    extra: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        return {"inferenceServiceId": SERVICE, "requestId": REQUEST_ID, **self.body}

    def location(self, key: str) -> tuple[str, str]:
        """(connection, path) the run uses for ``dataSource`` / ``outputDestination``."""
        own = OWN_DATA if key == "dataSource" else OWN_OUTPUT
        given = self.body.get(key) or {}
        return given.get("connection", own[0]), given.get("path", own[1])


def ref(connection: str, path: str) -> dict[str, str]:
    return {"connection": connection, "path": path}


DATA, OUTPUT = "dataSource", "outputDestination"
CASES = (
    Case("defaults", {}, True),
    Case("names its own connections", {DATA: ref(*OWN_DATA), OUTPUT: ref(*OWN_OUTPUT)}, True),
    # The issue's attack: an upload into another team's folder, with a request id naming it.
    Case("writes to another team", {OUTPUT: ref("other", ""), "requestId": "private"}, False, "E306"),
    # ... and its twin: another team's raw files copied into the caller's output under _rejected/.
    Case("reads another team", {DATA: ref("other", "private")}, False, "E306"),
    Case("reads an allowed read-only connection", {DATA: ref("shared", "input")}, True),
    Case("writes to a read-only connection", {OUTPUT: ref("shared", "output")}, False, "E307"),
    Case("uses an allowed connection", {DATA: ref("extra", "input"), OUTPUT: ref("extra", "output")}, True),
    Case("reads the model's connection", {DATA: ref("models", MODEL_PATH)}, False, "E306"),
    Case("writes to the model's connection", {OUTPUT: ref("models", "output")}, False, "E306"),
    Case("reads from its own output connection", {DATA: ref("results", "output")}, False, "E306"),
    Case("writes to its own data connection", {OUTPUT: ref("data", "output")}, False, "E306"),
    Case("names an undeclared connection", {DATA: ref("nowhere", "input")}, False, "E302"),
)  # fmt: skip
CASE_IDS = [case.name.replace(" ", "-").replace("'", "") for case in CASES]


def doc(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": dict(spec)}


def service_spec(**extra: Any) -> dict[str, Any]:
    return {
        "image": "docker.io/library/python:3.12-slim",
        "command": ["python3"],
        "args": ["/opt/app/predictor.py"],
        "modelRegistry": {"remote": {"modelConnection": "models", "modelPath": MODEL_PATH}},
        "dataSource": ref(*OWN_DATA),
        "outputDestination": ref(*OWN_OUTPUT),
        "triggers": {"webhook": {"allowedConnections": list(ALLOWED)}},
        "timeout": "10m",
        **extra,
    }


def s3_connection(name: str) -> dict[str, Any]:
    """A stand-in S3 connection of the table's project (unit tests: nothing is contacted)."""
    return {
        "type": "s3",
        "uri": f"s3://bucket-{name}",
        "credentials": {"secretRef": {"name": f"{name}-creds"}},
    }


def documents(
    connection: Callable[[str], Mapping[str, Any]] = s3_connection, settings: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The table's project; ``connection(name)`` gives each Connection's spec (readOnly is added)."""
    docs = [doc("BatchSettings", "settings", {"allowLocalConnections": True, **(settings or {})})]
    for name in CONNECTIONS:
        spec = dict(connection(name))
        if name in READ_ONLY:
            spec["readOnly"] = True
        docs.append(doc("Connection", name, spec))
    docs.append(doc("InferenceService", SERVICE, service_spec()))
    return docs
