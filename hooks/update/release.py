"""`make release version=X.Y.Z`: tag a template version that has a CHANGELOG entry."""

import re
from pathlib import Path

from hooks.core.gitrepo import git, uncommitted_paths
from hooks.errors import HookError

VERSION = re.compile(r"\d+\.\d+\.\d+")


def release(repo: Path, version: str) -> str:
    """Tag v<version> on a clean tree; refuse without a CHANGELOG.md entry for it."""
    if not VERSION.fullmatch(version):
        raise HookError(
            f"version '{version}' is not MAJOR.MINOR.PATCH; usage: make release version=1.2.0"
        )
    tag = f"v{version}"
    if git(repo, "tag", "--list", tag).strip():
        raise HookError(
            f"{tag} already exists; tags are never moved, release {version} under a new number"
        )
    changelog = repo / "CHANGELOG.md"
    heading = re.compile(rf"^## \[?v?{re.escape(version)}\]?(\s|$)", re.MULTILINE)
    if not changelog.exists() or not heading.search(changelog.read_text()):
        raise HookError(
            f"CHANGELOG.md has no entry for {tag}; add a '## {tag} - YYYY-MM-DD' "
            "section saying what changes for services, commit it, then release"
        )
    dirty = uncommitted_paths(repo)
    if dirty:
        raise HookError(
            "commit or stash these first, so the tag names what you tested:\n  "
            + "\n  ".join(dirty)
        )
    git(repo, "tag", "-a", tag, "-m", f"Template {tag}")
    return f"tagged {tag}. Publish it with `git push origin {tag}`, then roll it out: make update"
