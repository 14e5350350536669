"""Fixtures of the end-to-end tests: the backend whose compiled documents a run executes, and what the
``status`` tests of both backends share: an S3 store on moto, its credentials as a secrets file, and the
stand-in Kubernetes API server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_run_support import Store, s3_store
from tests.support.kube_api import KubeApiServer
from tests.support.servers import MotoS3Server

BACKENDS = ("tekton", "argo")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs the job from the Tekton documents, then from the Argo ones."""
    return str(request.param)


@pytest.fixture
def store(s3_server: MotoS3Server) -> Store:
    return s3_store(s3_server)


@pytest.fixture
def secrets(tmp_path: Path, store: Store) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(json.dumps(store.secrets), encoding="utf-8")
    return path


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        yield server
