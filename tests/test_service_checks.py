"""A generated service passes its own checks out of the box, through its own Makefile."""

from pathlib import Path

from tests.helpers import service_make


def test_the_services_own_tests_pass(service: Path) -> None:
    result = service_make(service, "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_ruff_is_clean(service: Path) -> None:
    result = service_make(service, "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed!" in result.stdout and "already formatted" in result.stdout
