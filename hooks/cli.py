"""Command line of the hooks package: argument parsing and the one error handler."""

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from hooks.env_local_files import sync_local_env_files
from hooks.errors import HookError
from hooks.local_run import ACTIONS, service_make
from hooks.pythonnames import DATA_FILE, render_data_file
from hooks.settings import CREATED_CLUSTERS, EXISTING_CLUSTER, generated_services


def _env_files(args: argparse.Namespace) -> None:
    for line in sync_local_env_files(Path(args.service_dir)):
        print(line)


def _env_all(args: argparse.Namespace) -> None:
    services, broken = generated_services(Path.cwd()), []
    for service in services:
        try:
            _env_files(argparse.Namespace(service_dir=str(service)))
        except HookError as error:  # report it, and still serve the other services
            broken.append(str(error))
    if broken:
        raise HookError("\n".join([*broken, "fix the lines above (docs/environment.md)"]))
    print(f"local env files present for {len(services)} service(s)")


def _env_check(args: argparse.Namespace) -> None:
    from hooks.env_checks import check_all

    problems = check_all(Path.cwd())
    for problem in problems:
        print(problem)
    if problems:
        raise HookError(f"{len(problems)} env convention problem(s); see docs/environment.md")
    print("env conventions hold in every service")


def _scan(args: argparse.Namespace) -> None:
    from hooks.scan import scan_platform, scan_service
    from hooks.secret_scan import scan_secrets

    repo = Path.cwd()
    services = generated_services(repo)
    findings = scan_platform(repo)
    for service in services:
        findings += scan_service(repo, service)
    secrets = scan_secrets(repo)
    for finding in [*findings, *secrets]:
        print(finding)
    if secrets:
        print(
            "A secret: remove it from git (git rm --cached) and rotate it if it was ever pushed. "
            "Not a secret: list it in security/secret-allowlist.yaml with the reason."
        )
    if findings or secrets:
        raise HookError(f"{len(findings) + len(secrets)} finding(s); see docs/supply-chain.md")
    print(f"no finding in the platform, {len(services)} service(s) and what git would commit")


def _dev_manifests(args: argparse.Namespace) -> None:
    from hooks.devmanifests import render_dev_manifests

    print(render_dev_manifests(Path(args.service_dir)), end="")


def _doctor(args: argparse.Namespace) -> None:
    from hooks.doctor import diagnose, report

    text, ready = report(diagnose(Path.cwd(), args.cluster, args.context))
    print(text)
    if not ready:
        raise HookError("this machine is not ready for `make dev` (see above)")


def _cluster(args: argparse.Namespace) -> None:
    from hooks import cluster

    action = {"up": cluster.cluster_up, "down": cluster.cluster_down}[args.action]
    print(action(Path.cwd(), args.cluster, args.context))


def _cluster_config(args: argparse.Namespace) -> None:
    from hooks.cluster import render

    print(render(Path.cwd(), args.cluster), end="")


def _tilt_plan(args: argparse.Namespace) -> None:
    import json

    from hooks.devloop import tilt_plan

    print(json.dumps(tilt_plan(Path.cwd(), args.services)))


def _tilt(args: argparse.Namespace) -> None:
    import os

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
    try:
        os.execvp(command[0], command)
    except FileNotFoundError:
        raise HookError("tilt is not installed; `make doctor` says how to install it") from None


def _local(args: argparse.Namespace) -> None:
    """make run|test|lint: one service with name=, else (test, lint) this repository's suite."""
    import os

    if not args.name and args.action in SUITE_MARKERS:
        pytest = [sys.executable, "-m", "pytest", *SUITE_MARKERS[args.action]]
        os.execv(sys.executable, [*pytest, *shlex.split(args.args)])
    command, environment = service_make(Path.cwd(), args.action, args.name)
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, environment)
    except FileNotFoundError:
        raise HookError("make is not installed (GNU make runs each service's Makefile)") from None


# `make test` and `make lint` without a service name: this repository's own suite.
SUITE_MARKERS = {"test": [], "lint": ["-m", "lint"]}


def _update(args: argparse.Namespace) -> None:
    from hooks.rollout import run
    from hooks.scaffold import parse_data

    changes = parse_data(Path.cwd(), _data_pairs(args))
    if not run(Path.cwd(), args.name, args.ref, changes):
        raise HookError("not every service was updated (see the table above)")


def _data_pairs(args: argparse.Namespace) -> list[str]:
    """KEY=VALUE answers given as --data, and as one make-style data="..." string."""
    try:
        return [*args.data, *shlex.split(args.data_list)]
    except ValueError as error:
        raise HookError(f"data={args.data_list!r} cannot be split into answers: {error}") from None


def _update_check(args: argparse.Namespace) -> None:
    from hooks.rollout import behind

    late = behind(Path.cwd())
    for name, recorded, latest in late:
        print(f"{name}: {recorded} -> {latest} available")
    if late:
        raise HookError(f"{len(late)} service(s) behind the latest template; run: make update")
    print("every service is on the latest template release")


def _release(args: argparse.Namespace) -> None:
    from hooks.release import release

    print(release(Path.cwd(), args.version))


