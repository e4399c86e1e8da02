"""Shared fixtures: a test client that runs the app's start-up and shutdown."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hello.main import app


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The app with its lifespan running, as in a real server."""
    with TestClient(app) as test_client:
        yield test_client
