"""Commands that move services between template versions: update, releases, pins."""

import argparse
from pathlib import Path

from hooks.cli import AddCommand, Lines, data_arguments, data_pairs
from hooks.errors import HookError


def _update(args: argparse.Namespace) -> Lines:
    from hooks.core.questions import parse_data
    from hooks.update.rollout import rollout, table

    changes = parse_data(Path.cwd(), data_pairs(args))
    outcomes = yield from rollout(Path.cwd(), args.name, args.ref, changes)
    yield table(outcomes)
    if not all(outcome.ok for outcome in outcomes):
        raise HookError("not every service was updated (see the table above)")


def _update_check(args: argparse.Namespace) -> Lines:
    from hooks.update.rollout import behind

    late = behind(Path.cwd())
    for name, recorded, latest in late:
        yield f"{name}: {recorded} -> {latest} available"
    if late:
        raise HookError(f"{len(late)} service(s) behind the latest template; run: make update")
    yield "every service is on the latest template release"


def _release(args: argparse.Namespace) -> Lines:
    from hooks.update.release import release

    yield release(Path.cwd(), args.version)


def _migrate(args: argparse.Namespace) -> Lines:
    import yaml

    from hooks.update.carry import carry
    from hooks.update.migrations import apply_renames, pending_carries

    declarations = Path(args.declarations)
    carries = pending_carries(yaml.safe_load(declarations.read_text()), args.old, args.new)
    if args.stage == "before":
        yield from carry(Path.cwd(), carries, "before")
        yield from apply_renames(Path.cwd(), declarations, args.old, args.new)
    else:
        yield from carry(Path.cwd(), carries, "after")


def _lock(args: argparse.Namespace) -> Lines:
    from hooks.core.answers import read_answers
    from hooks.core.services import find_service
    from hooks.update.pins import compile_service_locks, compile_template_locks

    if args.name:
        service = find_service(Path.cwd(), args.name, "lock")
        written = compile_service_locks(service, str(read_answers(service)["python_version"]))
    else:
        written = compile_template_locks(Path.cwd())
    yield from (f"wrote {path}" for path in written)


def _release_image(args: argparse.Namespace) -> Lines:
    from hooks.core.answers import read_answers
    from hooks.core.services import find_service
    from hooks.update.releaseimage import write_release

    service = find_service(Path.cwd(), args.name, "release-image")
    name = str(read_answers(service)["service_name"])
    path = write_release(service, name, args.image, args.version)
    yield f"wrote {path.relative_to(Path.cwd())}: review and commit it; prod deploys {args.image}"


def register(add: AddCommand) -> None:
    update = add("update", _update, "update every service, or one, through copier: then a table")
    update.add_argument("--name", default="")
    update.add_argument("--ref", default="", help="default: latest release; HEAD: unreleased")
    data_arguments(update)
    add("update-check", _update_check, "list services behind the latest release")
    add("release", _release, "tag a template version").add_argument("version")
    image = add("release-image", _release_image, "record a service's released image and version")
    for argument in ("--name", "--image", "--version"):
        image.add_argument(argument, default="")
    migrate = add("migrate", _migrate, "copier migration: apply the declared renames")
    for argument in ("declarations", "old", "new"):
        migrate.add_argument(argument)
    migrate.add_argument("--stage", choices=["before", "after"], default="before")
    lock = add("lock", _lock, "re-lock the template's dependencies, or a service's")
    lock.add_argument("--name", default="", help="a service: re-lock it from its own pins")
