"""Kubernetes-flavoured scalar types: Go durations, resource quantities and DNS names.

Durations are parsed the way Go's ``time.ParseDuration`` does and printed the way
``time.Duration.String`` does, because Tekton's webhook normalises them to that form and
Argo CD would otherwise report the difference as drift.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_NS = 2**63 - 1

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def parse_duration(text: str) -> int:
    """Return the duration in nanoseconds; raise ValueError with Go's expectations on bad input."""
    if text == "0":
        return 0
    body = text.lstrip("+")
    if not body or body.startswith("-"):
        raise ValueError(f"invalid duration {text!r}: expected a non-negative Go duration such as 90s or 1h30m")
    pos, total = 0, Decimal(0)
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r}: expected a Go duration such as 90s, 30m or 1h30m")
        total += Decimal(match.group(1)) * _UNIT_NS[match.group(2)]
        pos = match.end()
    if total > _MAX_NS:
        raise ValueError(f"invalid duration {text!r}: longer than Go's maximum of about 292 years")
    return int(total)


def format_duration(ns: int) -> str:
    """Format nanoseconds as Go's ``Duration.String`` does for whole seconds and up (``1h0m0s``)."""
    if ns == 0:
        return "0s"
    if ns % 1_000_000_000:
        seconds = Decimal(ns) / Decimal(1_000_000_000)
        whole = int(seconds)
        frac = format(seconds - whole, "f").lstrip("0").rstrip("0")
        hours, rest = divmod(whole, 3600)
        minutes, secs = divmod(rest, 60)
        tail = f"{secs}{frac}s"
    else:
        hours, rest = divmod(ns // 1_000_000_000, 3600)
        minutes, secs = divmod(rest, 60)
        tail = f"{secs}s"
    if hours:
        return f"{hours}h{minutes}m{tail}"
    if minutes:
        return f"{minutes}m{tail}"
    return tail


def canonical_duration(text: str) -> str:
    return format_duration(parse_duration(text))


@cache
def _parse_quantity() -> object:
    # Imported lazily: the kubernetes package takes a noticeable time to import.
    from kubernetes.utils.quantity import parse_quantity

    return parse_quantity


def check_quantity(text: str) -> Decimal:
    """Parse a Kubernetes resource quantity with the kubernetes package's own parser."""
    parser = _parse_quantity()
    try:
        value = parser(text)  # type: ignore[operator]
    except (ValueError, InvalidOperation, TypeError) as exc:
        raise ValueError(
            f"invalid quantity {text!r}: expected a Kubernetes quantity such as 500m, 2, 1Gi or 512Mi"
        ) from exc
    if not isinstance(value, Decimal) or value < 0:
        raise ValueError(f"invalid quantity {text!r}: expected a non-negative Kubernetes quantity")
    return value
