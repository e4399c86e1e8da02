"""What every service of the platform shares: its settings, probes, metrics and body limits,
in one app factory (the "microservice chassis" pattern); connections.py bounds connections
and drains them on shutdown.

Template-managed: `make update` brings its fixes to every service. The service's own routes
and start-up work live in main.py, its own settings in settings.py; both are the service's.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from functools import lru_cache
from typing import Literal

from fastapi import FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hello import __version__
from hello.bodies import RequestBodies
from hello.connections import DRAINING
from hello.metrics import RequestMetrics, metrics_response
from hello.peers import PEERS, CallPolicy, PeerError, opened
from hello.propagation import (
    TraceContext,
    request_id,
    request_id_middleware,
)

logger = logging.getLogger("hello")
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class PlatformSettings(BaseSettings):
    """The variables the platform's part reads. Names are the upper-case field names;
    defaults are the template's (copier.yml's platform_defaults), as in .env.example."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    port: int = Field(default=8000, ge=1024, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Below the pod's terminationGracePeriodSeconds minus its preStop pause.
    shutdown_timeout_seconds: int = Field(default=20, ge=1, le=120)
    # 413 beyond it. Raising it raises peak memory (bodies.py): resize the memory limit too.
    max_request_body_bytes: int = Field(default=1048576, ge=1024, le=64 * 1_048_576)
    # A client's time to send a request's head, and again its body (connections.py, bodies.py).
    request_timeout_seconds: int = Field(default=10, ge=1, le=300)
    # Calls to the services this one calls (peers.py): connect, in all, and tries.
    peer_connect_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    peer_timeout_seconds: float = Field(default=5, gt=0, le=120)
    peer_attempts: int = Field(default=3, ge=1, le=10)

    def peer_urls(self) -> dict[str, str]:
        """Each peer's base URL, by its service name."""
        return {peer: getattr(self, peer.replace("-", "_") + "_url") for peer in PEERS}


@lru_cache
def platform_settings() -> PlatformSettings:
    """Read once per process."""
    return PlatformSettings()


def create_app(title: str, lifespan: Lifespan | None = None) -> FastAPI:
    """The service's FastAPI app: ready once `lifespan`'s start-up is done, with the probes
    Kubernetes calls, the metrics Prometheus scrapes and bounded request bodies."""

    settings = platform_settings()
    policy = CallPolicy(
        settings.peer_connect_timeout_seconds, settings.peer_timeout_seconds, settings.peer_attempts
    )

    @asynccontextmanager
    async def ready_after_start_up(app: FastAPI) -> AsyncIterator[None]:
        async with opened(settings.peer_urls(), policy) as peers:
            app.state.peers = peers  # peers.py: one pooled client each, closed on shutdown
            async with (lifespan or nullcontext)(app):
                app.state.ready = True
                logger.info("started version %s", __version__)
                yield
                app.state.ready = False
        logger.info("stopped")

    max_body_bytes = settings.max_request_body_bytes
    app = FastAPI(
        title=title,
        version=__version__,
        lifespan=ready_after_start_up,
        max_body_size=max_body_bytes,  # 413 for a larger body (bodies.py)
    )
    app.state.ready = False
    # The last one added runs first: metrics see every answer, 413s and 500s included.
    app.add_middleware(
        RequestBodies, max_body_bytes=max_body_bytes, timeout=settings.request_timeout_seconds
    )
    app.add_middleware(RequestMetrics)
    app.add_middleware(TraceContext)
    middleware, options = request_id_middleware()  # outermost: every answer carries the id
    app.add_middleware(middleware, **options)

    @app.exception_handler(PeerError)
    def peer_failed(request: Request, error: PeerError) -> JSONResponse:
        """A call to a peer that got no usable answer: 502, 503 or 504, saying which."""
        return JSONResponse({"detail": error.detail, "request_id": request_id()}, error.status)

    @app.get("/livez", include_in_schema=False)
    def livez() -> dict[str, str]:
        """Liveness: the process answers. Never checks dependencies."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(response: Response) -> dict[str, str]:
        """Readiness: start-up finished and no shutdown begun: the service takes traffic."""
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

    return app
