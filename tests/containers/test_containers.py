"""Every generated service, built and run for real under its Kubernetes security settings."""

import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from hooks.errors import HookError
from tests.support.containers import (
    PodSpec,
    container_peak_rss_mib,
    image_bytes,
    record,
    running,
)
from tests.support.engine import docker, docker_client, ensure_base_image
from tests.support.helpers import CACHE
from tests.support.load import (
    check_bodies_are_bounded,
    check_drain,
    check_metrics_stay_bounded,
    check_slow_heads_are_bounded,
    constants,
    run,
    sigterm_under_load,
)
from tests.support.net import http_get, wait_for

METRICS = CACHE / "bench" / "containers.json"


@dataclass
class Built:
    """A service's images, or why its Python version cannot be exercised here."""

    case: str
    service: Path
    runtime: str = ""
    dev: str = ""
    not_exercised: str = ""


def build(service: Path, target: str, tag: str) -> float:
    started = time.monotonic()
    docker("build", "--network", "host", "--target", target, "-t", tag, str(service))
    return time.monotonic() - started


def wait_ready(port: int, spec: PodSpec) -> None:
    path = spec.probe_path("readinessProbe")
    wait_for(lambda: http_get(port, path, timeout=1)[0] == 200, 30, "the readiness probe")


@pytest.fixture(scope="session")
def built(engine: None, rendered_services: dict[str, Path]) -> dict[str, Built]:
    """Both targets of every case whose base image exists here (real or stand-in)."""
    result = {}
    for case, service in rendered_services.items():
        base = DockerfileParser(path=str(service / "Dockerfile")).parent_images[0]
        version = base.split(":")[1].split("-")[0]
        try:
            usable, how = ensure_base_image(base, version)
        except HookError as error:  # one line per case, not a traceback per test
            usable, how = False, f"no {base} here ({error}); `make engine` makes one"
        if not usable:
            result[case] = Built(case, service, not_exercised=how)
            continue
        tag = f"template-test-{case}"
        seconds = build(service, "runtime", f"{tag}:runtime")
        build(service, "dev", f"{tag}:dev")
        record(
            METRICS,
            case,
            {
                "build_seconds": seconds,
                "image_mb": image_bytes(f"{tag}:runtime") / 1e6,
                "own_layers_mb": (image_bytes(f"{tag}:runtime") - image_bytes(base)) / 1e6,
            },
        )
        result[case] = Built(case, service, f"{tag}:runtime", f"{tag}:dev")
    return result


@pytest.fixture
def images(request: pytest.FixtureRequest, built: dict[str, Built], service: Path) -> Built:
    [case] = [c for c, b in built.items() if b.service == service]
    if built[case].not_exercised:
        pytest.skip(built[case].not_exercised)
    return built[case]


def test_the_runtime_image_runs_as_the_deployment_declares(images: Built) -> None:
    spec = PodSpec.render(images.service, "overlays/prod")
    with running(images.runtime, spec, "template-test-runtime") as (name, port):
        started = time.monotonic()
        path = spec.probe_path("startupProbe")
        wait_for(lambda: http_get(port, path, timeout=1)[0] == 200, 30, "the start-up probe")
        ready = time.monotonic() - started
        assert http_get(port, spec.probe_path("readinessProbe"))[0] == 200
        assert http_get(port, spec.probe_path("livenessProbe"))[0] == 200
        identity = docker("exec", name, "id", "-u").stdout.strip()
        assert identity == str(spec.pod["securityContext"]["runAsUser"])
        assert docker("exec", name, "touch", "/app/x", check=False).returncode != 0
        assert docker("exec", name, "touch", "/tmp/x", check=False).returncode == 0
        status, metrics = http_get(port, "/metrics")
        assert status == 200 and "http_requests_total" in metrics
        image = docker("image", "inspect", "-f", "{{json .Config}}", images.runtime).stdout
        config = json.loads(image)
        assert list(config["ExposedPorts"]) == [f"{spec.container_port}/tcp"]
        check = config["Healthcheck"]["Test"]  # ["CMD", ...]: what `docker run` users rely on
        assert check[0] == "CMD" and docker("exec", name, *check[1:], check=False).returncode == 0
        logs = docker("logs", name).stdout + docker("logs", name).stderr
        assert all(line.startswith("{") for line in logs.splitlines() if line.strip())
    record(METRICS, images.case, {"ready_seconds": ready})


