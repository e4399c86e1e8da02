"""The committed-secret scan (make check, make scan): each planted secret is caught, by file,
line and rule and never by value, in every shape of tests/support/secret_shapes.yaml and in
generated ones (hypothesis); placeholders, references and code are not, and neither is anything in a
clean generated service, services/hello, the rendered answer matrix, docs/ or hooks/."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks.env.parser import SENSITIVE_PART, sensitive_part
from hooks.security.assignments import looks_secret
from hooks.security.scan import Finding
from hooks.security.secrets import (
    ALLOWLIST,
    RULES,
    allowed,
    assignment_findings,
    detect_secrets_findings,
    scan_files,
    scan_secrets,
    stale_allowlist_entries,
)
from tests.support.helpers import REPO, git, make, repo_with_services

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
        "sensitive-value",
    ),
    (
        "password in YAML",
        lambda r: write(r, "services/orders/config.yaml", f"db:\n  password: {TOKEN}\n"),
        "services/orders/config.yaml:2",
        "sensitive-value",
    ),
    (
        "token in a Kubernetes env entry",
        lambda r: write(
            r,
            "services/orders/k8s/base/extra.yaml",
            f'env:\n  - name: UPSTREAM_API_TOKEN\n    value: "{HEX}"\n',
        ),
        "services/orders/k8s/base/extra.yaml:3",
        "sensitive-value",
    ),
    (
        "secret in a Dockerfile",
        lambda r: write(
            r, "services/orders/Dockerfile.ci", f"FROM scratch\nENV JWT_SECRET={HEX}\n"
        ),
        "services/orders/Dockerfile.ci:2",
        "sensitive-value",
    ),
    (
        "token in the README",
        lambda r: write(r, "template/NOTES.md", f"Run `export GITHUB_TOKEN={TOKEN}` first.\n"),
        "template/NOTES.md:1",
        "sensitive-value",
    ),
    (
        # detect-secrets' token formats and entropy plugins: no sensitive name needed.
        "GitHub token under a plain name",
        lambda r: write(r, "services/orders/ci.yaml", f"upstream: ghp_{TOKEN}{HEX[:12]}\n"),
        "services/orders/ci.yaml:1",
        "github-token",
    ),
    (
        "high-entropy string under a plain name",
        lambda r: write(
            r, "services/orders/src/orders/blob.py", f'BLOB = "{TOKEN}{TOKEN[::-1]}"\n'
        ),
        "services/orders/src/orders/blob.py:1",
        "base64-high-entropy-string",
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


# The corpus: every shape a committed secret takes, as data (tests/support/secret_shapes.yaml).
CORPUS: dict[str, Any] = yaml.safe_load(
    (REPO / "tests" / "support" / "secret_shapes.yaml").read_text()
)
SHAPES: list[dict[str, Any]] = CORPUS["secrets"]
SERVICE = "services/orders"


def encode(kind: str, value: str) -> str:
    """The value as the shape writes it (tests/support/secret_shapes.yaml, `encode`)."""
    if kind == "shell-single":
        return "'" + value.replace("'", "'\"'\"'") + "'"
    if kind == "shell-double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind in ("python", "json"):
        return json.dumps(value)
    return value  # raw, plain, block, dockerfile, url: as it is


def plant_shape(root: Path, shape: dict[str, Any], key: str, value: str) -> str:
    """Write one shape under `root` with `key` and `value`; its file's name."""
    text = shape["text"].replace("{key}", key).replace("{value}", encode(shape["encode"], value))
    write(root, shape["file"], text)
    return str(shape["file"])


def canary() -> str:
    return f"Zq{uuid.uuid4().hex[:12]}R8{uuid.uuid4().hex[:8]}"  # mixed case and digits


