"""Drift checks for `make check`: env conventions hold in every service (docs/environment.md)."""

import ast
import re
import subprocess
from pathlib import Path

import yaml

from hooks.env_local_files import LOCAL_ENV_FILES
from hooks.env_parser import PLACEHOLDER, EnvFileError, read_env
from hooks.settings import generated_services

MUST_BE_IGNORED = (".env", ".env.development", ".env.test", ".env.local", ".env.production")
SECRET_LOOKING_NAME = re.compile(r"secret|token|password|passwd|api_?key|private", re.IGNORECASE)


def settings_keys(service_dir: Path) -> set[str]:
    """Environment variables the service's Settings class reads (its field names)."""
    keys = set()
    for path in service_dir.glob("src/*/settings.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name == "Settings":
                keys |= {
                    item.target.id.upper()
                    for item in node.body
                    if isinstance(item, ast.AnnAssign)
                    and isinstance(item.target, ast.Name)
                    and item.target.id != "model_config"
                }
    return keys


def _ignored(repo: Path, paths: list[Path]) -> set[Path]:
    result = subprocess.run(
        ["git", "-C", str(repo), "check-ignore", "--no-index", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {Path(line) for line in result.stdout.splitlines()}


def check_service(repo: Path, service_dir: Path) -> list[str]:
    """Every env-convention problem of one service, each with its fix."""
    try:
        example = read_env(service_dir / ".env.example", example=True)
    except EnvFileError as error:
        return str(error).splitlines()
    name = service_dir.name
    problems = []
    documented, read = set(example.entries), settings_keys(service_dir)
    problems += [
        f"{name}: the settings read {k} but .env.example does not document it"
        for k in sorted(read - documented)
    ]
    problems += [
        f"{name}: .env.example documents {k} but the settings never read it"
        for k in sorted(documented - read)
    ]
    config_env = service_dir / "k8s" / "base" / "config.env"
    if config_env.exists():
        for key in read_env(config_env).entries:
            if key in example.secret_keys:
                problems.append(
                    f"{name}: k8s/base/config.env puts secret {key} in the "
                    "ConfigMap; remove it, secrets come from the Secret"
                )
            elif key not in documented:
                problems.append(
                    f"{name}: k8s/base/config.env sets {key}, which .env.example does not document"
                )
    candidates = [service_dir / f for f in (*MUST_BE_IGNORED, ".env.example")]
    ignored = _ignored(repo, candidates)
    problems += [
        f"{name}: git does not ignore {p.name}; add '.env*' and '!.env.example' to .gitignore"
        for p in candidates[:-1]
        if p not in ignored
    ]
    if candidates[-1] in ignored:
        problems.append(f"{name}: git ignores .env.example, which must be committed")
    answers = yaml.safe_load((service_dir / ".copier-answers.yml").read_text()) or {}
    problems += [
        f"{name}: the answers file records '{key}', which looks like a secret; "
        "secrets belong in .env.development"
        for key in answers
        if SECRET_LOOKING_NAME.search(str(key))
    ]
    return problems


def local_secret_values(service_dir: Path) -> dict[str, str]:
    """Real values of secret keys in the service's local env files: value -> where."""
    example = read_env(service_dir / ".env.example", example=True)
    found = {}
    for name in LOCAL_ENV_FILES:
        path = service_dir / name
        if path.exists():
            for key, value in read_env(path).values.items():
                if key in example.secret_keys and not PLACEHOLDER.fullmatch(value):
                    found[value] = f"{key} in {path.relative_to(service_dir.parent.parent)}"
    return found


def check_committed_secrets(repo: Path, service_dir: Path) -> list[str]:
    """No committed file (answers file included) holds a local secret value."""
    problems = []
    for value, origin in local_secret_values(service_dir).items():
        hits = subprocess.run(
            ["git", "-C", str(repo), "grep", "-l", "-F", "-e", value],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        problems += [
            f"the value of {origin} is committed in {hit}; remove it and rotate the secret"
            for hit in hits
        ]
    return problems


def check_all(repo: Path) -> list[str]:
    """Every service under services/."""
    problems = []
    for service in generated_services(repo):
        problems += check_service(repo, service)
        problems += check_committed_secrets(repo, service)
    return problems
