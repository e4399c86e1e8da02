"""`make release version=X.Y.Z`: tag a template version, with its CHANGELOG.md entry.

One command makes a release: the changes listed under `## Unreleased` become the entry of the
new version (committed), and the tag names that commit. Versions are canonical (ASCII digits,
no leading zeros) and only go up, so a tag compares as copier and pip compare it.
"""

import datetime
import os
import re
from pathlib import Path

from packaging.version import Version

from hooks.core.gitrepo import git, latest_release, uncommitted_paths
from hooks.core.versions import next_release
from hooks.errors import HookError

VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
UNRELEASED = re.compile(r"^## Unreleased[ \t]*\n(?P<body>.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


def _entry(text: str, version: str) -> bool:
    return bool(re.search(rf"^## \[?v?{re.escape(version)}\]?(\s|$)", text, re.MULTILINE))


def _unreleased_changes(text: str) -> str:
    """The bullet points under `## Unreleased` ('' when none)."""
    match = UNRELEASED.search(text)
    if not match:
        return ""
    return "\n".join(line for line in match["body"].splitlines() if line.startswith("- "))


def check_version(repo: Path, version: str) -> str:
    """The tag for `version`, if it is canonical, new and above every release."""
    latest = latest_release(repo)
    if not VERSION.fullmatch(version):
        raise HookError(
            f"version '{version}' is not MAJOR.MINOR.PATCH in plain digits without leading "
            f"zeros; for example: make release version={next_release(repo)}"
        )
    tag = f"v{version}"
    if git(repo, "tag", "--list", tag).strip():
        raise HookError(
            f"{tag} already exists; tags are never moved: make release version={next_release(repo)}"
        )
    if latest is not None and Version(version) <= Version(latest):
        raise HookError(
            f"{tag} is not above the latest release {latest}; versions only go up: "
            f"make release version={next_release(repo)}"
        )
    return tag


def _commit_changelog(repo: Path, tag: str) -> None:
    git(repo, "add", "CHANGELOG.md")
    git(repo, "commit", "--quiet", "-m", f"Release {tag}")


def release(repo: Path, version: str, today: datetime.date | None = None) -> str:
    """Tag v<version> on a clean tree, first turning `## Unreleased` into its entry."""
    tag = check_version(repo, version)
    started = git(repo, "rev-parse", "HEAD").strip()
    changelog = repo / "CHANGELOG.md"
    text = changelog.read_text() if changelog.exists() else ""
    pending = _unreleased_changes(text)
    dirty = uncommitted_paths(repo)
    committed = git(repo, "show", "HEAD:CHANGELOG.md") if "CHANGELOG.md" in dirty else text
    if dirty == ["CHANGELOG.md"] and _entry(text, version) and not _entry(committed, version):
        _commit_changelog(repo, tag)  # a release stopped before its commit: finish it
    elif dirty:
        raise HookError(
            "commit or stash these first, so the tag names what you tested:\n  "
            + "\n  ".join(dirty)
        )
    elif _entry(text, version):
        if pending:
            raise HookError(
                f"CHANGELOG.md lists unreleased changes besides the {tag} entry: release them "
                f"under a new version (make release version={next_release(repo)}), "
                "or move them into that entry and commit"
            )
    elif pending:
        date = (today or datetime.date.today()).isoformat()
        heading = f"## Unreleased\n\n## {tag} - {date}\n"
        released = UNRELEASED.sub(lambda m: heading + m["body"], text, count=1)
        temporary = changelog.with_name(".CHANGELOG.md.release")
        temporary.write_text(released)
        os.replace(temporary, changelog)  # whole or not at all
        _commit_changelog(repo, tag)
    else:
        raise HookError(
            f"CHANGELOG.md has no entry for {tag} and nothing under '## Unreleased': list what "
            "changes for services there (a '- ' line each), commit, then release"
        )
    git(repo, "tag", "-a", tag, "-m", f"Template {tag}")
    if git(repo, "rev-parse", "HEAD").strip() != started:  # the changelog's commit, too
        publish = f"the commit 'Release {tag}' and the tag: `git push origin HEAD {tag}`"
    else:
        publish = f"it: `git push origin {tag}`"
    return f"tagged {tag}. Publish {publish}, then roll it out: make update"
