"""The generated service under hostile traffic, oversized bodies and SIGTERM under load.

It runs as a process with its prod ConfigMap as environment, on 127.0.0.1 only; each
scenario is bounded in requests and time. The container tier repeats these under the
Deployment's securityContext and memory limit (test_containers.py).
"""

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.containers import MIB, PodSpec, free_port
from tests.load import (
    KNOWN_METHODS,
    concurrent_posts,
    get,
    hostile_traffic,
    json_bomb,
    oversized_post,
    peak_rss_mib,
    series,
    serving,
    sigterm_under_load,
)


@pytest.fixture(scope="module")
def spec(rendered_services: dict[str, Path]) -> PodSpec:
    return PodSpec.render(rendered_services["defaults"], "overlays/prod")


@pytest.fixture
def server(rendered_services: dict[str, Path], service_python: Path, spec: PodSpec) -> Any:
    port = free_port()
    with serving(rendered_services["defaults"], service_python, spec.config, port) as process:
        yield process, port


def run(scenario: Any, seconds: float = 120) -> Any:
    return asyncio.run(asyncio.wait_for(scenario, seconds))


def test_random_methods_and_paths_keep_metrics_bounded(server: Any) -> None:
    _, port = server
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


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("read_early", [True, False], ids=["reads-early", "sends-all-first"])
def test_an_oversized_body_is_refused_unread(server: Any, chunked: bool, read_early: bool) -> None:
    process, port = server
    baseline = peak_rss_mib(process.pid)
    assert run(oversized_post(port, 60 * MIB, chunked, read_early)) == 413
    assert peak_rss_mib(process.pid) < baseline + 16  # the 60 MiB were never held


def test_parallel_bodies_stay_under_the_memory_limit(server: Any, spec: PodSpec) -> None:
    process, port = server
    limit = int(spec.config["MAX_REQUEST_BODY_BYTES"])
    assert run(concurrent_posts(port, b"x" * (10 * MIB), 10)) == {413: 10}
    # Bodies at the limit that cost the most to parse, many at once: the budget queues them.
    assert run(concurrent_posts(port, json_bomb(limit), 32)) == {422: 32}
    assert peak_rss_mib(process.pid) < spec.memory_limit_mib


def test_sigterm_under_keep_alive_load_answers_every_accepted_request(
    server: Any, spec: PodSpec
) -> None:
    process, port = server
    drain = run(sigterm_under_load(port, lambda: process.send_signal(signal.SIGTERM)))
    assert drain.failed == []
    assert drain.ready_after_signal == [503]
    assert drain.kept_open_after_signal == 0
    assert drain.idle_answered == 10  # idle keep-alive connections were still open
    assert drain.answered > 100 and drain.refused > 0  # there was load, and an end to it
    # Exits by itself within the drain; by the re-raised SIGTERM outside a container.
    assert process.wait(timeout=int(spec.config["SHUTDOWN_TIMEOUT_SECONDS"])) in (0, -15)
