"""A generated service passes its own checks out of the box, in its own venv."""

import subprocess
from pathlib import Path


def run_in(service: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=service, capture_output=True, text=True, check=False)


def test_the_services_own_tests_pass(service: Path, service_python: Path) -> None:
    result = run_in(service, str(service_python), "-m", "pytest", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_ruff_is_clean(service: Path, service_python: Path) -> None:
    ruff = str(service_python.with_name("ruff"))
    lint = run_in(service, ruff, "check", "--no-cache", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatting = run_in(service, ruff, "format", "--check", "--no-cache", ".")
    assert formatting.returncode == 0, formatting.stdout + formatting.stderr
