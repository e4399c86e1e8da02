"""Commands that create services: `make service`, and the data the template's checks read."""

import argparse
from pathlib import Path

from hooks.cli import AddCommand, Lines, data_arguments, data_pairs


def _new_service(args: argparse.Namespace) -> Lines:
    from hooks.scaffold.newservice import new_service

    yield from new_service(Path.cwd(), args.name, ref=args.ref, data=data_pairs(args))


def _python_names(args: argparse.Namespace) -> Lines:
    from hooks.scaffold.pythonnames import regenerate

    yield f"wrote {regenerate(Path.cwd(), [Path(python) for python in args.python])}"


def _services(args: argparse.Namespace) -> Lines:
    from hooks.core.catalog import table

    yield table(Path.cwd())


def register(add: AddCommand) -> None:
    add("services", _services, "every service: template version, team, ports, update waiting")
    new = add("new-service", _new_service, "generate services/<name> from the template")
    new.add_argument("name")
    new.add_argument("--ref", default="", help="template version (default: latest release)")
    data_arguments(new)
    names = add("python-names", _python_names, "regenerate the module names a service may not take")
    names.add_argument(
        "--python",
        action="append",
        default=[],
        help="a venv of one variant's lock, once per variant (default: build them)",
    )
