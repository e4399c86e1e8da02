"""Loopback helpers every tier shares: free local ports, a GET on 127.0.0.1, polling. Tests
send traffic to 127.0.0.1 only (a port-forward, a process, a container on host networking)."""

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any


def free_ports(count: int, taken: Iterable[int] = ()) -> list[int]:
    """Ports nothing listens on now, distinct (all held open until all are picked), and none
    of `taken`: ports already handed out for something that does not listen yet (a dev port
    Tilt forwards once it runs)."""
    taken = set(taken)
    sockets: list[socket.socket] = []
    ports: list[int] = []
    while len(ports) < count:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)  # held, so that the next bind gets another port
        if (port := int(sock.getsockname()[1])) not in taken:
            ports.append(port)
    for sock in sockets:
        sock.close()
    return ports


def free_port() -> int:
    [port] = free_ports(1)
    return port


def http_get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, str]:
    """(status, body) of a GET to 127.0.0.1:`port`; an error status is returned, not raised
    (nothing answering raises OSError, which wait_for treats as not yet)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_post(port: int, path: str, body: Any, timeout: float = 10) -> tuple[int, str]:
    """(status, body) of a POST of `body` as JSON to 127.0.0.1:`port`, as http_get answers."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(condition: Callable[[], Any], seconds: float, what: str, interval: float = 0.1) -> Any:
    """Poll until condition() is truthy; fail naming what never happened."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(interval)
