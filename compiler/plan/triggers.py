"""The webhook: ODAHU's ``POST /api/v1/batch/job`` body, accepted by the namespace's receiver.

Per namespace one listener picks up every service's Trigger by label, so adding a service
never changes the listener. Each Trigger first authenticates the call (``auth``: an HMAC of the
body through Triggers' github interceptor, or a shared token compared by Triggers' CEL
``compareSecret``; only an explicit ``auth: none`` skips it), then a CEL filter accepts only bodies
for its service whose overrides are plain, conservative strings naming connections the service may
read from and write to (``compiler.front.access``; resources and node selectors cannot be overridden over
the webhook), and CEL overlays fill what the body omits with the service's defaults.
"""

from __future__ import annotations

from functools import lru_cache

from compiler import naming as n
from compiler.front import odahu
from compiler.front.access import Access
from compiler.front.project import Service
from compiler.front.spec import InferenceJobSpec
from compiler.plan.model import Interceptor, ReceiverNeed

# What a body may carry: a conservative character set, no "..", at most 256 characters.
VALUE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._/-]*$"
REQUEST_ID_PATTERN = n.REQUEST_ID_PATTERN
PARENT_PATTERN = "(^|/)[.][.](/|$)"
VALUE_MAX = n.REQUEST_ID_MAX
OVERRIDES = ("dataSource", "outputDestination")
FORBIDDEN = ("resources", "nodeSelector", "replaceOutput")
# The header Triggers' own compareSecret examples read (tektoncd/triggers pkg/interceptors/cel/triggers.go).
TOKEN_HEADER = "X-Secret-Token"

# The listener reads its own trigger objects and config, creates runs and reports events; it reads no
# Secret (see auth_interceptors). Cluster-wide it only reads the shared trigger objects.
LISTENER_NEEDS: tuple[ReceiverNeed, ...] = ("read-triggers", "read-config", "create-runs", "report-events")
LISTENER_CLUSTER_NEEDS: tuple[ReceiverNeed, ...] = ("read-cluster-triggers",)


def listener_needs(sharded: bool) -> tuple[ReceiverNeed, ...]:
    """The listener's needs in a namespace; ``sharded``: one of its services runs sharded."""
    if not sharded:
        return LISTENER_NEEDS
    at = LISTENER_NEEDS.index("create-runs") + 1
    return (*LISTENER_NEEDS[:at], "create-sharded-runs", *LISTENER_NEEDS[at:])


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


def present(ref: str) -> str:
    """CEL's ``has`` for ODAHU's bodies: a field sent as null is absent, as everywhere (front/odahu.py).

    ODAHU's SDK sends every field of its models, null when unset (``"requestId": null``). ``null_type`` is
    a standard CEL type (cel-spec langdef.md, "Types"), so this holds in cel-go and cel-python alike.
    """
    return f"(has({ref}) && type({ref}) != null_type)"


def known_keys_filter() -> str:
    """The body's keys are an InferenceJob's (front/odahu.py): the verdict ``validate`` gives a job."""
    top = _cel_list((*odahu.JOB_KEYS, *odahu.SERVER_MANAGED))
    spec = _cel_list(tuple(InferenceJobSpec.model_fields))
    kind = "body.kind"
    spec_keys = f"body.spec.all(k, k in {spec} || type(body.spec[k]) == null_type)"
    return (
        f"body.all(k, k in {top} || type(body[k]) == null_type)"
        f" && (type(body.spec) == map ? {spec_keys} : false)"
        f" && (!{present(kind)} || {kind} == 'InferenceJob')"
        f" && (!{present('body.id')} || type(body.id) == string"
        f" && body.id.matches({cel_string(odahu.ID_PATTERN)}))"
    )


def _plain(expr: str, pattern: str = VALUE_PATTERN) -> str:
    """A string that is empty (the default: the run's uid, the bucket's root) or conservative."""
    return (
        f"type({expr}) == string && ({expr} == '' || size({expr}) <= {VALUE_MAX}"
        f" && {expr}.matches({cel_string(pattern)}) && !{expr}.matches({cel_string(PARENT_PATTERN)}))"
    )


@lru_cache(maxsize=64)
def _cel_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(cel_string(i) for i in items) + "]"


def cel_filter(service: str, access: Access, required: tuple[str, ...]) -> str:
    """True only for this service's bodies whose overrides are safe to pass to a run.

    ``required``: overrides the body must carry because the service has no default for them.
    """
    spec = "body.spec"
    lines = [
        f"has(body.spec) && type({spec}) == map && {present(f'{spec}.inferenceServiceId')}",
        f"{spec}.inferenceServiceId == {cel_string(service)}",
        known_keys_filter(),
        f"!{present(f'{spec}.requestId')} || ({_plain(f'{spec}.requestId', REQUEST_ID_PATTERN)})",
    ]
    for key in OVERRIDES:
        ref = f"{spec}.{key}"
        # Conditionals, not && / ||: a macro on a null (ODAHU's "dataSource": null) must not be evaluated.
        checks = (
            f"type({ref}) == map ? {ref}.all(k, k in ['connection', 'path'] || type({ref}[k]) == null_type)"
            f" && (!{present(f'{ref}.connection')} || type({ref}.connection) == string)"
            f" && (!{present(f'{ref}.path')} || ({_plain(f'{ref}.path')})) : false"
        )
        if key in required:
            lines.append(f"{present(ref)} ? ({checks}) && {present(f'{ref}.connection')} : false")
        else:
            lines.append(f"{present(ref)} ? ({checks}) : true")
    lines += connection_clauses(access)
    lines += [f"!{present(f'{spec}.{key}')}" for key in FORBIDDEN]
    return "\n&& ".join(f"({line})" for line in lines)


