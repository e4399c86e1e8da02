"""What this repository would commit passes the platform's own gates: no secret, no
unaccepted scanner finding, the env conventions (make check; make scan shows the same)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hooks.core.services import generated_services
from hooks.security.scan import Finding, scan, under
from hooks.security.secrets import ALLOWLIST, scan_secrets, stale_allowlist_entries
from tests.support.helpers import REPO


def test_nothing_git_would_commit_holds_a_secret() -> None:
    assert [str(f) for f in scan_secrets(REPO)] == []


def test_every_allowlist_entry_names_its_paths_and_why_and_is_needed() -> None:
    for entry in yaml.safe_load((REPO / ALLOWLIST).read_text())["secrets"]:
        assert entry["paths"] and len(entry["statement"]) > 40, entry
    assert stale_allowlist_entries(REPO) == []


SERVICES = generated_services(REPO)


@pytest.fixture(scope="module")
def committed_findings() -> list[Finding]:
    """What `make scan`'s policy scanners report in this repository."""
    return scan(REPO, SERVICES)


def test_the_platform_manifests_pass_the_scanners(committed_findings: list[Finding]) -> None:
    assert [str(f) for f in under(committed_findings, "platform")] == []


@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
def test_each_committed_service_passes_the_scanners(
    service: Path, committed_findings: list[Finding]
) -> None:
    folder = service.relative_to(REPO).as_posix()
    assert [str(f) for f in under(committed_findings, folder)] == []


def test_this_repository_follows_the_env_conventions() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hooks", "env-check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
