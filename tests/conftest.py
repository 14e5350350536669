"""Root fixtures: real storage servers and sinks on 127.0.0.1 (see tests/support/servers.py).

Storage servers are session-scoped, so under ``pytest -n N`` each xdist worker runs its own on free ports.
They are shared by the tests of a worker: use a fresh bucket per test (``unique_bucket()``), and never
``kill()`` or ``restart()`` a shared server: fault tests start their own (``with MotoS3Server() as s3:``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import AzuriteServer, FluentdSink, GcsEmulator, HttpSink, MotoS3Server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3Server]:
    with MotoS3Server() as server:
        yield server


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    with AzuriteServer() as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GcsEmulator]:
    with GcsEmulator() as server:
        yield server


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    with HttpSink() as sink:
        yield sink


@pytest.fixture
def fluentd_sink() -> Iterator[FluentdSink]:
    with FluentdSink() as sink:
        yield sink
