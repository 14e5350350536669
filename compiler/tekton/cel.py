"""The plan's webhook rules (``WebhookRules``) as a Tekton Triggers interceptor chain.

The chain authenticates the call first (``auth``: Triggers' ``github`` ClusterInterceptor checks an HMAC
of the body, or a ``cel`` one compares a shared token through Triggers' ``compareSecret``; ``none`` skips
it), then one ``cel`` interceptor keeps only the bodies the rules accept (its ``filter``) and writes the run
params (its ``overlays``, which the trigger's bindings read as ``$(extensions.<key>)``). Both read the
webhook Secret in the core interceptors' pod, under their own ServiceAccount
(tektoncd/triggers v0.37.0 config/200-clusterrole.yaml), so the EventListener reads no Secret.

CEL as Triggers runs it (cel-go; tests run the same text with cel-python, tests/support/triggers.py):
``&&`` and ``||`` are commutative over errors, and ``has()`` of a field of a null is an error, so the
filter uses conditionals wherever a macro could meet ODAHU's nulls.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from compiler import naming as n
from compiler.plan.model import Override, ShardRule, WebhookAuth, WebhookRules

# The header Triggers' own compareSecret examples read (tektoncd/triggers pkg/interceptors/cel/triggers.go).
TOKEN_HEADER = "X-Secret-Token"
SPEC = "body.spec"
PARALLELISM = "body.spec.parallelism"


@dataclass(frozen=True)
class Interceptor:
    name: str
    ref: str
    # one of: a secret reference (github) or a CEL filter with overlays
    secret_name: str | None = None
    secret_key: str | None = None
    filter: str | None = None
    overlays: tuple[tuple[str, str], ...] = ()


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


@lru_cache(maxsize=64)
def _cel_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(cel_string(i) for i in items) + "]"


@lru_cache(maxsize=64)
def _cel_map(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{cel_string(k)}: {cel_string(v)}" for k, v in pairs) + "}"


def known_keys_filter(rules: WebhookRules) -> str:
    """The body's keys are an InferenceJob's (front/odahu.py): the verdict ``validate`` gives a job."""
    top = _cel_list(rules.top_keys)
    spec = _cel_list(rules.spec_keys)
    kind = "body.kind"
    spec_keys = f"body.spec.all(k, k in {spec} || type(body.spec[k]) == null_type)"
    return (
        f"body.all(k, k in {top} || type(body[k]) == null_type)"
        f" && (type(body.spec) == map ? {spec_keys} : false)"
        f" && (!{present(kind)} || {kind} == {cel_string(rules.kind)})"
        f" && (!{present('body.id')} || type(body.id) == string"
        f" && body.id.matches({cel_string(rules.id_pattern)}))"
    )


def _plain(rules: WebhookRules, expr: str, pattern: str) -> str:
    """A string that is empty (the default: the run's uid, the bucket's root) or conservative."""
    return (
        f"type({expr}) == string && ({expr} == '' || size({expr}) <= {rules.value_max}"
        f" && {expr}.matches({cel_string(pattern)}) && !{expr}.matches({cel_string(rules.parent_pattern)}))"
    )


def _override(rules: WebhookRules, override: Override) -> str:
    ref = f"{SPEC}.{override.key}"
    # Conditionals, not && / ||: a macro on a null (ODAHU's "dataSource": null) must not be evaluated.
    checks = (
        f"type({ref}) == map ? {ref}.all(k, k in {_cel_list(rules.reference_keys)}"
        f" || type({ref}[k]) == null_type)"
        f" && (!{present(f'{ref}.connection')} || type({ref}.connection) == string)"
        f" && (!{present(f'{ref}.path')} || ({_plain(rules, f'{ref}.path', rules.value_pattern)})) : false"
    )
    if override.default is None:
        return f"{present(ref)} ? ({checks}) && {present(f'{ref}.connection')} : false"
    return f"{present(ref)} ? ({checks}) : true"


def connection_clause(override: Override) -> str:
    """A named data connection is one the service may read, an output one it may write."""
    ref = f"{SPEC}.{override.key}"
    # Conditionals, not || : ODAHU's "dataSource": null must not be looked into (see cel_filter).
    named = f"{present(f'{ref}.connection')} ? {ref}.connection in {_cel_list(override.allowed)} : true"
    return f"{present(ref)} ? ({named}) : true"


def shards_filter(shards: ShardRule) -> str:
    """``spec.parallelism``, when given, is a whole number from 1 to the maximum (JSON: a double); a
    single run's body may say ``parallelism: 1`` and nothing more."""
    p = PARALLELISM
    if shards.maximum == 1:
        return f"!{present(p)} || (type({p}) == double && {p} == 1.0) || (type({p}) == int && {p} == 1)"
    return (
        f"!{present(p)} || (type({p}) == double && {p} >= 1.0 && {p} <= {float(shards.maximum)}"
        f" && double(int({p})) == {p})"
        f" || (type({p}) == int && {p} >= 1 && {p} <= {shards.maximum})"
    )


