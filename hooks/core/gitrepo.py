"""The few git facts the hooks need, read with plain git commands.

Reading never writes: `git status` would otherwise refresh the user's index in passing,
taking its lock while the user may be committing in another shell (GIT_OPTIONAL_LOCKS=0).
"""

import os
import subprocess
from pathlib import Path

from packaging.version import InvalidVersion, Version

from hooks.errors import HookError

# Variables that point git at another repository, index or object store: inherited from a
# git hook or a shell, they would send our commands, and the temporary repositories copier
# creates, to the wrong place.
LOCATING = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


def forget_inherited_repository() -> None:
    """Drop the LOCATING variables from this process and what it starts."""
    for name in LOCATING:
        os.environ.pop(name, None)


def with_settings(environ: dict[str, str], settings: dict[str, str]) -> dict[str, str]:
    """The GIT_CONFIG_* variables that give git `settings` on top of any `environ` already
    gives (git reads them as `-c` options, after every config file); a setting given there
    already is left as it is."""
    count = int(environ.get("GIT_CONFIG_COUNT", "0") or 0)
    given = {environ.get(f"GIT_CONFIG_KEY_{number}") for number in range(count)}
    added = {key: value for key, value in settings.items() if key not in given}
    variables = {"GIT_CONFIG_COUNT": str(count + len(added))}
    for number, (key, value) in enumerate(added.items(), start=count):
        variables[f"GIT_CONFIG_KEY_{number}"] = key
        variables[f"GIT_CONFIG_VALUE_{number}"] = value
    return variables


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in repo and return its stdout; a failure becomes a HookError."""
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", **(env or {})},
    )
    if result.returncode != 0:
        raise HookError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip()}")
    return result.stdout


def git_succeeds(repo: Path, *args: str) -> bool:
    """Whether a git command exits 0 (for yes/no questions such as --is-ancestor)."""
    try:
        git(repo, *args)
    except HookError:
        return False
    return True


def require_repository(repo: Path) -> None:
    """Copier records the template version as a git commit: the template must be in git."""
    try:
        git(repo, "rev-parse", "--verify", "HEAD")
    except HookError:
        raise HookError(
            f"{repo} is not a git repository with a commit; copier records the template "
            "version as a commit. Run: git init && git add -A && git commit -m 'Initial commit'"
        ) from None


def latest_release(repo: Path) -> str | None:
    """The newest PEP 440 tag (the version `copier update` moves to), or None."""
    versions = []
    for tag in git(repo, "tag", "--list").split():
        try:
            versions.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return max(versions)[1] if versions else None


def git_path(repo: Path, name: str) -> Path:
    """The absolute path of a file inside the repository's git directory."""
    path = Path(git(repo, "rev-parse", "--git-path", name).strip())
    return path if path.is_absolute() else repo / path


def uncommitted_paths(repo: Path) -> list[str]:
    """Paths git sees as modified, staged or untracked (not ignored)."""
    lines = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    return [line[3:] for line in lines if line.strip()]
