"""Rendered manifests: valid for Kubernetes 1.30 and 1.37, hardened, and consistent."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.kube import KUBERNETES_VERSIONS, by_kind, kustomize, validation_errors

OVERLAYS = ("base", "overlays/dev", "overlays/prod")
HARDENED = ("base", "overlays/prod")
PLATFORM = yaml.safe_load((REPO / "platform" / "settings" / "settings.yaml").read_text())["data"]


def render(service: Path, overlay: str) -> list[dict[str, Any]]:
    return kustomize(service / "k8s" / overlay)


def answers(service: Path) -> dict[str, Any]:
    return yaml.safe_load((service / ".copier-answers.yml").read_text())


def module_name(service: Path) -> str:
    return answers(service)["service_name"].replace("-", "_")


def container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    [deployment] = by_kind(documents, "Deployment")
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_document_validates_strictly(service: Path, overlay: str, version: str) -> None:
    assert validation_errors(render(service, overlay), version) == []


def test_base_has_every_object_a_service_needs(service: Path) -> None:
    kinds = sorted(document["kind"] for document in render(service, "base"))
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]


def test_prod_scales_and_keeps_at_least_two_replicas(service: Path) -> None:
    documents = render(service, "overlays/prod")
    [deployment] = by_kind(documents, "Deployment")
    [autoscaler] = by_kind(documents, "HorizontalPodAutoscaler")
    assert deployment["spec"]["replicas"] >= 2
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]


@pytest.mark.parametrize("overlay", HARDENED)
def test_pod_meets_the_restricted_pod_security_standard(service: Path, overlay: str) -> None:
    documents = render(service, overlay)
    [deployment] = by_kind(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    app = container(documents)
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert pod["securityContext"]["runAsGroup"] >= 10000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = app["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    mounts = {mount["mountPath"]: mount["name"] for mount in app["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_resources_have_requests_and_limits(service: Path, overlay: str) -> None:
    resources = container(render(service, overlay))["resources"]
    for bound in ("requests", "limits"):
        assert set(resources[bound]) == {"cpu", "memory", "ephemeral-storage"}


def test_probes_hit_distinct_real_routes(service: Path) -> None:
    app = container(render(service, "base"))
    paths = {
        probe: app[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert paths["livenessProbe"] != paths["readinessProbe"]
    routes = (service / "src" / module_name(service) / "main.py").read_text()
    for path in paths.values():
        assert f'@app.get("{path}"' in routes


def test_the_port_agrees_everywhere(service: Path) -> None:
    port = answers(service)["service_port"]
    documents = render(service, "base")
    app = container(documents)
    [http] = app["ports"]
    assert http["containerPort"] == port
    [svc] = by_kind(documents, "Service")
    assert svc["spec"]["ports"][0]["port"] == port
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert app[probe]["httpGet"]["port"] == "http"
    [config] = by_kind(documents, "ConfigMap")
    assert config["data"]["PORT"] == str(port)
    settings = service / "src" / module_name(service) / "settings.py"
    assert f"default={port}," in settings.read_text()


def test_graceful_shutdown_fits_the_grace_period(service: Path) -> None:
    documents = render(service, "base")
    [deployment] = by_kind(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    pause = container(documents)["lifecycle"]["preStop"]["sleep"]["seconds"]
    [config] = by_kind(documents, "ConfigMap")
    shutdown = int(config["data"]["SHUTDOWN_TIMEOUT_SECONDS"])
    assert pause + shutdown < pod["terminationGracePeriodSeconds"]


def test_labels_and_namespace_follow_the_answers(service: Path) -> None:
    given = answers(service)
    for document in render(service, "base"):
        metadata = document["metadata"]
        assert metadata["namespace"] == given["namespace"]
        assert metadata["labels"]["team"] == given["team"]
        assert metadata["labels"]["app.kubernetes.io/part-of"] == PLATFORM["platform_name"]
        assert metadata["annotations"]["description"] == given["description"]


def test_selectors_are_only_name_and_instance(service: Path) -> None:
    name = answers(service)["service_name"]
    expected = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
    documents = render(service, "base")
    [deployment] = by_kind(documents, "Deployment")
    [svc] = by_kind(documents, "Service")
    [budget] = by_kind(documents, "PodDisruptionBudget")
    assert deployment["spec"]["selector"]["matchLabels"] == expected
    assert svc["spec"]["selector"] == expected
    assert budget["spec"]["selector"]["matchLabels"] == expected


def test_config_is_a_generated_configmap_and_secrets_only_a_reference(service: Path) -> None:
    documents = render(service, "base")
    [config] = by_kind(documents, "ConfigMap")
    assert by_kind(documents, "Secret") == []
    env_from = container(documents)["envFrom"]
    assert env_from[0]["configMapRef"]["name"] == config["metadata"]["name"]
    assert env_from[1]["secretRef"]["name"].endswith("-secrets")
    assert "UPSTREAM_API_TOKEN" not in config["data"]


def test_network_policy_admits_http_in_and_dns_out_only(service: Path) -> None:
    [policy] = by_kind(render(service, "base"), "NetworkPolicy")
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert [port["port"] for rule in spec["ingress"] for port in rule["ports"]] == ["http"]
    assert {port["port"] for rule in spec["egress"] for port in rule["ports"]} == {53}


def test_dev_overlay_relaxes_only_replicas_and_read_only_root(service: Path) -> None:
    base, dev = render(service, "base"), render(service, "overlays/dev")
    [base_deployment] = by_kind(base, "Deployment")
    [dev_deployment] = by_kind(dev, "Deployment")
    assert dev_deployment["spec"]["replicas"] == 1
    assert container(dev)["securityContext"]["readOnlyRootFilesystem"] is False
    dev_deployment["spec"]["replicas"] = base_deployment["spec"]["replicas"]
    container(dev)["securityContext"]["readOnlyRootFilesystem"] = True
    assert dev == base
