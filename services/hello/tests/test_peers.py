"""The client of peers.py against fake peers (httpx.MockTransport): what is retried and what
never is, within what time, with which headers, counted how, and what a failure answers."""

import asyncio
import json
import logging
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from hello.chassis import create_app
from hello.peer_example import add_peer_example
from hello.peers import CallPolicy, Peer, PeerError
from hello.propagation import _traceparent, correlation_id

POLICY = CallPolicy(connect_timeout=0.2, deadline=2.0, attempts=3)
Handler = Callable[[httpx.Request], httpx.Response]


def fake_peer(*answers: int | type[Exception], seen: list[httpx.Request] | None = None) -> Peer:
    """A peer that answers these statuses (or raises these errors) in turn, then 200."""
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        answer = queue.pop(0) if queue else 200
        if isinstance(answer, int):
            return httpx.Response(answer, json={"answer": answer})
        raise answer("fake", request=request)

    return Peer("fake", "http://fake", POLICY, transport=httpx.MockTransport(handle))


def call(peer: Peer, method: str = "GET") -> httpx.Response:
    return asyncio.run(peer.request(method, "/"))


@pytest.mark.parametrize("failure", [httpx.ConnectError, 502, 503, 504])
def test_an_idempotent_call_is_retried_until_it_succeeds(failure: int | type[Exception]) -> None:
    seen: list[httpx.Request] = []
    assert call(fake_peer(failure, failure, seen=seen)).status_code == 200
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("failure", "status"), [(httpx.ConnectError, 503), (503, 503), (502, 502), (504, 502)]
)
def test_retries_are_bounded_then_the_failure_is_a_clear_answer(
    failure: int | type[Exception], status: int
) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(PeerError) as error:
        call(fake_peer(*[failure] * 5, seen=seen))
    assert (error.value.status, len(seen)) == (status, POLICY.attempts)
    assert "fake" in error.value.detail


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ReadError, 503, 500])
def test_a_post_is_never_retried(failure: int | type[Exception]) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(PeerError):
        call(fake_peer(failure, seen=seen), "POST")
    assert len(seen) == 1


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_a_client_error_is_the_peers_answer_and_never_retried(status: int) -> None:
    seen: list[httpx.Request] = []
    assert call(fake_peer(status, seen=seen)).status_code == status
    assert len(seen) == 1


def test_a_peer_too_slow_is_a_504_within_the_deadline() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200)

    peer = Peer("slow", "http://slow", POLICY, transport=httpx.MockTransport(slow))
    started = time.monotonic()
    with pytest.raises(PeerError) as error:
        call(peer)
    assert error.value.status == 504 and "within 2 s" in error.value.detail
    assert time.monotonic() - started < POLICY.deadline + 1  # a bound, not a benchmark


def test_the_request_id_and_trace_context_go_with_the_call() -> None:
    seen: list[httpx.Request] = []
    trace_id, parent_id = "0af7" * 8, "b7ad" * 4  # the W3C example's shape
    parent = f"00-{trace_id}-{parent_id}-01"
    id_token, trace_token = correlation_id.set("req-42"), _traceparent.set(parent)
    try:
        call(fake_peer(seen=seen))
    finally:
        correlation_id.reset(id_token)
        _traceparent.reset(trace_token)
    [request] = seen
    assert request.headers["X-Request-ID"] == "req-42"
    version, trace, span, flags = request.headers["traceparent"].split("-")
    assert (version, trace, flags) == ("00", trace_id, "01")
    assert len(span) == 16 and span != parent_id  # a span of its own


def test_calls_are_counted_by_peer_method_and_outcome() -> None:
    def count(outcome: str) -> float:
        labels = {"peer": "fake", "method": "GET", "outcome": outcome}
        return REGISTRY.get_sample_value("http_client_request_duration_seconds_count", labels) or 0

    before = count("2xx"), count("5xx")
    call(fake_peer())
    with pytest.raises(PeerError):
        call(fake_peer(*[503] * 5))
    assert (count("2xx"), count("5xx")) == (before[0] + 1, before[1] + 1)


def test_the_example_route_answers_the_peers_reply_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: FastAPI = create_app(title="example")
    add_peer_example(app)
    with TestClient(app) as client:
        app.state.peers = {"fake": fake_peer()}
        with caplog.at_level(logging.INFO):
            answer = client.get("/peers/fake", headers={"X-Request-ID": "trace-me-1"})
        assert answer.status_code == 200
        assert answer.json() == {"peer": "fake", "status": 200, "reply": {"answer": 200}}
        assert answer.headers["X-Request-ID"] == "trace-me-1"
        assert client.get("/peers/nope").status_code == 404
        app.state.peers = {"fake": fake_peer(*[503] * 5)}
        failed = client.get("/peers/fake", headers={"X-Request-ID": "trace-me-2"})
        assert failed.status_code == 503
        assert failed.json()["request_id"] == "trace-me-2"


@pytest.mark.parametrize("given", ["", "has space", "new\nline", "x" * 129, "<script>"])
def test_a_request_id_that_could_inject_anything_is_replaced(given: str) -> None:
    with TestClient(create_app(title="example")) as client:
        answer = client.get("/livez", headers={"X-Request-ID": given} if given else {})
    kept = answer.headers["X-Request-ID"]
    assert kept != given and len(kept) == 32 and kept.isalnum()


def test_each_log_line_of_a_request_carries_its_id(capsys: pytest.CaptureFixture[str]) -> None:
    from hello.logs import JsonFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("request-id-test")
    logger.addHandler(handler)
    token = correlation_id.set("req-7")
    try:
        logger.warning("inside a request")
    finally:
        correlation_id.reset(token)
        logger.removeHandler(handler)
    assert json.loads(capsys.readouterr().err)["request_id"] == "req-7"
