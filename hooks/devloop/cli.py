"""Commands of the dev loop: this machine (run, test, lint), the cluster and Tilt."""

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hooks.cli import AddCommand, Lines, exec_command
from hooks.core.settings import CREATED_CLUSTERS, EXISTING_CLUSTER, kube_context, load_settings
from hooks.errors import HookError

if TYPE_CHECKING:
    from hooks.devloop.started import Started

TILT_MISSING = "tilt is not installed; `make doctor` says how to install it"

# `make test` and `make lint` without a service name: this repository's own suite. The
# suite mostly waits (on git, copier, Docker, the cluster), so it runs one worker more than
# there are cores, a test module per worker: its fixtures, images and deployments stay in it.
# Modules start in collection order, longest first (LONGEST_FIRST in tests/support/helpers.py).
WORKERS = (os.cpu_count() or 1) + 1
PARALLEL = ["-n", str(WORKERS), "--dist", "loadfile", "--no-loadscope-reorder"]
SUITE_MARKERS = {"test": PARALLEL, "lint": ["-m", "lint"], "check": ["-m", "check"]}


def _dev_manifests(args: argparse.Namespace) -> Lines:
    from hooks.devloop.manifests import render_dev_manifests

    yield render_dev_manifests(Path(args.service_dir)).rstrip("\n")


def _doctor(args: argparse.Namespace) -> Lines:
    from hooks.devloop.doctor import diagnose, report

    text, ready = report(diagnose(Path.cwd(), args.cluster, args.context))
    yield text
    if not ready:
        raise HookError("this machine is not ready for `make dev` (see above)")


def _cluster(args: argparse.Namespace) -> Lines:
    from hooks.devloop import cluster

    action = {"up": cluster.cluster_up, "down": cluster.cluster_down}[args.action]
    yield action(Path.cwd(), args.cluster, args.context)


def _cluster_config(args: argparse.Namespace) -> Lines:
    from hooks.devloop.cluster import render

    yield render(Path.cwd(), args.cluster).rstrip("\n")


def _tilt_plan(args: argparse.Namespace) -> Lines:
    from hooks.devloop.plan import tilt_plan

    yield json.dumps(tilt_plan(Path.cwd(), args.services))


def _dev(args: argparse.Namespace) -> Lines:
    """make dev: doctor, cluster, env files, then Tilt, in one process."""
    from hooks.devloop import cluster
    from hooks.devloop.doctor import diagnose, report, tilt_port
    from hooks.devloop.started import Started, remember
    from hooks.env.localfiles import sync_every_service

    repo = Path.cwd()
    product = args.cluster or "k3d"
    text, ready = report(diagnose(repo, product, args.context))
    yield text
    if not ready:
        raise HookError("this machine is not ready for `make dev` (see above)")
    yield cluster.cluster_up(repo, product, args.context)
    yield from sync_every_service(repo)
    settings = load_settings(repo)
    started = Started(product, kube_context(settings, product, args.context), tilt_port(settings))
    remember(repo, started)
    yield from _tilt_up(started, args.services.split())


def _tilt_up(started: "Started", services: list[str]) -> Lines:
    # The root Tiltfile deploys only to the platform's cluster or to this explicit choice.
    os.environ["PLATFORM_KUBE_CONTEXT"] = started.context
    command = ["tilt", "up", "--context", started.context, "--port", str(started.port)]
    yield from exec_command([*command, "--", *services], TILT_MISSING)


def _down(args: argparse.Namespace) -> Lines:
    """make down: stop what the last `make dev` here started (or the cluster named)."""
    from hooks.devloop.started import chosen

    started = chosen(Path.cwd(), args.cluster, args.context, "down")
    yield f"stopping Tilt's resources in {started.context} (the cluster keeps running)"
    os.environ["PLATFORM_KUBE_CONTEXT"] = started.context
    yield from exec_command(["tilt", "down", "--context", started.context], TILT_MISSING)