def _migrate(args: argparse.Namespace) -> None:
    from hooks.migrations import apply_renames

    for line in apply_renames(Path.cwd(), Path(args.declarations), args.old, args.new):
        print(line)


def _engine(args: argparse.Namespace) -> None:
    from hooks import engine
    from hooks.settings import load_settings

    print(engine.ensure_engine(Path(".cache") / "dockerd.log"))
    for version, image in load_settings(Path.cwd())["python_images"].items():
        _, how = engine.ensure_base_image(image, version)
        print(f"{image}: {how}")


def _python_names(args: argparse.Namespace) -> None:
    DATA_FILE.write_text(render_data_file())
    print(f"wrote {DATA_FILE}")


def _lock(args: argparse.Namespace) -> None:
    from hooks.answers import read_answers
    from hooks.locks import compile_service_locks, compile_template_locks
    from hooks.rollout import services

    if args.name:
        [service] = services(Path.cwd(), args.name)
        written = compile_service_locks(service, str(read_answers(service)["python_version"]))
    else:
        written = compile_template_locks(Path.cwd())
    for path in written:
        print(f"wrote {path}")


def _new_service(args: argparse.Namespace) -> None:
    from hooks.scaffold import new_service

    new_service(Path.cwd(), args.name, ref=args.ref, data=_data_pairs(args))


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--data-list", default="", help="space-separated KEY=VALUE answers")


def _cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", default="k3d", choices=[*CREATED_CLUSTERS, EXISTING_CLUSTER])
    parser.add_argument("--context", default="", help="kube context (cluster=existing)")


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands, one per Makefile target or copier task."""
    parser = argparse.ArgumentParser(prog="python -m hooks")
    commands = parser.add_subparsers(dest="command", required=True)
    env = commands.add_parser("env-files", help="create missing local env files")
    env.add_argument("service_dir")
    env.set_defaults(run=_env_files)
    env_all = commands.add_parser("env", help="create missing local env files of every service")
    env_all.set_defaults(run=_env_all)
    check = commands.add_parser("env-check", help="env drift checks over every service")
    check.set_defaults(run=_env_check)
    commands.add_parser(
        "scan", help="policy scanners over every service and the platform, and the secret scan"
    ).set_defaults(run=_scan)
    manifests = commands.add_parser("dev-manifests", help="what Tilt deploys for a service")
    manifests.add_argument("service_dir")
    manifests.set_defaults(run=_dev_manifests)
    doctor = commands.add_parser("doctor", help="check this machine is ready for make dev")
    _cluster_arguments(doctor)
    doctor.set_defaults(run=_doctor)
    cluster = commands.add_parser("cluster", help="create/delete the local cluster")
    cluster.add_argument("action", choices=["up", "down"])
    _cluster_arguments(cluster)
    cluster.set_defaults(run=_cluster)
    config = commands.add_parser("cluster-config", help="print the ctlptl config of a cluster")
    config.add_argument("--cluster", default="k3d", choices=CREATED_CLUSTERS)
    config.set_defaults(run=_cluster_config)
    update = commands.add_parser("update", help="copier update every service, or one")
    update.add_argument("--name", default="")
    update.add_argument("--ref", default="", help="default: latest release; HEAD: unreleased")
    _data_arguments(update)
    update.set_defaults(run=_update)
    commands.add_parser("update-check", help="services behind the latest release").set_defaults(
        run=_update_check
    )
    release = commands.add_parser("release", help="tag a template version")
    release.add_argument("version")
    release.set_defaults(run=_release)
    migrate = commands.add_parser("migrate", help="copier migration: apply declared renames")
    migrate.add_argument("declarations")
    migrate.add_argument("old")
    migrate.add_argument("new")
    migrate.set_defaults(run=_migrate)
    tilt = commands.add_parser("tilt", help="tilt up [services] / tilt down")
    tilt.add_argument("action", choices=["up", "down"])
    tilt.add_argument("--services", default="", help="space-separated names (default: all)")
    _cluster_arguments(tilt)
    tilt.set_defaults(run=_tilt)
    plan = commands.add_parser("tilt-plan", help="JSON of what the root Tiltfile deploys")
    plan.add_argument("services", nargs="*", help="services to run (default: all)")
    plan.set_defaults(run=_tilt_plan)
    commands.add_parser("engine", help="a Docker engine and base images").set_defaults(run=_engine)
    names = commands.add_parser("python-names", help="regenerate the reserved module names")
    names.set_defaults(run=_python_names)
    lock = commands.add_parser("lock", help="re-lock the template's dependencies, or a service's")
    lock.add_argument("--name", default="", help="a service: re-lock it from its own pins")
    lock.set_defaults(run=_lock)
    local = commands.add_parser("local", help="run, test or lint one service here, no cluster")
    local.add_argument("action", choices=ACTIONS)
    local.add_argument("--name", default="", help="the service (test, lint: default the suite)")
    local.add_argument("--args", default="", help="pytest arguments of the suite")
    local.set_defaults(run=_local)
    new = commands.add_parser("new-service", help="generate services/<name> from the template")
    new.add_argument("name")
    new.add_argument("--ref", default="", help="template version (default: latest release)")
    _data_arguments(new)
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
    except KeyboardInterrupt:
        print("interrupted: nothing half-done was left behind", file=sys.stderr)
        return 130
    return 0
