"""The root Tiltfile, evaluated against Tilt's API with 0, 1 and 3 services."""

import re
from pathlib import Path

import pytest
import yaml

from tests.platform_repo import add_service, repo_with_services
from tests.tilt import TiltfileError, TiltRun

THREE = {"alpha": [], "beta": ["service_port=9000"], "gamma": ["namespace=payments"]}


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repo_with_services(tmp_path_factory.mktemp("three"), THREE)


@pytest.fixture(scope="module", params=[0, 1, 3], ids=["0-services", "1-service", "3-services"])
def repo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, three: Path
) -> Path:
    if request.param == 3:
        return three
    services = dict(list(THREE.items())[: request.param])
    return repo_with_services(tmp_path_factory.mktemp("repo"), services)


def deployed(run: TiltRun) -> list[dict]:
    """Every Kubernetes object the run hands to Tilt."""
    return [
        doc
        for call in run.named("k8s_yaml")
        for doc in yaml.safe_load_all(call.kwargs["yaml"])
        if doc
    ]


def resources(run: TiltRun) -> set[str]:
    """Resource names: new_name resources plus one per workload (Deployment)."""
    named = {
        call.kwargs["new_name"] for call in run.named("k8s_resource") if call.kwargs["new_name"]
    }
    return named | {doc["metadata"]["name"] for doc in deployed(run) if doc["kind"] == "Deployment"}


def test_every_built_image_is_deployed(repo: Path) -> None:
    run = TiltRun(root=repo).run()
    images = {
        container["image"].split(":")[0]
        for doc in deployed(run)
        if doc["kind"] == "Deployment"
        for container in doc["spec"]["template"]["spec"]["containers"]
    }
    built = {call.kwargs["ref"] for call in run.named("docker_build")}
    assert built == images
    assert len(built) == len(list((repo / "services").glob("*/Tiltfile")))


def test_every_resource_dependency_exists(repo: Path) -> None:
    run = TiltRun(root=repo).run()
    known = resources(run)
    for call in run.named("k8s_resource"):
        assert set(call.kwargs["resource_deps"]) <= known


def test_port_forwards_are_unique(repo: Path) -> None:
    run = TiltRun(root=repo).run()
    ports = [
        forward["local_port"]
        for call in run.named("k8s_resource")
        for forward in call.kwargs["port_forwards"]
    ]
    assert len(ports) == len(set(ports))


def test_the_platform_is_applied_first_and_every_service_waits_for_it(repo: Path) -> None:
    run = TiltRun(root=repo).run()
    first = run.named("k8s_yaml")[0]
    assert {doc["kind"] for doc in yaml.safe_load_all(first.kwargs["yaml"])} >= {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
    }
    for call in run.named("k8s_resource"):
        if call.kwargs["workload"]:
            assert call.kwargs["resource_deps"] == ["platform"]


def test_selecting_one_service_renders_only_its_manifests(three: Path) -> None:
    run = TiltRun(root=three, args=["beta"]).run()
    kustomized = [call.kwargs["path"] for call in run.named("kustomize")]
    assert kustomized == [str(three / "platform" / "namespaces")]
    rendered = [
        c.kwargs["command"][-1]
        for c in run.named("local")
        if "dev-manifests" in c.kwargs["command"]
    ]
    assert rendered == [str(three / "services" / "beta")]
    assert [call.kwargs["ref"] for call in run.named("docker_build")] == ["beta"]


def test_a_service_in_its_own_namespace_gets_that_namespace(three: Path) -> None:
    run = TiltRun(root=three, args=["gamma"]).run()
    namespaces = {doc["metadata"]["name"] for doc in deployed(run) if doc["kind"] == "Namespace"}
    assert namespaces == {"apps", "payments"}
    [platform] = [c for c in run.named("k8s_resource") if c.kwargs["new_name"] == "platform"]
    assert "payments:namespace" in platform.kwargs["objects"]
    assert "default-deny:networkpolicy:payments" in platform.kwargs["objects"]


def test_services_are_found_without_recursive_watching(three: Path) -> None:
    run = TiltRun(root=three).run()
    assert all(not call.kwargs["recursive"] for call in run.named("listdir"))
    [find] = [call for call in run.named("local") if call.kwargs["command"][0] == "find"]
    assert "-maxdepth" in find.kwargs["command"]


def test_adding_a_service_never_moves_another_services_port(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"zeta": [], "beta": []})
    before = TiltRun(root=repo).run()
    add_service(repo, "alpha")
    after = TiltRun(root=repo).run()

    def ports(run: TiltRun) -> dict[str, int]:
        return {
            c.kwargs["workload"]: c.kwargs["port_forwards"][0]["local_port"]
            for c in run.named("k8s_resource")
            if c.kwargs["workload"]
        }

    assert {k: v for k, v in ports(after).items() if k != "alpha"} == ports(before)


@pytest.mark.parametrize("context", ["prod-cluster", "kind-kind", "docker-desktop"])
def test_a_context_that_is_not_the_local_cluster_is_refused(three: Path, context: str) -> None:
    with pytest.raises(TiltfileError, match=f'kube context "{context}" is not the platform'):
        TiltRun(root=three, context=context).run()


@pytest.mark.parametrize("context", ["k3d-microplatform", "microplatform"])
def test_the_k3d_and_minikube_contexts_are_accepted(three: Path, context: str) -> None:
    run = TiltRun(root=three, context=context).run()
    [allowed] = run.named("allow_k8s_contexts")
    assert context in allowed.kwargs["contexts"]
    assert run.named("version_settings")[0].kwargs["constraint"].startswith(">=")


def test_an_unknown_service_is_named(three: Path) -> None:
    with pytest.raises(
        TiltfileError, match=re.escape("no such service: nope. Services: alpha, beta, gamma")
    ):
        TiltRun(root=three, args=["nope"]).run()


def test_two_services_sharing_a_port_fail_with_the_fix(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": ["dev_port=18500"], "beta": ["dev_port=18500"]})
    with pytest.raises(TiltfileError, match="alpha and beta both forward localhost:18500"):
        TiltRun(root=repo).run()


def test_without_the_project_venv_tilt_says_to_start_with_make_dev(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []})
    (repo / ".venv").unlink()
    with pytest.raises(TiltfileError, match="start with `make dev`"):
        TiltRun(root=repo).run()
