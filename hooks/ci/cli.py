"""Commands CI runs (docs/ci.md): what changed, images, the e2e run, rollout pull requests."""

import argparse
import json
import os
from pathlib import Path

from hooks.cli import AddCommand, Lines, exec_command
from hooks.errors import HookError

TILT_MISSING = "tilt is not installed: make ci-tools installs CI's pinned one (docs/ci.md)"


def _changed(args: argparse.Namespace) -> Lines:
    from hooks.ci.changed import changed

    found = changed(Path.cwd(), args.base).as_json()
    if args.output:  # key=value lines, as GitHub's $GITHUB_OUTPUT reads them
        with open(args.output, "a") as output:
            output.write(f"changes={json.dumps(found)}\n")
            output.write(f"services={json.dumps(found['services'])}\n")
            output.write(f"platform={json.dumps(found['platform'])}\n")
    yield json.dumps(found, indent=2)


def _image(args: argparse.Namespace) -> Lines:
    from hooks.ci.image import build

    yield from build(Path.cwd(), args.name)


def _image_scan(args: argparse.Namespace) -> Lines:
    from hooks.ci.image import scan

    yield from scan(Path.cwd(), args.name)


def _image_push(args: argparse.Namespace) -> Lines:
    from hooks.ci.image import push

    yield from push(Path.cwd(), args.name, args.summary)


def _ci_tools(args: argparse.Namespace) -> Lines:
    from hooks.ci.tools import install

    yield from install(Path.cwd())


def _tilt_ci(args: argparse.Namespace) -> Lines:
    """tilt ci over the services named, in the cluster `make cluster` made (or one named)."""
    from hooks.core.services import find_services
    from hooks.core.settings import kube_context, load_settings
    from hooks.env.localfiles import sync_every_service

    repo, names = Path.cwd(), args.services.split()
    if not names:
        raise HookError(
            'make tilt-ci needs services="a b", the services to run (make changed lists them)'
        )
    find_services(repo, names)
    settings = load_settings(repo)
    context = kube_context(settings, args.cluster or "k3d", args.context)
    yield from sync_every_service(repo)
    os.environ["PLATFORM_KUBE_CONTEXT"] = context  # the root Tiltfile's guard admits it
    port = os.environ.get("TILT_PORT") or str(settings["tilt"]["ui_port"])
    yield f"tilt ci in {context}: {' '.join(names)}"
    command = ["tilt", "ci", "--context", context, "--port", port, "--timeout", args.timeout]
    yield from exec_command([*command, "--", *names], TILT_MISSING)


def _rollout_branch(args: argparse.Namespace) -> Lines:
    from hooks.ci.rolloutbranch import rollout_branch

    yield from rollout_branch(Path.cwd(), args.version, args.remote)


def _rollout_pr(args: argparse.Namespace) -> Lines:
    from hooks.ci.pullrequest import open_or_update

    if not args.version:
        raise HookError("make rollout-pr needs version=vX.Y.Z, the release rolled out")
    yield from open_or_update(Path.cwd(), args.version)


def register(add: AddCommand) -> None:
    changed = add("changed", _changed, "the services a change touches since --base, as JSON")
    changed.add_argument("--base", default="", help="the commit to compare HEAD with")
    changed.add_argument("--output", default="", help="also append key=value lines to this file")
    add("image", _image, "build a service's runtime image, tagged with the commit").add_argument(
        "--name", default=""
    )
    scan = add("image-scan", _image_scan, "trivy: no fixable HIGH/CRITICAL vulnerability in it")
    scan.add_argument("--name", default="")
    push = add("image-push", _image_push, "push a scanned image; print its digest")
    push.add_argument("--name", default="")
    push.add_argument("--summary", default="", help="a Markdown file to add the digest to")
    add("ci-tools", _ci_tools, "install CI's pinned k3d, ctlptl and tilt, sha256-checked")
    e2e = add("tilt-ci", _tilt_ci, "tilt ci over some services in a cluster")
    e2e.add_argument("--services", default="")
    e2e.add_argument("--cluster", default="")
    e2e.add_argument("--context", default="")
    e2e.add_argument("--timeout", default="15m")
    branch = add("rollout-branch", _rollout_branch, "roll a release out on a branch, pushed")
    branch.add_argument("--version", default="")
    branch.add_argument("--remote", default="origin")
    add("rollout-pr", _rollout_pr, "open or update the rollout's pull request").add_argument(
        "--version", default=""
    )
