"""The webhook: ODAHU's ``POST /api/v1/batch/job`` body, accepted by a Tekton EventListener.

Per namespace one EventListener picks up every service's Trigger by label, so adding a service
never changes the listener. Each Trigger verifies the body's HMAC when the spec asks for it, then
a CEL filter accepts only bodies for its service whose overrides are plain, conservative strings
naming the project's connections (resources and node selectors cannot be overridden over the
webhook), and CEL overlays fill what the body omits with the service's defaults.
"""

from __future__ import annotations

from functools import lru_cache

from compiler import naming as n
from compiler.plan_model import Interceptor, PolicyRule

# What a body may carry: a conservative character set, no "..", at most 256 characters.
VALUE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._/-]*$"
REQUEST_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
PARENT_PATTERN = "(^|/)[.][.](/|$)"
VALUE_MAX = 256
OVERRIDES = ("dataSource", "outputDestination")
FORBIDDEN = ("resources", "nodeSelector", "replaceOutput")

# Tekton Triggers' documented EventListener permissions, cut to what this listener uses:
# read its own trigger objects and config, create TaskRuns, report events.
LISTENER_RULES = (
    PolicyRule(
        ("triggers.tekton.dev",),
        ("eventlisteners", "interceptors", "triggerbindings", "triggers", "triggertemplates"),
        ("get", "list", "watch"),
    ),
    PolicyRule(("",), ("configmaps",), ("get", "list", "watch")),
    PolicyRule(("tekton.dev",), ("taskruns",), ("create",)),
    PolicyRule(("",), ("events",), ("create", "patch")),
)
# Cluster-wide, the listener only reads cluster interceptors and bindings. Tekton's own
# tekton-triggers-eventlistener-clusterroles also grants reading every Secret of the cluster.
LISTENER_CLUSTER_RULES = (
    PolicyRule(
        ("triggers.tekton.dev",), ("clusterinterceptors", "clustertriggerbindings"), ("get", "list", "watch")
    ),
)


@lru_cache(maxsize=4096)
def cel_string(text: str) -> str:
    """A single-quoted CEL string literal."""
    out = []
    for char in text:
        if char in "\\'":
            out.append("\\" + char)
        elif char.isprintable() and char.isascii():
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
    return "'" + "".join(out) + "'"


def _plain(expr: str, pattern: str = VALUE_PATTERN) -> str:
    """A string that is empty (the default: the run's uid, the bucket's root) or conservative."""
    return (
        f"type({expr}) == string && ({expr} == '' || size({expr}) <= {VALUE_MAX}"
        f" && {expr}.matches({cel_string(pattern)}) && !{expr}.matches({cel_string(PARENT_PATTERN)}))"
    )


@lru_cache(maxsize=64)
def _cel_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(cel_string(i) for i in items) + "]"


def cel_filter(service: str, connections: tuple[str, ...], required: tuple[str, ...]) -> str:
    """True only for this service's bodies whose overrides are safe to pass to a run.

    ``required``: overrides the body must carry because the service has no default for them.
    """
    spec = "body.spec"
    lines = [
        f"has(body.spec) && type({spec}) == map && has({spec}.inferenceServiceId)",
        f"{spec}.inferenceServiceId == {cel_string(service)}",
        f"!has({spec}.requestId) || ({_plain(f'{spec}.requestId', REQUEST_ID_PATTERN)})",
    ]
    for key in OVERRIDES:
        ref = f"{spec}.{key}"
        checks = (
            f"type({ref}) == map && {ref}.all(k, k in ['connection', 'path'])"
            f" && (!has({ref}.connection) || (type({ref}.connection) == string"
            f" && {ref}.connection in {_cel_list(connections)}))"
            f" && (!has({ref}.path) || ({_plain(f'{ref}.path')}))"
        )
        if key in required:
            lines.append(f"has({ref}) && {checks} && has({ref}.connection)")
        else:
            lines.append(f"!has({ref}) || ({checks})")
    lines += [f"!has({spec}.{key})" for key in FORBIDDEN]
    return "\n&& ".join(f"({line})" for line in lines)


def _given(key: str, field: str) -> str:
    return f"has(body.spec.{key}) && has(body.spec.{key}.{field})"


@lru_cache(maxsize=64)
def _cel_map(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{cel_string(k)}: {cel_string(v)}" for k, v in pairs) + "}"


def cel_overlays(
    defaults: dict[str, tuple[str, str] | None], connection_paths: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """(overlay key, CEL expression) for each run param; ``defaults``: override -> (connection, path)."""
    paths = _cel_map(connection_paths)
    overlays = [(n.overlay_key(n.PARAM_REQUEST_ID), "has(body.spec.requestId) ? body.spec.requestId : ''")]
    for key, conn_param, path_param in (
        ("dataSource", n.PARAM_DATA_CONNECTION, n.PARAM_DATA_PATH),
        ("outputDestination", n.PARAM_OUTPUT_CONNECTION, n.PARAM_OUTPUT_PATH),
    ):
        default_conn, default_path = defaults[key] or ("", "")
        body_conn = f"body.spec.{key}.connection"
        overlays.append(
            (
                n.overlay_key(conn_param),
                f"{_given(key, 'connection')} ? {body_conn} : {cel_string(default_conn)}",
            )
        )
        # A body that names only a connection reads that connection's own path (ODAHU's rule).
        overlays.append(
            (
                n.overlay_key(path_param),
                f"{_given(key, 'path')} ? body.spec.{key}.path"
                f" : ({_given(key, 'connection')} ? {paths}[{body_conn}] : {cel_string(default_path)})",
            )
        )
    return tuple(overlays)


def interceptors(
    service: str,
    connections: tuple[str, ...],
    defaults: dict[str, tuple[str, str] | None],
    connection_paths: tuple[tuple[str, str], ...],
    hmac: tuple[str, str] | None,
) -> tuple[Interceptor, ...]:
    chain = []
    if hmac is not None:
        chain.append(Interceptor("verify-signature", "github", secret_name=hmac[0], secret_key=hmac[1]))
    required = tuple(key for key in OVERRIDES if defaults[key] is None)
    chain.append(
        Interceptor(
            "filter-and-default",
            "cel",
            filter=cel_filter(service, connections, required),
            overlays=cel_overlays(defaults, connection_paths),
        )
    )
    return tuple(chain)


def binding_params() -> tuple[tuple[str, str], ...]:
    """(run param, overlay key the binding reads it from)."""
    return tuple((param, n.overlay_key(param)) for param in n.RUN_PARAMS)
