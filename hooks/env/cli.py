"""Commands over the services' env files (docs/environment.md)."""

import argparse
from pathlib import Path

from hooks.cli import AddCommand, Lines
from hooks.errors import HookError


def _env_files(args: argparse.Namespace) -> Lines:
    from hooks.env.localfiles import sync_local_env_files

    yield from sync_local_env_files(Path(args.service_dir))


def _env(args: argparse.Namespace) -> Lines:
    from hooks.core.services import generated_services
    from hooks.env.localfiles import sync_local_env_files

    services, broken = generated_services(Path.cwd()), []
    for service in services:
        try:
            yield from sync_local_env_files(service)
        except HookError as error:  # report it, and still serve the other services
            broken.append(str(error))
    if broken:
        raise HookError("\n".join([*broken, "fix the lines above (docs/environment.md)"]))
    yield f"local env files present for {len(services)} service(s)"


def _env_check(args: argparse.Namespace) -> Lines:
    from hooks.env.checks import check_all

    problems = check_all(Path.cwd())
    yield from problems
    if problems:
        raise HookError(f"{len(problems)} env convention problem(s); see docs/environment.md")
    yield "env conventions hold in every service"


def register(add: AddCommand) -> None:
    files = add(
        "env-files", _env_files, "create one service's missing local env files (copier task)"
    )
    files.add_argument("service_dir")
    add("env", _env, "create every service's missing local env files; report drift")
    add("env-check", _env_check, "env convention checks over every service")
