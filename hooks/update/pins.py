"""Hash-locked dependencies: the template's (`make lock`) and each service's, kept with the pins.

A service owns its locks (`_skip_if_exists`), so copier never merges them; left alone they
would drift from the pins an update brings into pyproject.toml, and the image would install
something else than the project declares. After an update, locks the team never changed
follow the template's new ones (no network needed); re-locked ones are re-derived from the
service's pins with `make lock name=<service>`. `pin_drift` holds pins and locks together.
"""

import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.version import Version

from hooks.core.gitrepo import git
from hooks.core.render import render_service
from hooks.core.settings import load_settings
from hooks.errors import HookError

LOCKS = {"requirements.lock": [], "requirements-dev.lock": ["--group", "dev"]}
TEMPLATE_DIR = "template"  # copier.yml's _subdirectory
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _uv_compile(project: Path, python: str, extra: list[str], target: Path) -> None:
    uv = Path(sys.executable).with_name("uv")
    result = subprocess.run(
        [
            *(str(uv), "pip", "compile", "--quiet", "--universal", "--generate-hashes"),
            *("--no-header", "--no-annotate", "--python-version", python, *extra),
            *("pyproject.toml", "-o", str(target)),
        ],
        cwd=project,  # uv looks up --group in ./pyproject.toml
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise HookError(f"uv could not lock {target} (it needs PyPI): {result.stderr.strip()}")


def oldest_python(repo: Path) -> str:
    """The oldest Python a service may use: --universal locks cover it and every newer one."""
    return str(min(load_settings(repo)["python_images"], key=Version))


def compile_template_locks(repo: Path) -> list[Path]:
    """Render pyproject.toml with default answers, then lock each file from it."""
    with tempfile.TemporaryDirectory() as scratch:
        service = Path(scratch) / "lock"
        render_service(repo, service, {}, ref="HEAD")
        for name, extra in LOCKS.items():
            _uv_compile(service, oldest_python(repo), extra, repo / TEMPLATE_DIR / name)
    return [repo / TEMPLATE_DIR / name for name in LOCKS]


def compile_service_locks(service: Path, python: str) -> list[Path]:
    """Re-derive a service's locks from its own pyproject.toml."""
    for name, extra in LOCKS.items():
        _uv_compile(service, python, extra, service / name)
    return [service / name for name in LOCKS]


def pin_drift(service: Path) -> list[str]:
    """Each direct pin of pyproject.toml that a lock contradicts or lacks, as a sentence."""
    project = tomllib.loads((service / "pyproject.toml").read_text())
    runtime = project.get("project", {}).get("dependencies", [])
    dev = project.get("dependency-groups", {}).get("dev", [])
    wanted = {"requirements.lock": runtime, "requirements-dev.lock": [*runtime, *dev]}
    problems = []
    for name, pins in wanted.items():
        path = service / name
        locked = {_name(n): v for n, v in PIN.findall(path.read_text())} if path.exists() else {}
        for package, version in PIN.findall("\n".join(pins)):
            found = locked.get(_name(package))
            if found != version:
                problems.append(
                    f"{package}=={version} in pyproject.toml, {found or 'missing'} in {name}"
                )
    return problems


def follow_template_locks(repo: Path, service: Path, old: str, new: str) -> str:
    """After an update from `old` to `new`: locks the team never changed take the template's
    new ones. Returns what to tell the user ('' when pins and locks agree untouched)."""
    followed = []
    for name in LOCKS:
        path = service / name
        before = _template_file(repo, old, name)
        after = _template_file(repo, new, name)
        if (
            path.exists()
            and before is not None
            and after not in (None, before)
            and path.read_text() == before
        ):
            path.write_text(after)
            followed.append(name)
    drift = pin_drift(service)
    if drift:
        return (
            f"pins and locks disagree ({'; '.join(drift)}): re-lock from the pins with "
            f"make lock name={service.name} (needs PyPI), then review and commit"
        )
    return f"{' and '.join(followed)} follow the template's new pins" if followed else ""


def _template_file(repo: Path, ref: str, name: str) -> str | None:
    if not ref:
        return None
    try:
        return git(repo, "show", f"{ref}:{TEMPLATE_DIR}/{name}")
    except HookError:
        return None
