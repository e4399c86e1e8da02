"""A template release as one pull request: `make rollout-branch` against a local bare
repository standing in for the remote (the branch, its description, an idempotent rerun,
conflicts), and `make rollout-pr`, the one GitHub API step, against a stand-in API."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import VENVS, commit_all, edit, git, make, release, repo_with_services
from tests.support.stand_ins import GitHub
from tests.support.updates import HISTORY_CHANGE

BRANCH = "template-update/v0.2.0"
BILLING_DEPLOYMENT = "services/billing/k8s/base/deployment.yaml"
TOKEN = "a-test-token"  # noqa: S105 (the stand-in API takes any)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repo_with_services(
        tmp_path_factory.mktemp("generated") / "repo", {"orders": [], "billing": []}
    )


@pytest.fixture
def repo(generated: Path, tmp_path: Path) -> Path:
    """Two services at v0.1.0, pushed to a bare `origin`; then release v0.2.0."""
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(generated), str(repo)], check=True)
    commit_all(repo, "two services")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    release(repo, "v0.2.0", HISTORY_CHANGE)
    git(repo, "push", "-q", "origin", "main", "--tags")
    return repo


def origin(repo: Path) -> Path:
    return Path(git(repo, "remote", "get-url", "origin").strip())


def remote_branches(repo: Path) -> list[str]:
    return git(origin(repo), "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def state(repo: Path) -> tuple[dict[str, Any], str]:
    folder = repo / ".cache" / "rollout" / "v0.2.0"
    request = json.loads((folder / "pull-request.json").read_text())
    return request, (folder / "pull-request.md").read_text()


def rollout(repo: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return make(repo, "rollout-branch", "version=v0.2.0", *extra)


def test_a_release_becomes_one_branch_with_the_table_as_its_description(repo: Path) -> None:
    main = git(repo, "rev-parse", "HEAD").strip()
    result = rollout(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{BRANCH} pushed origin" in result.stdout
    assert remote_branches(repo) == ["main", BRANCH]
    pushed = origin(repo)
    assert git(pushed, "rev-parse", f"{BRANCH}^").strip() == main  # one commit on main
    touched = git(pushed, "diff", "--name-only", "main", BRANCH).split()
    assert {path.split("/")[1] for path in touched} == {"orders", "billing"}
    assert all(path.startswith("services/") for path in touched)
    assert "revisionHistoryLimit: 3" in git(pushed, "show", f"{BRANCH}:{BILLING_DEPLOYMENT}")
    message = git(pushed, "log", "-1", "--format=%B", BRANCH)
    assert "Template-Rollout: v0.2.0" in message
    request, body = state(repo)
    assert request | {"services": {}} == {
        "version": "v0.2.0",
        "branch": BRANCH,
        "base": "main",
        "title": "Roll out template v0.2.0",
        "draft": False,
        "pushed": "created",
        "services": {},
        "conflicts": [],
    }
    assert request["services"] == {"billing": "updated", "orders": "updated"}
    table = [
        line for line in body.splitlines() if line.startswith(("service ", "billing ", "orders "))
    ]
    assert table[0].split() == ["service", "from", "to", "result"]
    assert [row.split()[-1] for row in table[1:]] == ["updated", "updated"]
    assert table[0] in message  # the commit holds the same table
    assert "Conflicts" not in body
    # The checkout it ran from did not move, and nothing is left behind.
    assert git(repo, "rev-parse", "HEAD").strip() == main
    assert git(repo, "status", "--porcelain") == ""
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert git(repo, "branch", "--list", BRANCH) == ""


def test_a_rerun_updates_the_same_branch_and_never_adds_another(repo: Path) -> None:
    assert rollout(repo).returncode == 0
    first = git(origin(repo), "rev-parse", BRANCH).strip()
    again = rollout(repo)
    assert again.returncode == 0, again.stderr
    assert "already holds this rollout" in again.stdout
    assert git(origin(repo), "rev-parse", BRANCH).strip() == first
    assert state(repo)[0]["pushed"] == "unchanged"
    # main moves on: the rerun rebuilds the branch from it and replaces it.
    (repo / "docs" / "notes.md").write_text("# Notes\n")
    commit_all(repo, "docs")
    git(repo, "push", "-q", "origin", "main")
    moved = rollout(repo)
    assert moved.returncode == 0, moved.stderr
    assert "replacing the earlier rollout" in moved.stdout
    assert (
        git(origin(repo), "rev-parse", f"{BRANCH}^").strip()
        == git(repo, "rev-parse", "HEAD").strip()
    )
    assert state(repo)[0]["pushed"] == "updated"
    assert remote_branches(repo) == ["main", BRANCH]


def test_a_conflicted_service_is_committed_with_its_markers_and_the_request_is_a_draft(
    repo: Path,
) -> None:
    git(repo, "reset", "-q", "--hard", "v0.2.0~1")  # before the release, billing edits
    git(repo, "tag", "-d", "v0.2.0")  # the line the release changes; then the release
    edit(repo / BILLING_DEPLOYMENT, "revisionHistoryLimit: 5", "revisionHistoryLimit: 7")
    commit_all(repo, "billing keeps more history")
    release(repo, "v0.2.0", HISTORY_CHANGE)
    result = rollout(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"conflicts, committed with their markers for review: {BILLING_DEPLOYMENT}" in result.stdout
    )
    committed = git(origin(repo), "show", f"{BRANCH}:{BILLING_DEPLOYMENT}")
    assert "<<<<<<< " in committed and "revisionHistoryLimit: 7" in committed
    request, body = state(repo)
    assert (request["draft"], request["conflicts"]) == (True, [BILLING_DEPLOYMENT])
    assert request["services"] == {"billing": "conflicts", "orders": "updated"}
    assert "### Conflicts: this pull request is a draft" in body
    assert f"- `{BILLING_DEPLOYMENT}`" in body
    assert "`make check` fails until no marker remains" in body


def test_a_branch_someone_committed_to_is_left_alone(repo: Path, tmp_path: Path) -> None:
    assert rollout(repo).returncode == 0
    reviewer = tmp_path / "reviewer"
    git(tmp_path, "clone", "-q", "--branch", BRANCH, str(origin(repo)), str(reviewer))
    (reviewer / "services" / "billing" / "NOTES.md").write_text("resolved\n")
    commit_all(reviewer, "a reviewer's fix")
    git(reviewer, "push", "-q", "origin", BRANCH)
    theirs = git(origin(repo), "rev-parse", BRANCH).strip()
    (repo / "docs" / "notes.md").write_text("# Notes\n")
    commit_all(repo, "main moves on")
    again = rollout(repo)
    assert again.returncode != 0
    assert "holds commits that are not the rollout's" in again.stderr
    assert f"git push origin --delete {BRANCH}" in again.stderr
    assert git(origin(repo), "rev-parse", BRANCH).strip() == theirs


def test_nothing_to_roll_out_pushes_nothing_and_opens_nothing(repo: Path) -> None:
    result = make(repo, "rollout-branch", "version=v0.1.0")
    assert result.returncode == 0, result.stderr
    assert "nothing to roll out: v0.1.0 changes no service" in result.stdout
    assert remote_branches(repo) == ["main"]
    opened = make(repo, "rollout-pr", "version=v0.1.0")
    assert opened.returncode == 0 and "no pull request" in opened.stdout


def test_bad_requests_say_what_to_do(repo: Path) -> None:
    missing = make(repo, "rollout-branch")
    assert "needs version=vX.Y.Z" in missing.stderr
    unknown = make(repo, "rollout-branch", "version=v9.9.9")
    assert "version=v9.9.9 is not a release tag" in unknown.stderr
    assert "fetch-depth: 0" in unknown.stderr
    nowhere = make(repo, "rollout-branch", "version=v0.2.0", "remote=upstream")
    assert "there is no git remote 'upstream'" in nowhere.stderr
    git(repo, "switch", "-q", "--detach", "HEAD")
    detached = rollout(repo)
    assert "HEAD is not on a branch" in detached.stderr
    assert remote_branches(repo) == ["main"]
    early = make(repo, "rollout-pr", "version=v0.2.0")
    assert "make rollout-branch version=v0.2.0 first" in early.stderr


def open_pr(repo: Path, url: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "GITHUB_API_URL": url,
        "GITHUB_REPOSITORY": "acme/platform",
        "GH_TOKEN": TOKEN,
    }
    return subprocess.run(
        ["make", "--no-print-directory", *VENVS, "rollout-pr", "version=v0.2.0"],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_pull_request_is_opened_once_then_updated(
    repo: Path, github: tuple[GitHub, str]
) -> None:
    api, url = github
    assert rollout(repo).returncode == 0
    opened = open_pr(repo, url)
    assert opened.returncode == 0, opened.stderr
    assert "opened pull request #1: https://pr/1" in opened.stdout
    _, body = state(repo)
    [(_, path, payload, token)] = [call for call in api.calls if call[0] == "POST"]
    assert path == "/repos/acme/platform/pulls" and token == f"Bearer {TOKEN}"
    assert payload == {
        "title": "Roll out template v0.2.0",
        "head": BRANCH,
        "base": "main",
        "body": body,
        "draft": False,
    }
    again = open_pr(repo, url)
    assert again.returncode == 0, again.stderr
    assert "updated pull request #1" in again.stdout
    assert [call[0] for call in api.calls] == ["GET", "POST", "GET", "PATCH"]
    assert api.pulls[0]["body"] == body and len(api.pulls) == 1
    api.refuse = True
    refused = open_pr(repo, url)
    assert refused.returncode != 0
    assert "GitHub answered GET" in refused.stderr and "pull-requests: write" in refused.stderr


def test_rollout_pr_needs_a_token_and_the_repository(repo: Path) -> None:
    assert rollout(repo).returncode == 0
    environment = {
        k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_REPOSITORY")
    }
    result = subprocess.run(
        ["make", "--no-print-directory", *VENVS, "rollout-pr", "version=v0.2.0"],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "needs GH_TOKEN" in result.stderr and "GITHUB_REPOSITORY=owner/name" in result.stderr


def test_the_push_authenticates_with_gh_token_through_the_environment(repo: Path) -> None:
    from hooks.ci.rolloutbranch import push_environment

    git(repo, "remote", "set-url", "origin", "https://git.example.com/acme/platform.git")
    os.environ["GH_TOKEN"] = TOKEN
    try:
        environment = push_environment(repo, "origin")
    finally:
        del os.environ["GH_TOKEN"]
    assert environment["GIT_CONFIG_KEY_0"] == "http.https://git.example.com/.extraheader"
    assert (
        environment["GIT_CONFIG_VALUE_0"]
        == "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46YS10ZXN0LXRva2Vu"
    )
    assert TOKEN not in git(repo, "config", "--list")


def test_the_push_keeps_the_git_settings_the_environment_already_gives(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hooks.ci.rolloutbranch import push_environment

    git(repo, "remote", "set-url", "origin", "https://git.example.com/acme/platform.git")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.name")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "Set By The Runner")
    environment = push_environment(repo, "origin")
    seen = subprocess.run(
        ["git", "config", "--get-regexp", r"^(user\.name|http\..*extraheader)$"],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "user.name Set By The Runner" in seen
    assert "http.https://git.example.com/.extraheader AUTHORIZATION: basic" in seen
