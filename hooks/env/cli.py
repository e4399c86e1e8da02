"""Commands over the services' env files (docs/environment.md)."""

import argparse
from pathlib import Path

from hooks.cli import AddCommand, Lines
from hooks.errors import HookError


def _env_files(args: argparse.Namespace) -> Lines:
    from hooks.env.localfiles import sync_local_env_files

    yield from sync_local_env_files(Path(args.service_dir))


def _env(args: argparse.Namespace) -> Lines:
    from hooks.env.localfiles import sync_every_service

    yield from sync_every_service(Path.cwd())


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
