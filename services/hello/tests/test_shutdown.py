"""From SIGTERM on: not ready, and every answer closes its connection (shutdown.py)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hello.main import app
from hello.shutdown import DRAINING, close_while_draining


@pytest.fixture
def draining() -> Iterator[None]:
    DRAINING.set()  # what the server's SIGTERM handler does
    yield
    DRAINING.clear()


@pytest.fixture
def served() -> Iterator[TestClient]:
    """The app as DrainingServer serves it: wrapped by close_while_draining."""
    with TestClient(close_while_draining(app)) as test_client:
        yield test_client


def test_answers_keep_the_connection_open_before_the_signal(served: TestClient) -> None:
    response = served.get("/")
    assert response.headers.get("connection") != "close"


@pytest.mark.usefixtures("draining")
def test_readiness_fails_at_once(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}


@pytest.mark.usefixtures("draining")
def test_every_answer_closes_its_connection(served: TestClient) -> None:
    oversized = {"content-length": str(10**9)}
    for response in (
        served.get("/"),
        served.get("/nothing"),
        served.post("/echo", json={}),
        served.get("/livez", headers=oversized),  # 413 sent by FastAPI's outer body limit
    ):
        assert response.headers["connection"] == "close"


@pytest.mark.usefixtures("draining")
def test_requests_are_still_served(client: TestClient) -> None:
    assert client.post("/echo", json={"message": "late"}).json() == {"message": "late"}
