"""The local runner: execute one job from its compiled Tekton or Argo documents on this machine.

The documents are the ones the cluster gets; nothing here knows what the steps do. Modules, in the
order a run uses them::

    documents   the TaskRun, its Task and ConfigMaps out of the compiled documents
    pod         one pod as plain data, with its engine's substitution (what the rest runs)
    taskrun     a TaskRun and its Task as a pod
    tekton      Tekton's and Kubernetes' substitution ($(params.x), $(context.*), $(VAR), $$)
    argo        Argo Workflows' rules: arguments, inputs, {{...}}, withParam items, podSpecPatch, outputs
    secrets     values for secretKeyRef from --secret / --secrets-file, and masking them
    rundir      the run directory: one folder per volume, results, logs
    prepare     each step substituted and resolved, as its container would run it
    paths       container paths -> run-directory folders, by mount-path prefix
    launch      a step as a host process (or the user step in docker/podman)
    executor    the steps in order: process groups, timeouts, results, logs
    progress    live progress and the summary table
    runner      the facade: run_documents()

A job of more than one shard compiles to a PipelineRun; ``pipeline`` runs its TaskRuns with ``runner``.
``workflow`` runs an Argo Workflow (one pod, or a dag of them); ``children`` is what a run of several pods
shares (attempts, a queued fan-out, streams).
"""

from compiler.localrun.errors import LocalRunError
from compiler.localrun.runner import RunOptions, RunReport, run_documents

__all__ = ["LocalRunError", "RunOptions", "RunReport", "run_documents"]
