"""`make lock`: re-pin the template's hash-locked dependencies from its pyproject."""

import subprocess
import sys
import tempfile
from pathlib import Path

import copier

LOCKS = {"requirements.lock": [], "requirements-dev.lock": ["--group", "dev"]}
OLDEST_PYTHON = "3.11"  # the oldest python_version choice; --universal covers the rest


def compile_locks(repo: Path) -> list[Path]:
    """Render pyproject.toml with default answers, then `uv pip compile` each lock."""
    uv = Path(sys.executable).with_name("uv")
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        service = Path(scratch) / "lock"
        copier.run_copy(
            str(repo),
            str(service),
            defaults=True,
            skip_tasks=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
        for name, extra in LOCKS.items():
            target = repo / "template" / name
            subprocess.run(
                [
                    str(uv),
                    "pip",
                    "compile",
                    "--quiet",
                    "--universal",
                    "--generate-hashes",
                    "--no-header",
                    "--no-annotate",
                    "--python-version",
                    OLDEST_PYTHON,
                    *extra,
                    "pyproject.toml",
                    "-o",
                    str(target),
                ],
                check=True,
                cwd=service,  # uv looks up --group in ./pyproject.toml
            )
            written.append(target)
    return written
