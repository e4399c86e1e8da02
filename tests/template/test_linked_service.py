"""A service in a repository of its own, linked as services/<name> of a platform checkout, is
found and checked everywhere a service is: Tilt, make env, make run|test|lint, make check,
make lint and the env checks, each in the service's own repository; make update leaves it
there and says so."""

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hooks.core.answers import read_answers
from tests.support.helpers import (
    commit_all,
    edit,
    git,
    make,
    release,
    repo_with_services,
    service_venv,
)
from tests.support.updates import README_CHANGE, row


def hooks(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hooks", *args], cwd=repo, capture_output=True, text=True
    )


def use_cached_venv(service: Path) -> None:
    venv = service_venv(service / "requirements-dev.lock").parent.parent
    (venv / ".installed").touch()
    (service / ".venv").symlink_to(venv)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A platform checkout with alpha, and beta linked from a repository of its own."""
    base = tmp_path_factory.mktemp("linked")
    repo = repo_with_services(base / "platform", {"alpha": []})
    commit_all(repo, "add alpha")
    own = base / "own" / "beta"
    own.parent.mkdir()
    copier = str(Path(sys.executable).with_name("copier"))
    subprocess.run(
        [copier, "copy", "--trust", "--defaults", "--quiet", str(repo), str(own)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    git(own, "init", "-q")
    commit_all(own, "generate beta")
    (repo / "services" / "beta").symlink_to(own)
    with (repo / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("services/beta\n")  # as README.md says
    for service in (repo / "services" / "alpha", own):
        use_cached_venv(service)
    venv = service_venv(own / "requirements-dev.lock").parent.parent
    (repo / ".cache" / venv.name).symlink_to(venv)  # for its checks: built, no PyPI
    yield repo


def test_tilt_deploys_it(platform: Path) -> None:
    plan = hooks(platform, "tilt-plan")
    assert plan.returncode == 0, plan.stderr
    assert [s["name"] for s in json.loads(plan.stdout)["services"]] == ["alpha", "beta"]


def test_make_env_creates_its_env_files_in_its_own_repository(platform: Path) -> None:
    beta = platform / "services" / "beta"
    (beta / ".env.test").unlink()
    result = make(platform, "env")
    assert result.returncode == 0, result.stderr
    assert "services/beta/.env.test from .env.example" in result.stdout
    assert (beta.resolve() / ".env.test").is_file()
    assert git(beta.resolve(), "status", "--porcelain") == ""  # ignored there


def test_the_env_checks_ask_its_own_repository(platform: Path) -> None:
    result = hooks(platform, "env-check")
    assert result.returncode == 0, result.stdout  # no false alarm through the link
    beta = (platform / "services" / "beta").resolve()
    gitignore = beta / ".gitignore"
    saved = gitignore.read_text()
    gitignore.write_text(saved.replace(".env*\n", ""))
    try:
        result = hooks(platform, "env-check")
    finally:
        gitignore.write_text(saved)
    assert result.returncode != 0
    assert "beta: git does not ignore .envrc" in result.stdout


def test_a_secret_committed_in_its_own_repository_is_found(platform: Path) -> None:
    beta = (platform / "services" / "beta").resolve()
    token = "k3y-0f-b3ta-4-real"  # noqa: S105 - a planted canary
    env_file = beta / ".env.development"
    saved = env_file.read_text()
    edit(env_file, "UPSTREAM_API_TOKEN=change-me", f"UPSTREAM_API_TOKEN={token}")
    (beta / "notes.md").write_text(f"token: {token}\n")
    commit_all(beta, "oops")
    try:
        result = hooks(platform, "env-check")
    finally:
        env_file.write_text(saved)
        git(beta, "reset", "-q", "--hard", "HEAD~1")
    assert "UPSTREAM_API_TOKEN in services/beta/.env.development is committed in notes.md" in (
        result.stdout
    )


def test_make_test_and_lint_name_it(platform: Path) -> None:
    for target in ("test", "lint"):
        result = make(platform, target, "name=beta")
        assert result.returncode == 0, result.stdout + result.stderr
    beta = (platform / "services" / "beta").resolve()
    assert git(beta, "status", "--porcelain") == "?? openapi.json\n"  # published by its tests
    commit_all(beta, "publish openapi.json")  # as the next steps say


def test_make_check_and_make_lint_check_it(platform: Path) -> None:
    # The repository's own service checks (tests/check/test_services.py), run in the checkout.
    selection = ["-m", "check or lint", "-k", "beta", "tests/check/test_services.py"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *selection],
        cwd=platform,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout
    assert "a linked service's template versions are its own repository's" in result.stdout


def test_make_update_leaves_it_to_its_own_repository(platform: Path) -> None:
    result = make(platform, "update")
    lines = result.stdout.splitlines()
    assert any(line.split()[:1] == ["beta"] and line.endswith("skipped") for line in lines)
    assert "beta: services/beta links to" in result.stdout
    assert "a repository of its own: update it there" in result.stdout


def test_a_clone_of_its_repository_under_services_is_skipped_too(
    platform: Path, tmp_path: Path
) -> None:
    repo = repo_with_services(tmp_path / "platform", {"alpha": []})
    commit_all(repo, "add alpha")
    git(repo, "clone", "-q", str((platform / "services" / "beta").resolve()), "services/beta")
    with (repo / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("services/beta\n")  # as README.md says
    release(repo, "v0.2.0", README_CHANGE)
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert row(result.stdout, "beta")[3] == "skipped"
    assert "services/beta has a .git of its own: a repository of its own" in result.stdout
    assert row(result.stdout, "alpha")[3] == "updated"


def test_a_dev_port_clash_names_a_fix_that_runs_as_printed(platform: Path) -> None:
    beta = platform / "services" / "beta"
    taken = read_answers(beta)["dev_port"]
    refused = make(platform, "update", "name=alpha", f"data=dev_port={taken}")
    assert f"dev_port {taken} is taken by service beta" in refused.stderr  # refused upfront
    alpha = platform / "services/alpha/.copier-answers.yml"  # so: a clash made by hand
    alpha.write_text(re.sub(r"dev_port: \d+", f"dev_port: {taken}", alpha.read_text()))
    commit_all(platform, "alpha takes beta's port")
    clash = hooks(platform, "tilt-plan")
    assert clash.returncode == 1
    fix = clash.stderr.strip().split("a free port: ")[1]
    assert fix.startswith("make -C services/beta update ref=:current: data=")
    result = subprocess.run(["bash", "-c", fix], cwd=platform, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    commit_all(beta.resolve(), "a free dev port")
    assert hooks(platform, "tilt-plan").returncode == 0
