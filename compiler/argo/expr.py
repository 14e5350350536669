"""The plan's webhook rules (``WebhookRules``) as Argo Server event expressions.

A WorkflowEventBinding's ``spec.event.selector`` and each ``spec.submit.arguments.parameters[]
.valueFrom.event`` are expr-lang/expr expressions (v1.17.8, pinned by argo-workflows v4.1.2 ``go.mod``),
evaluated over the environment ``server/event/dispatch/operation.go`` builds: ``payload`` (the request
body), ``metadata`` (the ``x-`` headers), ``discriminator`` (the URL's last segment) and ``namespace``,
put through ``util/json/jsonify.go`` (``json.Marshal`` then ``json.Unmarshal`` into ``map[string]any``), so
a JSON object is a ``map[string]interface{}``, every number a ``float64``, ``null`` a nil.

What the expressions rely on, from the expr source (paths in expr-lang/expr v1.17.8):
- member access on a map with a missing key gives nil; on nil, a string or a number it is an error
  (``vm/runtime/runtime.go`` ``Fetch``); ``a?.b`` gives nil when ``a`` is nil and ``a ?? b`` gives ``b``
  when ``a`` is nil (``parser/parser.go``; ``??`` cannot be mixed with another operator without parentheses,
  so every ``??`` here is parenthesised);
- ``&&``, ``||`` and ``?:`` evaluate left to right and stop early (``compiler/compiler.go``: jumps,
  as ``conf/config.go`` ``CreateNew`` sets ``ShortCircuit`` and Argo passes no option against it), and
  their conditions must be booleans at run time (``vm/vm.go`` ``OpJumpIfFalse``), so every guard comes
  first;
- ``==`` between values of different types is false, never an error (``vm/runtime`` ``Equal``), and
  numbers of different kinds compare by value (``1 == 1.0``);
- ``matches`` on nil is false and on any other non-string an error (``vm/vm.go`` ``OpMatches``,
  ``OpMatchesConst``); regular expressions are Go's RE2, as CEL's, and unanchored, so each pattern
  carries its own ``^``/``$``;
- ``x in ["a", "b"]`` becomes a ``map[string]struct{}`` lookup (``optimizer/in_array.go``): nil is not in
  it and any other non-string is an error, so ``type(x) == "string"`` comes first;
- ``type()`` names ``"nil"``, ``"bool"``, ``"float"``, ``"string"``, ``"array"``, ``"map"``
  (``builtin/lib.go`` ``Type``); ``keys()`` of a map, ``all(array, predicate)`` with ``#`` the element,
  ``len()`` of a string counts bytes (the patterns admit ASCII only, so bytes are characters), ``int()``
  truncates a float and ``string()`` prints an int in decimal (``builtin/builtin.go``, ``builtin/lib.go``).

The selector is total over JSON objects: for any object body it evaluates to true or false, never to an
error, because every member access is guarded by the type checks before it. A body that is not a JSON
object (an array, a string, ``null``) fails the selector's type check at compile time
(``checker/checker.go`` ``memberNode``: ``payload.spec`` on such a value), as it fails Triggers' CEL.

What Argo Server does with a selector's verdict (``server/event/dispatch/operation.go``, ``server/event/
event_server.go``): every binding of the namespace evaluates every event, whatever its discriminator, so
the selector checks the discriminator first. ``false`` submits nothing and records nothing. An error
(compiling or running the selector or a parameter) submits nothing for that binding: it is logged, a
``Warning`` Event ``WorkflowEventBindingError`` is recorded on the binding, and the other bindings still
run; by default (``--event-async-dispatch=false``) the call then answers an error status, with
``--event-async-dispatch`` the call has already been answered. Either way the caller never learns that a
body was refused: the run that does not appear is the answer, as with Tekton Triggers.

The parameters are evaluated only after the selector matched, so they may rely on its checks; each yields a
string, which Argo turns into the Workflow's parameter value through ``json.Marshal`` and ``Item.String``
(the quotes of a JSON string dropped; ``pkg/apis/workflow/v1alpha1/item.go``).
"""

from __future__ import annotations

from functools import lru_cache

from compiler import naming as n
from compiler.plan.model import Override, ShardRule, WebhookRules

PAYLOAD = "payload"
SPEC = "payload.spec"
PARALLELISM = "payload.spec.parallelism"

OVERRIDE_PARAMS = {
    "dataSource": (n.PARAM_DATA_CONNECTION, n.PARAM_DATA_PATH),
    "outputDestination": (n.PARAM_OUTPUT_CONNECTION, n.PARAM_OUTPUT_PATH),
}


