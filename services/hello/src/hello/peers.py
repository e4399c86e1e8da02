"""Calls to the platform's other services this one declared (the `calls` answer): one pooled
httpx client per peer, opened with the app and closed with it.

A call has a connect timeout and a total deadline, retries included (PEER_* settings);
it is retried, with capped exponential backoff and jitter (stamina), only when nothing can
have been done twice: an idempotent method that failed to connect, or that a peer answered
502, 503 or 504. It carries the request's X-Request-ID and traceparent (propagation.py), and
is counted by peer, method and outcome, all from closed sets. A failure becomes a clear
answer for this service's own caller (PeerError: 503 unreachable, 504 too slow, 502 broken),
and a peer being down never touches this service's readiness or liveness.

Template-managed (`make update`); where each peer is comes from its `<PEER>_URL` setting,
which the platform sets for each place the service runs (docs/environment.md).
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import stamina
from prometheus_client import Histogram

from hello.propagation import outgoing_headers

# The services this one calls: the `calls` answer.
PEERS: tuple[str, ...] = ()
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
METHODS = frozenset({*IDEMPOTENT, "POST", "PATCH"})
RETRIED_STATUSES = frozenset({502, 503, 504})

CALLS = Histogram(
    "http_client_request_duration_seconds",
    "Calls to peers, retries included.",
    ["peer", "method", "outcome"],
)


class PeerError(Exception):
    """A call that got no usable answer: what this service answers its own caller."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class _Retry(Exception):
    """An answer worth another try (502, 503, 504 to an idempotent call)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


@dataclass(frozen=True)
class CallPolicy:
    """How long and how often to try (from PlatformSettings' PEER_* values)."""

    connect_timeout: float
    deadline: float
    attempts: int


class Peer:
    """One peer: its pooled client, used for every call of the process."""

    def __init__(
        self,
        name: str,
        base_url: str,
        policy: CallPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name, self.policy = name, policy
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self.client = httpx.AsyncClient(
            base_url=base_url,
            # Limits belong to the transport: a client given one ignores its own (httpx).
            transport=transport or httpx.AsyncHTTPTransport(limits=limits),
            timeout=httpx.Timeout(policy.deadline, connect=policy.connect_timeout),
            trust_env=False,  # no proxy from the environment between services
        )

    async def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One call, retried as described above: the peer's answer (4xx included), or a
        PeerError when there is no usable one (no answer in time, none at all, a 5xx)."""
        method = method.upper()
        started, outcome = time.perf_counter(), "error"
        try:
            response = await self._within_deadline(method, path, options)
            outcome = f"{response.status_code // 100}xx"
            if response.status_code == 503:
                raise PeerError(503, f"{self.name} is unavailable (it answered 503)")
            if response.status_code >= 500:
                raise PeerError(502, f"{self.name} failed (it answered {response.status_code})")
            return response
        except TimeoutError:
            outcome = "timeout"
            raise PeerError(
                504, f"{self.name} did not answer within {self.policy.deadline:g} s"
            ) from None
        except httpx.TransportError as error:
            outcome = "connect_error" if isinstance(error, httpx.ConnectError) else "error"
            reason = type(error).__name__
            raise PeerError(503, f"{self.name} cannot be reached ({reason})") from None
        finally:
            label = method if method in METHODS else "other"
            CALLS.labels(self.name, label, outcome).observe(time.perf_counter() - started)

    async def _within_deadline(
        self, method: str, path: str, options: dict[str, Any]
    ) -> httpx.Response:
        idempotent = method in IDEMPOTENT
        retried = (httpx.ConnectError, httpx.ConnectTimeout, _Retry) if idempotent else ()
        headers = {**outgoing_headers(), **(options.pop("headers", None) or {})}
        async with asyncio.timeout(self.policy.deadline):
            try:
                async for attempt in stamina.retry_context(
                    on=retried or _Never,
                    attempts=self.policy.attempts if idempotent else 1,
                    timeout=None,  # the deadline above bounds the whole call
                    wait_initial=0.05,
                    wait_max=0.5,
                    wait_jitter=0.1,
                ):
                    with attempt:
                        response = await self.client.request(
                            method, path, headers=headers, **options
                        )
                        if idempotent and response.status_code in RETRIED_STATUSES:
                            raise _Retry(response)
                        return response
            except _Retry as last:  # retries spent: the peer's own answer stands
                return last.response
        raise AssertionError("unreachable")  # stamina returns or raises

    async def aclose(self) -> None:
        await self.client.aclose()


class _Never(Exception):
    """Nothing is retried (a call that may have been done already)."""


@asynccontextmanager
async def opened(urls: dict[str, str], policy: CallPolicy) -> AsyncIterator[dict[str, Peer]]:
    """A Peer for each declared peer, closed on the way out."""
    peers = {name: Peer(name, urls[name], policy) for name in PEERS}
    try:
        yield peers
    finally:
        await asyncio.gather(*(peer.aclose() for peer in peers.values()))
