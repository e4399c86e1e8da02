"""Copier `before` migration: apply the renames template releases declare in migrations.yml.

Copier applies a user's edits to the old path of a renamed file, then deletes that path:
the edit would be lost without a word. So before an update, each pending rename whose old
file the user edited is `git mv`ed, and copier merges the edit at the new path (a conflict
when the template changed the same lines). An unedited file is left to copier, which
replaces it cleanly. "Edited" means: not what the service's recorded template version
renders, which is rendered once, only when a rename is pending.
"""

import filecmp
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import copier
import yaml
from packaging.version import InvalidVersion, Version

from hooks.core.answers import read_answers
from hooks.errors import HookError


def _release(text: str) -> Version | None:
    """A release version; None for anything else (HEAD between releases, or unparseable)."""
    try:
        version = Version(text)
    except InvalidVersion:
        return None
    return None if version.is_devrelease or version.local else version


def pending_renames(declared: dict[str, Any], old: str, new: str) -> list[tuple[str, str]]:
    """Renames of every release after `old` up to `new`, oldest first (all, for HEAD)."""
    start, end = _release(old), _release(new)
    renames = []
    for release in sorted(declared.get("releases") or [], key=lambda r: Version(str(r["version"]))):
        version = Version(str(release["version"]))
        if (start is None or version > start) and (end is None or version <= end):
            renames += list(release["renames"].items())
    return renames


def _render_old(template: Path, answers: dict[str, Any], into: Path) -> Path:
    """The service as its recorded template version renders it, without tasks."""
    copier.run_copy(
        str(template),
        str(into),
        data={k: v for k, v in answers.items() if not k.startswith("_")},
        vcs_ref=str(answers["_commit"]),
        defaults=True,
        skip_tasks=True,
        unsafe=True,
        quiet=True,
    )
    return into


def apply_renames(service_dir: Path, declarations: Path, old: str, new: str) -> list[str]:
    """`git mv` each pending rename of an edited file; report what was done with each."""
    answers = read_answers(service_dir)
    pending = [
        (source.format(**answers), target.format(**answers))
        for source, target in pending_renames(yaml.safe_load(declarations.read_text()), old, new)
    ]
    pending = [(s, t) for s, t in pending if (service_dir / s).exists()]
    if not pending:
        return []
    report = []
    with tempfile.TemporaryDirectory() as scratch:
        rendered = _render_old(declarations.parent, answers, Path(scratch) / service_dir.name)
        for source, target in pending:
            if (service_dir / target).exists():
                report.append(f"skip {source}: {target} already exists")
            elif (rendered / source).is_file() and filecmp.cmp(
                rendered / source, service_dir / source, shallow=False
            ):
                report.append(f"{source} is unedited: copier renames it")
            else:
                _git_mv(service_dir, source, target)
                report.append(f"renamed {source} -> {target}, with your edits")
    return report


def _git_mv(service_dir: Path, source: str, target: str) -> None:
    (service_dir / target).parent.mkdir(parents=True, exist_ok=True)
    moved = subprocess.run(
        ["git", "mv", source, target], cwd=service_dir, capture_output=True, text=True, check=False
    )
    if moved.returncode:
        raise HookError(f"git mv {source} {target}: {moved.stderr.strip()}")
