"""`make rollout-branch version=vX.Y.Z`: a template release rolled out on a branch of its own,
pushed for review as one pull request (`make rollout-pr` opens or updates it).

The rollout is `make update` itself (`python -m hooks update --ref vX.Y.Z`), run in a git
worktree of HEAD under .cache/rollout/, so the checkout it starts from never moves. What it
changed under services/ is committed on top of HEAD as one commit, with the rollout table
as its message, and pushed as template-update/<version>, replacing an earlier rollout of the
same release (a rerun) but never a branch that holds anyone else's commits.

A service with conflicts is committed with its markers, so that reviewers see and resolve
them in the pull request, which is then opened as a draft and lists each file; `make check`
fails on that branch until none remain. A service that failed or was refused is left out
(its files untouched) and listed with the fix the table gives.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hooks.core.gitrepo import git, git_succeeds, with_settings
from hooks.core.services import SERVICES_DIR
from hooks.errors import HookError

BRANCH_PREFIX = "template-update/"
TRAILER = "Template-Rollout"
STATE = Path(".cache") / "rollout"
HEADER = re.compile(r"^service\s+from\s+to\s+result$")
CONFLICT = re.compile(r"^  (\S+): conflict in (\S.*)$")
DETAIL = re.compile(r"^  (\S+): (.*)$")
ROLLED_OUT = ("updated", "conflicts", "already current", "skipped")
# The commit's identity where git has none (a CI runner), as update/workspace does.
IDENTITY = {
    "GIT_AUTHOR_NAME": "template rollout",
    "GIT_AUTHOR_EMAIL": "rollout@localhost",
    "GIT_COMMITTER_NAME": "template rollout",
    "GIT_COMMITTER_EMAIL": "rollout@localhost",
}


@dataclass
class PullRequest:
    """What `make rollout-pr` needs: written next to the description (pull-request.md)."""

    version: str
    branch: str
    base: str
    title: str
    draft: bool
    pushed: str  # created | updated | unchanged | nothing
    services: dict[str, str] = field(default_factory=dict)  # name -> result
    conflicts: list[str] = field(default_factory=list)


def state_dir(repo: Path, version: str) -> Path:
    return repo / STATE / version


def read_request(repo: Path, version: str) -> tuple[PullRequest, str]:
    """The pull request `make rollout-branch` prepared, and its description."""
    folder = state_dir(repo, version)
    if not (folder / "pull-request.json").is_file():
        raise HookError(
            f"no rollout of {version} here: make rollout-branch version={version} first "
            "(it pushes the branch and writes the pull request's description)"
        )
    request = PullRequest(**json.loads((folder / "pull-request.json").read_text()))
    return request, (folder / "pull-request.md").read_text()


def check_version(repo: Path, version: str) -> None:
    if not version:
        raise HookError("make rollout-branch needs version=vX.Y.Z, a release tag to roll out")
    if not git_succeeds(
        repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{version}^{{commit}}"
    ):
        raise HookError(
            f"version={version} is not a release tag of this repository: fetch the tags "
            "(git fetch --tags; in GitHub Actions, actions/checkout with fetch-depth: 0), or "
            f"release it first: make release version={version.removeprefix('v')}"
        )


def current_branch(repo: Path) -> str:
    try:
        return git(repo, "symbolic-ref", "--quiet", "--short", "HEAD").strip()
    except HookError:
        raise HookError(
            "HEAD is not on a branch: check out the branch the pull request goes into "
            "(git switch main; in GitHub Actions, actions/checkout with ref: the default branch)"
        ) from None


def push_environment(repo: Path, remote: str) -> dict[str, str]:
    """git's environment for the push: with GH_TOKEN set and an https remote, the token as
    an HTTP header given through the environment, never on a command line or in .git/config
    (the way actions/checkout authenticates)."""
    environment = dict(os.environ)
    token = os.environ.get("GH_TOKEN", "")
    url = urlsplit(git(repo, "remote", "get-url", remote).strip())
    if token and url.scheme == "https":
        credentials = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        header = {f"http.https://{url.netloc}/.extraheader": f"AUTHORIZATION: basic {credentials}"}
        environment.update(with_settings(environment, header))
    return environment


def identity(repo: Path) -> dict[str, str]:
    configured = git_succeeds(repo, "config", "user.email")
    return {} if configured else IDENTITY


def parse_table(lines: list[str]) -> tuple[str, dict[str, str], list[str], dict[str, str]]:
    """From `make update`'s output: (its table, result by service, conflicted files, the
    detail line of each service)."""
    starts = [number for number, line in enumerate(lines) if HEADER.match(line)]
    if not starts:
        return "", {}, [], {}
    table = lines[starts[-1] :]
    results, conflicts, details = {}, [], {}
    for line in table[1:]:
        cells = re.split(r"\s{2,}", line)
        if not line.startswith(" ") and len(cells) == 4:
            results[cells[0]] = cells[3]
        elif found := CONFLICT.match(line):
            conflicts.append(found.group(2))
        elif found := DETAIL.match(line):
            details[found.group(1)] = found.group(2)
    return "\n".join(table), results, conflicts, details


def description(
    request: PullRequest, table: str, details: dict[str, str], rejects: list[str]
) -> str:
    """The pull request's description: the table, then what a reviewer must do."""
    rolled = [
        name for name, result in request.services.items() if result in ("updated", "conflicts")
    ]
    parts = [
        f"Rolls template **{request.version}** out to {len(rolled)} service(s): "
        f"`make update ref={request.version}`, run by `make rollout-branch "
        f"version={request.version}` (docs/ci.md).",
        f"```text\n{table}\n```",
    ]
    if request.conflicts or rejects:
        listed = "\n".join(f"- `{path}`" for path in [*request.conflicts, *rejects])
        parts.append(
            "### Conflicts: this pull request is a draft\n\n"
            "These files are committed with their conflict markers, for review here. On this "
            "branch keep what you need in each, drop the markers (apply a `.rej` hunk by hand; "
            "it is not committed), commit and push, then mark the pull request ready; "
            "`make check` fails until no marker remains.\n\n" + listed
        )
    left = {n: r for n, r in request.services.items() if r not in ROLLED_OUT}
    if left:
        listed = "\n".join(
            f"- `{name}` ({result}): {details.get(name, 'see the table')}; then "
            f"`make update name={name} ref={request.version}`"
            for name, result in left.items()
        )
        parts.append(f"### Not rolled out: left as they were\n\n{listed}")
    parts.append(
        "Rerunning the rollout (the workflow, or `make rollout-branch version="
        f"{request.version}`) rebuilds this branch from `{request.base}` and updates this pull "
        "request; once commits of anyone else are pushed here, it leaves the branch alone."
    )
    return "\n\n".join(parts) + "\n"


