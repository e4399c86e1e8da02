"""Metrics labels come from closed sets: clients cannot grow /metrics."""

import re

from fastapi.testclient import TestClient

from hello.metrics import METHODS, OTHER

LABEL = re.compile(r'(method|route)="([^"]*)"')


def labels(metrics: str, name: str) -> set[str]:
    return {value for key, value in LABEL.findall(metrics) if key == name}


def test_unknown_methods_and_unmatched_paths_are_counted_as_other(client: TestClient) -> None:
    for number in range(50):
        client.request(f"BREW{number}", f"/nothing/{number}")
        client.get(f"/nothing/{number}?q={number}")
    metrics = client.get("/metrics").text
    assert labels(metrics, "method") <= METHODS | {OTHER}
    assert labels(metrics, "route") <= {route.path for route in client.app.routes} | {OTHER}
    assert 'http_requests_total{method="other",route="other",status="404"}' in metrics
    assert "nothing" not in metrics and "BREW" not in metrics


def test_a_known_method_on_a_known_route_keeps_its_labels(client: TestClient) -> None:
    client.delete("/echo")
    metrics = client.get("/metrics").text
    assert 'http_requests_total{method="DELETE",route="/echo",status="405"}' in metrics
