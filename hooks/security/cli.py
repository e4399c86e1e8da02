"""`make scan`: the policy scanners and the committed-secret scan."""

import argparse
from pathlib import Path

from hooks.cli import AddCommand, Lines
from hooks.errors import HookError


def _scan(args: argparse.Namespace) -> Lines:
    from hooks.core.services import generated_services
    from hooks.security.scan import scan
    from hooks.security.secrets import scan_secrets

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


def register(add: AddCommand) -> None:
    add("scan", _scan, "policy scanners over the services and platform, and the secret scan")