def run_update(worktree: Path, version: str) -> Iterator[str]:
    """`make update ref=<version>` in the worktree: its lines as they come."""
    command = [sys.executable, "-m", "hooks", "update", "--ref", version]
    with subprocess.Popen(
        command,
        cwd=worktree,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **identity(worktree)},
    ) as process:
        for line in process.stdout or ():
            yield line.rstrip("\n")


def remote_head(repo: Path, remote: str, branch: str) -> str:
    listed = git(repo, "ls-remote", "--heads", remote, f"refs/heads/{branch}").split()
    return listed[0] if listed else ""


def publish(worktree: Path, remote: str, branch: str, version: str) -> str:
    """Push the rollout commit as `branch`: created, updated or unchanged."""
    environment = push_environment(worktree, remote)
    existing = remote_head(worktree, remote, branch)
    if existing:
        git(
            worktree,
            "fetch",
            "--quiet",
            "--no-tags",
            remote,
            f"refs/heads/{branch}",
            env=environment,
        )
        message = git(worktree, "log", "-1", "--format=%B", "FETCH_HEAD")
        if f"{TRAILER}: {version}" not in message:
            raise HookError(
                f"{branch} on {remote} holds commits that are not the rollout's (conflicts being "
                "resolved?), so it is left as it is: finish its pull request, or delete the "
                f"branch to roll out again from scratch: git push {remote} --delete {branch}"
            )
        if git(worktree, "rev-parse", "FETCH_HEAD^{tree}") == git(
            worktree, "rev-parse", "HEAD^{tree}"
        ):
            return "unchanged"
    lease = f"--force-with-lease=refs/heads/{branch}:{existing}"
    result = subprocess.run(
        ["git", "-C", str(worktree), "push", "--quiet", lease, remote, f"HEAD:refs/heads/{branch}"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if result.returncode:
        raise HookError(
            f"git push of {branch} to {remote} failed: {result.stderr.strip()}. If the branch "
            "moved meanwhile (another run?), rerun; the token needs contents: write (docs/ci.md)"
        )
    return "updated" if existing else "created"


def rollout_branch(repo: Path, version: str, remote: str = "origin") -> Iterator[str]:
    """Run the rollout on a worktree, commit it, push it, write the pull request's files."""
    check_version(repo, version)
    base = current_branch(repo)
    remote = remote or "origin"
    if not git_succeeds(repo, "remote", "get-url", remote):
        raise HookError(
            f"there is no git remote {remote!r}: name one with remote=NAME (git remote -v)"
        )
    branch = f"{BRANCH_PREFIX}{version}"
    folder = state_dir(repo, version)
    worktree = folder / "worktree"
    if worktree.exists():  # a run killed half-way left it
        git(repo, "worktree", "remove", "--force", str(worktree))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    git(repo, "worktree", "prune")
    git(repo, "worktree", "add", "--quiet", "--detach", str(worktree), "HEAD")
    try:
        head = git(repo, "rev-parse", "--short", "HEAD").strip()
        yield f"rolling {version} out from {base} ({head})"
        lines = []
        for line in run_update(worktree, version):
            lines.append(line)
            yield line
        table, results, conflicts, details = parse_table(lines)
        if not table:
            raise HookError("make update printed no table, so nothing was rolled out (see above)")
        git(worktree, "add", "--all", "--", f"{SERVICES_DIR}/")
        changed = not git_succeeds(worktree, "diff", "--cached", "--quiet")
        ignored = git(
            worktree,
            "ls-files",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--",
            f"{SERVICES_DIR}/",
        )
        rejects = [path for path in ignored.splitlines() if path.endswith(".rej")]
        request = PullRequest(
            version,
            branch,
            base,
            f"Roll out template {version}",
            draft=bool(conflicts or rejects),
            pushed="nothing",
            services=results,
            conflicts=conflicts,
        )
        if changed:
            message = f"Roll out template {version}\n\n{table}\n\n{TRAILER}: {version}\n"
            git(worktree, "commit", "--quiet", "--no-verify", "-m", message, env=identity(worktree))
            request.pushed = publish(worktree, remote, branch, version)
    finally:
        git(repo, "worktree", "remove", "--force", str(worktree))
    (folder / "pull-request.md").write_text(description(request, table, details, rejects))
    (folder / "pull-request.json").write_text(json.dumps(asdict(request), indent=2) + "\n")
    if request.pushed == "nothing":
        yield f"nothing to roll out: {version} changes no service (no branch, no pull request)"
        return
    said = {
        "created": "pushed",
        "updated": "pushed (replacing the earlier rollout)",
        "unchanged": "already holds this rollout on",
    }
    yield f"{branch} {said[request.pushed]} {remote}"
    if request.draft:
        listed = ", ".join([*conflicts, *rejects])
        yield f"conflicts, committed with their markers for review: {listed}"
    yield f"pull request description: {(folder / 'pull-request.md').relative_to(repo)}"
    yield f"next: make rollout-pr version={version} opens or updates its pull request (docs/ci.md)"
