"""Fixtures: an isolated machine, the template as a clean git repo, rendered services."""

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
BIN = Path(sys.executable).parent

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
    "longest-name": {"service_name": "a" + "b" * 38 + "z", "python_version": "3.11"},
}


def git(repo: Path, *args: str) -> str:
    """Run git in repo; fail the test with git's message if it fails."""
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert result.returncode == 0, f"git {args}: {result.stderr}"
    return result.stdout


def snapshot_repo(destination: Path, tag: str | None = None) -> Path:
    """The working tree (tracked and untracked, not ignored, without generated services) as a
    fresh one-commit repository.

    Tests never depend on this repository's own history, tags or dirty state.
    """
    files = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        if name.startswith("services/") and name.count("/") > 1:
            continue  # generated services record commits that exist only in this repo
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "template snapshot")
    if tag:
        git(destination, "tag", tag)
    return destination


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


def cached_venv(name: str, requirements: Path, *pip_options: str) -> Path:
    """The python of a venv with `requirements` installed, reused while they are unchanged."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = CACHE / f"{name}-{digest}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *pip_options, "-r", str(requirements)],
            check=True,
        )
        (venv / ".complete").touch()
    return python


def service_venv(lock: Path = REPO / "template" / "requirements-dev.lock") -> Path:
    """A venv with a service's locked dev dependencies (the template's by default)."""
    return cached_venv("service-venv", lock, "--require-hashes", "--no-deps")


def service_make(service: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    """The service's own `make` targets, in the cached venv of its requirements-dev.lock."""
    venv = service_venv(service / "requirements-dev.lock").parent.parent
    settings = [f"VENV={venv}", "-o", f"{venv}/.installed", "args=-p no:cacheprovider"]
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(service), *targets, *settings],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def service_python() -> Path:
    """A venv with the template's locked dev dependencies (service_venv)."""
    return service_venv()


@pytest.fixture(scope="session")
def engine() -> None:
    """A Docker engine: skipped without one, except in CI, where that is a failure."""
    from hooks.engine import engine_answers

    if not engine_answers():
        message = "no Docker engine answers: run `make engine`"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI always runs the container tests")
        pytest.skip(f"{message} (CI always runs these)")


@pytest.fixture(scope="session")
def live_cluster() -> Any:
    """A real cluster and Tilt: skipped without them, except in CI, where that is a failure."""
    from tests.livecluster import find_cluster

    found = find_cluster()
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"{found}; CI always runs the real-cluster tier (.ci/run starts one)")
        pytest.skip(f"{found} (CI always runs these)")
    return found
