"""Local env files: each service's .env.development and .env.test start as .env.example.

The service's own Makefile makes them (its rule is their one home, and works in a
repository of its own); the platform asks it to, and reports drift from .env.example.
"""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from hooks.core.services import generated_services
from hooks.env.parser import read_env
from hooks.errors import HookError

LOCAL_ENV_FILES = (".env.development", ".env.test")


def sync_local_env_files(service_dir: Path) -> list[str]:
    """Create missing local env files from .env.example (never overwrite); report drift.

    Returns one line per file created and per key missing on either side.
    """
    example_path = service_dir / ".env.example"
    if not example_path.is_file():
        return []
    example = read_env(example_path, example=True)
    missing_files = [name for name in LOCAL_ENV_FILES if not (service_dir / name).exists()]
    if missing_files:
        _make(service_dir, missing_files)
    report = [f"created {service_dir / name} from .env.example" for name in missing_files]
    for name in LOCAL_ENV_FILES:
        target = service_dir / name
        if name in missing_files:
            continue
        local = read_env(target)
        missing = [key for key in example.entries if key not in local.entries]
        extra = [key for key in local.entries if key not in example.entries]
        if missing:
            report.append(f"{target}: missing {', '.join(missing)} (copy from .env.example)")
        if extra:
            report.append(
                f"{target}: {', '.join(extra)} not in .env.example (document it there, or drop it)"
            )
    return report


def _make(service_dir: Path, targets: list[str]) -> None:
    """The service's own make targets, without the variables of a make that runs us."""
    inherited = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    made = subprocess.run(
        ["make", "--no-print-directory", "-C", str(service_dir), *targets],
        env={k: v for k, v in os.environ.items() if k not in inherited},
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode:
        raise HookError(
            f"{service_dir}: make {' '.join(targets)} failed ({made.stderr.strip()[-300:]}); "
            "a service without a Makefile gets one from the template: make update"
        )


def sync_every_service(repo: Path) -> Iterator[str]:
    """Each service's missing local env files created, drift reported (make env, make dev)."""
    services, broken = generated_services(repo), []
    for service in services:
        try:
            yield from sync_local_env_files(service)
        except HookError as error:  # report it, and still serve the other services
            broken.append(str(error))
    if broken:
        raise HookError("\n".join([*broken, "fix the lines above (docs/environment.md)"]))
    yield f"local env files present for {len(services)} service(s)"
