"""The committed-secret scan (make check, make scan): each planted secret is caught, by file,
line and rule and never by value; a clean generated service and services/hello pass."""

import base64
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from hooks.env.parser import sensitive_part
from hooks.security.scan import run_trivy
from hooks.security.secrets import ALLOWLIST, RULES, scan_secrets
from tests.helpers import REPO, git, make, repo_with_services

# Random-looking planted values; none may appear in any output.
TOKEN = "Zq8vR2mK9pLx4TnW7bYc3HdF"  # noqa: S105
HEX = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.fixture(scope="module")
def clean_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = repo_with_services(tmp_path_factory.mktemp("secrets"), {"orders": []})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add orders")
    return repo


@pytest.fixture
def repo(clean_repo: Path, tmp_path: Path) -> Path:
    """A fresh clone of the clean repository, to plant in."""
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(clean_repo), str(clone))
    (clone / ".venv-checkov").symlink_to(REPO / ".venv-checkov")
    return clone


def pem(kind: str) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(os.urandom(600)).decode(), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def write(repo: Path, name: str, text: str, force: bool = False) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if force:
        git(repo, "add", "-f", name)


# (what is planted, the file and line a finding must name, the rule)
PLANTS: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        # Issue 13: a key .env.example does not document, in a force-committed local file.
        "force-committed .env.development",
        lambda r: write(
            r, "services/orders/.env.development", f"DB_PASSWORD={TOKEN}\n", force=True
        ),
        "services/orders/.env.development",
        "ignored-but-committed",
    ),
    (
        "force-committed env file of another name",
        lambda r: write(r, "services/orders/.env.staging", "DB_HOST=db.internal\n", force=True),
        "services/orders/.env.staging:1",
        "local-env-file",
    ),
    (
        "a tiny force-committed env file",
        lambda r: write(r, "services/orders/.envrc", "A=1\n", force=True),
        "services/orders/.envrc",
        "ignored-but-committed",
    ),
    (
        # Issue 13: prod.env as in the docs' `kubectl create secret --from-env-file=prod.env`,
        # with the ignore rule undone: `git add -A` would commit it.
        "un-ignored prod.env",
        lambda r: (
            write(r, "services/orders/.gitignore", "!prod.env\n"),
            write(r, "services/orders/prod.env", f"UPSTREAM_API_TOKEN={TOKEN}\n"),
        ),
        "services/orders/prod.env:1",
        "local-env-file",
    ),
    (
        "force-committed secrets.env in an overlay",
        lambda r: write(
            r, "services/orders/k8s/overlays/prod/secrets.env", f"X={TOKEN}\n", force=True
        ),
        "services/orders/k8s/overlays/prod/secrets.env:1",
        "local-env-file",
    ),
    (
        "RSA private key",
        lambda r: write(r, "services/orders/deploy/id_rsa", pem("RSA PRIVATE KEY")),
        "services/orders/deploy/id_rsa:",
        "private-key",
    ),
    (
        "OpenSSH private key in the template",
        lambda r: write(r, "template/keys/deploy_key", pem("OPENSSH PRIVATE KEY")),
        "template/keys/deploy_key:",
        "private-key",
    ),
    (
        "PKCS#8 private key in a test",
        lambda r: write(r, "services/orders/tests/tls.key", pem("PRIVATE KEY")),
        "services/orders/tests/tls.key:",
        "private-key",
    ),
    (
        "API key in Python",
        lambda r: write(r, "services/orders/src/orders/keys.py", f'STRIPE_API_KEY = "{TOKEN}"\n'),
        "services/orders/src/orders/keys.py:1",
        "sensitive-quoted-value",
    ),
    (
        "password in YAML",
        lambda r: write(r, "services/orders/config.yaml", f"db:\n  password: {TOKEN}\n"),
        "services/orders/config.yaml:2",
        "sensitive-yaml-value",
    ),
    (
        "token in a Kubernetes env entry",
        lambda r: write(
            r,
            "services/orders/k8s/base/extra.yaml",
            f'env:\n  - name: UPSTREAM_API_TOKEN\n    value: "{HEX}"\n',
        ),
        "services/orders/k8s/base/extra.yaml:3",
        "sensitive-env-pair",
    ),
    (
        "secret in a Dockerfile",
        lambda r: write(
            r, "services/orders/Dockerfile.ci", f"FROM scratch\nENV JWT_SECRET={HEX}\n"
        ),
        "services/orders/Dockerfile.ci:2",
        "sensitive-assignment",
    ),
    (
        "token in the README",
        lambda r: write(r, "template/NOTES.md", f"Run `export GITHUB_TOKEN={TOKEN}` first.\n"),
        "template/NOTES.md:1",
        "sensitive-assignment",
    ),
    (
        "password in a URL",
        lambda r: write(
            r, "services/orders/k8s/base/config.env", f"DATABASE_URL=postgres://app:{TOKEN}@db/a\n"
        ),
        "services/orders/k8s/base/config.env:1",
        "url-credentials",
    ),
]


