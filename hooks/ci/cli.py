"""Commands CI runs (docs/ci.md): what changed, images, the e2e run, rollout pull requests."""

import argparse
import json
from pathlib import Path

from hooks.cli import AddCommand, Lines


def _changed(args: argparse.Namespace) -> Lines:
    from hooks.ci.changed import changed

    found = changed(Path.cwd(), args.base).as_json()
    if args.output:  # key=value lines, as GitHub's $GITHUB_OUTPUT (and a dotenv file) read
        with open(args.output, "a") as output:
            output.write(f"changes={json.dumps(found)}\n")
            output.write(f"services={json.dumps(found['services'])}\n")
            output.write(f"platform={json.dumps(found['platform'])}\n")
    yield json.dumps(found, indent=2)


def register(add: AddCommand) -> None:
    changed = add("changed", _changed, "the services a change touches since --base, as JSON")
    changed.add_argument("--base", default="", help="the commit to compare HEAD with")
    changed.add_argument("--output", default="", help="also append key=value lines to this file")