def cel_filter(rules: WebhookRules) -> str:
    """True only for this service's bodies whose overrides are safe to pass to a run."""
    spec, rid = SPEC, f"{SPEC}.requestId"
    lines = [
        f"has(body.spec) && type({spec}) == map && {present(f'{spec}.inferenceServiceId')}",
        f"{spec}.inferenceServiceId == {cel_string(rules.service)}",
        known_keys_filter(rules),
        f"!{present(f'{spec}.requestId')} || ({_plain(rules, rid, rules.request_id_pattern)})",
    ]
    lines += [_override(rules, o) for o in rules.overrides]
    lines += [connection_clause(o) for o in rules.overrides]
    lines += [f"!{present(f'{spec}.{key}')}" for key in rules.forbidden]
    lines.append(shards_filter(rules.shards))
    return "\n&& ".join(f"({line})" for line in lines)


def _given(key: str, field: str) -> str:
    return f"{present(f'{SPEC}.{key}')} && {present(f'{SPEC}.{key}.{field}')}"


OVERRIDE_PARAMS = {
    "dataSource": (n.PARAM_DATA_CONNECTION, n.PARAM_DATA_PATH),
    "outputDestination": (n.PARAM_OUTPUT_CONNECTION, n.PARAM_OUTPUT_PATH),
}


def cel_overlays(rules: WebhookRules) -> tuple[tuple[str, str], ...]:
    """(overlay key, CEL expression) for each run param."""
    paths = _cel_map(rules.connection_paths)
    rid = f"{SPEC}.requestId"
    overlays = [(n.overlay_key(n.PARAM_REQUEST_ID), f"{present(rid)} ? {rid} : ''")]
    for override in rules.overrides:
        key = override.key
        conn_param, path_param = OVERRIDE_PARAMS[key]
        default_conn, default_path = override.default or ("", "")
        body_conn = f"{SPEC}.{key}.connection"
        overlays.append(
            (
                n.overlay_key(conn_param),
                f"{_given(key, 'connection')} ? {body_conn} : {cel_string(default_conn)}",
            )
        )
        # A body that names only a connection, or gives an empty path, reads that connection's own path
        # (ODAHU's rule: GetBucketNamePath in odahu/odahu-flow 1.6.1, packages/operator/controllers/utils/
        # batchinferenceutils/batchinferencejob_utils.go).
        body_path = f"{SPEC}.{key}.path"
        conn = f"({_given(key, 'connection')} ? {body_conn} : {cel_string(default_conn)})"
        overlays.append(
            (
                n.overlay_key(path_param),
                f"{_given(key, 'path')} && {body_path} != '' ? {body_path}"
                f" : ({_given(key, 'connection')} || {_given(key, 'path')}"
                f" ? {paths}[{conn}] : {cel_string(default_path)})",
            )
        )
    if rules.shards.default is not None:
        p = PARALLELISM
        default = cel_string(str(rules.shards.default))
        overlays.append((n.shard_count_overlay_key(), f"{present(p)} ? string(int({p})) : {default}"))
    return tuple(overlays)


def token_filter(auth: WebhookAuth) -> str:
    """Triggers' ``<string>.compareSecret(<key>, <secret name>)``: a constant-time comparison with the
    Secret's key in the EventListener's namespace (tektoncd/triggers pkg/interceptors/cel/triggers.go,
    makeCompareSecret); a missing Secret is an error, so the call is refused."""
    header = f"header.canonical({cel_string(TOKEN_HEADER)})"
    return f"{header}.compareSecret({cel_string(auth.secret_key)}, {cel_string(auth.secret_name)})"


def auth_interceptors(auth: WebhookAuth) -> tuple[Interceptor, ...]:
    """The interceptors that authenticate a call, before anything reads its body."""
    if auth.kind == "hmac":
        # tektoncd/triggers pkg/interceptors/github/github.go: with secretRef set, a call without a
        # valid X-Hub-Signature-256 (HMAC-SHA256 of the body) is refused; no eventTypes: any event.
        return (
            Interceptor(
                "verify-signature", "github", secret_name=auth.secret_name, secret_key=auth.secret_key
            ),
        )
    if auth.kind == "token":
        return (Interceptor("verify-token", "cel", filter=token_filter(auth)),)
    return ()


def interceptors(rules: WebhookRules) -> tuple[Interceptor, ...]:
    """The service's chain: authenticate, then filter and default."""
    check = Interceptor("filter-and-default", "cel", filter=cel_filter(rules), overlays=cel_overlays(rules))
    return (*auth_interceptors(rules.auth), check)
