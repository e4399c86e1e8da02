"""`make run|test|lint name=<service>`: one service on this machine, without a cluster.

The service's own Makefile does the work (its venv from requirements-dev.lock, the env file,
the command), so a service in a repository of its own runs the same way. From the platform
root the env files are first made and checked with the platform's parser (`make env`), and
the service's make runs on its own: none of the root's make variables reach it.
"""

import os
from pathlib import Path

from hooks.core.services import SERVICES_DIR, find_service
from hooks.devloop.places import local_settings
from hooks.env.localfiles import sync_local_env_files
from hooks.errors import HookError

ACTIONS = ("run", "test", "lint")
# The root make's own settings (its VENV is the platform's tools, not the service's venv).
ROOT_MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VENV")


def runnable_service(repo: Path, name: str, action: str) -> Path:
    """The service `make <action> name=<name>` runs, once it has a Makefile to run it with."""
    service = find_service(repo, name, action)
    if not (service / "Makefile").is_file():
        copier = repo.absolute() / ".venv" / "bin" / "copier"  # runs from any folder
        where = (
            f"cd {SERVICES_DIR}/{name} && {copier} update --trust --defaults --skip-answered"
            if service.is_symlink()  # a repository of its own: `make update` skips it
            else f"make update name={name}"
        )
        raise HookError(
            f"{SERVICES_DIR}/{name} has no Makefile yet (newer template versions bring it): {where}"
        )
    return service


def service_make(repo: Path, action: str, name: str) -> tuple[list[str], dict[str, str], list[str]]:
    """The make command and environment that run `action` in the service's own folder, and
    what preparing it said (local env files created or drifted)."""
    if action not in ACTIONS:
        raise HookError(f"unknown action '{action}'; one of: {', '.join(ACTIONS)}")
    service = runnable_service(repo, name, action)
    # Creates missing local env files and reports drift: a run and the tests read them.
    said = sync_local_env_files(service) if action != "lint" else []
    environment = {k: v for k, v in os.environ.items() if k not in ROOT_MAKE_VARIABLES}
    if action == "run":  # this machine's own values win over the env file's (places.py)
        computed = local_settings(service)
        environment.update(computed)
        said.append(f"serving {name} on http://127.0.0.1:{computed['PORT']}")
    return ["make", "--no-print-directory", "-C", str(service), action], environment, said
