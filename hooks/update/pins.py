"""Hash-locked dependencies: the template's (`make lock`) and each service's, kept with the pins.

The template has a pair of locks per variant of its answers, since some answers add
dependencies (`database=postgres`: SQLAlchemy, asyncpg, Alembic): template/locks/<variant>/,
where the variant is named as copier.yml's `lock_variant` names it, and a service's locks
start as its variant's. A service owns its locks (`_skip_if_exists`), so copier never merges
them; left alone they would drift from the pins an update brings into pyproject.toml, and the
image would install something else than the project declares. After an update, locks the
team never changed (equal to a template lock of the version it came from) follow the
template's new ones for its answers now, a changed answer included (no network needed);
re-locked ones are re-derived from the service's pins with `make lock name=<service>`.
`pin_drift` holds pins and locks together.
"""

import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.version import Version

from hooks.core.answers import read_answers
from hooks.core.gitrepo import git
from hooks.core.questions import questions
from hooks.core.render import render_service
from hooks.core.settings import load_settings
from hooks.errors import HookError

LOCKS = {"requirements.lock": [], "requirements-dev.lock": ["--group", "dev"]}
TEMPLATE_DIR = "template"  # copier.yml's _subdirectory
LOCKS_DIR = Path(TEMPLATE_DIR) / "locks"  # one folder of LOCKS per variant
# The answers that add dependencies, each with its value that adds none (copier.yml's
# lock_variant, which names the variant the same way).
VARIANT_ANSWERS = {"database": "none"}
BASE_VARIANT = "base"
# `name==version`, extras allowed (`sqlalchemy[asyncio]==2.1.9`).
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


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


def lock_variant(answers: dict[str, object]) -> str:
    """The variant whose locks a service with these answers starts from (`lock_variant`)."""
    chosen = {key: str(answers.get(key) or none) for key, none in VARIANT_ANSWERS.items()}
    adding = [value for key, value in chosen.items() if value != VARIANT_ANSWERS[key]]
    return "+".join(adding) or BASE_VARIANT


def variants(repo: Path) -> dict[str, dict[str, str]]:
    """Every variant the template's answers make, with answers that render it."""
    found: dict[str, dict[str, str]] = {BASE_VARIANT: {}}
    asked = questions(repo)
    for key, none in VARIANT_ANSWERS.items():
        for value in asked[key].get("choices", {}).values():
            if value != none:
                found[lock_variant({key: value})] = {key: value}
    return found


def template_lock(variant: str, name: str) -> Path:
    """Where the template keeps a variant's lock, relative to the repository."""
    return LOCKS_DIR / variant / name


def compile_template_locks(repo: Path) -> list[Path]:
    """Render pyproject.toml with each variant's answers, then lock each file from it."""
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for variant, answers in variants(repo).items():
            service = Path(scratch) / variant
            render_service(repo, service, answers, ref="HEAD")
            for name, extra in LOCKS.items():
                target = repo / template_lock(variant, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                _uv_compile(service, oldest_python(repo), extra, target)
                written.append(target)
    return written


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
    new ones for the service's answers now. Returns what to tell the user ('' when pins and
    locks agree untouched)."""
    followed = []
    variant = lock_variant(read_answers(service, required=()))
    for name in LOCKS:
        path = service / name
        after = _template_file(repo, new, template_lock(variant, name).as_posix())
        untouched = path.exists() and path.read_text() in _template_locks(repo, old, name)
        if untouched and after is not None and after != path.read_text():
            path.write_text(after)
            followed.append(name)
    drift = pin_drift(service)
    if drift:
        return (
            f"pins and locks disagree ({'; '.join(drift)}): re-lock from the pins with "
            f"make lock name={service.name} (needs PyPI), then review and commit"
        )
    return f"{' and '.join(followed)} follow the template's new pins" if followed else ""


def _template_locks(repo: Path, ref: str, name: str) -> list[str]:
    """Every variant's lock `name` at `ref` (before per-variant locks, its one lock)."""
    if not ref:
        return []
    try:
        listed = git(repo, "ls-tree", "--name-only", f"{ref}:{LOCKS_DIR.as_posix()}").split()
    except HookError:
        listed = []
    paths = [template_lock(v, name).as_posix() for v in listed] + [f"{TEMPLATE_DIR}/{name}"]
    return [text for text in (_template_file(repo, ref, path) for path in paths) if text]


def _template_file(repo: Path, ref: str, path: str) -> str | None:
    if not ref:
        return None
    try:
        return git(repo, "show", f"{ref}:{path}")
    except HookError:
        return None
