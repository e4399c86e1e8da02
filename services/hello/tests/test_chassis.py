"""The platform's part (chassis.py): what Kubernetes and Prometheus rely on."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from hello.chassis import PlatformSettings, create_app
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


def test_readyz_waits_for_the_services_own_start_up() -> None:
    seen: list[bool] = []

    @asynccontextmanager
    async def start_up(app: FastAPI) -> AsyncIterator[None]:
        seen.append(app.state.ready)
        yield

    with TestClient(create_app("probed", start_up)) as started:
        assert started.get("/readyz").status_code == 200
    assert seen == [False]  # not ready while the service's own start-up ran


def test_metrics_are_prometheus_text_with_route_labels(client: TestClient) -> None:
    client.get("/livez")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'http_requests_total{method="GET",route="/livez",status="200"}' in response.text


def test_the_default_port_is_the_one_the_cluster_config_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Outside the cluster (tests, a bare `python -m`) the default is the port: keep them equal.
    monkeypatch.delenv("PORT", raising=False)
    config = Path(__file__).parents[1] / "k8s" / "base" / "config.env"
    values = dict(line.partition("=")[::2] for line in config.read_text().splitlines())
    assert PlatformSettings().port == int(values["PORT"])


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "80"), ("MAX_REQUEST_BODY_BYTES", "100"), ("MAX_REQUEST_BODY_BYTES", "1e12")],
)
def test_bad_platform_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        PlatformSettings()