def test_sigterm_lets_the_request_in_flight_finish_and_exits_zero(images: Built) -> None:
    spec = PodSpec.render(images.service, "overlays/prod")
    grace = spec.pod["terminationGracePeriodSeconds"]
    with running(images.runtime, spec, "template-test-sigterm") as (name, port):
        wait_for(
            lambda: http_get(port, spec.probe_path("readinessProbe"), timeout=1)[0] == 200,
            30,
            "ready",
        )
        body = b'{"message": "in flight"}'
        with socket.create_connection(("127.0.0.1", port), timeout=grace) as client:
            client.sendall(
                b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: "
                b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:5]
            )  # the request is in flight: headers, part of a body
            time.sleep(0.5)
            docker("kill", "--signal", "TERM", name)
            time.sleep(1.0)  # the server is shutting down while the request is open
            assert docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"
            client.sendall(body[5:])
            answer = b"".join(iter(lambda: client.recv(65536), b"")).decode()  # until closed
        assert answer.startswith("HTTP/1.1 200") and '"in flight"' in answer
        exit_code = docker("wait", name, timeout=grace).stdout.strip()
        assert exit_code == "0"


def test_hostile_traffic_and_bodies_stay_within_the_prod_memory_limit(images: Built) -> None:
    spec = PodSpec.render(images.service, "overlays/prod")
    with running(images.runtime, spec, "template-test-load") as (name, port):
        wait_for(
            lambda: http_get(port, spec.probe_path("readinessProbe"), timeout=1)[0] == 200,
            30,
            "ready",
        )
        metrics_bytes = check_metrics_stay_bounded(port)
        check_bodies_are_bounded(port, int(spec.config["MAX_REQUEST_BODY_BYTES"]))
        timeout = int(spec.config["REQUEST_TIMEOUT_SECONDS"])
        check_slow_heads_are_bounded(port, timeout, constants(images.service)["MAX_CONNECTIONS"])
        peak = container_peak_rss_mib(name)
        assert docker("inspect", "-f", "{{.State.OOMKilled}}", name).stdout.strip() == "false"
    assert peak < spec.memory_limit_mib
    record(METRICS, images.case, {"peak_rss_mib": peak, "metrics_kb": metrics_bytes / 1024})


def test_sigterm_under_keep_alive_load_answers_every_accepted_request(images: Built) -> None:
    spec = PodSpec.render(images.service, "overlays/prod")
    with running(images.runtime, spec, "template-test-drain") as (name, port):
        wait_for(
            lambda: http_get(port, spec.probe_path("readinessProbe"), timeout=1)[0] == 200,
            30,
            "ready",
        )
        check_drain(run(sigterm_under_load(port, lambda: docker("kill", "-s", "TERM", name))))
        timeout = int(spec.config["SHUTDOWN_TIMEOUT_SECONDS"])
        assert docker("wait", name, timeout=timeout).stdout.strip() == "0"


def test_the_dev_target_serves_code_synced_like_tilts_live_update(images: Built) -> None:
    spec = PodSpec.render(images.service, "overlays/dev")
    [module] = [p.name for p in (images.service / "src").iterdir() if p.is_dir()]
    source = (images.service / "src" / module / "main.py").read_text()
    changed = source.replace('"version": __version__}', '"version": __version__, "live": "yes"}')
    assert changed != source
    with running(images.dev, spec, "template-test-dev") as (name, port):
        wait_for(lambda: http_get(port, "/readyz", timeout=1)[0] == 200, 30, "ready")
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:  # what Tilt streams into `tar -x`
            entry = tarfile.TarInfo(f"app/src/{module}/main.py")
            entry.size, entry.mtime = len(changed.encode()), int(time.time())
            tar.addfile(entry, io.BytesIO(changed.encode()))
        started = time.monotonic()
        subprocess.run(
            [docker_client(), "exec", "-i", name, "tar", "-C", "/", "-x", "-f", "-"],
            input=archive.getvalue(),
            check=True,
            capture_output=True,
        )
        wait_for(lambda: '"live":"yes"' in http_get(port, "/", timeout=1)[1], 20, "the edit served")
        reload_seconds = time.monotonic() - started
    record(METRICS, images.case, {"reload_seconds": reload_seconds})


def test_a_code_only_change_rebuilds_from_cached_dependency_layers(
    images: Built, tmp_path: Path
) -> None:
    copy = tmp_path / images.service.name
    shutil.copytree(images.service, copy)
    [main] = list(copy.glob("src/*/main.py"))
    main.write_text(main.read_text() + "\n# a code-only change\n")
    seconds = build(copy, "runtime", "template-test-rebuild:runtime")
    before, after = layers(images.runtime), layers("template-test-rebuild:runtime")
    docker("rmi", "-f", "template-test-rebuild:runtime", check=False)
    # Base and dependency layers are reused; only the code layers (COPY src, compileall) change.
    assert after[:-2] == before[:-2] and after[-2] != before[-2]
    record(METRICS, images.case, {"code_rebuild_seconds": seconds})


def layers(image: str) -> list[str]:
    return docker("image", "inspect", "-f", '{{join .RootFS.Layers " "}}', image).stdout.split()
