"""`make cluster` / `make cluster-down`: the local cluster and its registry, through ctlptl.

ctlptl creates the registry, connects the cluster to it and publishes the KEP-1755
`local-registry-hosting` ConfigMap that Tilt reads (docs/adr/0007). Its config is
rendered from the platform settings, so no cluster fact is written twice. With
`cluster=existing` the platform uses a cluster you already run and never creates or
deletes it.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from hooks.core.kube import KUBECTL
from hooks.core.settings import CREATED_CLUSTERS, EXISTING_CLUSTER, kube_context, load_settings
from hooks.errors import HookError

CTLPTL_API = "ctlptl.dev/v1alpha1"
REQUEST_TIMEOUT = "--request-timeout=5s"
NO_REGISTRY = (
    "it announces no local registry (KEP-1755), so Tilt builds into your local Docker: "
    "this works for Docker Desktop, kind and minikube, not for a remote cluster"
)


def cluster_config(settings: dict[str, Any], product: str) -> list[dict[str, Any]]:
    """ctlptl Registry and Cluster documents for k3d (default) or minikube."""
    if product not in CREATED_CLUSTERS:
        raise HookError(f"cluster={product} has no ctlptl config; use one of: {CREATED_CLUSTERS}")
    registry = settings["registry"]
    version = settings["kubernetes_version"]
    cluster: dict[str, Any] = {
        "apiVersion": CTLPTL_API,
        "kind": "Cluster",
        "name": kube_context(settings, product),
        "product": product,
        "registry": registry["name"],
    }
    if product == "k3d":
        cluster["k3d"] = {
            "v1alpha5Simple": {
                "image": f"rancher/k3s:{version}{settings['k3s_image_suffix']}",
                "servers": 1,
                "agents": 0,
                # k3s enforces NetworkPolicy itself (embedded kube-router); ingress and metrics
                # extras are not needed for local development and cost memory.
                "options": {
                    "k3s": {
                        "extraArgs": [
                            {"arg": "--disable=traefik", "nodeFilters": ["server:*"]},
                            {"arg": "--disable=metrics-server", "nodeFilters": ["server:*"]},
                        ]
                    }
                },
            }
        }
    else:
        cluster["kubernetesVersion"] = version
        cluster["minCPUs"] = 2
        # Calico, because minikube's default CNI does not enforce NetworkPolicy.
        cluster["minikube"] = {
            "containerRuntime": "containerd",
            "startFlags": ["--cni=calico", "--memory=4096"],
        }
    return [
        {
            "apiVersion": CTLPTL_API,
            "kind": "Registry",
            "name": registry["name"],
            "port": registry["port"],
        },
        cluster,
    ]


def render(repo: Path, product: str) -> str:
    """The ctlptl config as a YAML stream."""
    return yaml.safe_dump_all(cluster_config(load_settings(repo), product), sort_keys=False)


def _ctlptl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["ctlptl", *args], input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise HookError(
            "ctlptl is not installed; run `make doctor` to see how to install it"
        ) from None


def cluster_exists(context: str) -> bool:
    """Whether ctlptl knows a cluster of that name."""
    return _ctlptl("get", "cluster", context, "-o", "name").returncode == 0


def _kubectl(context: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KUBECTL, "--context", context, REQUEST_TIMEOUT, *args],
        capture_output=True,
        text=True,
        check=False,
    )


def reachable(context: str) -> str:
    """'' when the cluster of this context answers, else kubectl's reason (one line)."""
    result = _kubectl(context, "get", "--raw", "/readyz")
    if result.returncode == 0:
        return ""
    lines = result.stderr.strip().splitlines() or ["no answer"]
    return lines[-1]


def announced_registry(context: str) -> str:
    """The registry host the cluster announces (KEP-1755 `local-registry-hosting`), or ''."""
    result = _kubectl(
        context, "get", "configmap", "local-registry-hosting", "-n", "kube-public", "-o", "json"
    )
    if result.returncode:
        return ""
    hosting = json.loads(result.stdout).get("data", {}).get("localRegistryHosting.v1", "")
    return str((yaml.safe_load(hosting) or {}).get("host", ""))


def use_existing(context: str) -> str:
    """Check the chosen cluster answers; say which registry Tilt will find there."""
    reason = reachable(context)
    if reason:
        raise HookError(
            f"the cluster of kube context {context} does not answer ({reason}); start it, "
            f"or check: kubectl --context {context} get nodes"
        )
    registry = announced_registry(context)
    pushes = f"Tilt pushes images to {registry}" if registry else NO_REGISTRY
    return f"using your cluster {context} (the platform never creates or deletes it); {pushes}"


def cluster_up(repo: Path, product: str, context: str = "") -> str:
    """Create the cluster and registry when missing; a second call changes nothing."""
    context = kube_context(load_settings(repo), product, context)
    if product == EXISTING_CLUSTER:
        return use_existing(context)
    if cluster_exists(context):
        return f"cluster {context} is already running; nothing to do"
    result = _ctlptl("apply", "-f", "-", stdin=render(repo, product))
    if result.returncode:
        raise HookError(f"ctlptl could not create {context}: {result.stderr.strip()}")
    return f"cluster {context} is ready, with its registry; kube context: {context}"


def cluster_down(repo: Path, product: str, context: str = "") -> str:
    """Delete the cluster (the registry stays, with its cached images)."""
    context = kube_context(load_settings(repo), product, context)
    if product == EXISTING_CLUSTER:
        return f"cluster {context} is yours: the platform leaves it running (make down stops Tilt)"
    if not cluster_exists(context):
        return f"cluster {context} does not exist; nothing to do"
    cluster_only = yaml.safe_dump(cluster_config(load_settings(repo), product)[1])
    result = _ctlptl("delete", "-f", "-", stdin=cluster_only)
    if result.returncode:
        raise HookError(f"ctlptl could not delete {context}: {result.stderr.strip()}")
    return f"cluster {context} deleted"
