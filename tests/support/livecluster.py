"""A real cluster for the dev-loop tier: found, never created, by what the tests started with.

The tier runs when `tilt` is on PATH and a cluster answers in a context the platform may
deploy to: the one named by PLATFORM_KUBE_CONTEXT (what `make dev cluster=existing
context=NAME` sets), or the kubeconfig's current context when it is the platform's own
k3d or minikube cluster. Everything is read at import, before the test machine is isolated.
"""

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hooks.core.kube import KUBECTL
from hooks.core.ports import taken_dev_ports
from hooks.core.settings import CREATED_CLUSTERS, kube_context, load_settings
from tests.support.helpers import REPO
from tests.support.net import free_ports
from tests.support.tiltfile import TILT

KUBECONFIG = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
CHOSEN_CONTEXT = os.environ.get("PLATFORM_KUBE_CONTEXT", "")


@dataclass(frozen=True)
class LiveCluster:
    """A reachable cluster, its context and the tilt binary to drive it with."""

    context: str
    tilt: str

    def env(self, **extra: str) -> dict[str, str]:
        """The environment `make dev` gives Tilt, for this cluster."""
        return {
            **os.environ,
            "KUBECONFIG": KUBECONFIG,
            "PLATFORM_KUBE_CONTEXT": self.context,
            "PATH": f"{os.environ['PATH']}:{Path(self.tilt).parent}",
            **extra,
        }

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBECTL, "--context", self.context, *args],
            input=stdin,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert not check or result.returncode == 0, f"kubectl {args}: {result.stderr}"
        return result

    def dry_run_apply(
        self, documents: list[dict[str, Any]], namespace: str, *options: str
    ) -> subprocess.CompletedProcess[str]:
        """`kubectl apply --dry-run=server` of `documents` in `namespace`: what the API server,
        its admission included, would say of them."""
        for document in documents:
            document["metadata"]["namespace"] = namespace
        return self.kubectl(
            "apply",
            "--dry-run=server",
            *options,
            "-f",
            "-",
            stdin=yaml.safe_dump_all(documents),
            check=False,
        )

    def get(self, *args: str) -> Any:
        """`kubectl get ... -o json`, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def ci(
        self, repo: Path, *services: str, timeout: str = "10m"
    ) -> subprocess.CompletedProcess[str]:
        """`tilt ci` of the root Tiltfile in `repo`, in this cluster's context."""
        [port] = free_ports(1, taken=taken_dev_ports(repo))  # Tilt forwards those
        return subprocess.run(
            [
                self.tilt,
                "ci",
                "--context",
                self.context,
                "--port",
                str(port),
                "--timeout",
                timeout,
                "--",
                *services,
            ],
            cwd=repo,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )

    def down(self, repo: Path) -> None:
        """`tilt down` of the root Tiltfile in `repo`, namespaces included."""
        subprocess.run(
            [self.tilt, "down", "--context", self.context, "--delete-namespaces"],
            cwd=repo,
            env=self.env(),
            capture_output=True,
            check=False,
        )

    def pods(self, namespace: str, service: str, instance: str = "") -> list[dict[str, Any]]:
        """The live pods of a service (of one instance of it: a service's own pods, not its
        migration Job's, are instance=<service>)."""
        selector = f"app.kubernetes.io/name={service}"
        selector += f",app.kubernetes.io/instance={instance}" if instance else ""
        found = self.get("pods", "-n", namespace, "-l", selector)
        return [p for p in found["items"] if not p["metadata"].get("deletionTimestamp")]

    @contextmanager
    def forwarded(self, namespace: str, target: str, port: int) -> Iterator[int]:
        """`kubectl port-forward` of `target` (svc/ledger)'s `port` to a free local port on
        127.0.0.1, open while the context lasts; the local port."""
        [local] = free_ports(1)
        forward = ["port-forward", "-n", namespace, target, f"{local}:{port}"]
        process = subprocess.Popen(
            [KUBECTL, "--context", self.context, *forward, "--address", "127.0.0.1"],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", local)) == 0:
                        break
                if process.poll() is not None:  # it ended: say why
                    said = process.stderr.read().decode() if process.stderr else ""
                    raise AssertionError(f"port-forward of {target}: {said}")
                assert time.monotonic() < deadline, f"port-forward of {target}: no port in 30 s"
                time.sleep(0.1)
            yield local
        finally:
            process.terminate()
            process.wait(timeout=10)

    def registry(self) -> str:
        """The registry host the cluster announces (KEP-1755), as Tilt reads it."""
        hosting = self.get("configmap", "local-registry-hosting", "-n", "kube-public")
        return str(yaml.safe_load(hosting["data"]["localRegistryHosting.v1"])["host"])


def _platform_contexts() -> list[str]:
    settings = load_settings(REPO)
    return [kube_context(settings, product) for product in CREATED_CLUSTERS]


def find_cluster() -> LiveCluster | str:
    """The cluster to test against, or why there is none."""
    if TILT is None:
        return "tilt is not on PATH"
    context = CHOSEN_CONTEXT
    if not context:
        current = subprocess.run(
            [KUBECTL, "config", "current-context"],
            env={**os.environ, "KUBECONFIG": KUBECONFIG},
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if current not in _platform_contexts():
            return (
                f"no cluster in a context the platform may use (current: {current or 'none'}); "
                "set PLATFORM_KUBE_CONTEXT=NAME for a cluster you run"
            )
        context = current
    cluster = LiveCluster(context, TILT)
    answer = cluster.kubectl("get", "--raw", "/readyz", "--request-timeout=5s", check=False)
    if answer.returncode:
        return f"the cluster of context {context} does not answer: {answer.stderr.strip()}"
    return cluster


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