def test_a_clean_generated_service_and_the_template_pass(clean_repo: Path) -> None:
    assert [str(f) for f in scan_secrets(clean_repo)] == []


@pytest.mark.parametrize(
    ("plant", "where", "rule"), [p[1:] for p in PLANTS], ids=[p[0] for p in PLANTS]
)
def test_each_planted_secret_is_caught_by_file_line_and_rule(
    repo: Path, plant: Callable[[Path], None], where: str, rule: str
) -> None:
    plant(repo)
    found = [str(f) for f in scan_secrets(repo)]
    assert any(f.startswith(where) and f" {rule} " in f for f in found), found
    assert not any(value in "\n".join(found) for value in (TOKEN, HEX))


def test_local_env_files_that_stay_ignored_are_not_findings(repo: Path) -> None:
    for name in (".env.development", ".env.test", "prod.env", "secrets.env", ".envrc"):
        write(repo, f"services/orders/{name}", f"DB_PASSWORD={TOKEN}\n")
    assert scan_secrets(repo) == []


NOT_SECRETS = {
    "run.sh": "API_TOKEN=change-me\nDB_PASSWORD=${DB_PASSWORD}\nSIGNING_KEY=<your-key>\n",
    "config.yaml": (
        "topologyKey: kubernetes.io/hostname\nautomountServiceAccountToken: false\n"
        "secretRef:\n  name: orders-secrets\nkey: UPSTREAM_API_TOKEN\ntoken_ttl: 3600\n"
    ),
    "app.py": (
        "token = settings.upstream_api_token.get_secret_value()\n"
        'api_key: SecretStr = SecretStr("")\npassword = os.environ["DB_PASSWORD"]\n'
    ),
    "k8s.yaml": "env:\n  - name: API_TOKEN\n    value: change-me\n",
    "urls.txt": "postgres://app:change-me@db/app and postgres://app:${DB_PASSWORD}@db/app\n",
}


def test_placeholders_references_and_code_are_not_findings(repo: Path) -> None:
    for name, text in NOT_SECRETS.items():
        write(repo, f"services/orders/{name}", text)
    assert [str(f) for f in scan_secrets(repo)] == []


# Every kind of name the parser calls sensitive, so the scan and the parser agree.
SENSITIVE_NAMES = [
    "API_TOKEN",
    "CLIENT_SECRET",
    "DB_PASSWORD",
    "SMTP_PASSWD",
    "GPG_PASSPHRASE",
    "SERVICE_CREDENTIALS",
    "SIGNING_PRIVATE_KEY",
    "STRIPE_API_KEY",
    "OPENAI_APIKEY",
    "AWS_KEYS",
    "DB_PWD",
    "SMTP_PASS",
    "GCP_CREDS",
    "HASH_SALT",
    "SENTRY_DSN",
]


def test_the_scan_flags_every_name_the_parser_calls_sensitive(tmp_path: Path) -> None:
    for name in SENSITIVE_NAMES:
        assert sensitive_part(name), name
        write(tmp_path, f"{name}/run.sh", f"{name}={TOKEN}\n")
        write(tmp_path, f"{name}/values.yaml", f"{name.lower()}: {TOKEN}\n")
    results = run_trivy(
        "fs", "--scanners", "secret", "--secret-config", str(REPO / RULES), str(tmp_path)
    )
    flagged = {r["Target"] for r in results if r.get("Secrets")}
    assert flagged == {f"{n}/{f}" for n in SENSITIVE_NAMES for f in ("run.sh", "values.yaml")}


def test_a_reviewed_allowlist_entry_silences_exactly_its_finding(repo: Path) -> None:
    write(repo, "services/orders/fixture.py", f'HMAC_KEY = "{TOKEN}"\n')
    write(repo, "services/orders/other.py", f'HMAC_KEY = "{TOKEN}"\n')
    allowlist = {
        "secrets": [
            {
                "id": "sensitive-quoted-value",
                "paths": ["services/orders/fixture.py"],
                "statement": "a published test vector",
            }
        ]
    }
    (repo / ALLOWLIST).write_text(yaml.safe_dump(allowlist))
    assert [f.target for f in scan_secrets(repo)] == ["services/orders/other.py:1"]


def test_make_scan_fails_on_a_secret_and_says_how_to_fix_it(repo: Path) -> None:
    write(repo, "services/orders/config.yaml", f"password: {TOKEN}\n")
    result = make(repo, "scan")
    assert result.returncode != 0
    assert "services/orders/config.yaml:1: trivy-secret sensitive-yaml-value" in result.stdout
    assert "security/secret-allowlist.yaml" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.check
def test_nothing_git_would_commit_holds_a_secret() -> None:
    assert [str(f) for f in scan_secrets(REPO)] == []


@pytest.mark.check
def test_every_allowlist_entry_names_its_paths_and_why() -> None:
    for entry in yaml.safe_load((REPO / ALLOWLIST).read_text())["secrets"]:
        assert entry["paths"] and len(entry["statement"]) > 40, entry
