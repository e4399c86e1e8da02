"""A service with a database, as real Tilt evaluates the root Tiltfile (no cluster needed): its
Postgres, then its migration Job, then the service, each resource with the objects it needs
first; the platform's Postgres image built once, from the official one of the settings."""

from pathlib import Path

import pytest
import yaml

from tests.support.helpers import REPO, repo_with_services
from tests.support.tiltfile import tiltfile_result

SETTINGS = yaml.safe_load((REPO / "platform/settings/settings.yaml").read_text())["data"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    services = {"ledger": ["database=postgres"], "vault": ["database=postgres"], "hello": []}
    return repo_with_services(tmp_path_factory.mktemp("databases"), services)


def test_the_database_then_the_migration_then_the_service(repo: Path) -> None:
    resources = tiltfile_result(repo).resources
    assert set(resources) == {
        "platform",
        *("ledger", "ledger-postgres", "ledger-migrate"),
        *("vault", "vault-postgres", "vault-migrate"),
        "hello",
    }
    assert resources["ledger-postgres"].deps == ["platform"]
    assert resources["ledger-migrate"].deps == ["ledger-postgres"]
    assert resources["ledger"].deps == ["platform", "ledger-migrate"]
    assert resources["hello"].deps == ["platform"]  # no database, nothing more
    kinds = {name: {o["kind"] for o in r.objects} for name, r in resources.items()}
    assert kinds["ledger-postgres"] == {
        "StatefulSet",
        "Service",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
    }
    # What the Job needs is there before it: the service's settings and account, a way out.
    assert kinds["ledger-migrate"] == {
        "Job",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "NetworkPolicy",
    }
    assert "Job" not in kinds["ledger"] and "ServiceAccount" not in kinds["ledger"]
    for name in ("ledger-postgres", "ledger-migrate"):
        assert resources[name].labels == resources["ledger"].labels


def test_one_platform_image_for_every_database_built_from_the_official_one(repo: Path) -> None:
    resources = tiltfile_result(repo).resources
    ref = f"{SETTINGS['platform_name']}-postgres"
    built = {
        name: image
        for name in ("ledger-postgres", "vault-postgres")
        for image in resources[name].images
    }
    assert {image["selector"] for image in built.values()} == {ref}
    details = built["ledger-postgres"]["BuildDetails"]
    assert sorted(details["args"]) == [
        f"IMAGE={SETTINGS['databases']['postgres']['image']}",
        f"UID={SETTINGS['databases']['postgres']['uid']}",
    ]
    assert details["context"] == str(repo / "platform" / "postgres")
    [statefulset] = [o for o in resources["ledger-postgres"].objects if o["kind"] == "StatefulSet"]
    [container] = statefulset["spec"]["template"]["spec"]["containers"]
    assert container["image"].split(":")[0] == ref  # injected with Tilt's build
    [job] = [o for o in resources["ledger-migrate"].objects if o["kind"] == "Job"]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].split(":")[0] == "ledger"


def test_a_service_without_a_database_builds_no_database_image(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {"hello": []})
    result = tiltfile_result(repo)
    assert all(
        image["selector"] == "hello" for r in result.resources.values() for image in r.images
    )
