"""`make service`: generate services/<name> from a template version that exists in git."""

import sys
from pathlib import Path
from typing import Any

import copier
import yaml

from hooks.errors import HookError
from hooks.gitrepo import latest_release, require_repository, uncommitted_paths
from hooks.ports import free_dev_port
from hooks.settings import SERVICES_DIR

MAX_LISTED_PATHS = 10


def questions(repo: Path) -> dict[str, dict[str, Any]]:
    """The questions copier.yml asks (settings and computed values left out)."""
    config = yaml.safe_load((repo / "copier.yml").read_text())
    return {
        key: spec
        for key, spec in config.items()
        if not key.startswith("_") and spec.get("when") is not False
    }


def parse_data(repo: Path, pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs from the command line, checked against the questions' names and types.

    Copier would silently ignore a misspelt question and report a bad int without its name.
    """
    asked = questions(repo)
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HookError(f"answer '{pair}' is not KEY=VALUE; for example service_port=9000")
        if key not in asked:
            raise HookError(f"there is no question '{key}'; the questions are: {', '.join(asked)}")
        if asked[key].get("type") == "int" and not value.isdigit():
            raise HookError(
                f"{key} must be a whole number, for example {asked[key]['default']}; got '{value}'"
            )
        data[key] = value
    return data


def choose_ref(repo: Path, ref: str) -> str:
    """The latest release by default; HEAD only from a clean tree.

    Copier copies a dirty HEAD by committing it in a throwaway clone and records that
    commit, which exists nowhere: the service could then never be updated.
    """
    ref = ref or latest_release(repo) or "HEAD"
    if ref != "HEAD":
        return ref
    dirty = uncommitted_paths(repo)
    if dirty:
        listed = "\n  ".join(dirty[:MAX_LISTED_PATHS])
        hidden = len(dirty) - MAX_LISTED_PATHS
        more = f"\n  ... and {hidden} more" if hidden > 0 else ""
        raise HookError(
            "the repository has uncommitted changes, so the template version copier would "
            "record (HEAD) would not exist in git and the service could never be updated.\n"
            f"Commit these first (git add -A && git commit):\n  {listed}{more}\n"
            "or generate from a release: make release version=X.Y.Z, then make service."
        )
    return ref


def new_service(repo: Path, name: str, ref: str = "", data: list[str] | None = None) -> Path:
    """Run copier for services/<name>; a refused answer leaves nothing behind."""
    if not name:
        raise HookError("no service name given; usage: make service name=orders")
    if "/" in name or name in {".", ".."}:
        raise HookError(f"service name '{name}' is a path; give just a name, for example 'orders'")
    destination = repo / SERVICES_DIR / name
    if destination.exists():
        raise HookError(
            f"{destination.relative_to(repo)} already exists; pick another name, or use "
            "`make update name=" + name + "` to bring that service up to date"
        )
    require_repository(repo)
    answers = {
        "dev_port": str(free_dev_port(repo)),
        **parse_data(repo, data or []),
        "service_name": name,
    }
    try:
        copier.run_copy(
            ".",  # relative, so the answers file stays valid in every clone (run from repo)
            str(destination.relative_to(repo)),
            data=answers,
            vcs_ref=choose_ref(repo, ref),
            defaults=not sys.stdin.isatty(),
            unsafe=True,  # our own tasks: python hooks from this repository
        )
    except ValueError as error:  # copier's validators: the message says what to change
        raise HookError(str(error).removeprefix("Validation error for question ")) from None
    return destination
