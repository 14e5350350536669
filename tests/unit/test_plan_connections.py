"""plan/connections.py: where references and models point in a connection, GCS' region, as ODAHU read them."""

from __future__ import annotations

import pytest

from compiler.front.project import Project
from compiler.front.resolve import resolve
from compiler.front.spec import ConnectionReference
from compiler.front.validate import validate
from compiler.plan.connections import Connections, gcs_region_project, go_path_join
from tests.unit.helpers import raws


def project_of(text: str) -> Project:
    result = resolve(list(validate(raws(text)).documents), for_cluster=True)
    assert result.project is not None, result.diagnostics
    return result.project


# Go's path.Join cases (golang/go, src/path/path_test.go, jointests), without the leading '/' of an absolute
# result: a path inside a bucket has none.
GO_JOIN = [
    (("a", "b"), "a/b"),
    (("a", ""), "a"),
    (("", "b"), "b"),
    (("/", "a"), "a"),
    (("/", ""), ""),
    (("a/", "b"), "a/b"),
    (("a/", ""), "a"),
    (("", ""), ""),
    (("output", "test-data/batch_job_data/model"), "output/test-data/batch_job_data/model"),
    (("output", "/abs/model"), "output/abs/model"),  # Go's Join does not restart at an absolute part
    (("a/b", "../c"), "a/c"),
    (("a", "."), "a"),
]


@pytest.mark.parametrize(("parts", "joined"), GO_JOIN)
def test_go_path_join(parts: tuple[str, ...], joined: str) -> None:
    assert go_path_join(*parts) == joined


SPECS = """
kind: Connection
id: models-output
spec: {type: s3, uri: s3://bucket/output, credentials: {anonymous: true}}
"""


def test_model_path_is_relative_to_the_connection_and_an_empty_path_is_the_connections() -> None:
    connections = Connections(project_of(SPECS))
    # ODAHU's e2e layout: the model of modelPath test-data/batch_job_data/model is under <bucket>/output/.
    assert connections.model_location("models-output", "test-data/batch_job_data/model") == (
        "models-output",
        "output/test-data/batch_job_data/model",
    )
    assert connections.model_location("models-output", None) == ("models-output", "output")
    assert connections.model_location("models-output", "") == ("models-output", "output")
    # A data reference's path replaces the connection's; an empty one is the connection's own.
    ref = ConnectionReference(connection="models-output", path="test-data/batch_job_data/input")
    assert connections.location(ref) == ("models-output", "test-data/batch_job_data/input")
    assert connections.location(ConnectionReference(connection="models-output", path="")) == (
        "models-output",
        "output",
    )
    assert connections.location(ConnectionReference(connection="models-output")) == (
        "models-output",
        "output",
    )


@pytest.mark.parametrize(
    ("region", "project", "expected"),
    [
        ("europe-west1", None, ("europe-west1", None)),
        ("EU", None, ("EU", None)),
        ("nam4", None, ("nam4", None)),
        ("my-gcp-project-123456", None, (None, "my-gcp-project-123456")),
        ("my-gcp-project-123456", "42", ("my-gcp-project-123456", "42")),  # both given: as written
        (None, "42", (None, "42")),
    ],
)
def test_gcs_region_is_a_location_or_odahus_project(
    region: str | None, project: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert gcs_region_project(region, project) == expected
