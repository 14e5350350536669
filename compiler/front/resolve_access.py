"""The connection rule of ``access`` checked on the specs: a committed job may use exactly what a
webhook call may name, a read-only connection is never an output, and an open webhook is said out loud.

Called by ``resolve`` once every reference is known to exist.
"""

from __future__ import annotations

from collections.abc import Mapping

from compiler.diagnostics import Diagnostic
from compiler.front.access import Access, feedback_connection, service_access
from compiler.front.spec import (
    BatchSettingsSpec,
    ConnectionReference,
    ConnectionSpec,
    InferenceJobSpec,
    InferenceServiceSpec,
)
from compiler.front.validate import Validated

ALLOW_HINT = "add it to the service's spec.triggers.webhook.allowedConnections"


def check_access(
    services: Mapping[str, Validated],
    jobs: Mapping[str, Validated],
    connections: Mapping[str, ConnectionSpec],
    feedback_sink: str,
    calls: frozenset[str] = frozenset(),
) -> list[Diagnostic]:
    """A call (``calls``) names only what its service allows; a committed job, reviewed in Git, may name
    any declared connection (its service's Task then holds that one's credentials: ``access``), never a
    readOnly one as its output."""
    diags: list[Diagnostic] = []
    rules: dict[str, Access] = {}
    for name, item in services.items():
        spec = item.document.spec
        assert isinstance(spec, InferenceServiceSpec)
        rules[name] = service_access(spec, connections, feedback_sink)
        diags += _service(item, spec, connections)
    for name, item in jobs.items():
        spec = item.document.spec
        assert isinstance(spec, InferenceJobSpec)
        if spec.inferenceServiceId in rules:
            diags += _job(item, spec, rules[spec.inferenceServiceId], connections, name in calls)
    return diags


def check_feedback(settings: Validated | None, connections: Mapping[str, ConnectionSpec]) -> list[Diagnostic]:
    """Feedback records are writes: an ``rclone:`` sink on a readOnly connection is refused too."""
    spec = settings.document.spec if settings is not None else None
    if settings is None or not isinstance(spec, BatchSettingsSpec):
        return []
    name = feedback_connection(spec.feedback.sink)
    if name is None or name not in connections or not connections[name].readOnly:
        return []
    path = ("spec", "feedback", "sink")
    return [
        Diagnostic(
            "E307",
            f"the feedback sink writes to Connection '{name}', which is readOnly",
            settings.raw.locate(path),
            hint="send feedback to another connection, or remove 'readOnly: true' from the connection",
            field=".".join(path),
        )
    ]


def _service(
    item: Validated, spec: InferenceServiceSpec, connections: Mapping[str, ConnectionSpec]
) -> list[Diagnostic]:
    out = []
    output = spec.outputDestination
    if output is not None and output.connection in connections and connections[output.connection].readOnly:
        out.append(_read_only(item, output))
    webhook = spec.triggers.webhook
    if webhook.enabled and webhook.effective_auth == "none":
        path = ("spec", "triggers", "webhook", "auth")
        out.append(
            Diagnostic(
                "W301",
                f"InferenceService '{item.document.metadata.name}': the webhook takes calls from anyone "
                "who can reach its endpoint (auth: none)",
                item.raw.locate(path),
                severity="warning",
                hint="remove 'auth: none' to require an HMAC signature (or use 'auth: token')",
                field=".".join(path),
            )
        )
    return out


def _job(
    item: Validated,
    spec: InferenceJobSpec,
    rule: Access,
    connections: Mapping[str, ConnectionSpec],
    call: bool,
) -> list[Diagnostic]:
    out = []
    for field, ref, allowed, verb in (
        ("dataSource", spec.dataSource, rule.data, "read from"),
        ("outputDestination", spec.outputDestination, rule.output, "write to"),
    ):
        # A job that names no connection uses its service's own, which the service allows.
        if ref is None or ref.connection not in connections or ref.connection in allowed:
            continue
        if field == "outputDestination" and connections[ref.connection].readOnly:
            out.append(_read_only(item, ref))
            continue
        if not call:
            continue
        path = ("spec", field, "connection")
        listing = ", ".join(f"'{c}'" for c in allowed) or "no connection"
        out.append(
            Diagnostic(
                "E306",
                f"a webhook call (job '{item.document.metadata.name}') may not {verb} "
                f"Connection '{ref.connection}': "
                f"InferenceService '{spec.inferenceServiceId}' lets its runs {verb} {listing}",
                item.raw.locate(path),
                hint=f"{ALLOW_HINT}: 'triggers: {{webhook: {{allowedConnections: [{ref.connection}]}}}}'",
                field=".".join(path),
            )
        )
    return out


def _read_only(item: Validated, ref: ConnectionReference) -> Diagnostic:
    path = ("spec", "outputDestination", "connection")
    return Diagnostic(
        "E307",
        f"{item.document.kind} '{item.document.metadata.name}' writes to Connection '{ref.connection}', "
        "which is readOnly",
        item.raw.locate(path),
        hint="choose another outputDestination, or remove 'readOnly: true' from the connection",
        field=".".join(path),
    )
