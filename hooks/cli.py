"""Command line of the hooks package: `python -m hooks <command>`, one per Makefile target or
copier task.

Every command has one shape: a function of the parsed arguments that yields the lines to
print, as they come (so progress shows while work goes on), and raises HookError for what
the user must fix. `main` prints the lines, turns a HookError into one line on stderr and
exit status 1, and Ctrl-C or SIGTERM into one line and 130. The commands that hand over to
another program (tilt, make) replace this process and never return.
"""

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from hooks.errors import HookError
from hooks.local_run import ACTIONS, service_make
from hooks.settings import CREATED_CLUSTERS, EXISTING_CLUSTER, generated_services

Lines = Iterator[str]
# `make test` and `make lint` without a service name: this repository's own suite. The
# suite mostly waits (on git, copier, Docker, the cluster), so it runs one worker more than
# there are cores, a test module per worker: its fixtures, images and deployments stay in it.
# Modules start in collection order, longest first (LONGEST_FIRST in tests/helpers.py).
WORKERS = (os.cpu_count() or 1) + 1
PARALLEL = ["-n", str(WORKERS), "--dist", "loadfile", "--no-loadscope-reorder"]
SUITE_MARKERS = {"test": PARALLEL, "lint": ["-m", "lint"]}


def _env_files(args: argparse.Namespace) -> Lines:
    from hooks.env_local_files import sync_local_env_files

    yield from sync_local_env_files(Path(args.service_dir))


def _env(args: argparse.Namespace) -> Lines:
    from hooks.env_local_files import sync_local_env_files

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
    from hooks.env_checks import check_all

    problems = check_all(Path.cwd())
    yield from problems
    if problems:
        raise HookError(f"{len(problems)} env convention problem(s); see docs/environment.md")
    yield "env conventions hold in every service"


def _scan(args: argparse.Namespace) -> Lines:
    from hooks.scan import scan
    from hooks.secret_scan import scan_secrets

    repo = Path.cwd()
    services = generated_services(repo)
    findings = scan(repo, services)
    secrets = scan_secrets(repo)
    yield from map(str, [*findings, *secrets])
    if secrets:
        yield (
            "A secret: remove it from git (git rm --cached) and rotate it if it was ever pushed. "
            "Not a secret: list it in security/secret-allowlist.yaml with the reason."
        )
    if findings or secrets:
        raise HookError(f"{len(findings) + len(secrets)} finding(s); see docs/supply-chain.md")
    yield f"no finding in the platform, {len(services)} service(s) and what git would commit"


def _dev_manifests(args: argparse.Namespace) -> Lines:
    from hooks.devmanifests import render_dev_manifests

    yield render_dev_manifests(Path(args.service_dir)).rstrip("\n")


def _doctor(args: argparse.Namespace) -> Lines:
    from hooks.doctor import diagnose, report

    text, ready = report(diagnose(Path.cwd(), args.cluster, args.context))
    yield text
    if not ready:
        raise HookError("this machine is not ready for `make dev` (see above)")


def _cluster(args: argparse.Namespace) -> Lines:
    from hooks import cluster

    action = {"up": cluster.cluster_up, "down": cluster.cluster_down}[args.action]
    yield action(Path.cwd(), args.cluster, args.context)


def _cluster_config(args: argparse.Namespace) -> Lines:
    from hooks.cluster import render

    yield render(Path.cwd(), args.cluster).rstrip("\n")


def _tilt_plan(args: argparse.Namespace) -> Lines:
    from hooks.devloop import tilt_plan

    yield json.dumps(tilt_plan(Path.cwd(), args.services))


def _tilt(args: argparse.Namespace) -> Lines:
    from hooks.doctor import tilt_port
    from hooks.settings import kube_context, load_settings

    settings = load_settings(Path.cwd())
    context = kube_context(settings, args.cluster, args.context)
    command = ["tilt", "down", "--context", context]
    if args.action == "up":
        port = str(tilt_port(settings))
        command = ["tilt", "up", "--context", context, "--port", port, "--", *args.services.split()]
    # The root Tiltfile deploys only to the platform's cluster or to this explicit choice.
    os.environ["PLATFORM_KUBE_CONTEXT"] = context
    yield from _exec(command, "tilt is not installed; `make doctor` says how to install it")


def _local(args: argparse.Namespace) -> Lines:
    """make run|test|lint: one service with name=, else (test, lint) this repository's suite."""
    if not args.name and args.action in SUITE_MARKERS:
        pytest = [sys.executable, "-m", "pytest", *SUITE_MARKERS[args.action]]
        yield from _exec([*pytest, *shlex.split(args.args)], "")
    command, environment, said = service_make(Path.cwd(), args.action, args.name)
    yield from said
    os.environ.clear()
    os.environ.update(environment)
    yield from _exec(command, "make is not installed (GNU make runs each service's Makefile)")


def _exec(command: list[str], missing: str) -> Lines:
    """Hand the process over to `command` (what was printed so far is flushed first)."""
    sys.stdout.flush()
    try:
        os.execvp(command[0], command)
    except FileNotFoundError:
        raise HookError(missing) from None
    yield ""  # never reached: a generator like every command


