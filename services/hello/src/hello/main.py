"""The hello HTTP API."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response, status
from pydantic import BaseModel

from hello import __version__
from hello.bodies import BodyBudget
from hello.metrics import RequestMetrics, metrics_response
from hello.settings import get_settings
from hello.shutdown import DRAINING

logger = logging.getLogger("hello")


class Echo(BaseModel):
    """Example request and response body."""

    message: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Ready once start-up work is done; not ready again from shutdown on."""
    # Open connection pools, warm caches and so on here, before readiness.
    app.state.ready = True
    logger.info("started version %s", __version__)
    yield
    app.state.ready = False
    logger.info("stopped")


max_body_bytes = get_settings().max_request_body_bytes
app = FastAPI(
    title="hello",
    version=__version__,
    lifespan=lifespan,
    max_body_size=max_body_bytes,  # 413 for a larger body (bodies.py)
)
app.state.ready = False
# The last one added runs first: metrics see every answer, 413s and 500s included.
app.add_middleware(BodyBudget, max_body_bytes=max_body_bytes)
app.add_middleware(RequestMetrics)


@app.get("/livez", include_in_schema=False)
def livez() -> dict[str, str]:
    """Liveness: the process answers. Never checks dependencies."""
    return {"status": "ok"}


@app.get("/readyz", include_in_schema=False)
def readyz(response: Response) -> dict[str, str]:
    """Readiness: start-up finished and no shutdown begun: the service can take traffic."""
    if DRAINING.is_set():
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "draining"}
    if not app.state.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "starting"}
    return {"status": "ready"}


@app.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    return metrics_response()


@app.get("/")
def info() -> dict[str, str]:
    """Which service and version answered."""
    return {"service": "hello", "version": __version__}


@app.post("/echo")
def echo(body: Echo) -> Echo:
    """Example endpoint: returns the message it was sent."""
    return body
