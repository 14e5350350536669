"""The webhook: ODAHU's ``POST /api/v1/batch/job`` body, accepted by the namespace's receiver.

Per namespace one listener picks up every service's trigger by label, so adding a service never changes
the listener. Each service's webhook first authenticates the call (``auth``: an HMAC of the body, or a
shared token; only an explicit ``auth: none`` skips it), then accepts only bodies for its service whose
overrides are plain, conservative strings naming connections the service may read from and write to
(``compiler.front.access``; resources and node selectors cannot be overridden over the webhook), and fills
what the body omits with the service's defaults. All of it is decided here as data (``WebhookRules``);
each backend writes the rules in its own expression language.
"""

from __future__ import annotations

from compiler import naming as n
from compiler.front import odahu
from compiler.front.access import Access
from compiler.front.project import Service
from compiler.front.spec import InferenceJobSpec
from compiler.plan.model import Override, ReceiverNeed, ShardRule, WebhookAuth, WebhookRules

# What a body may carry: a conservative character set, no "..", at most 256 characters.
VALUE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._/-]*$"
REQUEST_ID_PATTERN = n.REQUEST_ID_PATTERN
PARENT_PATTERN = "(^|/)[.][.](/|$)"
VALUE_MAX = n.REQUEST_ID_MAX
OVERRIDES = ("dataSource", "outputDestination")
REFERENCE_KEYS = ("connection", "path")
FORBIDDEN = ("resources", "nodeSelector", "replaceOutput")

# The listener reads its own trigger objects and config, creates runs and reports events; it reads no
# Secret (the backend authenticates a call under another account). Cluster-wide it only reads the shared
# trigger objects.
LISTENER_NEEDS: tuple[ReceiverNeed, ...] = ("read-triggers", "read-config", "create-runs", "report-events")
LISTENER_CLUSTER_NEEDS: tuple[ReceiverNeed, ...] = ("read-cluster-triggers",)


def listener_needs(sharded: bool) -> tuple[ReceiverNeed, ...]:
    """The listener's needs in a namespace; ``sharded``: one of its services runs sharded."""
    if not sharded:
        return LISTENER_NEEDS
    at = LISTENER_NEEDS.index("create-runs") + 1
    return (*LISTENER_NEEDS[:at], "create-sharded-runs", *LISTENER_NEEDS[at:])


def webhook_auth(service: Service) -> WebhookAuth:
    """hmac | token | none with its Secret (name, key): by default an HMAC keyed by ``<service>-webhook``."""
    webhook = service.spec.triggers.webhook
    auth = webhook.effective_auth
    given = webhook.hmac if auth == "hmac" else webhook.token
    if given is not None:
        return WebhookAuth(auth, given.secretName, given.secretKey)
    return WebhookAuth(auth, n.webhook_secret_name(service.name), "secret" if auth == "hmac" else "token")


def webhook_rules(
    service: Service,
    access: Access,
    defaults: dict[str, tuple[str, str] | None],
    connection_paths: tuple[tuple[str, str], ...],
    shards: ShardRule,
) -> WebhookRules:
    """The service's webhook rules; ``defaults``: override -> (connection, path), ``connection_paths``:
    the own paths of the connections ``access`` allows."""
    allowed = {"dataSource": access.data, "outputDestination": access.output}
    return WebhookRules(
        service=service.name,
        top_keys=(*odahu.JOB_KEYS, *odahu.SERVER_MANAGED),
        spec_keys=tuple(InferenceJobSpec.model_fields),
        reference_keys=REFERENCE_KEYS,
        kind="InferenceJob",
        id_pattern=odahu.ID_PATTERN,
        request_id_pattern=REQUEST_ID_PATTERN,
        value_pattern=VALUE_PATTERN,
        parent_pattern=PARENT_PATTERN,
        value_max=VALUE_MAX,
        overrides=tuple(Override(key, allowed[key], defaults[key]) for key in OVERRIDES),
        connection_paths=connection_paths,
        forbidden=FORBIDDEN,
        shards=shards,
        auth=webhook_auth(service),
    )


def binding_params() -> tuple[tuple[str, str], ...]:
    """(run param, overlay key the binding reads it from)."""
    return tuple((param, n.overlay_key(param)) for param in n.RUN_PARAMS)
