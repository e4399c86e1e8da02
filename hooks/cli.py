"""Command line of the hooks package: `python -m hooks <command>`, one per Makefile target or
copier task. Each capability (hooks/<capability>/cli.py) registers its own commands.

Every command has one shape: a function of the parsed arguments that yields the lines to
print, as they come (so progress shows while work goes on), and raises HookError for what
the user must fix. `main` prints the lines, turns a HookError into one line on stderr and
exit status 1, and Ctrl-C or SIGTERM into one line and 130. The commands that hand over to
another program (tilt, make) replace this process and never return.
"""

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence

from hooks.errors import HookError

Lines = Iterator[str]
Command = Callable[[argparse.Namespace], Lines]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]


def exec_command(command: list[str], missing: str) -> Lines:
    """Hand the process over to `command` (what was printed so far is flushed first)."""
    sys.stdout.flush()
    try:
        os.execvp(command[0], command)
    except FileNotFoundError:
        raise HookError(missing) from None
    yield ""  # never reached: a generator like every command


def data_arguments(parser: argparse.ArgumentParser) -> None:
    """KEY=VALUE answers: --data, repeated, and --data-list, make's data="..." as typed."""
    parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--data-list", default="", help="space-separated KEY=VALUE answers")


def data_pairs(args: argparse.Namespace) -> list[str]:
    """KEY=VALUE answers given as --data, and as one make-style data="..." string."""
    try:
        return [*args.data, *shlex.split(args.data_list)]
    except ValueError as error:
        raise HookError(f"data={args.data_list!r} cannot be split into answers: {error}") from None


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands, each with its own help line, from every capability."""
    from hooks.ci import cli as ci
    from hooks.devloop import cli as devloop
    from hooks.env import cli as env
    from hooks.scaffold import cli as scaffold
    from hooks.security import cli as security
    from hooks.update import cli as update

    parser = argparse.ArgumentParser(prog="python -m hooks")
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, run: Command, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(run=run)
        return sub

    for capability in (scaffold, update, env, devloop, security, ci):
        capability.register(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command, printing its lines as they come."""
    from hooks.core.gitrepo import forget_inherited_repository

    args = build_parser().parse_args(argv)
    forget_inherited_repository()
    try:
        for line in args.run(args):
            print(line, flush=True)
    except HookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing half-done was left behind", file=sys.stderr)
        return 130
    return 0
