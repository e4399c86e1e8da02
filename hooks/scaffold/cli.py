"""Commands that create services: `make service`, and the data the template's checks read."""

import argparse
from pathlib import Path

from hooks.cli import AddCommand, Lines, data_arguments, data_pairs


def _new_service(args: argparse.Namespace) -> Lines:
    from hooks.scaffold.newservice import new_service

    yield from new_service(Path.cwd(), args.name, ref=args.ref, data=data_pairs(args))


def _python_names(args: argparse.Namespace) -> Lines:
    from hooks.scaffold.pythonnames import DATA_FILE, render_data_file

    DATA_FILE.write_text(render_data_file())
    yield f"wrote {DATA_FILE}"


def register(add: AddCommand) -> None:
    new = add("new-service", _new_service, "generate services/<name> from the template")
    new.add_argument("name")
    new.add_argument("--ref", default="", help="template version (default: latest release)")
    data_arguments(new)
    add("python-names", _python_names, "regenerate the module names a service may not take")
