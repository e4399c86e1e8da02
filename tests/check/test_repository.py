"""The template repository itself: lint-clean, typed, and nothing hidden from copier."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jinja2 import Environment

from hooks.scaffold.pythonnames import DATA_FILE, render_data_file, scanned_names, variant_locks
from hooks.update.pins import LOCKS, lock_variant, variants
from tests.support.helpers import REPO, git, service_venv

BIN = Path(sys.executable).parent


def tool(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_no_template_file_is_hidden_from_git() -> None:
    # Copier renders from git: an ignored file under template/ would silently never render.
    files = [
        str(p.relative_to(REPO))
        for p in (REPO / "template").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--no-index", *files],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == []


@pytest.mark.lint
def test_python_code_is_ruff_clean_and_typed() -> None:
    lint = tool("ruff", "check", "--no-cache", "hooks", "tests", "bench")
    assert lint.returncode == 0, lint.stdout
    formatting = tool("ruff", "format", "--check", "--no-cache", "hooks", "tests", "bench")
    assert formatting.returncode == 0, formatting.stdout
    types = tool("mypy")
    assert types.returncode == 0, types.stdout


@pytest.mark.lint
def test_source_yaml_passes_yamllint(rendered_services: dict[str, Path]) -> None:
    sources = [str(p) for pattern in ("*.y*ml", "platform/**/*.y*ml") for p in REPO.glob(pattern)]
    rendered = [str(p) for service in rendered_services.values() for p in service.rglob("*.y*ml")]
    result = tool("yamllint", "--strict", "-c", str(REPO / ".yamllint.yaml"), *sources, *rendered)
    assert result.returncode == 0, result.stdout


@pytest.mark.lint
def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [
        line
        for line in git(REPO, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
        if line.endswith(".sh") or line == ".ci/run"
    ]
    assert ".ci/run" in scripts
    result = tool("shellcheck", *scripts)
    assert result.returncode == 0, result.stdout


def test_every_question_has_help_a_default_and_free_text_a_validator() -> None:
    config = yaml.safe_load((REPO / "copier.yml").read_text())
    for name, spec in config.items():
        if name.startswith("_") or spec.get("when") is False:
            continue
        assert spec.get("help") and "default" in spec, name
        if spec["type"] in ("str", "int") and "choices" not in spec:
            assert spec.get("validator"), f"{name} takes free text but has no validator"


@pytest.mark.parametrize("variant", ["base", "postgres"])
def test_locks_pin_exactly_what_pyproject_pins(variant: str) -> None:
    pyproject = (REPO / "template" / "pyproject.toml.jinja").read_text()
    pins = dict(re.findall(r'"([a-z0-9-]+)(?:\[[a-z,]+\])?==([^"]+)"', pyproject))
    extra = {"sqlalchemy", "asyncpg", "alembic"}  # what database=postgres adds
    locks = REPO / "template" / "locks" / variant
    runtime = (locks / "requirements.lock").read_text()
    dev = (locks / "requirements-dev.lock").read_text()
    for package, version in pins.items():
        if variant == "base" and package in extra:
            assert f"{package}==" not in dev, f"{package} locked without a database"
            continue
        assert f"{package}=={version} " in dev, f"{package} not locked at {version}"
    for package in ("fastapi", "uvicorn", "prometheus-client", "pydantic-settings"):
        assert f"{package}=={pins[package]} " in runtime
    if variant == "postgres":
        assert all(f"{package}=={pins[package]} " in runtime for package in extra)
        assert "greenlet==" in runtime  # SQLAlchemy's asyncio needs it, from the extra only
    assert "pytest==" not in runtime and "ruff==" not in runtime


def test_every_variant_has_its_locks_and_copier_names_them_as_hooks_do() -> None:
    found = variants(REPO)
    assert sorted(found) == ["base", "postgres"]
    for variant, answers in found.items():
        assert lock_variant(answers) == variant
        for name in LOCKS:
            assert (REPO / "template" / "locks" / variant / name).is_file(), (variant, name)
    # copier.yml's lock_variant says the same as lock_variant() for each answer.
    config = yaml.safe_load((REPO / "copier.yml").read_text())
    rule = config["lock_variant"]["default"]
    for value in config["database"]["choices"].values():
        rendered = Environment(autoescape=True).from_string(rule).render(database=value)
        assert rendered == lock_variant({"database": value}), value


def test_reserved_python_names_are_current() -> None:
    venvs = [service_venv(lock) for lock in variant_locks(REPO)]  # every variant's lock
    names = set().union(*(scanned_names(python) for python in venvs))
    assert DATA_FILE.read_text() == render_data_file(names), "run: python -m hooks python-names"


# Each broke a service named after it: a crash, an import error, reset connections, no venv.
SHADOWED = ["uvloop", "websockets", "wsproto", "httptools", "pip", "json", "fastapi", "pytest"]


@pytest.mark.parametrize("name", SHADOWED)
def test_reserved_python_names_cover_what_the_service_imports(name: str) -> None:
    assert name in yaml.safe_load(DATA_FILE.read_text())["reserved"]
