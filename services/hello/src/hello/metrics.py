"""Prometheus metrics: request count and latency per route template."""

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("http_requests_total", "HTTP requests handled.", ["method", "route", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency.", ["method", "route"])


async def record_request(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: label by route template, not raw path, to bound cardinality."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    name = getattr(route, "path", "unmatched")
    LATENCY.labels(request.method, name).observe(time.perf_counter() - started)
    REQUESTS.labels(request.method, name, str(response.status_code)).inc()
    return response


def metrics_response() -> Response:
    """The default registry in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
