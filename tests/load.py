"""Bounded load and hostile traffic against a running service, on 127.0.0.1 only.

Raw HTTP/1.1 over asyncio streams rather than a client library: the tests must see exactly
what became of each request (answered, refused, reset, truncated) and each header.
Every scenario is bounded in requests and in time.
"""

import asyncio
import os
import random
import re
import signal
import string
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


async def concurrent_posts(port: int, body: bytes, parallel: int) -> Counter[int]:
    """Statuses of `parallel` POST /echo of `body`, all sent at once."""

    async def one() -> int:
        client = await Client.open(port)
        try:
            return (await client.send("POST", "/echo", body)).status
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
    # Bodies at the limit that cost the most to parse, many at once: the budget queues them.
    assert run(concurrent_posts(port, json_bomb(max_body_bytes), 32)) == {422: 32}


def check_drain(drain: Drain, idle: int = 10) -> None:
    """SIGTERM under load: what the service promises (shutdown.py)."""
    assert drain.failed == []
    assert drain.ready_after_signal == [503]
    assert drain.kept_open_after_signal == 0
    assert drain.idle_answered == idle  # idle keep-alive connections were still open
    assert drain.answered > 100 and drain.refused > 0  # there was load, and an end to it


# 4. Throughput and latency, for `make bench` ---------------------------------------------


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
