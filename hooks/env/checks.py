"""Drift checks for `make check`: env conventions hold in every service (docs/environment.md)."""

import ast
import subprocess
from pathlib import Path

from hooks.core.answers import AnswersError, read_answers
from hooks.core.services import generated_services
from hooks.env.localfiles import LOCAL_ENV_FILES
from hooks.env.parser import (
    EnvFile,
    EnvFileError,
    is_placeholder,
    local_secret_keys,
    read_env,
    real_url_passwords,
    sensitive_part,
    url_credentials,
)

# Local env files by every kind of name people give them; all must stay out of git.
MUST_BE_IGNORED = (
    ".env",
    ".env.development",
    ".env.test",
    ".env.local",
    ".env.production",
    ".envrc",
    "prod.env",
    "secrets.env",
    "prod.env.local",
    "k8s/overlays/prod/prod.env",
)

SEARCHED_LENGTH = 8  # local secret values this long or longer are looked for in git


SETTINGS_CLASSES = {"Settings", "PlatformSettings"}  # settings.py's, and chassis.py's base


def settings_keys(service_dir: Path) -> set[str]:
    """Environment variables the service's settings classes read (their field names)."""
    keys = set()
    for path in service_dir.glob("src/*/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name in SETTINGS_CLASSES:
                keys |= {
                    item.target.id.upper()
                    for item in node.body
                    if isinstance(item, ast.AnnAssign)
                    and isinstance(item.target, ast.Name)
                    and item.target.id != "model_config"
                }
    return keys


def _ignored(service_dir: Path, paths: list[Path]) -> set[Path]:
    """Which paths (relative to the service) git ignores, asked in the service's folder: a
    service linked from a repository of its own answers with that repository's rules."""
    result = subprocess.run(
        ["git", "-C", str(service_dir), "check-ignore", "--no-index", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {Path(line) for line in result.stdout.splitlines()}


def configmap_files(service_dir: Path) -> list[Path]:
    """kustomize's env files of ConfigMap data: the team's config.env, the platform's peers.env."""
    k8s = service_dir / "k8s"
    return sorted([*k8s.rglob("config.env"), *k8s.rglob("peers.env")])


def check_service(service_dir: Path) -> list[str]:
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
    for config_env in configmap_files(service_dir):
        problems += _config_env_problems(config_env, example, service_dir)
    problems += _ignore_problems(service_dir)
    try:
        answers = read_answers(service_dir)
    except AnswersError as error:
        return [*problems, str(error)]
    problems += [
        f"{name}: the answers file records '{key}', which looks like a secret; "
        "secrets belong in .env.development"
        for key in answers
        if sensitive_part(str(key).upper())
    ]
    return problems


def _config_env_problems(config_env: Path, example: EnvFile, service_dir: Path) -> list[str]:
    """A kustomize config.env (or peers.env) is ConfigMap data: documented, non-secret keys."""
    where = f"{service_dir.name}: {config_env.relative_to(service_dir)}"
    try:
        keys = read_env(config_env).entries
    except EnvFileError as error:
        return str(error).splitlines()
    problems = []
    for key, entry in keys.items():
        if key in example.secret_keys or sensitive_part(key):
            problems.append(
                f"{where} puts secret {key} in the ConfigMap; remove it, "
                "secrets come from the Secret"
            )
        elif url_credentials(entry.value):
            problems.append(
                f"{where}:{entry.line} puts a URL with a password (user:password@) in the "
                f"ConfigMap as {key}; remove it, mark {key} '# @secret' in .env.example and "
                "let the Secret carry it"
            )
        elif key not in example.entries:
            problems.append(f"{where} sets {key}, which .env.example does not document")
    return problems


def _ignore_problems(service_dir: Path) -> list[str]:
    """Every local env file name is ignored; .env.example and config.env files are not."""
    name = service_dir.name
    ignorable = [Path(f) for f in MUST_BE_IGNORED]
    configs = configmap_files(service_dir)
    tracked = [Path(".env.example"), *(p.relative_to(service_dir) for p in configs)]
    ignored = _ignored(service_dir, [*ignorable, *tracked])
    problems = [
        f"{name}: git does not ignore {p}; the service's .gitignore "
        "needs '.env*', '*.env' and '*.env.*' (docs/environment.md)"
        for p in ignorable
        if p not in ignored
    ]
    problems += [
        f"{name}: git ignores {p}, which must be committed" for p in tracked if p in ignored
    ]
    return problems


def local_secret_values(service_dir: Path) -> dict[str, str]:
    """Real values of secret keys in the service's local env files: value -> where."""
    example = read_env(service_dir / ".env.example", example=True)
    found: dict[str, str] = {}
    for name in LOCAL_ENV_FILES:
        path = service_dir / name
        if path.exists():
            local = read_env(path)
            for key in local_secret_keys(example, local):
                value = local.entries[key].value
                where = path.relative_to(service_dir.parent.parent)
                # A URL's password is looked for alone too: it is what gets pasted elsewhere.
                candidates = {value: f"{key} in {where}"} | {
                    password: f"{key}'s URL password in {where}"
                    for password in real_url_passwords(value)
                }
                for candidate, origin in candidates.items():
                    # A shorter value would match all over the repository; the secret scan
                    # looks for committed secrets without knowing their values.
                    if len(candidate) >= SEARCHED_LENGTH and not is_placeholder(candidate):
                        found.setdefault(candidate, origin)
    return found


def check_committed_secrets(service_dir: Path) -> list[str]:
    """No committed file (answers file included) holds a local secret value."""
    try:
        values = local_secret_values(service_dir)
    except EnvFileError as error:
        return str(error).splitlines()
    problems = []
    for value, origin in values.items():
        # Every file of the repository holding the service (its own, for a linked one).
        hits = subprocess.run(
            ["git", "-C", str(service_dir), "grep", "-l", "--full-name", "-F", "-e", value, ":/"],
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
    """Every service under services/; a problem two checks find (a broken .env.example
    stops both) is one problem."""
    problems = []
    for service in generated_services(repo):
        problems += check_service(service)
        problems += check_committed_secrets(service)
    return list(dict.fromkeys(problems))
