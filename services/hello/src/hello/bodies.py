"""Request bodies: each one bounded in size and time, all of them together in memory.

FastAPI's `max_body_size` answers 413 when the app starts reading a body that is too large:
from its Content-Length before a byte is read, or at the first chunk past the limit; the
connection then closes (connections.py).

A body within the limit still costs more memory than its size while it is parsed,
validated and answered: up to 27 times for JSON made of many small objects (measured;
docs/benchmarks.md). So a request takes a share of a fixed budget of bytes (its declared
length, or the limit when chunked) when it starts reading its body, and holds it to its
end; requests wait for it in arrival order. The peak stays near
    baseline + BODIES_IN_MEMORY x MAX_REQUEST_BODY_BYTES x 27
whatever the clients; the Deployment's memory limit is sized from it.

No wait is unbounded: a request waits at most REQUEST_TIMEOUT_SECONDS for its share (then
503 with Retry-After), and its body must then arrive within as long (then 408).

A JSON body must hold only what JSON can carry back (RFC 7493): Python's json reads
1e400 as infinity and lets lone surrogates ("\\ud800") through, and neither can be written
into an answer; such a body is answered 400, not 500 once the route has run.
"""

import asyncio
import json
import math

from fastapi import HTTPException, status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Full-size bodies in memory at once: 4 x 1 MiB x 27 bounds them at about 110 MiB above
# the ~50 MiB baseline (measured: 111 MiB in all under 32 parallel 1 MiB bombs).
BODIES_IN_MEMORY = 4


class ByteBudget:
    """Bytes that may be held at once; takers wait in arrival order (asyncio.Lock is fair)."""

    def __init__(self, total: int) -> None:
        self.free = total
        self._queue = asyncio.Lock()
        self._returned = asyncio.Event()

    async def take(self, size: int) -> None:
        if not size:
            return
        async with self._queue:
            while size > self.free:
                self._returned.clear()
                await self._returned.wait()
            self.free -= size

    def give_back(self, size: int) -> None:
        self.free += size
        self._returned.set()


class RequestBodies:
    """ASGI middleware: the budget and the deadline of each request's body, and its JSON."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout
        self.budget = ByteBudget(BODIES_IN_MEMORY * max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        is_json = "json" in headers.get("content-type", "").partition(";")[0]
        chunks: list[bytes] = []
        held: int | None = None  # bytes of the budget, once the body is first read
        deadline = 0.0  # for the whole body, from the moment it may be read

        async def receive_in_time() -> Message:
            nonlocal held, deadline
            if held is None:
                share, held = self.share(headers), 0
                try:
                    async with asyncio.timeout(self.timeout):
                        await self.budget.take(share)
                except TimeoutError:
                    raise self.too_many_bodies() from None
                held = share
                deadline = asyncio.get_running_loop().time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise self.too_slow() from None
            if is_json and message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and not answerable(b"".join(chunks)):
                    raise HTTPException(status.HTTP_400_BAD_REQUEST, NOT_ANSWERABLE)
            return message

        try:
            await self.app(scope, receive_in_time, send)
        finally:
            if held:
                self.budget.give_back(held)

    def share(self, headers: Headers) -> int:
        """The bytes a body may reach: its declared length, or the limit when chunked.

        A body declared over the limit takes nothing: the limit refuses it unread.
        """
        declared = headers.get("content-length")
        if declared is None:
            return self.max_body_bytes
        size = int(declared)  # the server has validated it
        return size if size <= self.max_body_bytes else 0

    def too_many_bodies(self) -> HTTPException:
        return HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"too many request bodies at once for {self.timeout:g} s; retry",
            headers={"Retry-After": f"{self.timeout:g}"},
        )

    def too_slow(self) -> HTTPException:
        return HTTPException(
            status.HTTP_408_REQUEST_TIMEOUT,
            f"the request body did not arrive within {self.timeout:g} s",
        )


NOT_ANSWERABLE = (
    "the JSON body holds NaN, Infinity, a number beyond a float's range or a lone surrogate "
    "(\\ud800 to \\udfff), which JSON cannot carry back (RFC 7493)"
)


class NotAnswerable(ValueError):
    """A JSON value that JSON cannot carry back."""


def finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise NotAnswerable(text)
    return number


def refuse(constant: str) -> float:
    raise NotAnswerable(constant)


def answerable(body: bytes) -> bool:
    """Whether the JSON `body` holds only what JSON can carry back (RFC 7493): finite
    numbers, no lone surrogate. Not JSON at all is FastAPI's to answer (422)."""
    try:
        value = json.loads(body, parse_float=finite, parse_constant=refuse)
    except NotAnswerable:
        return False
    except ValueError:
        return True
    if b"\\u" not in body and b"\xed" not in body:  # where a lone surrogate comes from
        return True
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True
