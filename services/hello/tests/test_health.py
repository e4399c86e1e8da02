"""Probes and metrics: what Kubernetes and Prometheus rely on."""

from fastapi.testclient import TestClient

from hello.main import app


def test_livez_answers_ok(client: TestClient) -> None:
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_once_started(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_unavailable_before_start_up() -> None:
    # Without the context manager the lifespan never runs: the app is still starting.
    response = TestClient(app).get("/readyz")
    assert response.status_code == 503


def test_metrics_are_prometheus_text_with_route_labels(client: TestClient) -> None:
    client.get("/livez")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'http_requests_total{method="GET",route="/livez",status="200"}' in response.text


def test_echo_returns_the_message(client: TestClient) -> None:
    response = client.post("/echo", json={"message": "hi"})
    assert response.status_code == 200
    assert response.json() == {"message": "hi"}
