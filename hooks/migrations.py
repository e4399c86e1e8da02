"""Copier `before` migration: apply the renames template releases declare in migrations.yml."""

import subprocess
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from hooks.errors import HookError


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def pending_renames(declared: dict[str, Any], old: str, new: str) -> list[tuple[str, str]]:
    """Renames of every release in (old, new], oldest first. An unknown `new` means HEAD."""
    start, end = _version(old), _version(new)
    renames = []
    for release in sorted(declared.get("releases") or [], key=lambda r: Version(str(r["version"]))):
        version = Version(str(release["version"]))
        if (start is None or version > start) and (end is None or version <= end):
            renames += list(release["renames"].items())
    return renames


def apply_renames(service_dir: Path, declarations: Path, old: str, new: str) -> list[str]:
    """`git mv` each pending rename whose old path still exists; report what was done."""
    answers = yaml.safe_load((service_dir / ".copier-answers.yml").read_text())
    report = []
    for source, target in pending_renames(yaml.safe_load(declarations.read_text()), old, new):
        source, target = source.format(**answers), target.format(**answers)
        if not (service_dir / source).exists():
            report.append(f"skip {source}: not in this service")
        elif (service_dir / target).exists():
            report.append(f"skip {source}: {target} already exists")
        else:
            (service_dir / target).parent.mkdir(parents=True, exist_ok=True)
            moved = subprocess.run(
                ["git", "mv", source, target],
                cwd=service_dir,
                capture_output=True,
                text=True,
                check=False,
            )
            if moved.returncode:
                raise HookError(f"git mv {source} {target}: {moved.stderr.strip()}")
            report.append(f"renamed {source} -> {target}")
    return report