def connection_clauses(access: Access) -> list[str]:
    """A named data connection is one the service may read, an output one it may write (``access``)."""
    out = []
    for key, allowed in (("dataSource", access.data), ("outputDestination", access.output)):
        ref = f"body.spec.{key}"
        # Conditionals, not || : ODAHU's "dataSource": null must not be looked into (see cel_filter).
        named = f"{present(f'{ref}.connection')} ? {ref}.connection in {_cel_list(allowed)} : true"
        out.append(f"{present(ref)} ? ({named}) : true")
    return out


def _given(key: str, field: str) -> str:
    return f"{present(f'body.spec.{key}')} && {present(f'body.spec.{key}.{field}')}"


@lru_cache(maxsize=64)
def _cel_map(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{cel_string(k)}: {cel_string(v)}" for k, v in pairs) + "}"


def cel_overlays(
    defaults: dict[str, tuple[str, str] | None], connection_paths: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """(overlay key, CEL expression) for each run param; ``defaults``: override -> (connection, path)."""
    paths = _cel_map(connection_paths)
    rid = "body.spec.requestId"
    overlays = [(n.overlay_key(n.PARAM_REQUEST_ID), f"{present(rid)} ? {rid} : ''")]
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
        # A body that names only a connection, or gives an empty path, reads that connection's own path
        # (ODAHU's rule: GetBucketNamePath in odahu/odahu-flow 1.6.1, packages/operator/controllers/utils/
        # batchinferenceutils/batchinferencejob_utils.go).
        body_path = f"body.spec.{key}.path"
        conn = f"({_given(key, 'connection')} ? {body_conn} : {cel_string(default_conn)})"
        overlays.append(
            (
                n.overlay_key(path_param),
                f"{_given(key, 'path')} && {body_path} != '' ? {body_path}"
                f" : ({_given(key, 'connection')} || {_given(key, 'path')}"
                f" ? {paths}[{conn}] : {cel_string(default_path)})",
            )
        )
    return tuple(overlays)


def token_filter(secret: tuple[str, str]) -> str:
    """Triggers' ``<string>.compareSecret(<key>, <secret name>)``: a constant-time comparison with the
    Secret's key in the EventListener's namespace (tektoncd/triggers pkg/interceptors/cel/triggers.go,
    makeCompareSecret); a missing Secret is an error, so the call is refused."""
    name, key = secret
    header = f"header.canonical({cel_string(TOKEN_HEADER)})"
    return f"{header}.compareSecret({cel_string(key)}, {cel_string(name)})"


def auth_interceptors(auth: str, secret: tuple[str, str]) -> tuple[Interceptor, ...]:
    """The interceptors that authenticate a call, before anything reads its body.

    Both read the Secret in the core interceptors' pod, under their own ServiceAccount
    (tektoncd/triggers config/200-clusterrole.yaml), so the listener needs no Secret."""
    if auth == "hmac":
        # tektoncd/triggers pkg/interceptors/github/github.go: with secretRef set, a call without a
        # valid X-Hub-Signature-256 (HMAC-SHA256 of the body) is refused; no eventTypes: any event.
        return (Interceptor("verify-signature", "github", secret_name=secret[0], secret_key=secret[1]),)
    if auth == "token":
        return (Interceptor("verify-token", "cel", filter=token_filter(secret)),)
    return ()


def webhook_auth(service: Service) -> tuple[str, tuple[str, str]]:
    """(hmac | token | none, (Secret name, key)): by default an HMAC keyed by ``<service>-webhook``."""
    webhook = service.spec.triggers.webhook
    auth = webhook.effective_auth
    given = webhook.hmac if auth == "hmac" else webhook.token
    if given is not None:
        return auth, (given.secretName, given.secretKey)
    return auth, (n.webhook_secret_name(service.name), "secret" if auth == "hmac" else "token")


def interceptors(
    service: Service,
    access: Access,
    defaults: dict[str, tuple[str, str] | None],
    connection_paths: tuple[tuple[str, str], ...],
) -> tuple[Interceptor, ...]:
    """The service's chain: authenticate, then filter and default; ``connection_paths``: of ``access``."""
    required = tuple(key for key in OVERRIDES if defaults[key] is None)
    check = Interceptor(
        "filter-and-default",
        "cel",
        filter=cel_filter(service.name, access, required),
        overlays=cel_overlays(defaults, connection_paths),
    )
    return (*auth_interceptors(*webhook_auth(service)), check)


def binding_params() -> tuple[tuple[str, str], ...]:
    """(run param, overlay key the binding reads it from)."""
    return tuple((param, n.overlay_key(param)) for param in n.RUN_PARAMS)
