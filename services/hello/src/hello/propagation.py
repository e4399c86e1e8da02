"""What a request carries across services: its X-Request-ID and its W3C trace context.

Every request gets an id: the caller's X-Request-ID when it is a plain token (letters,
digits, '.', '_', '-', at most 128), else a new one. It is answered back, written into every
log line of the request (logs.py) and sent on with every call to a peer (peers.py), so one
request can be followed across services in `tilt logs` and `kubectl logs`. A valid incoming
`traceparent` is passed on the same way, each call with a span id of its own
(https://www.w3.org/TR/trace-context/); tracing itself is left to a collector, later.
"""

import re
import secrets
import uuid
from contextvars import ContextVar

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

REQUEST_ID = "X-Request-ID"
TOKEN = re.compile(r"[A-Za-z0-9._-]{1,128}")
TRACEPARENT = re.compile(r"00-(?P<trace>[0-9a-f]{32})-[0-9a-f]{16}-(?P<flags>[0-9a-f]{2})")
_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def valid_request_id(value: str) -> bool:
    """A caller's id is kept when it cannot inject anything into a log line or a header."""
    return bool(TOKEN.fullmatch(value))


def request_id() -> str | None:
    """The id of the request being served (None outside one)."""
    return correlation_id.get()


def outgoing_headers() -> dict[str, str]:
    """The headers a call to a peer carries for the request being served."""
    headers = {}
    if (current := request_id()) is not None:
        headers[REQUEST_ID] = current
    if (parent := _traceparent.get()) is not None:
        match = TRACEPARENT.fullmatch(parent)
        if match and set(match["trace"]) != {"0"}:
            headers["traceparent"] = f"00-{match['trace']}-{secrets.token_hex(8)}-{match['flags']}"
    return headers


class TraceContext:
    """ASGI middleware: remember the request's traceparent for the calls it makes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _traceparent.set(Headers(scope=scope).get("traceparent"))
        try:
            await self.app(scope, receive, send)
        finally:
            _traceparent.reset(token)


def request_id_middleware() -> tuple[type[CorrelationIdMiddleware], dict[str, object]]:
    """asgi-correlation-id, set up as described above: (class, options) for add_middleware."""
    return CorrelationIdMiddleware, {
        "header_name": REQUEST_ID,
        "update_request_header": True,
        "generator": lambda: uuid.uuid4().hex,
        "validator": valid_request_id,
    }
