"""Fixtures of the end-to-end tests: the backend whose compiled documents a run executes."""

from __future__ import annotations

import pytest

BACKENDS = ("tekton", "argo")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs the job from the Tekton documents, then from the Argo ones."""
    return str(request.param)
