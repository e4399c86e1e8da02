"""Connections bounded in number, time and size, and drained on SIGTERM (connections.py),
with a real server: the overrides hold for the uvicorn this service has locked."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from hello import connections
from hello.connections import (
    DRAINING,
    UVICORN_VERSION,
    server_options,
)

APP = "hello.main:app"
TIMEOUT = 1  # REQUEST_TIMEOUT_SECONDS of the server under test


def test_uvicorn_is_the_version_connections_py_was_written_for() -> None:
    assert uvicorn.__version__ == UVICORN_VERSION, (
        "connections.py relies on uvicorn's internals: check each override against "
        f"uvicorn {uvicorn.__version__}, then set UVICORN_VERSION"
    )


@pytest.fixture
def draining() -> Iterator[None]:
    DRAINING.set()  # what SIGTERM's handler does
    yield
    DRAINING.clear()


@pytest.mark.usefixtures("draining")
def test_readiness_fails_at_once_once_draining(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (503, {"status": "draining"})


SERVERS: list[uvicorn.Server] = []  # the one served() runs, for a look at its connections


@contextmanager
def served(app: Any = APP, **options: Any) -> Iterator[int]:
    """`app` served by uvicorn on a free port, in a thread: the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, **server_options(TIMEOUT, 5), **options)
    server = uvicorn.Server(config)
    SERVERS[:] = [server]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield listener.getsockname()[1]
    server.should_exit = True
    thread.join()
    DRAINING.clear()  # which the server's shutdown set


@pytest.fixture
def port() -> Iterator[int]:
    """The service, served."""
    with served() as port:
        yield port


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT + 3)


def read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes (or resets) the connection."""
    received = b""
    with suppress(ConnectionResetError):
        while piece := sock.recv(2**20):
            received += piece
    return received


def post(body: bytes = b"", length: int | None = None) -> bytes:
    """POST /echo with `body`, or only its head announcing `length` bytes."""
    length = len(body) if length is None else length
    head = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n%s" % (length, body)


def test_answers_are_sent_without_waiting_for_the_clients_ack(port: int) -> None:
    # Nagle's algorithm would hold an answer's body until the client acknowledged its head,
    # which a client delays up to 40 ms: on every keep-alive request between pods.
    with connect(port) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(2**16).startswith(b"HTTP/1.1 200")
        [connection] = SERVERS[0].server_state.connections
        accepted = connection.transport.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_head_that_never_ends_is_closed_after_the_timeout(port: int) -> None:
    with connect(port) as sock:
        started = time.monotonic()
        with suppress(OSError):  # the server may close it while it is still being sent
            for byte in b"GET /livez HTTP/1.1\r\n":  # one byte at a time, for half the time
                sock.sendall(bytes([byte]))
                time.sleep(TIMEOUT / 40)
        assert read_all(sock) == b""
        assert time.monotonic() - started < TIMEOUT + 2


def test_an_answer_before_the_body_closes_the_connection(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(post(length=10**10))  # 413 unread; then nothing more
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_connections_beyond_the_cap_are_closed_unread(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "MAX_CONNECTIONS", 2)
    with connect(port) as first, connect(port) as second, connect(port) as third:
        assert read_all(third) == b""
        for sock in (first, second):
            sock.sendall(post(b'{"message": "in"}'))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_a_client_that_half_closes_still_gets_its_answer(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(post(b'{"message": "bye"}'))
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock).endswith(b'{"message":"bye"}')


@pytest.mark.usefixtures("draining")
def test_once_draining_pipelined_requests_are_answered_and_the_last_closes(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(post(b'{"message": "one"}') + post(b'{"message": "two"}'))
        answers = read_all(sock).split(b"HTTP/1.1 ")[1:]
    assert [answer[:3] for answer in answers] == [b"200", b"200"]
    assert b"connection: close" not in answers[0] and b"connection: close" in answers[1]


async def sixteen_mib(scope: dict, receive: Any, send: Any) -> None:
    """An answer larger than the sockets' buffers hold."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(16):
        await send({"type": "http.response.body", "body": b"x" * 2**20, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(("idle", "whole"), [(TIMEOUT + 1, False), (TIMEOUT / 2, True)])
def test_a_client_that_takes_nothing_of_an_answer_is_cut_off(idle: float, whole: bool) -> None:
    with served(sixteen_mib, lifespan="off") as port, connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(idle)  # takes nothing for that long, then all it can
        received = read_all(sock)
    assert (len(received) > 16 * 2**20) == whole
