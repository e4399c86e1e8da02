"""Bounded load and hostile traffic against a running service, on 127.0.0.1 only.

Raw HTTP/1.1 over asyncio streams rather than a client library: the tests must see exactly
what became of each request (answered, refused, reset, truncated) and each header.
Every scenario is bounded in requests and in time.
"""

import ast
import asyncio
import os
import random
import re
import signal
import socket
import string
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MIB = 2**20
KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def closes(self) -> bool:
        return self.headers.get("connection", "").lower() == "close"


def request_bytes(method: str, path: str, body: bytes = b"", length: int | None = None) -> bytes:
    """A request with `body`; or only its head, announcing `length` bytes (-1: chunked)."""
    length = len(body) if length is None else length
    head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Content-Type: application/json"]
    head.append("Transfer-Encoding: chunked" if length < 0 else f"Content-Length: {length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_answer(reader: asyncio.StreamReader, method: str = "GET") -> Answer:
    """One response; IncompleteReadError or ConnectionError if it is cut short."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    if method == "HEAD" or status in (204, 304):
        return Answer(status, headers, b"")
    if "content-length" in headers:
        return Answer(status, headers, await reader.readexactly(int(headers["content-length"])))
    body = b""
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        body += (await reader.readexactly(size + 2))[:-2]
    await reader.readuntil(b"\r\n")
    return Answer(status, headers, body)


class Client:
    """One keep-alive connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Client":
        return cls(*await asyncio.open_connection(HOST, port))

    async def send(self, method: str, path: str, body: bytes = b"") -> Answer:
        self.writer.write(request_bytes(method, path, body))
        await self.writer.drain()
        return await read_answer(self.reader, method)

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()


async def get(port: int, path: str) -> Answer:
    client = await Client.open(port)
    try:
        return await client.send("GET", path)
    finally:
        await client.close()


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(
    service: Path, python: Path, config: dict[str, str], port: int
) -> Iterator["subprocess.Popen[bytes]"]:
    """The service as a process on 127.0.0.1:port, with `config` as its environment.

    Yields it once /readyz answers; stops it on the way out, on failure too.
    """
    module = next(p.name for p in (service / "src").iterdir() if (p / "main.py").exists())
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": "src", **config, "PORT": str(port)}
    process = subprocess.Popen(
        [str(python), "-m", module, "--host", HOST],
        cwd=service,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = time.monotonic()
        while not _ready(port):
            if process.poll() is not None or time.monotonic() - started > 30:
                raise RuntimeError(f"{module} did not become ready on port {port}")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(port: int) -> bool:
    try:
        return asyncio.run(get(port, "/readyz")).status == 200
    except OSError:
        return False


def series(metrics_text: str) -> set[tuple[tuple[str, str], ...]]:
    """The label sets of the http_* series in a /metrics page."""
    found = set()
    for line in metrics_text.splitlines():
        if line.startswith("http_") and "{" in line:
            labels = LABEL.findall(line.split("{", 1)[1].rsplit("}", 1)[0])
            found.add(tuple((k, v) for k, v in labels if k != "le"))
    return found


# 1. Random methods and paths ------------------------------------------------------------


def hostile_request(rng: random.Random) -> tuple[str, str]:
    """A method and path a scanner or fuzzer might send, valid enough for HTTP/1.1."""
    method = rng.choice(
        [
            rng.choice(KNOWN_METHODS),
            "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 16))),
            "".join(rng.choices(string.ascii_letters + "-_!#$%&'*+.^`|~", k=rng.randint(1, 24))),
        ]
    )
    segments = [
        "".join(rng.choices(string.ascii_lowercase + string.digits + "-._~%", k=rng.randint(1, 12)))
        for _ in range(rng.randint(1, 4))
    ]
    path = rng.choice(["/", "/echo/", "/livez/", "/metrics/", "/docs/"]) + "/".join(segments)
    return method, path + (f"?q={rng.randint(0, 10**9)}" if rng.random() < 0.3 else "")


async def hostile_traffic(port: int, count: int, seed: int, parallel: int = 8) -> list[str]:
    """`count` random requests over `parallel` connections; the methods and paths sent."""
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not a secret
    requests = [hostile_request(rng) for _ in range(count)]
    sent: list[str] = []

    async def worker(share: list[tuple[str, str]]) -> None:
        client = await Client.open(port)
        for method, path in share:
            answer = await client.send(method, path)
            sent.extend([method, path.split("?")[0]])
            if answer.closes:  # h11 answers 400 and closes on what it cannot parse
                await client.close()
                client = await Client.open(port)
        await client.close()

    await asyncio.gather(*(worker(requests[i::parallel]) for i in range(parallel)))
    return sent


# 2. Bodies ------------------------------------------------------------------------------


async def oversized_post(port: int, size: int, chunked: bool, read_early: bool) -> int:
    """Status of a POST /echo of `size` bytes, streamed in 64 KiB pieces.

    read_early: stop sending once an answer arrives, as curl does; otherwise send it all
    first, as a naive client does, and then read the answer.
    """
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(request_bytes("POST", "/echo", length=-1 if chunked else size))
    answer = asyncio.ensure_future(read_answer(reader))
    piece = b"x" * 65536
    try:
        for _ in range(size // len(piece)):
            if read_early and answer.done():
                break
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
        if not answer.done() and chunked:
            writer.write(b"0\r\n\r\n")
        return (await asyncio.wait_for(answer, 60)).status
    finally:
        writer.close()


def json_bomb(size: int) -> bytes:
    """A JSON body of `size` bytes that costs the most memory to parse: many empty objects."""
    return b"[" + b",".join([b"{}"] * ((size - 2) // 3)) + b"]"


async def concurrent_posts(
    port: int, body: bytes, parallel: int, within: float | None = None
) -> Counter[int]:
    """Statuses of `parallel` POST /echo of `body`, all sent at once (each answered within
    `within` seconds, if given)."""

    async def one() -> int:
        client = await Client.open(port)
        try:
            return (await asyncio.wait_for(client.send("POST", "/echo", body), within)).status
        finally:
            await client.close()

    return Counter(await asyncio.gather(*(one() for _ in range(parallel))))


# 3. SIGTERM under keep-alive load --------------------------------------------------------


@dataclass
class Drain:
    """What became of each request while the server was told to stop."""

    answered: int = 0
    # Sent on a connection the server had accepted, and never answered: must stay empty.
    failed: list[str] = field(default_factory=list)
    # New connections the closed listener turned away: refused, or reset before any answer
    # (the kernel had queued the connection, the server never read a byte of it).
    refused: int = 0
    kept_open_after_signal: int = 0  # answers to requests sent after the signal, no close
    ready_after_signal: list[int] = field(default_factory=list)
    idle_answered: int = 0  # idle keep-alive connections used again after the signal


Failure = (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError)


async def sigterm_under_load(
    port: int,
    terminate: Callable[[], None],
    busy: int = 40,
    idle: int = 10,
    warmup: float = 1.0,
    after: float = 2.0,
) -> Drain:
    """`busy` connections send requests back to back, `idle` ones wait; SIGTERM comes.

    Busy clients keep sending after the signal until an answer says `Connection: close`,
    then open a new connection, which the closed listener turns away. Idle clients send one
    request `after` / 2 seconds past the signal: within the keep-alive timeout, so their
    connection must still be open. Each request is bounded by `after` + 10 seconds.
    """
    drain = Drain()
    # Set before the signal is sent, and `signalled` once `terminate` returns: the signal
    # lands somewhere in between (`docker kill` can take a second to return under load).
    signalling = asyncio.Event()
    signalled = asyncio.Event()
    signal_time = 0.0
    deadline = time.monotonic() + warmup + after

    async def exchange(
        client: Client, method: str, path: str, body: bytes = b"", accepted: bool = True
    ) -> Answer:
        sent_at = time.monotonic()
        try:
            answer = await asyncio.wait_for(client.send(method, path, body), after + 10)
        except Failure as error:
            if accepted:
                drain.failed.append(f"{method} {path}: {type(error).__name__}")
            else:
                drain.refused += 1
            raise
        drain.answered += 1
        if signalled.is_set() and sent_at > signal_time + 0.05 and not answer.closes:
            drain.kept_open_after_signal += 1
        return answer

    async def busy_client(number: int) -> None:
        while time.monotonic() < deadline:
            try:
                client = await Client.open(port)
            except (ConnectionRefusedError, ConnectionResetError):  # the listener had closed
                drain.refused += 1
                return
            # Opened before the signal, it was accepted; after it, its first answer says so.
            accepted = not signalling.is_set()
            try:
                while time.monotonic() < deadline:
                    if number % 2:
                        answer = await exchange(client, "GET", "/", accepted=accepted)
                    else:
                        body = b'{"message": "hi"}'
                        answer = await exchange(client, "POST", "/echo", body, accepted)
                    accepted = True
                    if answer.closes:
                        break
            except Failure:
                return
            finally:
                await client.close()

    async def idle_client() -> None:
        client = await Client.open(port)
        try:
            await exchange(client, "GET", "/livez")
            await signalled.wait()
            await asyncio.sleep(after / 2)
            await exchange(client, "GET", "/livez")
            drain.idle_answered += 1
        except Failure:
            pass
        finally:
            await client.close()

    async def readiness_probe() -> None:
        client = await Client.open(port)  # opened before the listener closes
        try:
            await signalled.wait()
            drain.ready_after_signal.append((await exchange(client, "GET", "/readyz")).status)
        except Failure:
            pass
        finally:
            await client.close()

    async def signal_after_warmup() -> None:
        nonlocal signal_time
        await asyncio.sleep(warmup)
        signalling.set()
        await asyncio.to_thread(terminate)  # `docker kill` takes a while; load goes on
        signal_time = time.monotonic()
        signalled.set()

    await asyncio.gather(
        *(busy_client(n) for n in range(busy)),
        *(idle_client() for _ in range(idle)),
        readiness_probe(),
        signal_after_warmup(),
    )
    return drain


# 4. Slow, half-open and hostile clients -------------------------------------------------


def constants(service: Path) -> dict[str, int]:
    """The whole-number constants of the service's connections.py and bodies.py
    (MAX_CONNECTIONS, DISCARD_BYTES, BODIES_IN_MEMORY, ...), read from its source."""

    def number(node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return number(node.left) * number(node.right)
        raise ValueError("not a whole number")

    found = {}
    for module in ("connections.py", "bodies.py"):
        [path] = (service / "src").glob(f"*/{module}")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                with suppress(ValueError):
                    found[node.targets[0].id] = number(node.value)
    return found


async def until_closed(reader: asyncio.StreamReader, within: float) -> bytes | None:
    """What the server sends until it closes the connection (at most 64 KiB of it kept),
    or None if it does not close it within `within` seconds."""
    received = b""
    try:
        async with asyncio.timeout(within):
            while data := await reader.read(65536):
                received = (received + data)[:65536]
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    return received


def hold_body(size: int, chunked: bool) -> bytes:
    """A request announcing a body of `size` bytes (or chunked), and its first byte only."""
    if chunked:
        return request_bytes("POST", "/echo", length=-1) + b"1\r\n{\r\n"
    return request_bytes("POST", "/echo", length=size) + b"{"


async def stalled_by_held_budget(
    port: int, holders: int, size: int, bound: float
) -> tuple[Counter[int], int, float]:
    """`holders` clients take the body budget (a body of `size` announced, half of them
    chunked, one byte sent); then a small POST /echo comes. (The holders' statuses, its
    status, the seconds it waited), each client bounded by `bound` seconds."""
    opened = []
    for number in range(holders):
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(hold_body(size, chunked=number % 2 == 1))
        opened.append((reader, writer))
    await asyncio.sleep(0.5)  # the holders' first bytes are read and their shares taken
    started = time.monotonic()
    small = asyncio.ensure_future(asyncio.wait_for(get_posted(port, b'{"message": "hi"}'), bound))
    statuses: Counter[int] = Counter()
    try:
        for reader, _ in opened:
            statuses[(await asyncio.wait_for(read_answer(reader), bound)).status] += 1
        status = (await small).status
    finally:
        small.cancel()
        for _, writer in opened:
            writer.close()
    return statuses, status, time.monotonic() - started


async def get_posted(port: int, body: bytes) -> Answer:
    client = await Client.open(port)
    try:
        return await client.send("POST", "/echo", body)
    finally:
        await client.close()


async def bodies_waiting(
    port: int, holders: int, waiters: int, size: int, bound: float
) -> Counter[int]:
    """`holders` clients take the body budget (as in stalled_by_held_budget), then `waiters`
    clients each send a whole body of `size` bytes at once, which waits in the server for
    a share: the most memory bodies can take. The waiters' statuses."""
    held = []
    for number in range(holders):
        _, writer = await asyncio.open_connection(HOST, port)
        writer.write(hold_body(size, chunked=number % 2 == 1))
        held.append(writer)
    await asyncio.sleep(0.5)
    body = b'{"message": "%s"}' % (b"x" * (size - 16))
    try:
        return await concurrent_posts(port, body, waiters, within=bound)
    finally:
        for writer in held:
            writer.close()


async def slow_heads(
    port: int, count: int, head_bytes: int, midway: float, bound: float
) -> tuple[int, float]:
    """`count` clients each send `head_bytes` of a head that never ends, and wait. (How
    many connections the server still held `midway` seconds after the last was opened; the
    seconds until it had closed them all, inf if not within `bound`.)"""
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * head_bytes
    gate = asyncio.Semaphore(256)  # opening them all at once only fills the listen backlog
    all_opened = asyncio.Event()
    opened: list[float] = []
    closed: list[float] = []

    async def one() -> None:
        async with gate:
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(head)
            except ConnectionError:
                closed.append(time.monotonic())
                return
            finally:
                opened.append(time.monotonic())
                if len(opened) == count:
                    all_opened.set()
        try:
            if await until_closed(reader, bound) is not None:
                closed.append(time.monotonic())
        finally:
            writer.close()

    clients = asyncio.gather(*(one() for _ in range(count)))
    await all_opened.wait()
    await asyncio.sleep(midway)
    held = count - len(closed)
    await clients
    return held, (max(closed) - max(opened) if len(closed) == count else float("inf"))


async def early_answer(port: int, announced: int, send_at_most: int) -> tuple[int, int]:
    """A POST announcing `announced` bytes, then sending up to `send_at_most` of them while
    reading. (The answer's status, 0 for none; the bytes sent before the server closed.)"""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(request_bytes("POST", "/echo", length=announced))
    answer = asyncio.ensure_future(read_answer(reader))
    sent, piece = 0, b"x" * MIB
    try:
        while sent < send_at_most:
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
    except ConnectionError:
        pass
    try:
        status = (await asyncio.wait_for(answer, 10)).status
    except (*Failure, ConnectionError):
        status = 0
    writer.close()
    return status, sent


async def pipelined_then_stopped(
    port: int, count: int, terminate: Callable[[], None]
) -> list[Answer]:
    """`count` GET / in one write; the signal comes once the first is answered. The answers
    read until the server closed the connection."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(request_bytes("GET", "/") * count)
    answers = [await read_answer(reader)]
    await asyncio.to_thread(terminate)
    with suppress(*Failure):
        while True:
            answers.append(await asyncio.wait_for(read_answer(reader), 30))
    writer.close()
    return answers


async def half_closed(port: int, body: bytes) -> Answer:
    """POST /echo, then the client half-closes (it will send nothing more) and reads."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(request_bytes("POST", "/echo", body))
    writer.write_eof()
    try:
        return await asyncio.wait_for(read_answer(reader), 10)
    finally:
        writer.close()


BEHAVIOURS = (
    "normal",
    "trickle_head",
    "stop_in_head",
    "stop_in_body",
    "stop_in_chunks",
    "huge_length",
    "half_close",
    "pipeline",
    "never_read",
    "garbage",
    "reset",
)


@dataclass
class Chaos:
    """What random clients saw: statuses, and the connections the server left open."""

    statuses: Counter[int] = field(default_factory=Counter)
    behaviours: Counter[str] = field(default_factory=Counter)
    left_open: list[str] = field(default_factory=list)  # stalled, yet never closed in time


async def random_clients(port: int, seed: int, count: int, bound: float) -> Chaos:
    """`count` clients at once, each with a behaviour drawn from BEHAVIOURS (slow, stalled,
    half-open, pipelining, hostile). A client that stops sending waits for the server to
    close its connection, for at most `bound` seconds."""
    rng = random.Random(seed)  # noqa: S311 - reproducible clients, not a secret
    chaos = Chaos()
    echo = request_bytes("POST", "/echo", b'{"message": "hi"}')

    async def answers(reader: asyncio.StreamReader, expected: int) -> None:
        with suppress(*Failure):
            for _ in range(expected):
                chaos.statuses[(await asyncio.wait_for(read_answer(reader), bound)).status] += 1

    async def client(behaviour: str, pause: float) -> None:
        chaos.behaviours[behaviour] += 1
        await asyncio.sleep(pause)
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            if behaviour == "normal":
                writer.write(rng.choice([echo, request_bytes("GET", "/")]))
                await answers(reader, 1)
                return
            if behaviour == "reset":  # RST at once, request half sent
                writer.write(echo[: rng.randint(1, len(echo))])
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if behaviour == "trickle_head":
                for byte in echo[: rng.randint(1, len(echo) - 1)]:
                    if reader.at_eof():  # the server gave up on it
                        break
                    writer.write(bytes([byte]))
                    await asyncio.sleep(rng.random() / 4)
            elif behaviour == "stop_in_head":
                writer.write(echo[: rng.randint(1, echo.index(b"\r\n\r\n"))])
            elif behaviour == "stop_in_body":
                writer.write(request_bytes("POST", "/echo", length=rng.randint(2, MIB)) + b"{")
            elif behaviour == "stop_in_chunks":
                writer.write(hold_body(0, chunked=True))
            elif behaviour == "huge_length":
                writer.write(request_bytes("POST", "/echo", length=10**12) + b"x" * 65536)
                await answers(reader, 1)
            elif behaviour == "half_close":
                writer.write(echo)
                writer.write_eof()
                await answers(reader, 1)
            elif behaviour == "pipeline":
                writer.write(echo * rng.randint(2, 20))
                await answers(reader, 1)
                return
            elif behaviour == "never_read":  # sends a request, then reads nothing for a while
                body = b'{"message": "%s"}' % (b"x" * rng.randint(1, MIB - 20))
                writer.write(request_bytes("POST", "/echo", body))
                await asyncio.sleep(bound / 4)
            elif behaviour == "garbage":
                writer.write(rng.randbytes(rng.randint(1, 4096)))
            if behaviour == "never_read":
                return
            answer = await until_closed(reader, bound)
            if answer is None:
                chaos.left_open.append(behaviour)
            elif answer.startswith(b"HTTP/1.1 "):
                chaos.statuses[int(answer[9:12])] += 1
        except ConnectionError:
            pass
        finally:
            writer.close()

    await asyncio.gather(*(client(rng.choice(BEHAVIOURS), rng.random()) for _ in range(count)))
    return chaos


# The checks, shared by the process and container tiers ------------------------------------


def run(scenario: Any, seconds: float = 120) -> Any:
    """Run a scenario coroutine to its end, within `seconds`."""
    return asyncio.run(asyncio.wait_for(scenario, seconds))


def check_metrics_stay_bounded(port: int) -> int:
    """Two batches of hostile requests: labels from closed sets only. The /metrics size."""
    sent = run(hostile_traffic(port, count=3000, seed=1))
    first = run(get(port, "/metrics")).body.decode()
    run(hostile_traffic(port, count=3000, seed=2))
    second = run(get(port, "/metrics")).body.decode()
    labels = {(key, value) for labelset in series(second) for key, value in labelset}
    assert {v for k, v in labels if k == "method"} <= {*KNOWN_METHODS, "other"}
    invented = set(sent) - {*KNOWN_METHODS, "/"}
    assert not invented & {value for _, value in labels}
    for route in {v for k, v in labels if k == "route"} - {"other"}:
        assert run(get(port, route)).status != 404, f"route label {route} is no route"
    # Other methods and paths, no new series but the scrape's own: the label sets are closed.
    new = series(second) - series(first)
    assert all(("route", "/metrics") in labelset for labelset in new), new
    assert len(second) < 64 * 1024  # unbounded labels made 9 MB of 5,000 such requests
    return len(second)


def check_bodies_are_bounded(port: int, max_body_bytes: int) -> None:
    """Oversized bodies sent four ways get 413; parallel ones too; at-limit bombs queue."""
    for chunked in (False, True):
        for read_early in (True, False):
            assert run(oversized_post(port, 60 * MIB, chunked, read_early)) == 413
    assert run(concurrent_posts(port, b"x" * (10 * MIB), 10)) == {413: 10}
    # Bodies at the limit that cost the most to parse, many at once: the budget queues them,
    # each for at most REQUEST_TIMEOUT_SECONDS, then sheds the rest (503, Retry-After).
    bombs = run(concurrent_posts(port, json_bomb(max_body_bytes), 32))
    assert set(bombs) <= {422, 503} and bombs[422] >= 4, bombs


def check_slow_heads_are_bounded(port: int, timeout: int, max_connections: int) -> None:
    """2,000 clients each holding 15 KB of a head that never ends: the server holds at most
    `max_connections` of them, each until its head's `timeout` is up (issue 25: 15,000 such
    clients once took 338 MB and kept it)."""
    held, last_closed = run(slow_heads(port, 2000, 15_000, timeout / 4, bound=timeout + 10))
    assert held <= max_connections  # the others were closed unread
    assert last_closed < timeout + 10  # and those, once their head's time was up


def check_drain(drain: Drain, idle: int = 10) -> None:
    """SIGTERM under load: what the service promises (connections.py)."""
    assert drain.failed == []
    assert drain.ready_after_signal == [503]
    assert drain.kept_open_after_signal == 0
    assert drain.idle_answered == idle  # idle keep-alive connections were still open
    assert drain.answered > 100 and drain.refused > 0  # there was load, and an end to it


# 5. Throughput and latency, for `make bench` ---------------------------------------------


async def throughput(port: int, concurrency: int, seconds: float) -> tuple[int, list[float]]:
    """(requests answered, each one's latency in seconds): GET / on keep-alive connections."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def worker() -> None:
        client = await Client.open(port)
        while time.monotonic() < stop:
            started = time.perf_counter()
            await client.send("GET", "/")
            latencies.append(time.perf_counter() - started)
        await client.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies
