"""`make env`: local env files from .env.example, never overwritten, drift reported."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hooks.env.localfiles import sync_local_env_files
from tests.support.helpers import repo_with_services


@pytest.fixture
def service(tmp_path: Path, rendered_services: dict[str, Path]) -> Path:
    copy = tmp_path / "svc"
    shutil.copytree(rendered_services["defaults"], copy)
    for name in (".env.development", ".env.test"):
        (copy / name).unlink()
    return copy


def snapshot(service: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(service.glob(".env*"))}


def test_first_run_creates_both_files_private(service: Path) -> None:
    report = sync_local_env_files(service)
    assert len(report) == 2 and all(line.startswith("created ") for line in report)
    example = (service / ".env.example").read_text()
    for name in (".env.development", ".env.test"):
        assert (service / name).read_text() == example
        assert (service / name).stat().st_mode & 0o777 == 0o600


def test_a_second_run_changes_nothing(service: Path) -> None:
    sync_local_env_files(service)
    before = snapshot(service)
    assert sync_local_env_files(service) == []
    assert snapshot(service) == before


def test_an_existing_file_is_never_overwritten_and_drift_is_reported(service: Path) -> None:
    sync_local_env_files(service)
    local = service / ".env.development"
    local.write_text("PORT=9999\nLOCAL_ONLY=1\n")
    report = sync_local_env_files(service)
    assert local.read_text() == "PORT=9999\nLOCAL_ONLY=1\n"
    assert any(
        "missing LOG_LEVEL, SHUTDOWN_TIMEOUT_SECONDS, MAX_REQUEST_BODY_BYTES, UPSTREAM_API_TOKEN"
        in line
        for line in report
    )
    assert any("LOCAL_ONLY not in .env.example" in line for line in report)


def test_make_env_reports_a_broken_service_and_still_serves_the_others(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": [], "beta": []})
    for name in (".env.development", ".env.test"):
        (repo / "services" / "beta" / name).unlink()
    local = repo / "services" / "alpha" / ".env.development"
    local.write_text("#@secret\n" + local.read_text())
    result = subprocess.run(
        [sys.executable, "-m", "hooks", "env"], cwd=repo, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "services/alpha/.env.development:1: this comment looks like" in result.stderr
    assert (repo / "services" / "beta" / ".env.development").exists()
