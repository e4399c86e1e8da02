"""Fixtures (an isolated machine, the template as a clean git repo, rendered services), and
the tiers: each test's folder is its tier, marked as such, and `make test` ends with a line
per tier saying what ran and, for what was skipped, why (docs/testing.md)."""

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hooks.core.venvs import CACHE_VARIABLE
from tests.support.helpers import (
    BIN,
    CACHE,
    LONGEST_FIRST,
    LONGEST_NAME,
    LONGEST_PEER,
    VENV_CACHE,
    service_venv,
    snapshot_repo,
)

# The answer matrix every rendered-service check runs over.
MATRIX: dict[str, dict[str, Any]] = {
    "defaults": {},
    "custom": {
        "service_name": "billing",
        "service_port": 9090,
        "namespace": "payments",
        "python_version": "3.12",
        "team": "payments",
        "description": 'Bills "customers": #1 & more {{ not jinja }}',
    },
    # The longest names, calling a peer of the longest name: its lines must still fit (a
    # database at the longest names: test_database_answer.py).
    "longest-name": {
        "service_name": LONGEST_NAME,
        "python_version": "3.11",
        "calls": LONGEST_PEER,
    },
}


# Each folder of tests/ is a tier: what it checks, and what it needs (docs/testing.md).
TIERS = {
    "check": "this repository and services/ (make check)",
    "template": "the template rendered and the platform's commands, in throwaway repositories",
    "tilt": "real Tilt evaluates the Tiltfiles (tilt on PATH)",
    "load": "one service under hostile and heavy traffic, on 127.0.0.1",
    "containers": "images built and run in a Docker engine (make engine)",
    "cluster": "make dev for real: Tilt on a real cluster",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its folder's tier; the longest modules first (LONGEST_FIRST),
    then the rest in their usual order."""
    for item in items:
        if item.path.parent.name in TIERS:
            item.add_marker(item.path.parent.name)

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module stays


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per tier: how many passed, failed and were skipped, and why they were."""
    counts: dict[str, dict[str, int]] = {tier: {} for tier in TIERS}
    reasons: dict[str, set[str]] = {tier: set() for tier in TIERS}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            tier = next((t for t in TIERS if t in getattr(report, "keywords", {})), None)
            if tier is None or (outcome == "passed" and report.when != "call"):
                continue
            counts[tier][outcome] = counts[tier].get(outcome, 0) + 1
            if outcome == "skipped" and isinstance(report.longrepr, tuple):
                reasons[tier].add(str(report.longrepr[2]).removeprefix("Skipped: "))
    terminalreporter.section("tiers")
    for tier, what in TIERS.items():
        ran = ", ".join(f"{n} {outcome}" for outcome, n in counts[tier].items()) or "not run"
        terminalreporter.write_line(f"{tier:<10} {ran}: {what}")
        for reason in sorted(reasons[tier]):
            terminalreporter.write_line(f"{'':<10} skipped: {reason}")


@pytest.fixture(scope="session", autouse=True)
def isolated_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads or writes the developer's git config, copier settings or kube config."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    (home / "kubeconfig").write_text("")
    (home / "copier-settings.yml").write_text("{}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("KUBECONFIG", str(home / "kubeconfig"))
        patch.setenv("COPIER_SETTINGS_PATH", str(home / "copier-settings.yml"))
        patch.setenv("PIP_CACHE_DIR", str(CACHE / "pip"))
        patch.setenv(CACHE_VARIABLE, str(VENV_CACHE))  # make update's venvs are these too
        patch.setenv("PATH", f"{BIN}:{Path(sys.base_prefix) / 'bin'}:/usr/bin:/bin")
        yield


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This template, as committed-and-clean as a release."""
    return snapshot_repo(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def plain_template(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template without git: copier renders it in place instead of cloning per copy."""
    plain = tmp_path_factory.mktemp("plain") / "template"
    shutil.copytree(template_repo, plain, ignore=shutil.ignore_patterns(".git"))
    return plain


@pytest.fixture(scope="session")
def rendered_services(template_repo: Path, copie_session: Any) -> dict[str, Path]:
    """Every case of the answer matrix, rendered once per session with pytest-copie."""
    services = {}
    for case, answers in MATRIX.items():
        result = copie_session.copy(extra_answers=answers, template_dir=template_repo)
        assert result.exit_code == 0, f"{case}: {result.exception}"
        services[case] = Path(result.project_dir)
    return services


@pytest.fixture(params=list(MATRIX), ids=list(MATRIX))
def service(request: pytest.FixtureRequest, rendered_services: dict[str, Path]) -> Path:
    """One rendered service per case of the answer matrix."""
    return rendered_services[request.param]


@pytest.fixture(scope="session")
def service_python() -> Path:
    """A venv with the template's locked dev dependencies (service_venv)."""
    return service_venv()


@pytest.fixture(scope="session")
def engine() -> None:
    """A Docker engine: skipped without one, except in CI, where that is a failure."""
    from tests.support.engine import engine_answers

    if not engine_answers():
        message = "no Docker engine answers: run `make engine`"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI always runs the container tests")
        pytest.skip(f"{message} (CI always runs these)")


@pytest.fixture(scope="session")
def live_cluster() -> Any:
    """A real cluster and Tilt: skipped without them, except in CI, where that is a failure."""
    from tests.support.livecluster import find_cluster

    found = find_cluster()
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"{found}; CI always runs the real-cluster tier (.ci/run starts one)")
        pytest.skip(f"{found} (CI always runs these)")
    return found


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """An image registry on 127.0.0.1, removed afterwards."""
    from tests.support.stand_ins import serve_registry

    with serve_registry(tmp_path) as where:
        yield where


@pytest.fixture
def github() -> Iterator[tuple[Any, str]]:
    """A stand-in for GitHub's pull request API, and its URL."""
    from tests.support.stand_ins import github_api

    with github_api() as api:
        yield api
