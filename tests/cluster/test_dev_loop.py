"""`make dev` for real: Tilt builds, pushes and deploys to a real cluster, and live-updates.

Runs against the cluster tests/livecluster.py finds (CI starts one: .ci/run). Everything
goes to namespaces of this run only, on local ports picked free, and is deleted at the end;
traffic goes to 127.0.0.1 (Tilt's port-forwards) and to the cluster's announced registry.
"""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hooks.core.answers import read_answers
from hooks.core.kube import kustomize_objects
from tests.support.engine import ensure_base_image
from tests.support.helpers import CACHE, REPO, add_service, commit_all, edit, git, snapshot_repo
from tests.support.livecluster import LiveCluster, ready
from tests.support.net import free_ports, http_get, wait_for

RUN = uuid.uuid4().hex[:6]
NAMESPACE = f"mp-test-{RUN}"
OTHER_NAMESPACE = f"{NAMESPACE}-ledger"
CANARY = f"canary-{RUN}-not-for-logs"
METRICS = CACHE / "bench" / "devloop.json"
# ledger in a namespace of its own; legacy on another Python; hello as committed, calling
# ledger (generated first: a service calls only services that exist).
SERVICES = {
    "ledger": [f"namespace={OTHER_NAMESPACE}"],
    "legacy": ["python_version=3.11"],
    "hello": ["calls=ledger"],
}


@dataclass
class DevRepo:
    """A platform checkout with this run's services, namespaces and ports."""

    path: Path
    ports: dict[str, int]

    def service(self, name: str) -> Path:
        return self.path / "services" / name


@pytest.fixture(scope="module")
def devrepo(
    live_cluster: LiveCluster, engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevRepo]:
    for image, version in (
        ("python:3.13-slim-trixie", "3.13"),
        ("python:3.11-slim-bookworm", "3.11"),
    ):
        usable, how = ensure_base_image(image, version)
        assert usable, how
    repo = snapshot_repo(tmp_path_factory.mktemp("devloop"))
    (repo / ".venv").symlink_to(sys.prefix)
    edit(repo / "platform/settings/settings.yaml", "default: apps", f"default: {NAMESPACE}")
    commit_all(repo, "this run's namespace")
    hello = read_answers(REPO / "services/hello")
    SERVICES["hello"] += [
        f"{key}={hello[key]}" for key in ("description", "team", "service_port", "python_version")
    ]
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    for name, data in SERVICES.items():
        add_service(repo, name, [*data, f"dev_port={ports[name]}"])
        commit_all(repo, f"add {name}")
    env = repo / "services/hello/.env.development"
    edit(env, "UPSTREAM_API_TOKEN=change-me", f"UPSTREAM_API_TOKEN={CANARY}")
    yield DevRepo(repo, ports)
    live_cluster.down(repo)
    live_cluster.kubectl(
        "delete", "namespace", NAMESPACE, OTHER_NAMESPACE, "--wait=false", check=False
    )


def namespace_of(name: str) -> str:
    return OTHER_NAMESPACE if name == "ledger" else NAMESPACE


