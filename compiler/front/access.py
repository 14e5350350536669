"""Which connections a service's runs may use, and for what: one rule for every place that enforces it.

A webhook call may read its input from the service's own ``dataSource`` connection and write its
results to the service's own ``outputDestination`` connection; ``triggers.webhook.allowedConnections``
adds connections for both, except that a ``readOnly`` connection is never an output. A committed job is
reviewed in Git like the service itself: the connections it names (never a readOnly one as its output)
are its service's too, for committed runs only (``job_data`` / ``job_output``), so ODAHU's jobs, which name
their own connections, run unchanged while a call still names only what the service allows. The model and the
feedback sink are fixed by the specs, so a call can never name them. The compile-time check on
committed jobs (``resolve_access``), the webhook rules (``plan/triggers.py``, written out by each
backend), the Task's credentials and configure-rclone's check (``plan/connections.py``) all read this one
value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from compiler.front.project import EffectiveJob
from compiler.front.spec import ConnectionSpec, InferenceServiceSpec

FEEDBACK_RCLONE = "rclone:"


@dataclass(frozen=True)
class Access:
    """Connection names, sorted: what a run may read data from, write output to, and the fixed ones."""

    data: tuple[str, ...]
    output: tuple[str, ...]
    model: str | None = None
    feedback: str | None = None
    job_data: tuple[str, ...] = ()
    job_output: tuple[str, ...] = ()

    @property
    def connections(self) -> tuple[str, ...]:
        """Every connection a run of the service may touch: exactly the credentials its Task holds."""
        fixed = {c for c in (self.model, self.feedback) if c is not None}
        return tuple(sorted({*self.data, *self.output, *self.job_data, *self.job_output, *fixed}))

    def roles(self, name: str) -> tuple[str, ...]:
        """What ``name`` may serve as, in configure-rclone's words."""
        return tuple(
            role
            for role, allowed in (
                ("data", name in self.data or name in self.job_data),
                ("feedback", name == self.feedback),
                ("model", name == self.model),
                ("output", name in self.output or name in self.job_output),
            )
            if allowed
        )


def feedback_connection(sink: str) -> str | None:
    """The connection of an ``rclone:<connection>:<path>`` feedback sink."""
    if not sink.startswith(FEEDBACK_RCLONE):
        return None
    return sink[len(FEEDBACK_RCLONE) :].split(":", 1)[0] or None


def service_access(
    spec: InferenceServiceSpec,
    connections: Mapping[str, ConnectionSpec],
    feedback_sink: str,
    jobs: Iterable[EffectiveJob] = (),
) -> Access:
    """The service's rule, widened by its committed ``jobs``; names not in ``connections`` are left out
    (resolve reports them)."""
    allowed = set(spec.triggers.webhook.allowedConnections)
    data = {*allowed, *([spec.dataSource.connection] if spec.dataSource else [])}
    output = {*allowed, *([spec.outputDestination.connection] if spec.outputDestination else [])}
    remote = spec.modelRegistry.remote
    feedback = feedback_connection(feedback_sink)
    jobs = tuple(jobs)
    job_data = {j.dataSource.connection for j in jobs} - data
    job_output = {j.outputDestination.connection for j in jobs} - output
    return Access(
        data=tuple(sorted(c for c in data if c in connections)),
        output=tuple(sorted(c for c in output if c in connections and not connections[c].readOnly)),
        job_data=tuple(sorted(c for c in job_data if c in connections)),
        job_output=tuple(sorted(c for c in job_output if c in connections and not connections[c].readOnly)),
        model=remote.modelConnection if remote and remote.modelConnection in connections else None,
        feedback=feedback if feedback in connections else None,
    )