def _update(args: argparse.Namespace) -> Lines:
    from hooks.rollout import rollout, table
    from hooks.scaffold import parse_data

    changes = parse_data(Path.cwd(), _data_pairs(args))
    outcomes = yield from rollout(Path.cwd(), args.name, args.ref, changes)
    yield table(outcomes)
    if not all(outcome.ok for outcome in outcomes):
        raise HookError("not every service was updated (see the table above)")


def _data_pairs(args: argparse.Namespace) -> list[str]:
    """KEY=VALUE answers given as --data, and as one make-style data="..." string."""
    try:
        return [*args.data, *shlex.split(args.data_list)]
    except ValueError as error:
        raise HookError(f"data={args.data_list!r} cannot be split into answers: {error}") from None


def _update_check(args: argparse.Namespace) -> Lines:
    from hooks.rollout import behind

    late = behind(Path.cwd())
    for name, recorded, latest in late:
        yield f"{name}: {recorded} -> {latest} available"
    if late:
        raise HookError(f"{len(late)} service(s) behind the latest template; run: make update")
    yield "every service is on the latest template release"


def _release(args: argparse.Namespace) -> Lines:
    from hooks.release import release

    yield release(Path.cwd(), args.version)


def _migrate(args: argparse.Namespace) -> Lines:
    from hooks.migrations import apply_renames

    yield from apply_renames(Path.cwd(), Path(args.declarations), args.old, args.new)


def _python_names(args: argparse.Namespace) -> Lines:
    from hooks.pythonnames import DATA_FILE, render_data_file

    DATA_FILE.write_text(render_data_file())
    yield f"wrote {DATA_FILE}"


def _lock(args: argparse.Namespace) -> Lines:
    from hooks.answers import read_answers
    from hooks.locks import compile_service_locks, compile_template_locks
    from hooks.rollout import services

    if args.name:
        [service] = services(Path.cwd(), args.name)
        written = compile_service_locks(service, str(read_answers(service)["python_version"]))
    else:
        written = compile_template_locks(Path.cwd())
    yield from (f"wrote {path}" for path in written)


def _new_service(args: argparse.Namespace) -> Lines:
    from hooks.scaffold import new_service

    yield new_service(Path.cwd(), args.name, ref=args.ref, data=_data_pairs(args))


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--data-list", default="", help="space-separated KEY=VALUE answers")


def _cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", default="k3d", choices=[*CREATED_CLUSTERS, EXISTING_CLUSTER])
    parser.add_argument("--context", default="", help="kube context (cluster=existing)")


Command = Callable[[argparse.Namespace], Lines]


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands, each with its own help line."""
    parser = argparse.ArgumentParser(prog="python -m hooks")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run: Command, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(run=run)
        return sub

    for name, run, summary in (
        ("env-files", _env_files, "create one service's missing local env files (copier task)"),
        ("dev-manifests", _dev_manifests, "what Tilt deploys for one service"),
    ):
        command(name, run, summary).add_argument("service_dir")
    command("env", _env, "create every service's missing local env files; report drift")
    command("env-check", _env_check, "env convention checks over every service")
    command("scan", _scan, "policy scanners over the services and platform, and the secret scan")
    _cluster_arguments(command("doctor", _doctor, "is this machine ready for make dev?"))
    cluster = command("cluster", _cluster, "create or delete the local cluster")
    cluster.add_argument("action", choices=["up", "down"])
    _cluster_arguments(cluster)
    config = command("cluster-config", _cluster_config, "print a cluster's ctlptl config")
    config.add_argument("--cluster", default="k3d", choices=CREATED_CLUSTERS)
    update = command(
        "update", _update, "update every service, or one, through copier: then a table"
    )
    update.add_argument("--name", default="")
    update.add_argument("--ref", default="", help="default: latest release; HEAD: unreleased")
    _data_arguments(update)
    command("update-check", _update_check, "list services behind the latest release")
    command("release", _release, "tag a template version").add_argument("version")
    migrate = command("migrate", _migrate, "copier migration: apply the declared renames")
    for argument in ("declarations", "old", "new"):
        migrate.add_argument(argument)
    tilt = command("tilt", _tilt, "tilt up [services] / tilt down, in the cluster's context")
    tilt.add_argument("action", choices=["up", "down"])
    tilt.add_argument("--services", default="", help="space-separated names (default: all)")
    _cluster_arguments(tilt)
    plan = command("tilt-plan", _tilt_plan, "JSON of what the root Tiltfile deploys")
    plan.add_argument("services", nargs="*", help="services to run (default: all)")
    command("python-names", _python_names, "regenerate the module names a service may not take")
    lock = command("lock", _lock, "re-lock the template's dependencies, or a service's")
    lock.add_argument("--name", default="", help="a service: re-lock it from its own pins")
    local = command("local", _local, "run, test or lint one service here, no cluster")
    local.add_argument("action", choices=ACTIONS)
    local.add_argument("--name", default="", help="the service (test, lint: default the suite)")
    local.add_argument("--args", default="", help="pytest arguments of the suite")
    new = command("new-service", _new_service, "generate services/<name> from the template")
    new.add_argument("name")
    new.add_argument("--ref", default="", help="template version (default: latest release)")
    _data_arguments(new)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command, printing its lines as they come."""
    args = build_parser().parse_args(argv)
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
