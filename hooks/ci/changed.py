"""`make changed base=REF`: the services a change touches, and whether the platform changed.

Read from git only: the commits between the merge base of REF and HEAD (what a pull request
or a push adds), never the working tree, so CI and a developer's clone answer alike. A path
under services/<name>/ touches that service; a platform path (PLATFORM_PATHS) touches every
service, because it changes how each one is generated, checked, built or deployed.
"""

import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hooks.core import graph
from hooks.core.gitrepo import git, git_succeeds
from hooks.core.services import SERVICES_DIR
from hooks.errors import HookError

# What the platform owns: a change to any of these counts for every service (docs/ci.md).
PLATFORM_PATHS = (
    "copier.yml",
    "migrations.yml",
    "template/*",
    "hooks/*",
    "platform/*",
    "security/*",
    ".github/*",
    "Tiltfile",
    "Makefile",
    "requirements*.txt",
)
ANSWERS = ".copier-answers.yml"
NO_COMMIT = "0" * 40  # GitHub's `before` of a push that created the branch
MAX_REASON_PATHS = 5
# git ls-tree modes of an entry that is a link to a repository of its own.
SYMLINK, GITLINK = "120000", "160000"


@dataclass
class Changes:
    """What `make changed` prints, as JSON (docs/ci.md)."""

    base: str
    platform: bool
    reason: str
    services: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    linked: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "base": self.base,
            "platform": self.platform,
            "reason": self.reason,
            "services": self.services,
            "renamed": self.renamed,
            "deleted": self.deleted,
            "linked": self.linked,
        }


def is_platform_path(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in PLATFORM_PATHS)


def service_of(path: str) -> str | None:
    """The service folder a path lies in: services/<name>/..., else None."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == SERVICES_DIR else None


def services_at(repo: Path, commit: str) -> tuple[set[str], dict[str, str]]:
    """(the generated services a commit holds, its committed links to other repositories)."""
    listing = git(repo, "ls-tree", "-r", "--name-only", "-z", commit, "--", f"{SERVICES_DIR}/")
    generated = {
        parts[1]
        for path in listing.split("\0")
        if (parts := path.split("/")) and len(parts) == 3 and parts[2] == ANSWERS
    }
    linked = {}
    for entry in git(repo, "ls-tree", "-z", commit, "--", f"{SERVICES_DIR}/").split("\0"):
        if not entry:
            continue
        mode, path = entry.split(" ", 1)[0], entry.split("\t", 1)[1]
        name = path.split("/", 1)[1]
        if mode == SYMLINK:
            linked[name] = "a symbolic link committed in git"
        elif mode == GITLINK:
            linked[name] = "a git submodule"
    return generated, linked


def linked_in_working_tree(repo: Path) -> dict[str, str]:
    """Services under services/ that are repositories of their own, outside this git."""
    linked = {}
    for answers in sorted((repo / SERVICES_DIR).glob(f"*/{ANSWERS}")):
        service = answers.parent
        if service.is_symlink():
            linked[service.name] = f"links to {service.resolve()}"
        elif (service / ".git").exists():
            linked[service.name] = "has a .git of its own"
    return linked


def resolve_base(repo: Path, base: str) -> str:
    """The commit `base` names, or a HookError saying how to get one."""
    if not base:
        raise HookError(
            "make changed needs base=REF, the commit to compare HEAD with: the branch a pull "
            "request goes into (base=origin/main), or the commit before a push (base=HEAD~1)"
        )
    try:
        return git(repo, "rev-parse", "--verify", "--end-of-options", f"{base}^{{commit}}").strip()
    except HookError:
        raise HookError(base_missing(repo, base)) from None


def base_missing(repo: Path, base: str) -> str:
    shallow = git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"
    if shallow:
        how = (
            "this clone is shallow, so older commits are missing: git fetch --unshallow "
            "(in GitHub Actions: actions/checkout with fetch-depth: 0)"
        )
    else:
        how = (
            f"fetch it (git fetch origin {base}), or name a branch, tag or commit that "
            "git log shows"
        )
    return f"base={base} is not a commit of this repository: {how}"


def with_dependents(repo: Path, services: set[str]) -> set[str]:
    """The services whose tests a change to `services` concerns: these, and every service
    that calls one of them, directly or not (its contract is checked against theirs)."""
    nodes = graph.nodes(repo)
    found = set(services)
    while more := {n for n in nodes if set(nodes[n].calls) & found} - found:
        found |= more
    return found


def changed(repo: Path, base: str) -> Changes:
    """What changed between the merge base of `base` and HEAD."""
    head = git(repo, "rev-parse", "--verify", "HEAD").strip()
    at_head, committed_links = services_at(repo, head)
    linked = {**committed_links, **linked_in_working_tree(repo)}
    testable = sorted(at_head - set(linked))
    everything = Changes(base, True, "", testable, linked=linked)
    if base == NO_COMMIT:
        everything.reason = "no previous commit (a push that created the branch): every service"
        return everything
    commit = resolve_base(repo, base)
    if not git_succeeds(repo, "merge-base", commit, head):
        everything.base = commit
        everything.reason = f"HEAD shares no history with base={base}: every service"
        return everything
    merge_base = git(repo, "merge-base", commit, head).strip()
    at_base, _ = services_at(repo, merge_base)
    diff = git(repo, "diff", "--name-status", "-z", "-M", "--no-ext-diff", merge_base, head)
    fields = diff.split("\0")
    touched: set[str] = set()
    platform: list[str] = []
    moves: dict[str, Counter[str]] = {}
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index]
        paths = fields[index + 1 : index + (3 if status[0] in "RC" else 2)]
        index += 1 + len(paths)
        platform += [p for p in paths if is_platform_path(p)]
        owners = [service_of(p) for p in paths]
        touched.update(name for name in owners if name)
        if status[0] == "R" and owners[0] and owners[1] and owners[0] != owners[1]:
            moves.setdefault(owners[0], Counter())[owners[1]] += 1
    gone = sorted(at_base - at_head - set(linked))
    renamed = {
        old: moves[old].most_common(1)[0][0]
        for old in gone
        if old in moves and moves[old].most_common(1)[0][0] in at_head
    }
    result = Changes(
        merge_base,
        bool(platform),
        "",
        renamed=renamed,
        deleted=[name for name in gone if name not in renamed],
        linked=linked,
    )
    if platform:
        result.services = testable
        listed = ", ".join(sorted(set(platform))[:MAX_REASON_PATHS])
        more = len(set(platform)) - MAX_REASON_PATHS
        result.reason = f"platform files changed ({listed}{f', +{more} more' if more > 0 else ''})"
        result.reason += ": every service"
    else:
        result.services = sorted(with_dependents(repo, touched & set(testable)))
        result.reason = (
            f"files of {len(result.services)} service(s) changed"
            if result.services
            else "no file of a service or of the platform changed"
        )
    return result
