"""Graceful shutdown under keep-alive load.

Kubernetes runs the preStop pause, then sends SIGTERM. From that signal on:
- /readyz answers 503 and the listener closes: new connections are refused, which a
  client can always retry elsewhere, since it sent nothing;
- every response carries `Connection: close`, so a client sends nothing more on it;
- an idle connection is closed only as in normal operation, after the keep-alive timeout
  without a byte from its client; a request whose bytes arrived is always answered.
When no connection is left, or SHUTDOWN_TIMEOUT_SECONDS after the signal, whatever remains
is closed (uvicorn cancels requests still running) and the process exits.
"""

import asyncio
import socket
import threading
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAINING = threading.Event()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with the drain above between SIGTERM and its own shutdown."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # Outermost, so that every answer closes its connection once draining: errors too.
        self.config.loaded_app = close_while_draining(self.config.loaded_app)
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        DRAINING.set()
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 0)
        while self.server_state.connections and not self.force_exit and loop.time() < deadline:
            await asyncio.sleep(0.05)
        # What the drain left, uvicorn closes, waiting for running requests until the deadline.
        self.config.timeout_graceful_shutdown = max(deadline - loop.time(), 0.0)
        await super().shutdown(sockets)


def close_while_draining(app: ASGIApp) -> ASGIApp:
    """`app`, except that once draining every answer closes its connection."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and DRAINING.is_set():
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await app(scope, receive, send_closing if scope["type"] == "http" else send)

    return wrapped
