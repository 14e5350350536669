"""Kubernetes-flavoured scalar types: Go durations, resource quantities and DNS names.

Durations are parsed the way Go's ``time.ParseDuration`` does and printed the way
``time.Duration.String`` does, because Tekton's webhook normalises them to that form and
Argo CD would otherwise report the difference as drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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

# Kubernetes name formats (k8s.io/apimachinery pkg/util/validation/validation.go).
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def is_dns_label(value: str) -> bool:
    """``IsDNS1123Label``."""
    return len(value) <= 63 and DNS1123_LABEL.fullmatch(value) is not None


def is_dns_subdomain(value: str) -> bool:
    """``IsDNS1123Subdomain``."""
    return len(value) <= 253 and DNS1123_SUBDOMAIN.fullmatch(value) is not None


def is_dns1035_label(value: str) -> bool:
    """``IsDNS1035Label``: a label that starts with a letter."""
    return len(value) <= 63 and DNS1035_LABEL.fullmatch(value) is not None


def is_qualified_name(value: str) -> bool:
    """``IsQualifiedName``: ``[prefix/]name``, name <= 63, prefix a DNS subdomain."""
    prefix, slash, name = value.rpartition("/")
    if slash and not (prefix and is_dns_subdomain(prefix)):
        return False
    return len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name) is not None


def is_label_value(value: str) -> bool:
    """``IsValidLabelValue``: empty, or at most 63 characters of the label format."""
    return len(value) <= 63 and LABEL_VALUE.fullmatch(value) is not None


def parse_duration(text: str) -> int:
    """Return the duration in nanoseconds; raise ValueError with Go's expectations on bad input."""
    if text == "0":
        return 0
    body = text.lstrip("+")
    if not body or body.startswith("-"):
        raise ValueError(
            f"invalid duration {text!r}: expected a non-negative Go duration such as 90s or 1h30m"
        )
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


@dataclass(frozen=True)
class StorageURI:
    """A connection URI taken apart: ``bucket`` is the S3/GCS bucket or the Azure container
    (empty for local), ``path`` the prefix inside it without surrounding slashes (for local: the
    folder, absolute or relative to the working directory of the run), ``account`` the Azure
    storage account when the URI names one."""

    bucket: str
    path: str
    account: str = ""


_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
AZURE_HOST = re.compile(r"^([a-z0-9]{3,24})\.blob\.[a-z0-9.-]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
URI_FORMS = {
    "s3": "s3://BUCKET/PATH",
    "gcs": "gs://BUCKET/PATH",
    "azureblob": "https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH or CONTAINER/PATH",
    "local": "file:///ABSOLUTE/PATH or a folder relative to the working directory",
}


def parse_storage_uri(connection_type: str, uri: str) -> StorageURI:
    """Split a connection URI; ValueError says which form the type expects."""
    form = URI_FORMS.get(connection_type, "?")
    if any(c.isspace() for c in uri) or not uri:
        raise ValueError(f"invalid {connection_type} URI {uri!r}: expected {form} without spaces")
    if connection_type in ("s3", "gcs"):
        scheme = "s3://" if connection_type == "s3" else "gs://"
        if not uri.startswith(scheme):
            raise ValueError(f"invalid {connection_type} URI {uri!r}: expected {form}")
        return _bucket_and_path(uri[len(scheme) :], connection_type, uri, form)
    if connection_type == "azureblob":
        if uri.startswith("https://") or uri.startswith("http://"):
            host, _, rest = uri.split("://", 1)[1].partition("/")
            match = AZURE_HOST.fullmatch(host)
            if match is None:
                raise ValueError(
                    f"invalid azureblob URI {uri!r}: expected {form}; "
                    "for an emulator or custom host put it in 'endpoint' and write CONTAINER/PATH"
                )
            found = _bucket_and_path(rest, connection_type, uri, form)
            return StorageURI(found.bucket, found.path, match.group(1))
        if _SCHEME.match(uri):
            raise ValueError(f"invalid azureblob URI {uri!r}: expected {form}")
        return _bucket_and_path(uri, connection_type, uri, form)
    if connection_type == "local":
        if uri.startswith("file://"):
            path = uri[len("file://") :]
            if not path.startswith("/"):
                raise ValueError(f"invalid local URI {uri!r}: expected file:///ABSOLUTE/PATH (three slashes)")
            return StorageURI("", path.rstrip("/") or "/")
        if _SCHEME.match(uri):
            raise ValueError(f"invalid local URI {uri!r}: expected {form}")
        return StorageURI("", uri.rstrip("/") or "/")
    raise ValueError(f"unknown connection type {connection_type!r}")


def _bucket_and_path(rest: str, connection_type: str, uri: str, form: str) -> StorageURI:
    bucket, _, path = rest.partition("/")
    what = "container" if connection_type == "azureblob" else "bucket"
    if not bucket or not _BUCKET.fullmatch(bucket):
        raise ValueError(f"invalid {connection_type} URI {uri!r}: no valid {what} name; expected {form}")
    return StorageURI(bucket, path.strip("/"))
