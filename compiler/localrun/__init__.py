"""The local runner: execute one job from its compiled Tekton documents on this machine.

The documents are the ones the cluster gets; nothing here knows what the steps do. Modules, in the
order a run uses them::

    documents   the TaskRun, its Task and ConfigMaps out of the compiled documents
    tekton      Tekton's and Kubernetes' substitution ($(params.x), $(context.*), $(VAR), $$)
    secrets     values for secretKeyRef from --secret / --secrets-file, and masking them
    rundir      the run directory: one folder per volume, results, logs
    prepare     each step substituted and resolved, as its container would run it
    paths       container paths -> run-directory folders, by mount-path prefix
    launch      a step as a host process (or the user step in docker/podman)
    executor    the steps in order: process groups, timeouts, results, logs
    progress    live progress and the summary table
    runner      the facade: run_documents()

A job of more than one shard compiles to a PipelineRun; ``pipeline`` runs its TaskRuns with ``runner``.
"""

from compiler.localrun.errors import LocalRunError
from compiler.localrun.runner import RunOptions, RunReport, run_documents

__all__ = ["LocalRunError", "RunOptions", "RunReport", "run_documents"]
