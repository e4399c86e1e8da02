"""A generated service passes its own checks out of the box, through its own Makefile."""

from pathlib import Path

from tests.support.helpers import make_in_service


def test_the_services_own_tests_pass(service: Path) -> None:
    result = make_in_service(service, "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_ruff_is_clean(service: Path) -> None:
    result = make_in_service(service, "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed!" in result.stdout and "already formatted" in result.stdout
