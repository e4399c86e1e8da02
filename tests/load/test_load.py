"""The generated service under hostile traffic, oversized bodies and SIGTERM under load.

It runs as a process with its prod ConfigMap as environment, on 127.0.0.1 only; each
scenario is bounded in requests and time (tests/support/load.py). The container tier repeats
them under the Deployment's securityContext and memory limit (test_containers.py).
"""

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.containers import PodSpec
from tests.support.load import (
    MIB,
    Answer,
    Client,
    check_bodies_are_bounded,
    check_drain,
    check_metrics_stay_bounded,
    check_slow_heads_are_bounded,
    concurrent_posts,
    constants,
    early_answer,
    get,
    half_closed,
    oversized_post,
    peak_rss_mib,
    pipelined_then_stopped,
    random_clients,
    run,
    serving,
    sigterm_under_load,
    stalled_by_held_budget,
)
from tests.support.net import free_port

QUICK = 2  # REQUEST_TIMEOUT_SECONDS of the `quick` server: bounded waits end soon


@pytest.fixture(scope="module")
def spec(rendered_services: dict[str, Path]) -> PodSpec:
    return PodSpec.render(rendered_services["defaults"], "overlays/prod")


@pytest.fixture(scope="module")
def limits(rendered_services: dict[str, Path]) -> dict[str, int]:
    return constants(rendered_services["defaults"])


@pytest.fixture
def server(rendered_services: dict[str, Path], service_python: Path, spec: PodSpec) -> Any:
    port = free_port()
    with serving(rendered_services["defaults"], service_python, spec.config, port) as process:
        yield process, port


@pytest.fixture
def quick(rendered_services: dict[str, Path], service_python: Path, spec: PodSpec) -> Any:
    """The service as in prod, but with a REQUEST_TIMEOUT_SECONDS of QUICK."""
    config = {**spec.config, "REQUEST_TIMEOUT_SECONDS": str(QUICK)}
    port = free_port()
    with serving(rendered_services["defaults"], service_python, config, port) as process:
        yield process, port


def test_random_methods_and_paths_keep_metrics_bounded(server: Any) -> None:
    check_metrics_stay_bounded(server[1])


def test_an_oversized_body_is_refused_unread(server: Any) -> None:
    process, port = server
    baseline = peak_rss_mib(process.pid)
    assert run(oversized_post(port, 60 * MIB, chunked=False, read_early=False)) == 413
    assert peak_rss_mib(process.pid) < baseline + 16  # the 60 MiB were never held


def test_after_a_413_the_server_reads_a_bounded_rest_and_closes(
    server: Any, limits: dict[str, int]
) -> None:
    # Issue 25: after a 413 for `Content-Length: 10000000000` it read and dropped 3 GB.
    status, sent = run(early_answer(server[1], 10**10, send_at_most=512 * MIB))
    assert status == 413
    assert sent < limits["DISCARD_BYTES"] + 32 * MIB  # the rest: socket buffers at most


def test_bodies_stay_under_the_memory_limit(server: Any, spec: PodSpec) -> None:
    process, port = server
    check_bodies_are_bounded(port, int(spec.config["MAX_REQUEST_BODY_BYTES"]))
    assert peak_rss_mib(process.pid) < spec.memory_limit_mib


def test_a_held_body_budget_stalls_a_request_only_until_the_timeout(
    quick: Any, spec: PodSpec, limits: dict[str, int]
) -> None:
    # Issue 25: four sockets announcing the largest body, one byte sent, stalled every POST.
    size = int(spec.config["MAX_REQUEST_BODY_BYTES"])
    holders = limits["BODIES_IN_MEMORY"]
    statuses, status, waited = run(stalled_by_held_budget(quick[1], holders, size, 6 * QUICK))
    assert statuses == {408: holders}  # each holder: its body did not arrive in time
    assert status in (200, 503)  # served once the holders timed out, or told to retry
    assert waited < 2 * QUICK + 2  # the wait for the budget, then its own body's time


def test_slow_heads_are_bounded_in_number_time_and_memory(
    server: Any, spec: PodSpec, limits: dict[str, int]
) -> None:
    # Issue 25: 15,000 connections each holding 15 KB of an unfinished head took 338 MB.
    process, port = server
    baseline = peak_rss_mib(process.pid)
    timeout = int(spec.config["REQUEST_TIMEOUT_SECONDS"])
    check_slow_heads_are_bounded(port, timeout, limits["MAX_CONNECTIONS"])
    assert peak_rss_mib(process.pid) < baseline + 32 < spec.memory_limit_mib
    assert run(get(port, "/readyz")).status == 200