@pytest.fixture(scope="module")
def corpus_repo(clean_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """A clone of the clean repository with every shape of the corpus planted in orders, each
    with a canary of its own; and those canaries."""
    clone = tmp_path_factory.mktemp("corpus") / "repo"
    git(clone.parent, "clone", "-q", str(clean_repo), str(clone))
    (clone / ".venv-checkov").symlink_to(REPO / ".venv-checkov")
    canaries = []
    for shape in SHAPES:
        assert not (clone / SERVICE / shape["file"]).exists(), shape["file"]
        canaries.append(canary())
        value = shape.get("example", "{canary}").replace("{canary}", canaries[-1])
        plant_shape(clone / SERVICE, shape, shape["key"], value)
    return clone, canaries


@pytest.fixture(scope="module")
def corpus_findings(corpus_repo: tuple[Path, list[str]]) -> list[str]:
    return [str(f) for f in scan_secrets(corpus_repo[0])]


@pytest.mark.parametrize("shape", SHAPES, ids=[s["shape"] for s in SHAPES])
def test_each_shape_of_the_corpus_is_found_by_file_and_line(
    corpus_repo: tuple[Path, list[str]], corpus_findings: list[str], shape: dict[str, Any]
) -> None:
    where = f"{SERVICE}/{shape['file']}:{shape['line']}: "
    assert any(f.startswith(where) for f in corpus_findings), [
        f for f in corpus_findings if shape["file"] in f
    ]
    output = "\n".join(corpus_findings)
    assert not [c for c in corpus_repo[1] if c in output]


def test_placeholders_references_and_code_are_not_findings(repo: Path) -> None:
    for name, text in CORPUS["not_secrets"].items():
        write(repo, f"{SERVICE}/not-secrets/{name}", text)
    assert [str(f) for f in scan_secrets(repo)] == []


# Generated shapes: a key with a sensitive part (hooks/env/parser.py SENSITIVE_PART) in the
# shape's case, and a random value with a run mixing letters and digits, wrapped in what the
# shape's encoding can carry: punctuation, spaces, quotes.
# A word that names a secret held elsewhere (secretName, secretKeyRef) makes no secret.
NAMING = ("name", "names", "ref")
WORD = st.from_regex(r"[a-z]{2,6}", fullmatch=True).filter(lambda w: w not in NAMING)
# A sensitive part as names are written (DBPASSWORD, APIKEY2): a name made of random runs
# (06PASSWORD12345QT) is itself a high-entropy string to detect-secrets, placeholder or not.
SENSITIVE = st.one_of(
    st.tuples(
        st.from_regex(r"[A-Z]{0,3}", fullmatch=True),
        st.sampled_from(["TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "KEY", "KEYS"]),
        st.from_regex(r"[A-Z]{0,2}[0-9]?", fullmatch=True),
    ).map("".join),
    st.sampled_from(["CREDENTIALS", "PRIVATE", "PWD", "PASS", "CREDS", "SALT", "DSN"]),
).filter(SENSITIVE_PART.fullmatch)
KEY_PARTS = st.tuples(
    st.lists(WORD, min_size=1, max_size=2),
    SENSITIVE.map(str.lower),
    st.lists(WORD, max_size=1),
).map(lambda t: [*t[0], t[1], *t[2]])
CORE = st.from_regex(r"[a-z]{1,4}[0-9]{1,4}[A-Z]{1,4}[A-Za-z0-9]{5,24}", fullmatch=True)
# What each encoding may wrap the core in; never { } < > (a template expression or a
# placeholder's brackets around a whole value read as one).
PUNCTUATION = "!%^*+-_.,;@~=/"
ALPHABETS = {
    "raw": PUNCTUATION + "0123456789",
    "plain": "-_.~+/=^",
    "block": PUNCTUATION + " #'\"\\:&|()[]?`$é",
    "dockerfile": PUNCTUATION + " :&|()[]?",
    "shell-single": PUNCTUATION + " #'\"\\:&|()[]?`$",
    "shell-double": PUNCTUATION + " #'\"\\:&|()[]?",
    "python": PUNCTUATION + " #'\"\\:&|()[]?`$é€",
    "json": PUNCTUATION + " #'\"\\:&|()[]?`$é€",
    "url": "!$&'*+,;=-._~",
}


def cased(parts: list[str], case: str) -> str:
    if case == "upper":
        return "_".join(parts).upper()
    if case == "camel":
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    return ("." if case == "dotted" else "_").join(parts)


@st.composite
def secret_values(draw: st.DrawFn, kind: str) -> tuple[str, str]:
    """(value, its random core) for an encoding."""
    core, affix = draw(CORE), st.text(ALPHABETS[kind], max_size=8)
    prefix = "" if kind == "plain" else draw(affix).lstrip()
    value = prefix + core + draw(affix).rstrip()
    assert looks_secret(value)  # what the rule promises for such a value
    return value, core


def static_findings(root: Path, name: str) -> list[Finding]:
    """The scanners that run in this process (trivy adds only its own token formats)."""
    return [*assignment_findings(root, [name]), *detect_secrets_findings(root, [name])]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_generated_secret_in_every_shape_is_found_and_never_shown(
    data: st.DataObject,
) -> None:
    shape = data.draw(st.sampled_from(SHAPES), label="shape")
    key = cased(data.draw(KEY_PARTS, label="key"), shape["case"])
    value, core = data.draw(secret_values(shape["encode"]), label="value")
    with tempfile.TemporaryDirectory() as scratch:
        name = plant_shape(Path(scratch), shape, key, value)
        found = static_findings(Path(scratch), name)
    # The class is found by its own rule, whatever detect-secrets adds.
    where = f"{name}:{shape['line']}"
    assert any(f.scanner == "assignments" and f.target == where for f in found), found
    output = "\n".join(map(str, found))
    assert value not in output and core not in output


QUOTED = [
    shape
    for shape in SHAPES
    if shape["encode"] in ("shell-single", "shell-double", "python", "json")
]


@pytest.mark.parametrize("value", ["#k3Zp9Qw7Rt2x", "# k3Zp9Qw7Rt2x", "k3Zp9Qw7Rt2x #"])
@pytest.mark.parametrize("shape", QUOTED, ids=[shape["shape"] for shape in QUOTED])
def test_a_hash_inside_quotes_is_the_value_not_a_comment(
    shape: dict[str, Any], value: str, tmp_path: Path
) -> None:
    """A comment begins with a # outside quotes; a quoted value starting with one was once
    read as a comment, and so missed (found by the property above, in TOML)."""
    key = cased(["db", "password"], shape["case"])
    name = plant_shape(tmp_path, shape, key, value)
    found = static_findings(tmp_path, name)
    assert any(f.scanner == "assignments" and f.target == f"{name}:{shape['line']}" for f in found)


PLACEHOLDERS = {
    "raw": ["change-me", "CHANGEME", "replace_me", "xxxxxxxx", "${DB_PASSWORD}", "$API_TOKEN"],
    "plain": ["change-me", "CHANGEME", "xxxxxxxx", "<your-token>", "your-api-token", "example"],
    "url": ["password", "change-me", "${DB_PASSWORD}", "<password>", "pass", "secret", "xxxx"],
}
ANY_PLACEHOLDER = [
    *PLACEHOLDERS["raw"],
    *PLACEHOLDERS["plain"],
    "<your token here>",
    "{{ upstream_api_token }}",
    "postgresql://user:password@localhost/db",
    "dummy",
    "",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_placeholders_in_every_shape_are_not_findings(data: st.DataObject) -> None:
    shape = data.draw(st.sampled_from(SHAPES), label="shape")
    key = cased(data.draw(KEY_PARTS, label="key"), shape["case"])
    choices = PLACEHOLDERS.get(shape["encode"], ANY_PLACEHOLDER)
    if shape["encode"] in ("block", "dockerfile"):
        choices = [c for c in choices if c]
    placeholder = data.draw(st.sampled_from(choices), label="placeholder")
    with tempfile.TemporaryDirectory() as scratch:
        name = plant_shape(Path(scratch), shape, key, placeholder)
        assert [str(f) for f in static_findings(Path(scratch), name)] == []


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
    names = []
    for name in SENSITIVE_NAMES:
        assert sensitive_part(name), name
        write(tmp_path, f"{name}/run.sh", f"{name}={TOKEN}\n")
        write(tmp_path, f"{name}/values.yaml", f"{name.lower()}: {TOKEN}\n")
        names += [f"{name}/run.sh", f"{name}/values.yaml"]
    flagged = {f.target for f in assignment_findings(tmp_path, names)}
    assert flagged == {f"{n}:1" for n in names}


def test_a_reviewed_allowlist_entry_silences_exactly_its_finding(repo: Path) -> None:
    write(repo, "services/orders/fixture.py", f'HMAC_KEY = "{TOKEN}"\n')
    write(repo, "services/orders/other.py", f'HMAC_KEY = "{TOKEN}"\n')
    entry = {
        "id": "sensitive-value",
        "paths": ["services/*/fixture.py"],
        "statement": "a published test vector",
    }
    (repo / ALLOWLIST).write_text(yaml.safe_dump({"secrets": [entry]}))
    found = scan_secrets(repo)
    assert [f.target for f in found if f.id == "sensitive-value"] == ["services/orders/other.py:1"]
    # The other scanners' findings on that line are not accepted by it: each needs its entry.
    assert [f for f in found if f.target == "services/orders/fixture.py:1"]
    assert stale_allowlist_entries(repo) == []


def test_an_allowlist_entry_no_finding_needs_is_stale(repo: Path) -> None:
    entry = {"id": "sensitive-value", "paths": ["services/orders/gone.py"], "statement": "x"}
    (repo / ALLOWLIST).write_text(yaml.safe_dump({"secrets": [entry]}))
    assert stale_allowlist_entries(repo) == [entry]
    finding = Finding("assignments", "sensitive-value", "HIGH", "services/orders/gone.py:3", "")
    assert allowed(finding, entry)


def test_make_scan_fails_on_secrets_and_shows_none_of_them(
    corpus_repo: tuple[Path, list[str]],
) -> None:
    repo, values = corpus_repo
    result = make(repo, "scan")
    assert result.returncode != 0
    shape = SHAPES[0]
    assert (
        f"{SERVICE}/{shape['file']}:{shape['line']}: assignments sensitive-value" in result.stdout
    )
    assert "security/secret-allowlist.yaml" in result.stdout
    assert not [v for v in values if v in result.stdout + result.stderr]


def test_the_rendered_answer_matrix_holds_no_finding(
    rendered_services: dict[str, Path], tmp_path: Path
) -> None:
    for case, service in rendered_services.items():
        # What git would commit of it: its local env files stay out.
        copy = tmp_path / case
        shutil.copytree(service, copy, ignore=shutil.ignore_patterns(".git"))
        git(copy, "init", "-q")
        names = git(copy, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
        names = [n for n in names if n]
        assert ".env.example" in names and ".env.development" not in names
        assert [str(f) for f in scan_files(copy, names, REPO / RULES)] == [], case


def test_docs_and_hooks_hold_no_finding() -> None:
    options = ["--cached", "--others", "--exclude-standard", "--", "docs", "hooks"]
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", *options], capture_output=True, text=True, check=True
    ).stdout.split()
    names = [n for n in listed if (REPO / n).is_file()]
    assert [str(f) for f in scan_files(REPO, names, REPO / RULES)] == []