@lru_cache(maxsize=4096)
def expr_string(text: str) -> str:
    """A double-quoted expr string literal (``parser/lexer/utils.go`` ``unescape``: ``\\\\``, ``\\"``,
    ``\\uXXXX`` and ``\\UXXXXXXXX`` as in Go)."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char.isprintable() and char.isascii():
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


@lru_cache(maxsize=64)
def _list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(expr_string(i) for i in items) + "]"


@lru_cache(maxsize=64)
def _map(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{expr_string(k)}: {expr_string(v)}" for k, v in pairs) + "}"


def _is(ref: str, kind: str) -> str:
    return f"type({ref}) == {expr_string(kind)}"


def _only_keys(ref: str, keys: tuple[str, ...]) -> str:
    """Every key of the map ``ref`` is one of ``keys`` or holds null (a null field is an absent one, as
    ODAHU's SDK sends every field: front/odahu.py)."""
    return f"all(keys({ref}), # in {_list(keys)} || {ref}[#] == nil)"


def _plain(rules: WebhookRules, ref: str, pattern: str) -> str:
    """A string that is empty (the default: the run's uid, the bucket's root) or conservative."""
    return (
        f'{_is(ref, "string")} && ({ref} == "" || len({ref}) <= {rules.value_max}'
        f" && {ref} matches {expr_string(pattern)} && !({ref} matches {expr_string(rules.parent_pattern)}))"
    )


def _override(rules: WebhookRules, override: Override) -> str:
    """The override is a map of plain values naming a connection it may use; present when required."""
    ref = f"{SPEC}.{override.key}"
    conn, path = f"{ref}.connection", f"{ref}.path"
    named = f"{_is(conn, 'string')} && {conn} in {_list(override.allowed)}"
    checks = (
        f"{_is(ref, 'map')} && {_only_keys(ref, rules.reference_keys)}"
        # without a default, the body must name the connection
        f" && ({named if override.default is None else f'{conn} == nil || {named}'})"
        f" && ({path} == nil || {_plain(rules, path, rules.value_pattern)})"
    )
    if override.default is None:
        return checks
    return f"{ref} == nil || {checks}"


def shards_selector(shards: ShardRule) -> str:
    """``spec.parallelism``, when given, is a whole number from 1 to the maximum (a JSON number: float64)."""
    p = PARALLELISM
    if shards.maximum == 1:
        return f"{p} == nil || {_is(p, 'float')} && {p} == 1"
    return f"{p} == nil || {_is(p, 'float')} && {p} >= 1 && {p} <= {shards.maximum} && int({p}) == {p}"


def selector(rules: WebhookRules) -> str:
    """True only for this service's bodies whose overrides are safe to pass to a run; never an error
    for a JSON object body (see the module's docstring)."""
    spec = SPEC
    rid = f"{spec}.requestId"
    lines = [
        f"discriminator == {expr_string(rules.service)}",
        _is(spec, "map"),
        f"{spec}.inferenceServiceId == {expr_string(rules.service)}",
        _only_keys(PAYLOAD, rules.top_keys),
        _only_keys(spec, rules.spec_keys),
        f"{PAYLOAD}.kind == nil || {PAYLOAD}.kind == {expr_string(rules.kind)}",
        f"{PAYLOAD}.id == nil || {_is(f'{PAYLOAD}.id', 'string')}"
        f" && {PAYLOAD}.id matches {expr_string(rules.id_pattern)}",
        f"{rid} == nil || {_plain(rules, rid, rules.request_id_pattern)}",
        *(_override(rules, o) for o in rules.overrides),
        *(f"{spec}.{key} == nil" for key in rules.forbidden),
        shards_selector(rules.shards),
    ]
    return "\n&& ".join(f"({line})" for line in lines)


def _location(override: Override, paths: str) -> tuple[str, str]:
    """(connection, path) expressions: the body's, else the default; a body that names only a connection,
    or gives an empty path, reads that connection's own path (ODAHU's GetBucketNamePath, odahu/odahu-flow
    1.6.1 packages/operator/controllers/utils/batchinferenceutils/batchinferencejob_utils.go)."""
    ref = f"{SPEC}.{override.key}"
    default_conn, default_path = override.default or ("", "")
    conn = f"({ref}?.connection ?? {expr_string(default_conn)})"
    named = f"{ref}?.connection != nil || {ref}?.path != nil"
    path = (
        f'(({ref}?.path ?? "") != "" ? {ref}.path'
        f" : ({named} ? {paths}[{conn}] : {expr_string(default_path)}))"
    )
    return conn, path


def parameters(rules: WebhookRules) -> tuple[tuple[str, str], ...]:
    """(Workflow parameter, expression) for each run param, named as the run params are."""
    paths = _map(rules.connection_paths)
    out = [(n.PARAM_REQUEST_ID, f'({SPEC}.requestId ?? "")')]
    for override in rules.overrides:
        conn_param, path_param = OVERRIDE_PARAMS[override.key]
        conn, path = _location(override, paths)
        out += [(conn_param, conn), (path_param, path)]
    if rules.shards.default is not None:
        p = PARALLELISM
        default = expr_string(str(rules.shards.default))
        out.append((n.PARAM_SHARD_COUNT, f"({p} == nil ? {default} : string(int({p})))"))
    return tuple(out)


def literal(value: str) -> str:
    """A label, annotation or name of ``submit.metadata``: Argo Server evaluates each as an expression
    (``operation.go`` ``populateWorkflowMetadata``), so a fixed value is written as a string literal."""
    return expr_string(value)
