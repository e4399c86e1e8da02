"""Copier `before` migration: apply the renames template releases declare in migrations.yml.

Copier applies a user's edits to the old path of a renamed file, then deletes that path:
the edit would be lost without a word. So before an update, each pending rename whose old
file the user edited is `git mv`ed, and copier merges the edit at the new path (a conflict
when the template changed the same lines). An unedited file is left to copier, which
replaces it cleanly. "Edited" means: not what the service's recorded template version
renders, which is rendered once, only when a rename is pending.

Renames are declared as template paths (`template/src/{{module_name}}/a.py.jinja`), the
paths `git mv` moved, and turned into the service's paths as copier does: each rendered
with the service's answers and computed values. A path naming anything else is an error.
"""

import filecmp
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import yaml
from packaging.version import InvalidVersion, Version

from hooks.core.answers import read_answers
from hooks.core.gitrepo import git, git_succeeds
from hooks.core.render import render_service
from hooks.errors import HookError

TEMPLATE_DIR = "template/"  # copier.yml's _subdirectory
SUFFIX = ".jinja"  # copier.yml's _templates_suffix


def _release(text: str) -> Version | None:
    """A release version; None for anything else (HEAD between releases, or unparseable)."""
    try:
        version = Version(text)
    except InvalidVersion:
        return None
    return None if version.is_devrelease or version.local else version


def pending(declared: dict[str, Any], old: str, new: str) -> list[dict[str, Any]]:
    """The releases after `old` up to `new`, oldest first (all of them, for HEAD)."""
    start, end = _release(old), _release(new)
    releases = sorted(declared.get("releases") or [], key=lambda r: Version(str(r["version"])))
    return [
        release
        for release in releases
        if (start is None or Version(str(release["version"])) > start)
        and (end is None or Version(str(release["version"])) <= end)
    ]


def pending_renames(declared: dict[str, Any], old: str, new: str) -> list[tuple[str, str]]:
    """Renames of every release after `old` up to `new`, oldest first (all, for HEAD)."""
    return [
        rename
        for release in pending(declared, old, new)
        for rename in (release.get("renames") or {}).items()
    ]


def pending_carries(declared: dict[str, Any], old: str, new: str) -> list[str]:
    """Values releases after `old` carry from a file they drop to its replacement (carry.py)."""
    return [name for release in pending(declared, old, new) for name in release.get("carry") or []]


def path_names(template: Path, answers: dict[str, Any]) -> dict[str, Any]:
    """What a template path may use: the answers, and the computed values copier.yml derives
    from them (module_name...), rendered as copier renders them."""
    names = {k: v for k, v in answers.items() if not k.startswith("_")}
    config = yaml.safe_load((template / "copier.yml").read_text())
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - paths, not HTML
    for key, spec in config.items():
        if isinstance(spec, dict) and spec.get("when") is False and key not in names:
            try:
                names[key] = environment.from_string(str(spec.get("default", ""))).render(names)
            except jinja2.TemplateError:
                continue  # needs more than a path can use (platform settings): not a path name
    return names


def service_path(template_path: str, names: dict[str, Any]) -> str:
    """The path a template file has in a service: rendered, without `template/` and `.jinja`."""
    if not template_path.startswith(TEMPLATE_DIR):
        raise HookError(
            f"migrations.yml: {template_path} is not under {TEMPLATE_DIR}; declare renames as "
            "the template paths git mv moved, e.g. template/k8s/base/a.yaml.jinja"
        )
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - paths, not HTML
    try:
        rendered = environment.from_string(template_path).render(names)
    except jinja2.TemplateError as error:
        raise HookError(
            f"migrations.yml: {template_path} cannot be rendered ({error}); a path may use "
            f"{', '.join(sorted(names))}"
        ) from None
    return rendered.removeprefix(TEMPLATE_DIR).removesuffix(SUFFIX)


def apply_renames(service_dir: Path, declarations: Path, old: str, new: str) -> list[str]:
    """`git mv` each pending rename of an edited file; report what was done with each."""
    answers = read_answers(service_dir)
    template = declarations.parent  # copier's clone of the template, at the new version
    names = path_names(template, answers)
    renames = pending_renames(yaml.safe_load(declarations.read_text()), old, new)
    for source, _ in renames:
        if not git(template, "log", "-1", "--format=%H", "--", source).strip():
            raise HookError(
                f"migrations.yml renames {source}, which no version of the template has: "
                "declare the template path git mv moved (template/..., with its .jinja)"
            )
    pending = [
        (source, service_path(source, names), service_path(target, names))
        for source, target in renames
        if git_succeeds(template, "cat-file", "-e", f"{answers['_commit']}:{source}")
    ]  # only files the service's version had
    pending = [(declared, s, t) for declared, s, t in pending if s and t]  # rendered to nothing
    if not pending:
        return []
    report = []
    with tempfile.TemporaryDirectory() as scratch:
        rendered = render_service(template, Path(scratch) / service_dir.name, answers)
        for declared, source, target in pending:
            if not (rendered / source).exists():
                raise HookError(
                    f"migrations.yml renames {declared}, which {answers['_commit']} renders as "
                    f"{source}, but that render has no such file: fix the declaration "
                    "(it must name the template path git mv moved)"
                )
            if not (service_dir / source).exists():
                report.append(f"skip {source}: the service deleted it")
            elif (service_dir / target).exists():
                report.append(f"skip {source}: {target} already exists")
            elif filecmp.cmp(rendered / source, service_dir / source, shallow=False):
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
