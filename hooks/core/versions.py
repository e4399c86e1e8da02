"""Which template version `make service` and `make update` use: one rule for both.

The version given (ref=), else the newest release tag, else the committed HEAD. HEAD is
handed to copier as its commit: copier copies a dirty HEAD by committing it in a throwaway
clone and records that commit, which exists nowhere, so the service could never update.
Only uncommitted changes to the template itself are refused; other work in progress (a
service just generated, docs) does not change what copier renders.
"""

import re
from pathlib import Path

from packaging.version import InvalidVersion, Version

from hooks.core.gitrepo import git, latest_release, uncommitted_paths
from hooks.errors import HookError

TEMPLATE_PATHS = ("copier.yml", "template/", "hooks/", "platform/", "migrations.yml")
MAX_LISTED_PATHS = 10


def resolve(repo: Path, ref: str) -> str | None:
    """The commit a ref names (tag, commit, or `git describe` output), or None."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except HookError:
        return None


def template_version(repo: Path, ref: str = "") -> tuple[str, str]:
    """(the ref to give copier, the name to show)."""
    if ref and ref != "HEAD":
        if resolve(repo, ref) is None:
            raise HookError(f"ref={ref} is not a tag or commit of this repository")
        return ref, ref
    release = None if ref else latest_release(repo)
    if release:
        return release, release
    dirty = [p for p in uncommitted_paths(repo) if p.startswith(TEMPLATE_PATHS)]
    if dirty:
        listed = "\n  ".join(dirty[:MAX_LISTED_PATHS])
        more = (
            f"\n  ... and {len(dirty) - MAX_LISTED_PATHS} more"
            if len(dirty) > MAX_LISTED_PATHS
            else ""
        )
        raise HookError(
            "the template has uncommitted changes, and the version a service records must "
            f"exist in git. Commit them first (git add -A && git commit):\n  {listed}{more}\n"
            "or use a release: make release version=X.Y.Z"
        )
    head = git(repo, "rev-parse", "HEAD").strip()
    return head, head[:7]


def next_release(repo: Path) -> str:
    """The version to suggest for the next release: a minor step above both the newest tag and
    the newest entry of CHANGELOG.md (a fresh clone has the entries, not always the tags)."""
    changelog = repo / "CHANGELOG.md"
    text = changelog.read_text() if changelog.exists() else ""
    found = re.findall(r"^## \[?v?([0-9]+\.[0-9]+\.[0-9]+)", text, re.MULTILINE)
    tag = latest_release(repo)
    versions = []
    for candidate in [*found, *([tag] if tag else [])]:
        try:
            versions.append(Version(candidate))
        except InvalidVersion:
            continue
    if not versions:
        return "0.1.0"
    major, minor = max(versions).release[:2]
    return f"{major}.{minor + 1}.0"
