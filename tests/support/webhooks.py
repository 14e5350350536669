"""One webhook body, both backends: the verdict and run params each backend's compiled rules give.

``tekton``: the service's CEL filter and overlays (``compiler/tekton/cel.py``), run with cel-python as
Tekton Triggers' cel interceptor runs them (tests/support/triggers.py). ``argo``: the WorkflowEventBinding's
selector and parameter expressions (``compiler/argo/expr.py``), run with the expr evaluator
(tests/support/expr.py) over the environment Argo Server builds (tests/support/argo_events.py). Each
returns the run params by name, or None when the body is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compiler import naming as n
from compiler.front import odahu
from compiler.front.spec import InferenceJobSpec
from compiler.plan import triggers
from compiler.plan.model import Override, ShardRule, WebhookAuth, WebhookRules

Params = dict[str, str] | None
Verdict = Callable[[WebhookRules, Any], Params]


def rules(
    service: str = "svc",
    data: tuple[str, ...] = ("store",),
    output: tuple[str, ...] = ("store",),
    defaults: Mapping[str, tuple[str, str] | None] | None = None,
    paths: tuple[tuple[str, str], ...] = (("store", "root"),),
    shards: ShardRule | None = None,
) -> WebhookRules:
    """Rules as the planner writes them (plan/triggers.py), for a service of the given access."""
    given = defaults or {"dataSource": ("store", "in"), "outputDestination": ("store", "out")}
    allowed = {"dataSource": data, "outputDestination": output}
    return WebhookRules(
        service=service,
        top_keys=(*odahu.JOB_KEYS, *odahu.SERVER_MANAGED),
        spec_keys=tuple(InferenceJobSpec.model_fields),
        reference_keys=triggers.REFERENCE_KEYS,
        kind="InferenceJob",
        id_pattern=odahu.ID_PATTERN,
        request_id_pattern=triggers.REQUEST_ID_PATTERN,
        value_pattern=triggers.VALUE_PATTERN,
        parent_pattern=triggers.PARENT_PATTERN,
        value_max=triggers.VALUE_MAX,
        overrides=tuple(Override(k, allowed[k], given[k]) for k in triggers.OVERRIDES),
        connection_paths=paths,
        forbidden=triggers.FORBIDDEN,
        shards=shards or ShardRule(),
        auth=WebhookAuth("hmac", f"{service}-webhook", "secret"),
    )


def _param_names(rules: WebhookRules) -> dict[str, str]:
    """overlay key -> run param."""
    names = {n.overlay_key(p): p for p in n.RUN_PARAMS}
    if rules.shards.default is not None:
        names[n.shard_count_overlay_key()] = n.PARAM_SHARD_COUNT
    return names


def tekton(rules: WebhookRules, body: Any) -> Params:
    import celpy
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    from compiler.tekton.cel import cel_filter, cel_overlays

    env = celpy.Environment()
    activation = {"body": json_to_cel(body)}
    try:
        accepted = bool(env.program(env.compile(cel_filter(rules))).evaluate(activation))
    except CELEvalError:  # Triggers: an error in the filter refuses the call
        return None
    if not accepted:
        return None
    names = _param_names(rules)
    return {
        names[key]: str(env.program(env.compile(expression)).evaluate(activation))
        for key, expression in cel_overlays(rules)
    }


def argo(rules: WebhookRules, body: Any) -> Params:
    from compiler.argo.expr import parameters, selector
    from tests.support.argo_events import dispatch_one

    return dispatch_one(selector(rules), parameters(rules), body, rules.service)


BACKENDS: dict[str, Verdict] = {"tekton": tekton, "argo": argo}
