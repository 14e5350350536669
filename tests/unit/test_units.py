"""units: Go durations, Kubernetes quantities, storage URIs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from compiler.units import StorageURI, canonical_duration, check_quantity, parse_duration, parse_storage_uri


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("0", "0s"),
        ("90s", "1m30s"),
        ("1h", "1h0m0s"),
        ("1h30m", "1h30m0s"),
        ("1.5h", "1h30m0s"),
        ("2m3.5s", "2m3.5s"),
    ],
)
def test_durations_print_as_go_does(text: str, canonical: str) -> None:
    assert canonical_duration(text) == canonical


@pytest.mark.parametrize("text", ["", "1", "-1s", "1 hour", "1d", "h", "9999999999h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"), [("500m", Decimal("0.5")), ("1Gi", Decimal(2**30)), ("2", Decimal(2))]
)
def test_quantities(text: str, value: Decimal) -> None:
    assert check_quantity(text) == value


@pytest.mark.parametrize("text", ["two", "1GB", "", "-1", "1.2.3"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        check_quantity(text)


@pytest.mark.parametrize(
    ("kind", "uri", "parsed"),
    [
        ("s3", "s3://bucket/a/b/", StorageURI("bucket", "a/b")),
        ("s3", "s3://bucket", StorageURI("bucket", "")),
        ("gcs", "gs://bucket/x", StorageURI("bucket", "x")),
        ("azureblob", "https://acct.blob.core.windows.net/models/m", StorageURI("models", "m", "acct")),
        ("azureblob", "models/prod/v1", StorageURI("models", "prod/v1")),
        ("local", "file:///srv/data/", StorageURI("", "/srv/data")),
        ("local", "examples/multiplier", StorageURI("", "examples/multiplier")),
    ],
)
def test_storage_uris(kind: str, uri: str, parsed: StorageURI) -> None:
    assert parse_storage_uri(kind, uri) == parsed


@pytest.mark.parametrize(
    ("kind", "uri"),
    [
        ("s3", "gs://bucket"),
        ("s3", "s3://"),
        ("gcs", "gcs://bucket"),
        ("azureblob", "https://example.com/c/p"),
        ("azureblob", "s3://c/p"),
        ("local", "file://relative"),
        ("local", "s3://bucket"),
        ("s3", "s3://bucket/with space"),
    ],
)
def test_bad_storage_uris(kind: str, uri: str) -> None:
    with pytest.raises(ValueError, match="URI"):
        parse_storage_uri(kind, uri)
