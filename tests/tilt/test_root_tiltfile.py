"""The root Tiltfile as real Tilt evaluates it, with 0, 1 and 3 services (no cluster needed)."""

import re
import shutil
from pathlib import Path

import pytest

from hooks.core.answers import read_answers
from tests.support.helpers import add_service, repo_with_services
from tests.support.tiltfile import TiltfileError, tiltfile_result

THREE = {"alpha": [], "beta": ["service_port=9000"], "gamma": ["namespace=payments"]}
SERVICE_KINDS = {
    "ConfigMap",
    "Deployment",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Secret",
    "Service",
    "ServiceAccount",
}


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


def answers(repo: Path, name: str) -> dict:
    return read_answers(repo / "services" / name)


def service_names(repo: Path) -> set[str]:
    return {p.parent.name for p in (repo / "services").glob("*/.copier-answers.yml")}


def test_every_object_belongs_to_a_resource_that_waits_for_the_platform(repo: Path) -> None:
    # `make dev` failed on a real cluster because objects left in `uncategorized` were
    # applied before their namespace existed.
    resources = tiltfile_result(repo).resources
    assert set(resources) == {"platform"} | service_names(repo)
    for name in service_names(repo):
        assert resources[name].deps == ["platform"]
        assert {o["kind"] for o in resources[name].objects} == SERVICE_KINDS


def test_every_built_image_is_deployed(repo: Path) -> None:
    resources = tiltfile_result(repo).resources
    for name in service_names(repo):
        [image] = resources[name].images
        [deployment] = [o for o in resources[name].objects if o["kind"] == "Deployment"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"].split(":")[0] == image["selector"] == name
        assert image["BuildDetails"]["context"] == str(repo / "services" / name)


def test_each_service_is_forwarded_on_its_own_dev_port(repo: Path) -> None:
    resources = tiltfile_result(repo).resources
    ports = []
    for name in service_names(repo):
        [forward] = resources[name].forwards
        given = answers(repo, name)
        assert (forward["localPort"], forward["containerPort"]) == (
            given["dev_port"],
            given["service_port"],
        )
        assert forward["host"] == "localhost"
        ports.append(forward["localPort"])
    assert len(ports) == len(set(ports))


def test_the_platform_resource_sets_up_the_namespace(repo: Path) -> None:
    platform = tiltfile_result(repo).resources["platform"]
    assert platform.deps == []
    kinds = {o["kind"] for o in platform.objects}
    assert kinds == {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy"}
    for namespace in [o for o in platform.objects if o["kind"] == "Namespace"]:
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_services_are_labelled_by_team(three: Path) -> None:
    resources = tiltfile_result(three).resources
    assert resources["alpha"].labels == [answers(three, "alpha")["team"]]
    assert resources["platform"].labels == ["platform"]


def test_selecting_one_service_loads_only_it(three: Path) -> None:
    result = tiltfile_result(three, args=("beta",))
    assert set(result.resources) == {"platform", "beta"}
    services = three / "services"
    watched = [Path(p).relative_to(services) for p in result.watched if p.startswith(str(services))]
    # Of the others, only the answers files: their ports must stay unique.
    assert {p.parts[0] for p in watched if p.name != ".copier-answers.yml"} == {"beta"}


def test_a_service_in_its_own_namespace_gets_that_namespace(three: Path) -> None:
    platform = tiltfile_result(three, args=("gamma",)).resources["platform"]
    namespaces = {o["metadata"]["name"] for o in platform.objects if o["kind"] == "Namespace"}
    assert namespaces == {"apps", "payments"}
    payments = [o for o in platform.objects if o["metadata"].get("namespace") == "payments"]
    assert {o["kind"] for o in payments} == {"ResourceQuota", "LimitRange", "NetworkPolicy"}


def test_services_are_found_without_watching_their_sources(three: Path) -> None:
    # A recursive watch would re-run the Tiltfile on every source edit.
    result = tiltfile_result(three)
    watched = {Path(p).relative_to(three) for p in result.watched if p.startswith(str(three))}
    assert Path("services") not in watched
    assert not [p for p in watched if "src" in p.parts]


def test_adding_a_service_never_moves_another_services_port(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"zeta": [], "beta": []})

    def ports() -> dict[str, int]:
        resources = tiltfile_result(repo).resources
        return {n: r.forwards[0]["localPort"] for n, r in resources.items() if r.forwards}

    before = ports()
    add_service(repo, "alpha")
    after = ports()
    assert {k: v for k, v in after.items() if k != "alpha"} == before


@pytest.mark.parametrize("context", ["prod-cluster", "kind-kind", "docker-desktop"])
def test_a_context_that_is_not_the_local_cluster_is_refused(three: Path, context: str) -> None:
    with pytest.raises(TiltfileError, match=f'kube context "{context}" is not the platform'):
        tiltfile_result(three, context=context)


@pytest.mark.parametrize("context", ["k3d-microplatform", "microplatform"])
def test_the_k3d_and_minikube_contexts_are_accepted(three: Path, context: str) -> None:
    assert "platform" in tiltfile_result(three, context=context).resources


def test_an_existing_cluster_is_accepted_only_when_chosen_explicitly(three: Path) -> None:
    chosen = {"PLATFORM_KUBE_CONTEXT": "kind-kind"}
    assert "alpha" in tiltfile_result(three, context="kind-kind", env=chosen).resources
    with pytest.raises(TiltfileError, match='kube context "prod-cluster" is not the platform'):
        tiltfile_result(three, context="prod-cluster", env=chosen)


def test_an_unknown_service_is_named(three: Path) -> None:
    with pytest.raises(
        TiltfileError,
        match=re.escape("there is no service 'nope' under services/")
        + ".*"
        + re.escape("services: alpha, beta, gamma"),
    ):
        tiltfile_result(three, args=("nope",))


def test_two_services_sharing_a_port_fail_with_the_fix(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": ["dev_port=18500"], "beta": []})
    answers_file = repo / "services/beta/.copier-answers.yml"
    text = answers_file.read_text()
    answers_file.write_text(re.sub(r"dev_port: \d+", "dev_port: 18500", text))
    with pytest.raises(TiltfileError, match="alpha and beta both forward localhost:18500") as error:
        tiltfile_result(repo)
    assert 'make update name=beta data="dev_port=' in str(error.value)


def test_a_broken_answers_file_is_named_with_its_fix(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": [], "beta": []})
    (repo / "services/beta/.copier-answers.yml").write_text("{{{")
    with pytest.raises(
        TiltfileError, match=re.escape("beta/.copier-answers.yml is not valid YAML")
    ) as error:
        tiltfile_result(repo)
    assert "git checkout -- services/beta/.copier-answers.yml" in str(error.value)


def test_a_symlinked_service_is_found(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "platform", {"alpha": []})
    elsewhere = tmp_path / "own-repo" / "alpha"
    shutil.move(repo / "services" / "alpha", elsewhere)
    (repo / "services" / "alpha").symlink_to(elsewhere)
    assert "alpha" in tiltfile_result(repo).resources


def test_without_the_project_venv_tilt_says_to_start_with_make_dev(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []})
    (repo / ".venv").unlink()
    with pytest.raises(TiltfileError, match="start with `make dev`"):
        tiltfile_result(repo)
