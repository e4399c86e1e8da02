"""Command line of the hooks package: argument parsing and the one error handler."""

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from hooks.envfiles import create_local_env_files
from hooks.errors import HookError
from hooks.pythonnames import DATA_FILE, render_data_file


def _env_files(args: argparse.Namespace) -> None:
    for path in create_local_env_files(Path(args.service_dir)):
        print(f"created {path} from .env.example")


def _python_names(args: argparse.Namespace) -> None:
    DATA_FILE.write_text(render_data_file())
    print(f"wrote {DATA_FILE}")


def _lock(args: argparse.Namespace) -> None:
    from hooks.lock import compile_locks

    for path in compile_locks(Path.cwd()):
        print(f"wrote {path}")


def _new_service(args: argparse.Namespace) -> None:
    from hooks.scaffold import new_service

    try:
        data = [*args.data, *shlex.split(args.data_list)]
    except ValueError as error:
        raise HookError(f"data={args.data_list!r} cannot be split into answers: {error}") from None
    new_service(Path.cwd(), args.name, ref=args.ref, data=data)


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands, one per Makefile target or copier task."""
    parser = argparse.ArgumentParser(prog="python -m hooks")
    commands = parser.add_subparsers(dest="command", required=True)
    env = commands.add_parser("env-files", help="create missing local env files")
    env.add_argument("service_dir")
    env.set_defaults(run=_env_files)
    names = commands.add_parser("python-names", help="regenerate the reserved module names")
    names.set_defaults(run=_python_names)
    lock = commands.add_parser("lock", help="re-pin the template's dependency locks")
    lock.set_defaults(run=_lock)
    new = commands.add_parser("new-service", help="generate services/<name> from the template")
    new.add_argument("name")
    new.add_argument("--ref", default="", help="template version (default: latest release)")
    new.add_argument("--data", action="append", default=[], metavar="KEY=VALUE")
    new.add_argument("--data-list", default="", help="space-separated KEY=VALUE answers")
    new.set_defaults(run=_new_service)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a HookError becomes one line on stderr and exit status 1."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except HookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
