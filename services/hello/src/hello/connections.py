"""HTTP/1.1 connections: bounded in number, time and size, and drained on SIGTERM.

uvicorn documents some of these bounds (keep-alive timeout, head size through h11, graceful
shutdown) and has no setting for the others, so they live here: the one module that relies
on uvicorn's internals. It subclasses uvicorn's h11 protocol as of UVICORN_VERSION, which
tests/test_connections.py checks: on another version, check each override here first. Why
uvicorn rather than hypercorn or granian (measured): the platform's ADR 008
(docs/adr/0008-http-server-uvicorn-with-bounds.md).

- At most MAX_CONNECTIONS are open; one more is closed unread, so its client can retry.
- A request's head (at most 16 KiB, h11's limit) must arrive within REQUEST_TIMEOUT_SECONDS
  of the connection opening or of the previous answer, however slowly it trickles in
  (uvicorn's keep-alive timeout restarts at every byte); else the connection is closed.
- An answer sent before its request's body arrived (413, 408, 503) half-closes the
  connection, then reads and drops what the client still sends, at most DISCARD_BYTES for
  DISCARD_SECONDS (RFC 9112 9.6): a client still sending reads its answer, not a reset,
  and no client makes the server read without end.
- A client that reads nothing of an answer for REQUEST_TIMEOUT_SECONDS is disconnected.
- A client that half-closes after its request still gets the answer.

Drain: on SIGTERM uvicorn closes the listener (new connections are refused: their clients
can retry elsewhere), calls shutdown() on each connection, waits for them all to close, up
to timeout_graceful_shutdown, and cancels the requests still running. From the signal on:
- /readyz answers 503 (DRAINING, set by the signal handler itself);
- an answer carries `Connection: close` and reading stops, unless the client's next
  request was already read (pipelined), which is answered first: a request whose bytes
  were read is always answered;
- an idle connection is closed only as in normal operation, by the keep-alive timeout: its
  client may be sending a request at this very moment.
"""

import asyncio
import functools
import signal
import socket
import threading
from typing import Any

import h11
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

UVICORN_VERSION = "0.54.0"  # what the overrides below were written for and tested with
# An open connection holds about 20 KiB with a full head, 200 KiB with a whole body waiting
# for the body budget (measured, docs/benchmarks.md: 56 MiB in all under 15,000 slow heads,
# 107 MiB under 252 waiting bodies): 256 fit in the memory limit next to the body budget.
MAX_CONNECTIONS = 256
MAX_HEAD_BYTES = 16 * 1024
DISCARD_BYTES = 64 * 1024 * 1024
DISCARD_SECONDS = 2.0
DRAINING = threading.Event()


def server_options(request_timeout: float, shutdown_timeout: float) -> dict[str, Any]:
    """uvicorn's options for these connections (uvicorn.run, uvicorn.Config)."""
    return {
        "http": functools.partial(BoundedConnection, request_timeout=request_timeout),
        "ws": "none",
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "timeout_graceful_shutdown": shutdown_timeout,
    }


class BoundedConnection(H11Protocol):
    """uvicorn's h11 protocol, with the bounds and the drain above."""

    def __init__(self, *args: Any, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        self.app = self.serve  # what uvicorn runs for each request of this connection
        self.refused = False
        self.client_done = False  # the client half-closed: answer, then close
        self.discarded: int | None = None  # bytes dropped after an early answer
        self.deadline: asyncio.TimerHandle | None = None  # for a head, or for discarding
        self.stalled: asyncio.TimerHandle | None = None  # for a client that reads nothing

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= MAX_CONNECTIONS:  # the server's open ones (uvicorn's set)
            self.refused = True
            transport.close()
            return
        drain_on_sigterm()
        # An answer's head and body are two writes: with Nagle's algorithm the body would wait
        # for the client's delayed ACK (40 ms on every keep-alive request between pods).
        # asyncio sets TCP_NODELAY on the sockets it connects, not on those a server accepts.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self.expect_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return
        for timer in (self.deadline, self.stalled):
            if timer:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.discarded is not None:
            self.discarded += len(data)
            if self.discarded > DISCARD_BYTES:
                self.transport.close()
            return
        super().data_received(data)
        if self.deadline and self.conn.their_state is not h11.IDLE:  # a head arrived
            self.deadline.cancel()

    def eof_received(self) -> bool | None:
        # Keep the connection to answer a request read in full; otherwise close (uvicorn).
        self.client_done = True
        return self.conn.their_state is h11.DONE and self.conn.our_state is h11.SEND_RESPONSE

    def on_response_complete(self) -> None:
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.SEND_BODY:  # answered before its body arrived
            self.discard_then_close()
            return
        super().on_response_complete()  # answers a pipelined request, if one was read
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self.client_done:
                self.transport.close()
            else:
                self.expect_head()

    def shutdown(self) -> None:
        # uvicorn calls this on SIGTERM; unlike its own, it closes nothing (see the docstring).
        DRAINING.set()

    def pause_writing(self) -> None:
        super().pause_writing()
        self.watch_writes(self.transport.get_write_buffer_size())

    def watch_writes(self, waiting: int) -> None:
        """Disconnect the client unless it takes some of the `waiting` bytes in time (while
        writing is paused the app adds none)."""

        def check() -> None:
            left = self.transport.get_write_buffer_size()
            self.watch_writes(left) if left < waiting else self.transport.abort()

        self.stalled = self.loop.call_later(self.request_timeout, check)

    def resume_writing(self) -> None:
        if self.stalled:
            self.stalled.cancel()
        super().resume_writing()

    def expect_head(self) -> None:
        if self.deadline:
            self.deadline.cancel()
        self.deadline = self.loop.call_later(self.request_timeout, self.head_timed_out)

    def head_timed_out(self) -> None:
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def discard_then_close(self) -> None:
        self.discarded = 0
        self.transport.write_eof()  # once the answer, already buffered, is sent
        self.flow.resume_reading()
        self.deadline = self.loop.call_later(DISCARD_SECONDS, self.transport.close)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app, with `Connection: close` on the last answer once draining."""

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and DRAINING.is_set() and self.last():
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
                self.transport.pause_reading()  # read no request that would go unanswered
            await send(message)

        await self.config.loaded_app(scope, receive, send_closing)

    def last(self) -> bool:
        """This request was read in full, and nothing of a next one."""
        return self.conn.their_state is h11.DONE and not self.conn.trailing_data[0]


def drain_on_sigterm() -> None:
    """Set DRAINING in SIGTERM's handler itself: uvicorn's handler only flags its main
    loop, which notices within 0.1 s and only then closes the listener and calls shutdown()."""
    handler = signal.getsignal(signal.SIGTERM)
    if not callable(handler) or getattr(handler, "drains", False):
        return
    if threading.current_thread() is not threading.main_thread():
        return

    def drain_then_stop(signum: int, frame: Any) -> None:
        DRAINING.set()
        handler(signum, frame)

    drain_then_stop.drains = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, drain_then_stop)
