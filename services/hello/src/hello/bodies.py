"""Request bodies in memory: each one bounded, and all of them together.

FastAPI's `max_body_size` answers 413 when the app starts reading a body that is too large:
from its Content-Length before a byte is read, or at the first chunk past the limit.
The server discards the unread rest and keeps the connection, so the client reads the 413.

A body within the limit still costs more memory than its size while it is parsed,
validated and answered: up to 27 times for JSON made of many small objects (measured;
docs/benchmarks.md). Many such bodies at once would add up past any memory limit, so a
request takes a share of a fixed budget of bytes when it starts reading its body, and
waits its turn when the budget is spent. The peak stays near
    baseline + BODIES_IN_MEMORY x MAX_REQUEST_BODY_BYTES x 27
whatever the number of clients; the Deployment's memory limit is sized from it.
"""

import asyncio
from collections import deque

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Full-size bodies in memory at once: 4 x 1 MiB x 27 bounds them at about 110 MiB above
# the ~50 MiB baseline (measured: 111 MiB in all under 32 parallel 1 MiB bombs), inside
# the 256 Mi container limit with room to spare.
BODIES_IN_MEMORY = 4


class ByteBudget:
    """Bytes that may be taken at once; takers wait in arrival order (no overtaking)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def take(self, size: int) -> None:
        """Wait until `size` bytes (at most `total`) are free, then hold them."""
        if not self._waiting and size <= self.free:
            self.free -= size
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append((size, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back(size)  # granted just as it was cancelled
            else:
                self._waiting = deque(w for w in self._waiting if w[1] is not turn)
                self._wake()  # the head may have left: the next one may fit now
            raise

    def give_back(self, size: int) -> None:
        self.free += size
        self._wake()

    def _wake(self) -> None:
        while self._waiting and self._waiting[0][0] <= self.free:
            size, turn = self._waiting.popleft()
            if not turn.done():
                self.free -= size
                turn.set_result(None)


class BodyBudget:
    """ASGI middleware: a request holds its body's size from its first read to its end."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.budget = ByteBudget(BODIES_IN_MEMORY * max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: int | None = None

        async def receive_within_budget() -> Message:
            nonlocal held
            if held is None:
                share = self.share(scope)
                if share:
                    await self.budget.take(share)
                held = share
            return await receive()

        try:
            await self.app(scope, receive_within_budget, send)
        finally:
            if held:
                self.budget.give_back(held)

    def share(self, scope: Scope) -> int:
        """The bytes a body may reach: its declared length, or the limit when chunked.

        A body declared over the limit takes nothing: the limit refuses it unread.
        """
        declared = Headers(scope=scope).get("content-length")
        if declared is None:
            return self.max_body_bytes
        size = int(declared)  # the server has validated it
        return size if size <= self.max_body_bytes else 0
