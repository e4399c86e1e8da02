"""The CI workflows are lint-clean and safe by construction: actionlint (shellcheck on every
`run:`) and zizmor pass over the platform's workflows and the one a service gets from the
template; every action is pinned by commit, with its tag and where the SHA was read
(docs/ci.md); each job asks for the least permissions; no expression reaches a `run:` line;
and every `run:` line is run as written by the template tier, or listed with why not."""

import ast
import re
from pathlib import Path

import pytest

from tests.support.helpers import REPO
from tests.support.workflows import (
    RUN_LINES,
    USES,
    ZIZMOR,
    Runs,
    parsed,
    pins_documented,
    standalone_service,
    steps,
    tool,
    workflow_files,
)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standalone_service(tmp_path_factory.mktemp("standalone"))


@pytest.mark.lint
def test_the_workflows_pass_actionlint_and_zizmor(standalone: Path) -> None:
    files = [str(path) for path in workflow_files(standalone)]
    linted = tool("actionlint", "-no-color", *files)
    assert (linted.returncode, linted.stdout) == (0, ""), linted.stdout + linted.stderr
    for folder in (REPO / ".github" / "workflows", standalone / ".github" / "workflows"):
        audited = tool(*ZIZMOR, "--format", "plain", str(folder))
        assert audited.returncode == 0, audited.stdout + audited.stderr
        assert "No findings to report" in audited.stdout


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


def test_no_expression_reaches_a_run_line_and_no_checkout_keeps_credentials(
    standalone: Path,
) -> None:
    for path in workflow_files(standalone):
        for job, step in steps(path):
            assert "${{" not in step.get("run", ""), f"{path.name} {job}: pass it through env:"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name} {job}"


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


def test_every_run_line_is_run_here_or_listed_with_why_not(standalone: Path) -> None:
    shown = {
        step["run"]
        for path in workflow_files(standalone)
        for _, step in steps(path)
        if "run" in step
    }
    assert shown == set(RUN_LINES), "list each new run: line in RUN_LINES, and run it"
    runner = REPO / "tests" / "template" / "test_ci_workflows.py"
    defined = {
        n.name for n in ast.walk(ast.parse(runner.read_text())) if isinstance(n, ast.FunctionDef)
    }
    for line, how in RUN_LINES.items():
        assert "\n" not in line, "one command a step: a make target or a documented command"
        if isinstance(how, Runs):
            assert how.test in defined, f"{line}: no test {how.test} in {runner.name}"
