"""The services committed under services/: still valid, and `hello` still matches the template."""

import filecmp
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hooks.core import graph
from hooks.core.answers import read_answers
from hooks.core.services import generated_services
from tests.support.helpers import REPO, git, hadolint, make_in_service
from tests.support.tiltfile import tiltfile_result
from tests.support.validation import kustomize, validation_errors

SERVICES = generated_services(REPO)


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
@pytest.mark.lint
def test_each_service_renders_valid_manifests_and_a_clean_dockerfile(service: Path) -> None:
    for overlay in ("base", "overlays/dev", "overlays/prod"):
        assert validation_errors(kustomize(service / "k8s" / overlay), "1.37") == []
    lint = hadolint(service / "Dockerfile")
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
@pytest.mark.lint
def test_each_services_code_is_ruff_clean(service: Path) -> None:
    # Its own ruff, with its own settings: what `make lint name=<service>` runs.
    result = make_in_service(service, "lint")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
def test_each_services_own_tests_pass(service: Path) -> None:
    # What `make test name=<service>` runs: its tests, in its venv, with its .env.test.
    result = make_in_service(service, "test")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_root_tiltfile_loads_every_service_in_this_repository() -> None:
    resources = tiltfile_result(REPO).resources
    assert sorted(set(resources) - {"platform"}) == sorted(
        read_answers(service)["service_name"] for service in SERVICES
    )


EXAMPLE = [service for service in SERVICES if service.name == "hello"]  # a user may drop it


@pytest.mark.parametrize("hello", EXAMPLE, ids=[p.name for p in EXAMPLE])
def test_the_example_service_is_a_fresh_generation_with_its_answers(
    hello: Path, template_repo: Path, copie_session: Any
) -> None:
    given = {k: v for k, v in read_answers(hello).items() if not k.startswith("_")}
    fresh = Path(copie_session.copy(extra_answers=given, template_dir=template_repo).project_dir)
    tracked = git(
        REPO, "ls-files", "--cached", "--others", "--exclude-standard", "services/hello"
    ).splitlines()
    # openapi.json is published by the service's own tests, then committed (its contract).
    committed = {Path(name).relative_to("services/hello") for name in tracked} - {
        Path("openapi.json")
    }
    local_only = {".env.development", ".env.test"}  # made by the copy task, never committed
    generated = {
        p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file() and p.name not in local_only
    }
    assert committed == generated, "regenerate: see services/README.md"
    # The platform writes the call graph's files from every service's answers (checked below).
    written = {Path(".copier-answers.yml"), graph.PEERS_ENV, graph.POLICY}
    drifted = [
        str(p) for p in committed - written if not filecmp.cmp(hello / p, fresh / p, shallow=False)
    ]
    assert drifted == [], "services/hello drifted from the template; see services/README.md"
    fresh_answers = {k: v for k, v in read_answers(fresh).items() if not k.startswith("_")}
    assert fresh_answers == given


def holding_repository(service: Path) -> tuple[Path, Path]:
    """The repository that holds a service and its path there: a link's is its own."""
    if not service.is_symlink():
        return REPO, service
    real = service.resolve()
    return Path(git(real, "rev-parse", "--show-toplevel").strip()), real


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
def test_each_service_records_a_template_version_of_this_branch(service: Path) -> None:
    if service.is_symlink():
        pytest.skip("a linked service's template versions are its own repository's")
    # A tag or a commit, as long as this repository has it and it is on the branch's history.
    # (A clone without tags, as CI's of this repository, holds services/hello to a commit.)
    recorded = str(read_answers(service)["_commit"])
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{recorded}^{{commit}}"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert found, (
        f"{service.name} records {recorded}, which this repository lacks: git fetch --tags"
    )
    ancestor = ["git", "-C", str(REPO), "merge-base", "--is-ancestor", found, "HEAD"]
    assert subprocess.run(ancestor).returncode == 0, f"{recorded} is not on this branch's history"


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
def test_each_service_is_named_as_its_folder(service: Path) -> None:
    from hooks.core.answers import check_named_as_folder

    check_named_as_folder(service, read_answers(service))


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
def test_each_services_locks_hold_its_pins(service: Path) -> None:
    from hooks.update.pins import pin_drift

    assert pin_drift(service) == [], f"re-lock it: make lock name={service.name}"


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
def test_no_conflicts_remain(service: Path) -> None:
    from hooks.update.workspace import conflicts_in

    assert conflicts_in(*holding_repository(service)) == [], "resolve, commit (docs/updating.md)"


def test_every_declared_call_can_be_made_and_its_files_are_current() -> None:
    from hooks.core import graph

    nodes = graph.nodes(REPO)
    assert graph.unknown_peers(nodes) == []
    for service in SERVICES:
        if not service.is_symlink():
            stale = graph.stale_files(nodes, service)
            assert stale == [], (
                f"{service.name}: {stale} are stale: make update name={service.name}"
            )


def test_every_callers_contract_holds() -> None:
    from hooks.core import contracts

    assert contracts.problems(REPO) == []
