"""The generated service under hostile traffic, oversized bodies and SIGTERM under load.

It runs as a process with its prod ConfigMap as environment, on 127.0.0.1 only; each
scenario is bounded in requests and time (tests/load.py). The container tier repeats
them under the Deployment's securityContext and memory limit (test_containers.py).
"""

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.containers import PodSpec, free_port
from tests.load import (
    MIB,
    check_bodies_are_bounded,
    check_drain,
    check_metrics_stay_bounded,
    oversized_post,
    peak_rss_mib,
    run,
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


def test_random_methods_and_paths_keep_metrics_bounded(server: Any) -> None:
    check_metrics_stay_bounded(server[1])


def test_an_oversized_body_is_refused_unread(server: Any) -> None:
    process, port = server
    baseline = peak_rss_mib(process.pid)
    assert run(oversized_post(port, 60 * MIB, chunked=False, read_early=False)) == 413
    assert peak_rss_mib(process.pid) < baseline + 16  # the 60 MiB were never held


def test_bodies_stay_under_the_memory_limit(server: Any, spec: PodSpec) -> None:
    process, port = server
    check_bodies_are_bounded(port, int(spec.config["MAX_REQUEST_BODY_BYTES"]))
    assert peak_rss_mib(process.pid) < spec.memory_limit_mib


def test_sigterm_under_keep_alive_load_answers_every_accepted_request(
    server: Any, spec: PodSpec
) -> None:
    process, port = server
    check_drain(run(sigterm_under_load(port, lambda: process.send_signal(signal.SIGTERM))))
    # Exits by itself within the drain; by the re-raised SIGTERM outside a container.
    assert process.wait(timeout=int(spec.config["SHUTDOWN_TIMEOUT_SECONDS"])) in (0, -15)
