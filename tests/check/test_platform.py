"""platform/: namespaces as kustomize, cluster configs, and one settings file read everywhere."""

import re
from typing import Any

import jsonschema
import pytest

from hooks.core.settings import load_settings
from hooks.devloop.cluster import cluster_config
from tests.support.helpers import REPO
from tests.support.validation import KUBERNETES_VERSIONS, by_kind, kustomize, validation_errors

SETTINGS = load_settings(REPO)

# Written from ctlptl's documented format (tilt-dev/ctlptl README and pkg/api/types.go):
# unknown fields are errors, as ctlptl's own decoder treats them.
CTLPTL_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["apiVersion", "kind", "name", "port"],
            "properties": {
                "apiVersion": {"const": "ctlptl.dev/v1alpha1"},
                "kind": {"const": "Registry"},
                "name": {"type": "string"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "listenAddress": {"type": "string"},
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["apiVersion", "kind", "product"],
            "properties": {
                "apiVersion": {"const": "ctlptl.dev/v1alpha1"},
                "kind": {"const": "Cluster"},
                "name": {"type": "string"},
                "product": {"enum": ["k3d", "minikube", "kind", "docker-desktop"]},
                "registry": {"type": "string"},
                "kubernetesVersion": {"type": "string"},
                "minCPUs": {"type": "integer"},
                "k3d": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "v1alpha5Simple": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "image": {"type": "string"},
                                "servers": {"type": "integer"},
                                "agents": {"type": "integer"},
                                "options": {"type": "object"},
                            },
                        }
                    },
                },
                "minikube": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "containerRuntime": {"type": "string"},
                        "startFlags": {"type": "array", "items": {"type": "string"}},
                        "extraConfigs": {"type": "array"},
                    },
                },
            },
        },
    ]
}


@pytest.fixture(scope="module")
def namespace_objects() -> list[dict[str, Any]]:
    return kustomize(REPO / "platform" / "namespaces")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_platform_manifests_validate_strictly(namespace_objects: list, version: str) -> None:
    assert validation_errors(namespace_objects, version) == []


def test_the_namespace_is_the_settings_default_and_restricted(namespace_objects: list) -> None:
    [namespace] = by_kind(namespace_objects, "Namespace")
    assert namespace["metadata"]["name"] == SETTINGS["namespaces"]["default"]
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    for document in namespace_objects:
        assert (
            document["metadata"]["labels"]["app.kubernetes.io/part-of"] == SETTINGS["platform_name"]
        )
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == SETTINGS["namespaces"]["default"]


def test_networking_is_default_deny_with_dns_only(namespace_objects: list) -> None:
    policies = {
        p["metadata"]["name"]: p["spec"] for p in by_kind(namespace_objects, "NetworkPolicy")
    }
    deny = policies["default-deny"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    assert {port["port"] for rule in policies["allow-dns"]["egress"] for port in rule["ports"]} == {
        53
    }
    # Services reach each other along declared calls only (tests/template/test_calls.py).
    assert set(policies) == {"default-deny", "allow-dns"}


def test_the_transition_component_opens_the_namespace_while_calls_are_declared() -> None:
    from hooks.core.kube import kustomize_objects

    [policy] = kustomize_objects(REPO / "platform/namespaces/transition")
    assert policy["spec"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert policy["spec"]["egress"] == [{"to": [{"podSelector": {}}]}]


def test_the_quota_and_limits_exist(namespace_objects: list) -> None:
    [quota] = by_kind(namespace_objects, "ResourceQuota")
    [limits] = by_kind(namespace_objects, "LimitRange")
    assert {"requests.cpu", "requests.memory", "limits.memory", "pods"} <= set(
        quota["spec"]["hard"]
    )
    assert limits["spec"]["limits"][0]["type"] == "Container"


@pytest.mark.parametrize("product", ["k3d", "minikube"])
def test_cluster_configs_follow_ctlptls_format_and_the_settings(product: str) -> None:
    registry, cluster = cluster_config(SETTINGS, product)
    for document in (registry, cluster):
        jsonschema.validate(document, CTLPTL_SCHEMA)
    assert registry["port"] == SETTINGS["registry"]["port"]
    assert cluster["registry"] == registry["name"] == SETTINGS["registry"]["name"]
    version = SETTINGS["kubernetes_version"]
    if product == "k3d":
        assert cluster["name"] == f"k3d-{SETTINGS['cluster_name']}"
        simple = cluster["k3d"]["v1alpha5Simple"]
        assert simple["image"].startswith(f"rancher/k3s:{version}")
        args = [entry["arg"] for entry in simple["options"]["k3s"]["extraArgs"]]
        assert "--disable=traefik" in args
        assert not any("network-policy" in arg for arg in args)  # k3s enforces NetworkPolicy
    else:
        assert cluster["kubernetesVersion"] == version
        assert "--cni=calico" in cluster["minikube"]["startFlags"]  # enforces NetworkPolicy


def test_no_settings_value_is_repeated_elsewhere() -> None:
    values = {
        SETTINGS["platform_name"],
        SETTINGS["namespaces"]["default"],
        SETTINGS["registry"]["name"],
        str(SETTINGS["registry"]["port"]),
        SETTINGS["kubernetes_version"],
        SETTINGS["tilt"]["min_version"],
        str(SETTINGS["tilt"]["ui_port"]),
        str(SETTINGS["dev_ports"]["first"]),
        str(SETTINGS["dev_ports"]["last"]),
        SETTINGS["default_team"],
        *(
            f"{prefix}{SETTINGS['cluster_name']}"
            for prefix in SETTINGS["context_prefixes"].values()
        ),
        *SETTINGS["python_images"].values(),
        *(f"{k}: {v}" for rule in SETTINGS["network"].values() for s in rule for k, v in s.items()),
    }
    readers = [
        REPO / "Tiltfile",
        REPO / "Makefile",
        REPO / "copier.yml",
        *(REPO / "hooks").rglob("*.py"),
        *(REPO / "hooks" / "data").glob("*.jinja"),
        *(REPO / "platform" / "namespaces").glob("*.yaml"),
        *(p for p in (REPO / "template").rglob("*") if p.is_file() and "lock" not in p.name),
    ]
    for path in readers:
        text = path.read_text()
        for value in values:  # as a token of its own: `apps` is not in `apps/v1`
            found = re.search(rf"(?<![\w./-]){re.escape(value)}(?![\w/-])", text)
            assert found is None, f"{path.relative_to(REPO)} repeats '{value}'"
