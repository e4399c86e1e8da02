"""Rendered manifests: valid for Kubernetes 1.30 and 1.37, hardened, and consistent."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks.core.answers import read_answers
from hooks.errors import HookError
from hooks.update.releaseimage import write_release
from tests.support.helpers import REPO
from tests.support.validation import (
    KUBERNETES_VERSIONS,
    by_kind,
    crd_errors,
    kustomize,
    quantity,
    validation_errors,
)

OVERLAYS = ("base", "overlays/dev", "overlays/prod")
HARDENED = ("base", "overlays/prod")
PLATFORM = yaml.safe_load((REPO / "platform" / "settings" / "settings.yaml").read_text())["data"]


def render(service: Path, overlay: str) -> list[dict[str, Any]]:
    return kustomize(service / "k8s" / overlay)


def answers(service: Path) -> dict[str, Any]:
    return read_answers(service)


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
        "NetworkPolicy",  # what the service admits
        "NetworkPolicy",  # <name>-calls: egress to its peers (none here: nothing out)
        "NetworkPolicy",  # <name>-callers: ingress from its callers (none here)
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]


def test_prod_scales_and_the_autoscaler_alone_owns_the_replica_count(service: Path) -> None:
    documents = render(service, "overlays/prod")
    [deployment] = by_kind(documents, "Deployment")
    [autoscaler] = by_kind(documents, "HorizontalPodAutoscaler")
    assert "replicas" not in deployment["spec"]  # an apply would reset what the HPA set
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert autoscaler["metadata"]["namespace"] == deployment["metadata"]["namespace"]


def test_the_autoscaler_target_is_real_load_that_a_pod_can_reach(service: Path) -> None:
    documents = render(service, "overlays/prod")
    [autoscaler] = by_kind(documents, "HorizontalPodAutoscaler")
    [metric] = autoscaler["spec"]["metrics"]
    resources = container(documents)["resources"]
    utilization = metric["resource"]["target"]["averageUtilization"]
    threshold = quantity(resources["requests"]["cpu"]) * utilization / 100
    # Not a trickle (a 35m threshold sent any load to maxReplicas), and well before the
    # CPU limit, where one uvicorn worker saturates and the pod is throttled.
    assert 0.1 <= threshold <= 0.5 * quantity(resources["limits"]["cpu"]) <= 1
    assert utilization <= 100  # reachable without bursting past the request


def test_every_prod_object_has_the_namespace_and_common_labels(service: Path) -> None:
    given = answers(service)
    for document in render(service, "overlays/prod"):
        metadata = document["metadata"]
        assert metadata["namespace"] == given["namespace"], document["kind"]
        assert metadata["labels"]["team"] == given["team"], document["kind"]
        assert metadata["labels"]["app.kubernetes.io/version"] == "unreleased"
        assert metadata["labels"]["app.kubernetes.io/part-of"] == PLATFORM["platform_name"]
        assert {"app.kubernetes.io/name", "app.kubernetes.io/instance"} <= set(metadata["labels"])
        assert metadata["annotations"]["description"] == given["description"]


def test_the_release_component_sets_the_image_and_version_in_prod(
    service: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "service"
    shutil.copytree(service / "k8s", copy / "k8s")
    image = "registry.example.com:5000/x/svc:1.4.2@sha256:" + "ab" * 32
    name = answers(service)["service_name"]
    write_release(copy, name, image, "1.4.2")  # what make release-image writes
    documents = render(copy, "overlays/prod")
    [deployment] = by_kind(documents, "Deployment")
    assert container(documents)["image"] == image
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == (
        "1.4.2"
    )
    assert {d["metadata"]["labels"]["app.kubernetes.io/version"] for d in documents} == {"1.4.2"}
    assert deployment["spec"]["selector"]["matchLabels"].keys() == {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
    }  # the version never reaches a selector


@pytest.mark.parametrize(
    ("image", "version", "message"),
    [
        ("registry.example.com/svc:1.4.2", "1.4.2", "is not a reference pinned by digest"),
        ("registry.example.com/svc@sha256:abc", "1.4.2", "is not a reference pinned by digest"),
        ("Registry/Svc@sha256:" + "ab" * 32, "1.4.2", "is not a reference pinned by digest"),
        ("r.example.com/svc@sha256:" + "ab" * 32, "1.4 2", "is not a label value"),
    ],
)
def test_a_release_image_that_is_not_pinned_is_refused(
    image: str, version: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(HookError, match=message):
        write_release(tmp_path, "svc", image, version)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_version_is_made_up(service: Path, overlay: str) -> None:
    documents = render(service, overlay)
    assert "0.1.0" not in yaml.safe_dump_all(documents)
    if overlay != "overlays/prod":  # only a release has a version
        assert all("app.kubernetes.io/version" not in d["metadata"]["labels"] for d in documents)


def test_cosmetic_metadata_stays_off_the_pod_template(service: Path, tmp_path: Path) -> None:
    copy = tmp_path / "service"
    shutil.copytree(service / "k8s", copy / "k8s")
    component = copy / "k8s" / "components" / "metadata" / "kustomization.yaml"
    given = answers(service)
    edited = component.read_text().replace(
        f"team: {json.dumps(given['team'])}", "team: another-team"
    )
    edited = edited.replace("description: ", 'description: "Reworded." #', 1)
    assert edited != component.read_text()
    component.write_text(edited)
    before, after = render(service, "overlays/prod"), render(copy, "overlays/prod")
    [old], [new] = by_kind(before, "Deployment"), by_kind(after, "Deployment")
    assert new["metadata"]["labels"]["team"] == "another-team"
    assert new["metadata"]["annotations"]["description"] == "Reworded."
    assert new["spec"]["template"] == old["spec"]["template"]  # no restart for either edit


def test_the_configmap_carries_name_and_instance(service: Path) -> None:
    name = answers(service)["service_name"]
    [config] = by_kind(render(service, "base"), "ConfigMap")
    assert config["metadata"]["labels"]["app.kubernetes.io/name"] == name
    assert config["metadata"]["labels"]["app.kubernetes.io/instance"] == name


@pytest.mark.parametrize("overlay", HARDENED)
def test_a_missing_secret_stops_the_rollout(service: Path, overlay: str) -> None:
    env_from = container(render(service, overlay))["envFrom"]
    [secret_ref] = [source["secretRef"] for source in env_from if "secretRef" in source]
    assert secret_ref.get("optional", False) is False


@pytest.mark.parametrize("overlay", HARDENED)
def test_pod_meets_the_restricted_pod_security_standard(service: Path, overlay: str) -> None:
    documents = render(service, overlay)
    [deployment] = by_kind(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    app = container(documents)
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False  # no ORDERS_PORT=tcp://... beside the settings
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
    routes = (service / "src" / module_name(service) / "chassis.py").read_text()
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
    settings = service / "src" / module_name(service) / "chassis.py"
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


def base_policy(service: Path) -> dict[str, Any]:
    """The policy of what the service admits (the other one is its calls')."""
    name = answers(service)["service_name"]
    policies = by_kind(render(service, "base"), "NetworkPolicy")
    [policy] = [p for p in policies if p["metadata"]["name"] == name]
    return policy


def test_network_policy_admits_http_in_and_dns_out_only(service: Path) -> None:
    spec = base_policy(service)["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert [port["port"] for rule in spec["ingress"] for port in rule["ports"]] == ["http"]
    assert {port["port"] for rule in spec["egress"] for port in rule["ports"]} == {53}


def test_http_comes_only_from_the_platforms_ingress_and_scrapers(service: Path) -> None:
    # Another service's calls are admitted by the calls policy, peer by peer (test_calls.py).
    [rule] = base_policy(service)["spec"]["ingress"]
    network = PLATFORM["network"]
    assert rule["from"] == [
        *({"namespaceSelector": {"matchLabels": labels}} for labels in network["ingress_from"]),
        *({"namespaceSelector": {"matchLabels": labels}} for labels in network["scrape_from"]),
    ]


def test_the_templates_read_the_network_sources_never_repeat_them() -> None:
    pairs = [
        f"{key}: {value}"
        for sources in PLATFORM["network"].values()
        for labels in sources
        for key, value in labels.items()
    ]
    for path in (REPO / "template" / "k8s").rglob("*.jinja"):
        for pair in pairs:
            assert pair not in path.read_text(), f"{path.relative_to(REPO)} repeats {pair}"


def test_the_container_port_is_written_only_where_a_format_needs_the_number() -> None:
    # Everything else reads one of these: the Service's targetPort and Tilt's port-forward
    # the Deployment's `http` port, EXPOSE and HEALTHCHECK the image's PORT, tests config.env.
    homes = {
        ".env.example.jinja",  # what a developer copies to run locally
        "k8s/base/config.env.jinja",  # what the pod reads
        "k8s/base/deployment.yaml.jinja",  # containerPort must be a number
        "k8s/base/service.yaml.jinja",  # the Service's own port, which clients use
        "Dockerfile.jinja",  # ENV PORT, for `docker run`
        "src/{{module_name}}/chassis.py.jinja",  # the settings default
    }
    writers = {
        str(path.relative_to(REPO / "template"))
        for path in (REPO / "template").rglob("*")
        if path.is_file()
        and path.suffixes[-2:] != [".md", ".jinja"]  # docs may show it
        and "service_port" in path.read_text()
    }
    assert writers == homes
    for name in homes:
        assert (REPO / "template" / name).read_text().count("service_port") == 1, name


def test_dev_overlay_relaxes_only_replicas_read_only_root_and_the_secret(service: Path) -> None:
    base, dev = render(service, "base"), render(service, "overlays/dev")
    [base_deployment] = by_kind(base, "Deployment")
    [dev_deployment] = by_kind(dev, "Deployment")
    assert dev_deployment["spec"]["replicas"] == 1
    assert container(dev)["securityContext"]["readOnlyRootFilesystem"] is False
    assert container(dev)["envFrom"][1]["secretRef"].pop("optional") is True
    dev_deployment["spec"]["replicas"] = base_deployment["spec"]["replicas"]
    container(dev)["securityContext"]["readOnlyRootFilesystem"] = True
    assert dev == base


def with_monitoring(service: Path, destination: Path) -> Path:
    """A copy of the service's manifests with the monitoring component enabled in prod."""
    shutil.copytree(service / "k8s", destination / "k8s")
    overlay = destination / "k8s" / "overlays" / "prod" / "kustomization.yaml"
    text = overlay.read_text()
    assert "  # - ../../components/monitoring\n" in text
    overlay.write_text(
        text.replace("  # - ../../components/monitoring", "  - ../../components/monitoring")
    )
    return destination


def test_the_monitoring_component_scrapes_the_service_in_its_namespace(
    service: Path, tmp_path: Path
) -> None:
    documents = render(with_monitoring(service, tmp_path), "overlays/prod")
    [monitor] = by_kind(documents, "ServiceMonitor")
    [svc] = by_kind(documents, "Service")
    assert monitor["metadata"]["namespace"] == svc["metadata"]["namespace"]
    assert monitor["metadata"]["labels"]["team"] == answers(service)["team"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in svc["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    others = [d for d in documents if d["kind"] != "ServiceMonitor"]
    assert validation_errors(others, KUBERNETES_VERSIONS[-1]) == []


def test_the_service_monitor_validates_against_the_crd_schema(
    service: Path, tmp_path: Path
) -> None:
    [monitor] = by_kind(
        render(with_monitoring(service, tmp_path), "overlays/prod"), "ServiceMonitor"
    )
    assert crd_errors([monitor]) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda m: m["spec"]["endpoints"][0].update(intervall="30s"), "unknown field"),
        (lambda m: m["spec"]["endpoints"][0].update(interval="30 seconds"), "pattern"),
        (lambda m: m["spec"].pop("selector"), "required"),
        (lambda m: m["spec"]["endpoints"][0].update(port=8000), "string"),
    ],
    ids=["typo", "bad-duration", "no-selector", "port-number"],
)
def test_the_crd_schema_check_catches_mistakes(
    rendered_services: dict[str, Path], tmp_path: Path, change: Any, error: str
) -> None:
    documents = render(with_monitoring(rendered_services["defaults"], tmp_path), "overlays/prod")
    [monitor] = by_kind(documents, "ServiceMonitor")
    change(monitor)
    [found] = crd_errors([monitor])
    assert error in found.lower()