def test_a_request_read_before_sigterm_is_answered(server: Any) -> None:
    # Issue 25: a pipelined request that arrived before SIGTERM was never answered.
    process, port = server
    answers = run(pipelined_then_stopped(port, 300, lambda: process.send_signal(signal.SIGTERM)))
    assert [answer.status for answer in answers] == [200] * 300
    assert answers[-1].closes and not any(answer.closes for answer in answers[:-1])


def test_a_client_that_half_closes_after_its_request_gets_the_answer(server: Any) -> None:
    answer = run(half_closed(server[1], b'{"message": "bye"}'))
    assert (answer.status, answer.body) == (200, b'{"message":"bye"}')


@pytest.mark.parametrize(
    "body",
    [
        b'{"message":1e400}',  # issue 25
        b'{"message":"\\ud800"}',  # issue 25
        b'{"message":NaN}',
        b"[-Infinity]",
        b'{"message":"\\udc00\\ud800"}',
        b'{"message":"\xed\xa0\x80"}',  # a surrogate as UTF-8 bytes
        b'{"message": {"\\ud800": 1}}',  # in a key, which a 422 would repeat
        b'{"message":' + b"1" * 400 + b".5}",
    ],
)
def test_json_that_cannot_be_answered_is_a_4xx_never_a_500(server: Any, body: bytes) -> None:
    assert 400 <= run(post(server[1], body)).status < 500


async def post(port: int, body: bytes) -> Answer:
    client = await Client.open(port)
    try:
        return await client.send("POST", "/echo", body)
    finally:
        await client.close()


# Any JSON value, with what Python's json reads but cannot write back: non-finite numbers
# and lone surrogates, escaped (ensure_ascii) or as UTF-8 bytes (surrogatepass).
TEXT = st.text(st.characters(codec=None, categories=None), max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def module_server(rendered_services: dict[str, Path], service_python: Path, spec: PodSpec) -> Any:
    port = free_port()
    with serving(rendered_services["defaults"], service_python, spec.config, port) as process:
        yield process, port


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, wrapped=st.booleans(), ascii_only=st.booleans())
def test_no_json_body_gets_a_500_and_text_comes_back_whole(
    module_server: Any, value: Any, wrapped: bool, ascii_only: bool
) -> None:
    document = {"message": value} if wrapped else value
    body = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    answer = run(post(module_server[1], body))
    assert answer.status < 500, (answer, body)
    if wrapped and isinstance(value, str) and not any("\ud800" <= c <= "\udfff" for c in value):
        assert json.loads(answer.body) == {"message": value}


def test_random_clients_neither_stall_nor_break_the_service(
    quick: Any, spec: PodSpec, limits: dict[str, int]
) -> None:
    """Slow, stalled, half-open, pipelining and hostile clients, drawn at random: each
    connection they leave hanging is closed in bounded time, no answer is a 500 (503 is the
    budget's), and afterwards nothing is left held: budget, connection slots, memory."""
    process, port = quick
    # A stalled client's request waits for the budget, then for its body, then the rest is
    # discarded (2 s): all within this.
    bound = 3 * QUICK + 8
    for seed in range(3):
        chaos = run(random_clients(port, seed, count=80, bound=bound), seconds=bound + 60)
        assert chaos.left_open == [], (seed, chaos)
        assert all(status < 500 or status == 503 for status in chaos.statuses), chaos
    assert peak_rss_mib(process.pid) < spec.memory_limit_mib
    message = b'{"message": "%s"}' % (b"x" * (int(spec.config["MAX_REQUEST_BODY_BYTES"]) - 20))
    assert run(concurrent_posts(port, message, limits["BODIES_IN_MEMORY"])) == {
        200: limits["BODIES_IN_MEMORY"]
    }
    assert run(every_slot_answers(port, limits["MAX_CONNECTIONS"]))


async def every_slot_answers(port: int, connections: int) -> bool:
    """Whether `connections` connections at once are all accepted and answered."""
    clients = [await Client.open(port) for _ in range(connections)]
    try:
        answers = await asyncio.gather(*(client.send("GET", "/livez") for client in clients))
        return all(answer.status == 200 for answer in answers)
    finally:
        for client in clients:
            await client.close()


def test_sigterm_under_keep_alive_load_answers_every_accepted_request(
    server: Any, spec: PodSpec
) -> None:
    process, port = server
    check_drain(run(sigterm_under_load(port, lambda: process.send_signal(signal.SIGTERM))))
    # Exits by itself within the drain; by the re-raised SIGTERM outside a container.
    assert process.wait(timeout=int(spec.config["SHUTDOWN_TIMEOUT_SECONDS"])) in (0, -15)