def test_tilt_ci_brings_every_service_up_under_restricted_pod_security(
    live_cluster: LiveCluster, devrepo: DevRepo
) -> None:
    started = time.monotonic()
    result = live_cluster.ci(devrepo.path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    record("tilt_ci_cold_3_services_s", time.monotonic() - started)
    assert CANARY not in output
    for namespace in (NAMESPACE, OTHER_NAMESPACE):
        labels = live_cluster.get("namespace", namespace)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        [quota] = live_cluster.get("resourcequota", "-n", namespace)["items"]
        assert int(quota["status"]["used"]["pods"]) >= 1  # the quota admitted the pods
        assert live_cluster.get("limitrange", "-n", namespace)["items"]
    catalog = json.loads(http_get_registry(live_cluster.registry(), "/v2/_catalog"))
    assert set(SERVICES) <= set(catalog["repositories"])
    for name in SERVICES:
        [pod] = live_cluster.pods(namespace_of(name), name)
        assert ready(pod)
        assert pod["spec"]["containers"][0]["image"].startswith(live_cluster.registry())


def http_get_registry(host: str, path: str) -> str:
    assert host.startswith(("localhost:", "127.0.0.1:")), f"not a local registry: {host}"
    with urllib.request.urlopen(f"http://{host}{path}", timeout=5) as response:
        return str(response.read().decode())


@dataclass
class Session:
    """`make dev` running in the background, and where its output goes."""

    process: subprocess.Popen[bytes]
    log: Path
    tilt_port: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def make_dev(live_cluster: LiveCluster, devrepo: DevRepo) -> Iterator[Session]:
    [tilt_port] = free_ports(1, taken=devrepo.ports.values())  # they listen once Tilt runs
    log = devrepo.path.parent / "make-dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                f"VENV={sys.prefix}",
                "dev",
                "cluster=existing",
                f"context={live_cluster.context}",
            ],  # every service: a service added meanwhile must appear by itself
            cwd=devrepo.path,
            env=live_cluster.env(TILT_PORT=str(tilt_port)),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    session = Session(process, log, tilt_port)
    resources = ["uiresource/(Tiltfile)", *(f"uiresource/{name}" for name in SERVICES)]

    def tilt(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [live_cluster.tilt, *args, "--port", str(tilt_port)],
            env=live_cluster.env(),
            capture_output=True,
            text=True,
            check=False,
        )

    # `tilt wait` cannot wait for a resource to exist: Tilt creates them as its Tiltfile loads.
    wait_for(
        lambda: tilt("get", *resources).returncode == 0,
        120,
        "Tilt's resources after make dev: " + session.output()[-2000:],
    )
    waited = tilt("wait", "--timeout", "600s", "--for=condition=Ready", *resources)
    try:
        assert waited.returncode == 0, waited.stderr + session.output()[-4000:]
        yield session
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        down = subprocess.run(  # no arguments: what the last make dev here started
            ["make", "--no-print-directory", f"VENV={sys.prefix}", "down"],
            cwd=devrepo.path,
            env=live_cluster.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert down.returncode == 0, down.stdout + down.stderr
        assert CANARY not in session.output()


def test_make_dev_serves_every_service_on_its_dev_port(make_dev: Session, devrepo: DevRepo) -> None:
    for name, port in devrepo.ports.items():
        assert http_get(port, "/livez")[0] == 200
        assert http_get(port, "/readyz")[0] == 200
        status, metrics = http_get(port, "/metrics")
        assert status == 200 and "http_requests_total" in metrics
        assert json.loads(http_get(port, "/")[1])["service"] == name


def test_an_edited_source_file_is_served_without_a_rebuild(
    live_cluster: LiveCluster, make_dev: Session, devrepo: DevRepo
) -> None:
    port, main = devrepo.ports["hello"], devrepo.service("hello") / "src/hello/main.py"
    [before] = live_cluster.pods(NAMESPACE, "hello")
    latencies = []
    for number in range(3):
        marker = f"edit-{RUN}-{number}"
        text = re.sub(r'"service": "[^"]*"', f'"service": "{marker}"', main.read_text())
        started = time.monotonic()
        main.write_text(text)
        wait_for(lambda m=marker: m in http_get(port, "/")[1], 60, f"edit {number} served")
        latencies.append(time.monotonic() - started)
    record("live_update_s", latencies)
    [after] = live_cluster.pods(NAMESPACE, "hello")
    assert after["metadata"]["name"] == before["metadata"]["name"]  # synced, not redeployed


def test_a_lock_file_change_runs_the_install_step_in_place(
    live_cluster: LiveCluster, make_dev: Session, devrepo: DevRepo
) -> None:
    [before] = live_cluster.pods(NAMESPACE, "hello")
    lock = devrepo.service("hello") / "requirements-dev.lock"
    lock.write_text(lock.read_text() + f"# touched by {RUN}\n")

    def reinstalled() -> bool:
        logs = subprocess.run(
            [live_cluster.tilt, "logs", "--port", str(make_dev.tilt_port), "hello"],
            env=live_cluster.env(),
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return "pip install --require-hashes" in logs and "Requirement already satisfied" in logs

    wait_for(reinstalled, 120, "the lock file change ran `pip install` in the container")
    synced = live_cluster.kubectl(
        "exec",
        "-n",
        NAMESPACE,
        before["metadata"]["name"],
        "--",
        "cat",
        "/app/requirements-dev.lock",
    ).stdout
    assert f"# touched by {RUN}" in synced
    [after] = live_cluster.pods(NAMESPACE, "hello")
    assert after["metadata"]["name"] == before["metadata"]["name"]


def test_env_values_reach_the_pod_and_a_change_rolls_it(
    live_cluster: LiveCluster, make_dev: Session, devrepo: DevRepo
) -> None:
    [before] = live_cluster.pods(NAMESPACE, "hello")
    env_from = before["spec"]["containers"][0]["envFrom"]
    config = live_cluster.get("configmap", env_from[0]["configMapRef"]["name"], "-n", NAMESPACE)
    secret = live_cluster.get("secret", env_from[1]["secretRef"]["name"], "-n", NAMESPACE)
    assert config["data"]["LOG_LEVEL"] == "info" and "UPSTREAM_API_TOKEN" not in config["data"]
    assert base64.b64decode(secret["data"]["UPSTREAM_API_TOKEN"]).decode() == CANARY
    edit(devrepo.service("hello") / ".env.development", "LOG_LEVEL=info", "LOG_LEVEL=debug")

    def rolled() -> dict[str, Any] | None:
        fresh = [
            p
            for p in live_cluster.pods(NAMESPACE, "hello")
            if p["metadata"]["name"] != before["metadata"]["name"]
        ]
        return fresh[0] if fresh and ready(fresh[0]) else None

    pod = wait_for(rolled, 180, "a pod with the new config")
    environment = live_cluster.kubectl(
        "exec", "-n", NAMESPACE, pod["metadata"]["name"], "--", "env"
    ).stdout
    assert "LOG_LEVEL=debug" in environment.splitlines()
    assert http_get(devrepo.ports["hello"], "/readyz")[0] == 200


def test_a_service_added_while_tilt_runs_is_served_without_a_step_by_hand(
    make_dev: Session, devrepo: DevRepo
) -> None:
    [port] = free_ports(1, taken=[make_dev.tilt_port, *devrepo.ports.values()])
    started = time.monotonic()
    made = subprocess.run(
        [
            "make",
            "--no-print-directory",
            f"VENV={sys.prefix}",
            "service",
            "name=refunds",
            f"data=dev_port={port}",
        ],
        cwd=devrepo.path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    wait_for(
        lambda: http_get(port, "/readyz")[0] == 200,
        180,
        "refunds, Ready through the running Tilt: " + make_dev.output()[-3000:],
    )
    record("new_service_ready_s", time.monotonic() - started)
    assert json.loads(http_get(port, "/")[1])["service"] == "refunds"


def test_a_call_to_a_peer_in_another_namespace_carries_its_id_and_outlives_the_peer(
    live_cluster: LiveCluster, make_dev: Session, devrepo: DevRepo
) -> None:
    caller, callee = devrepo.ports["hello"], devrepo.ports["ledger"]
    request_id = f"trace-{RUN}"
    status, body = http_get(caller, "/peers/ledger", {"X-Request-ID": request_id})
    assert status == 200, body
    assert json.loads(body)["reply"]["service"] == "ledger"  # by DNS, across namespaces

    def logged() -> bool:
        logs = live_cluster.kubectl("logs", "-n", OTHER_NAMESPACE, "deployment/ledger").stdout
        return any(
            json.loads(line).get("request_id") == request_id
            for line in logs.splitlines()
            if line.startswith("{")
        )

    wait_for(logged, 30, f"{request_id} in ledger's log")
    latency(caller, callee)

    scale = ("scale", "deployment/ledger", "-n", OTHER_NAMESPACE)
    live_cluster.kubectl(*scale, "--replicas=0")

    def gone() -> bool:  # terminating pods included: they drain their connections first
        selector = ("-l", "app.kubernetes.io/name=ledger")
        return not live_cluster.get("pods", "-n", OTHER_NAMESPACE, *selector)["items"]

    wait_for(gone, 90, "ledger gone")
    started = time.monotonic()
    status, body = http_get(caller, "/peers/ledger")
    assert status in (503, 504), body
    assert time.monotonic() - started < 5 + 3  # PEER_TIMEOUT_SECONDS, and some slack
    assert http_get(caller, "/readyz")[0] == 200  # a peer down never makes hello unready

    live_cluster.kubectl(*scale, "--replicas=1")
    back = time.monotonic()
    wait_for(lambda: http_get(caller, "/peers/ledger")[0] == 200, 120, "ledger back")
    record("peer_recovery_s", time.monotonic() - back)


def latency(caller: int, callee: int, count: int = 60) -> None:
    """A call through the client against the same request made directly (a bench figure)."""
    through, direct = [], []
    for _ in range(count):
        for port, path, times in ((caller, "/peers/ledger", through), (callee, "/", direct)):
            started = time.perf_counter()
            assert http_get(port, path)[0] == 200
            times.append(time.perf_counter() - started)
    record("peer_call_s", through)
    record("peer_direct_s", direct)


def test_prod_overlays_pass_server_side_validation_and_admission(
    live_cluster: LiveCluster, devrepo: DevRepo
) -> None:
    services = [devrepo.service(name) for name in SERVICES] + sorted(
        p.parent for p in (REPO / "services").glob("*/.copier-answers.yml")
    )
    for service in services:
        documents = kustomize_objects(service / "k8s/overlays/prod")
        applied = live_cluster.dry_run_apply(documents, NAMESPACE, "--warnings-as-errors")
        assert applied.returncode == 0, f"{service}: {applied.stderr}"
        assert dry_run_pod(live_cluster, documents).returncode == 0


def dry_run_pod(
    cluster: LiveCluster, documents: list[dict[str, Any]], **changes: Any
) -> subprocess.CompletedProcess[str]:
    """Create the Deployment's pod with a server-side dry run: Pod Security and quota judge it."""
    [deployment] = [d for d in documents if d["kind"] == "Deployment"]
    template = deployment["spec"]["template"]
    template["spec"]["containers"][0].update(changes)
    # Its ServiceAccount exists only in the overlay's own dry run: the pod takes the default.
    template["spec"].pop("serviceAccountName")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**template["metadata"], "name": f"dry-{RUN}", "namespace": NAMESPACE},
        "spec": template["spec"],
    }
    return cluster.kubectl(
        "create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {
                "securityContext": {
                    "runAsNonRoot": False,
                    "runAsUser": 0,
                    "allowPrivilegeEscalation": True,
                }
            },
            "violates PodSecurity",
        ),
        (
            {"resources": {"requests": {"memory": "64Gi"}, "limits": {"memory": "64Gi"}}},
            "forbidden",
        ),
    ],
    ids=["root", "over-quota"],
)
def test_a_non_compliant_pod_is_rejected(
    live_cluster: LiveCluster, devrepo: DevRepo, change: dict[str, Any], reason: str
) -> None:
    documents = kustomize_objects(devrepo.service("hello") / "k8s/overlays/prod")
    rejected = dry_run_pod(live_cluster, documents, **change)
    assert rejected.returncode != 0 and reason in rejected.stderr


def test_a_service_that_never_becomes_ready_fails_tilt_ci_with_its_reason(
    live_cluster: LiveCluster, devrepo: DevRepo
) -> None:
    broken = devrepo.path.parent / "broken-repo"
    git(devrepo.path.parent, "clone", "-q", str(devrepo.path), str(broken))
    (broken / ".venv").symlink_to(sys.prefix)  # ignored by git, so not cloned
    [port] = free_ports(1, taken=devrepo.ports.values())
    add_service(broken, "broken", [f"dev_port={port}"])
    edit(
        broken / "services/broken/src/broken/chassis.py",
        "        if not app.state.ready:",
        "        if True:  # never ready",
    )
    # Long enough for the build, the rollout and a failed probe (every 5 s), no longer.
    result = live_cluster.ci(broken, "broken", timeout="30s")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in output
    assert "not ready (broken" in output


def record(name: str, value: float | list[float]) -> None:
    """A figure for `make bench` (never asserted: these machines are shared and noisy)."""
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(METRICS.read_text()) if METRICS.exists() else {}
    figures[name] = value
    METRICS.write_text(json.dumps(figures, indent=2))
