"""Env drift checks (make check): each fails on a planted violation, passes on a clean service."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hooks.devloop.manifests import split_config
from hooks.env.checks import check_all, local_secret_values
from tests.support.helpers import git, repo_with_services


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = repo_with_services(tmp_path, {"orders": []})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add orders")
    return repo


def plant_undocumented_setting(service: Path) -> None:
    settings = next(service.glob("src/*/settings.py"))
    settings.write_text(
        settings.read_text().replace(
            "    upstream_api_token:", "    feature_flag: bool = False\n    upstream_api_token:"
        )
    )


def plant_unread_example_key(service: Path) -> None:
    with (service / ".env.example").open("a") as example:
        example.write("\n# Nobody reads this.\nORPHAN=1\n")


def plant_secret_in_configmap(service: Path) -> None:
    with (service / "k8s" / "base" / "config.env").open("a") as config:
        config.write("UPSTREAM_API_TOKEN=oops\n")


def plant_unignored_env_file(service: Path) -> None:
    with (service / ".gitignore").open("a") as ignore:
        ignore.write("!.env.development\n")


def plant_committed_secret(service: Path) -> None:
    env = service / ".env.development"
    env.write_text(env.read_text().replace("change-me", "tok-8d7f6e5a4b3c"))
    (service / "notes.md").write_text("debug with tok-8d7f6e5a4b3c\n")
    git(service, "add", "notes.md")


def plant_secret_in_answers(service: Path) -> None:
    answers = service / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "db_password: hunter2\n")


def plant_sensitive_key_in_configmap(service: Path) -> None:
    with (service / "k8s" / "base" / "config.env").open("a") as config:
        config.write("DB_PASSWORD=oops\n")


def plant_secret_in_overlay_configmap(service: Path) -> None:
    (service / "k8s" / "overlays" / "prod" / "config.env").write_text("UPSTREAM_API_TOKEN=x\n")


def plant_unignored_prod_env(service: Path) -> None:
    with (service / ".gitignore").open("a") as ignore:
        ignore.write("!prod.env\n")


def plant_force_committed_undocumented_secret(service: Path) -> None:
    # Issue 13: a key .env.example does not know goes to the Secret, so it is a secret here too.
    (service / ".env.development").write_text("DB_PASSWORD=pw-5e4d3c2b1a09\n")
    git(service, "add", "-f", ".env.development")


def plant_secret_marked_only_locally(service: Path) -> None:
    env = service / ".env.development"
    env.write_text(
        env.read_text().replace("LOG_LEVEL=info", "# @secret\nLOG_LEVEL=lv-7a6b5c4d3e2f")
    )
    (service / "notes.md").write_text("LOG_LEVEL was lv-7a6b5c4d3e2f\n")
    git(service, "add", "notes.md")


def plant_short_local_only_values(service: Path) -> None:
    # Unknown to .env.example, so secret; too short to look for: not a false alarm on "1".
    with (service / ".env.development").open("a") as local:
        local.write("EXTRA=1\nFLAG=true\n")


def plant_malformed_local_file(service: Path) -> None:
    env = service / ".env.development"
    env.write_text("#@secret\n" + env.read_text())


# Issue 25: a URL's password in a key not marked secret went to the ConfigMap.
def plant_url_password_in_config_env(service: Path) -> None:
    with (service / "k8s" / "base" / "config.env").open("a") as config:
        config.write("DATABASE_URL=postgres://app:pw-5e4d3c2b1a09@db/app\n")


def plant_unmarked_url_with_password(service: Path) -> None:
    with (service / ".env.example").open("a") as example:
        example.write("\n# The database.\nDATABASE_URL=postgresql://user:password@localhost/db\n")


def plant_committed_url_password(service: Path) -> None:
    with (service / ".env.example").open("a") as example:
        example.write(
            "\n# The database.\n# @secret\nDATABASE_URL=postgresql://user:password@localhost/db\n"
        )
    with (service / ".env.development").open("a") as local:
        local.write("DATABASE_URL=postgres://app:pw-5e4d3c2b1a09@db/app\n")
    (service / "notes.md").write_text("psql with password pw-5e4d3c2b1a09\n")
    git(service, "add", "notes.md")


PLANTS: list[tuple[Callable[[Path], None], str]] = [
    (plant_undocumented_setting, "the settings read FEATURE_FLAG but .env.example does not"),
    (plant_unread_example_key, ".env.example documents ORPHAN but the settings never read it"),
    (plant_secret_in_configmap, "config.env puts secret UPSTREAM_API_TOKEN in the ConfigMap"),
    (plant_unignored_env_file, "git does not ignore .env.development"),
    (
        plant_committed_secret,
        "UPSTREAM_API_TOKEN in services/orders/.env.development is committed in "
        "services/orders/notes.md",
    ),
    (plant_secret_in_answers, "the answers file records 'db_password', which looks like a secret"),
    (plant_sensitive_key_in_configmap, "config.env puts secret DB_PASSWORD in the ConfigMap"),
    (
        plant_secret_in_overlay_configmap,
        "k8s/overlays/prod/config.env puts secret UPSTREAM_API_TOKEN in the ConfigMap",
    ),
    (plant_unignored_prod_env, "git does not ignore prod.env"),
    (
        plant_force_committed_undocumented_secret,
        "DB_PASSWORD in services/orders/.env.development is committed in "
        "services/orders/.env.development",
    ),
    (
        plant_secret_marked_only_locally,
        "LOG_LEVEL in services/orders/.env.development is committed in services/orders/notes.md",
    ),
    (plant_malformed_local_file, ".env.development:1: this comment looks like a secret marker"),
    (
        plant_url_password_in_config_env,
        "puts a URL with a password (user:password@) in the ConfigMap as DATABASE_URL; "
        "remove it, mark DATABASE_URL '# @secret' in .env.example",
    ),
    (
        plant_unmarked_url_with_password,
        "DATABASE_URL's value is a URL with a password (user:password@) but DATABASE_URL is "
        "not marked; add a '# @secret' line above it",
    ),
    (
        plant_committed_url_password,
        "DATABASE_URL's URL password in services/orders/.env.development is committed in "
        "services/orders/notes.md",
    ),
]


def test_a_clean_service_passes(repo: Path) -> None:
    assert check_all(repo) == []


def test_short_local_values_are_not_searched_for(repo: Path) -> None:
    plant_short_local_only_values(repo / "services" / "orders")
    assert check_all(repo) == []


@pytest.mark.parametrize(("plant", "message"), PLANTS, ids=[p.__name__[6:] for p, _ in PLANTS])
def test_each_planted_violation_is_caught(
    repo: Path, plant: Callable[[Path], None], message: str
) -> None:
    plant(repo / "services" / "orders")
    problems = check_all(repo)
    assert any(message in problem for problem in problems), problems


def test_a_url_password_where_the_configmap_reads_it_is_named_by_file_line_and_key(
    repo: Path,
) -> None:
    service = repo / "services" / "orders"
    plant_url_password_in_config_env(service)
    line = len((service / "k8s" / "base" / "config.env").read_text().splitlines())
    problems = "\n".join(check_all(repo))
    assert f"orders: k8s/base/config.env:{line} puts a URL with a password" in problems
    assert "pw-5e4d3c2b1a09" not in problems
    plant_unmarked_url_with_password(service)  # a broken example stops the other checks
    line = len((service / ".env.example").read_text().splitlines())
    problems = "\n".join(check_all(repo))
    assert f"orders/.env.example:{line}: DATABASE_URL's value is a URL" in problems


def test_a_local_url_password_goes_to_the_secret_never_the_configmap(repo: Path) -> None:
    # .env.example documents DATABASE_URL as plain config; the local value has a password.
    service = repo / "services" / "orders"
    with (service / ".env.example").open("a") as example:
        example.write("\n# The database.\nDATABASE_URL=postgresql://localhost/db\n")
    with (service / ".env.development").open("a") as local:
        local.write("DATABASE_URL=postgres://app:pw-5e4d3c2b1a09@db/app\n")
    config, secrets, _ = split_config(service)
    assert "DATABASE_URL" not in config
    assert secrets["DATABASE_URL"] == "postgres://app:pw-5e4d3c2b1a09@db/app"
    # and its value, and its password alone, are looked for in what is committed
    assert {"postgres://app:pw-5e4d3c2b1a09@db/app", "pw-5e4d3c2b1a09"} <= set(
        local_secret_values(service)
    )


def test_one_problem_is_reported_and_counted_once(repo: Path) -> None:
    example = repo / "services/orders/.env.example"
    example.write_text(example.read_text() + "\nnot a line\n")
    result = subprocess.run(
        [sys.executable, "-m", "hooks", "env-check"], cwd=repo, capture_output=True, text=True
    )
    assert result.returncode == 1
    reported = [line for line in result.stdout.splitlines() if "not KEY=value" in line]
    assert len(reported) == 1, result.stdout
    assert "error: 1 env convention problem(s)" in result.stderr
