"""What a project asks for that its plan cannot express: located errors, raised before planning."""

from __future__ import annotations

from compiler.diagnostics import Diagnostic, Location
from compiler.front.project import Project
from compiler.plan.steps import dropped_resources, user_resources


def namespace_errors(project: Project) -> list[Diagnostic]:
    """A run can only reference a Task of its own namespace."""
    services = {s.name: s for s in project.services}
    return [
        Diagnostic(
            "E407",
            f"InferenceJob {job.name!r} is in namespace {job.namespace!r}, but its InferenceService "
            f"{job.service!r} is in {services[job.service].namespace!r}",
            Location(job.source.file, job.source.line, job.source.col),
            hint="a job runs in its service's namespace: give both the same metadata.namespace",
        )
        for job in project.jobs
        if job.namespace != services[job.service].namespace
    ]


def resource_errors(project: Project) -> list[Diagnostic]:
    """A job's resources mean what it says: one that would silently keep a service value is refused."""
    services = {s.name: s for s in project.services}
    gpu = project.settings.gpuResourceName
    errors = []
    for job in project.jobs:
        if job.spec.resources is None:
            continue
        own = user_resources(job.spec.resources, gpu)
        kept = dropped_resources(user_resources(services[job.service].spec.resources, gpu), own)
        if kept:
            errors.append(
                Diagnostic(
                    "E409",
                    f"InferenceJob {job.name!r} leaves out {', '.join(kept)} of InferenceService "
                    f"{job.service!r}: a run's resources merge into the service's, so they would stay",
                    Location(job.source.file, job.source.line, job.source.col),
                    hint="give every resource the service sets (a gpu of 0 removes it), or none at all",
                    field="spec.resources",
                )
            )
    return errors