def _logs(args: argparse.Namespace) -> Lines:
    """make logs name=X: Tilt's log stream of the service while Tilt runs, else kubectl's."""
    from hooks.core.answers import read_answers
    from hooks.core.kube import KUBECTL
    from hooks.core.services import find_service
    from hooks.devloop.started import chosen

    service = find_service(Path.cwd(), args.name, "logs")
    started = chosen(Path.cwd(), args.cluster, args.context, "logs")
    port = ["--port", str(started.port)]
    try:
        running = subprocess.run(
            ["tilt", "get", f"uiresource/{service.name}", *port],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        running = None
    if running is not None and running.returncode == 0:
        yield from exec_command(["tilt", "logs", "--follow", service.name, *port], TILT_MISSING)
    namespace = str(read_answers(service)["namespace"])
    yield f"Tilt is not running {service.name}: kubectl's logs from {started.context}"
    command = [KUBECTL, "--context", started.context, "-n", namespace, "logs", "--follow"]
    yield from exec_command(
        [*command, "--all-containers", "--prefix", f"deployment/{service.name}"], ""
    )


def _local(args: argparse.Namespace) -> Lines:
    """make run|test|lint: one service with name=, else (test, lint) this repository's suite."""
    from hooks.devloop.localrun import service_make

    if args.action == "check":  # first undo an update a kill cut short (core/journal)
        from hooks.core.session import exclusive

        with exclusive(Path.cwd(), "make check") as session:
            yield from session.recovered
    if args.action == "check" or (not args.name and args.action in SUITE_MARKERS):
        pytest = [sys.executable, "-m", "pytest", *SUITE_MARKERS[args.action]]
        yield from exec_command([*pytest, *shlex.split(args.args)], "")
    command, environment, said = service_make(Path.cwd(), args.action, args.name)
    yield from said
    os.environ.clear()
    os.environ.update(environment)
    yield from exec_command(
        command, "make is not installed (GNU make runs each service's Makefile)"
    )


def cluster_arguments(parser: argparse.ArgumentParser, default: str = "k3d") -> None:
    choices = [*CREATED_CLUSTERS, EXISTING_CLUSTER, *([""] if not default else [])]
    parser.add_argument("--cluster", default=default, choices=choices, type=lambda v: v or default)
    parser.add_argument("--context", default="", help="kube context (cluster=existing)")


def register(add: AddCommand) -> None:
    from hooks.devloop.localrun import ACTIONS

    add("dev-manifests", _dev_manifests, "what Tilt deploys for one service").add_argument(
        "service_dir"
    )
    cluster_arguments(add("doctor", _doctor, "is this machine ready for make dev?"))
    cluster = add("cluster", _cluster, "create or delete the local cluster")
    cluster.add_argument("action", choices=["up", "down"])
    cluster_arguments(cluster)
    config = add("cluster-config", _cluster_config, "print a cluster's ctlptl config")
    config.add_argument("--cluster", default="k3d", choices=CREATED_CLUSTERS)
    dev = add("dev", _dev, "doctor, cluster, env files, then tilt up [services]")
    dev.add_argument("--services", default="", help="space-separated names (default: all)")
    cluster_arguments(dev, default="")
    cluster_arguments(add("down", _down, "tilt down where the last make dev ran"), default="")
    logs = add("logs", _logs, "follow one service's logs: Tilt's, else kubectl's")
    logs.add_argument("--name", default="")
    cluster_arguments(logs, default="")
    plan = add("tilt-plan", _tilt_plan, "JSON of what the root Tiltfile deploys")
    plan.add_argument("services", nargs="*", help="services to run (default: all)")
    local = add("local", _local, "run, test or lint one service here, no cluster")
    local.add_argument("action", choices=[*ACTIONS, "check"])
    local.add_argument("--name", default="", help="the service (test, lint: default the suite)")
    local.add_argument("--args", default="", help="pytest arguments of the suite")
