"""Supply chain: every tool and dependency pinned, base images pinnable by digest, and
nothing local (env files, secrets) in git or in an image."""

import re
import shutil
from pathlib import Path

import copier

from hooks.env.checks import MUST_BE_IGNORED
from tests.support.engine import docker
from tests.support.helpers import REPO, git

PINNED = re.compile(r"^[A-Za-z0-9_.\-\[\]]+==[^=\s]+$")


def test_every_tool_is_pinned() -> None:
    for name in ("requirements.txt", "requirements-checkov.txt"):
        for line in (REPO / name).read_text().splitlines():
            requirement = line.split("#")[0].strip()
            if requirement:
                assert PINNED.match(requirement), f"{name}: {requirement} is not pinned with =="


def test_every_locked_dependency_has_hashes() -> None:
    locks = sorted((REPO / "template" / "locks").glob("*/requirements*.lock"))
    assert len(locks) >= 4  # a pair per variant: base, postgres
    for lock in locks:
        name, text = f"{lock.parent.name}/{lock.name}", lock.read_text()
        packages = re.findall(r"^([a-z0-9\-_.]+)==\S+", text, re.M)
        assert packages and len(re.findall(r"^\S+==", text, re.M)) == len(packages)
        for block in re.split(r"\n(?=\S)", text.strip()):
            assert "--hash=sha256:" in block, f"{name}: {block.splitlines()[0]} has no hash"


def test_a_base_image_digest_setting_pins_the_dockerfile(
    template_repo: Path, tmp_path: Path
) -> None:
    template = tmp_path / "template"
    shutil.copytree(template_repo, template, ignore=shutil.ignore_patterns(".git"))
    settings = template / "platform" / "settings" / "settings.yaml"
    digest = "sha256:" + "a" * 64
    settings.write_text(
        settings.read_text().replace(
            "base_image_digests: {}", f"base_image_digests:\n    python:3.13-slim-trixie: {digest}"
        )
    )
    copier.run_copy(
        str(template),
        str(tmp_path / "svc"),
        data={"service_name": "orders"},
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
    dockerfile = (tmp_path / "svc" / "Dockerfile").read_text()
    assert f"FROM python:3.13-slim-trixie@{digest} AS base" in dockerfile


def test_git_ignores_local_env_files_in_a_generated_service(
    rendered_services: dict[str, Path], tmp_path: Path
) -> None:
    service = tmp_path / "svc"
    shutil.copytree(rendered_services["defaults"], service)
    for name in MUST_BE_IGNORED:
        (service / name).write_text("UPSTREAM_API_TOKEN=real\n")
    git(service, "init", "-q")
    git(service, "add", "-A")
    committed = git(service, "ls-files").split()
    assert {".env.example", "k8s/base/config.env"} <= set(committed)
    assert not set(MUST_BE_IGNORED) & set(committed)


def test_the_build_context_holds_only_sources_and_locks(
    engine: None, rendered_services: dict[str, Path], tmp_path: Path
) -> None:
    service = tmp_path / "svc"
    shutil.copytree(rendered_services["defaults"], service)
    (service / ".env.local").write_text("UPSTREAM_API_TOKEN=real\n")
    (service / "secrets.txt").write_text("real\n")
    (service / ".git").mkdir()
    (service / ".git" / "config").write_text("[core]\n")
    # What BuildKit sends as the context, exported as files (honours .dockerignore).
    context = tmp_path / "context"
    docker(
        "build",
        "-f",
        "-",
        "-o",
        f"type=local,dest={context}",
        str(service),
        input="FROM scratch\nCOPY . /\n",
    )
    sent = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert sent and all(p.startswith("src/") or p.endswith(".lock") for p in sent), sent
    assert "requirements.lock" in sent and "requirements-dev.lock" in sent
    assert not [p for p in sent if ".env" in p or "secret" in p or p.startswith(".git")]
