"""`make image`, `image-scan` and `image-push`: a service's runtime image as CI ships it.

The image is the Dockerfile's `runtime` stage, named <ci.image_registry>/<service> in the
platform settings and tagged with the commit it was built from. The scan is the gate: no
HIGH or CRITICAL vulnerability that has a fix (`--ignore-unfixed`: one without a fix fails
every slim base, and no rebuild can remove it). A pass is recorded by image ID, and only an
image that passed is pushed, so no workflow step order can ship an unscanned one.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hooks.core.gitrepo import git
from hooks.core.services import find_service
from hooks.core.settings import SETTINGS_FILE, load_settings
from hooks.errors import HookError

TRIVY = Path(sys.executable).with_name("trivy")
SEVERITIES = "HIGH,CRITICAL"
CACHE = Path(".cache") / "ci"
# Where the registry login comes from, in CI (docs/ci.md): never a command-line argument.
USERNAME, PASSWORD = "REGISTRY_USERNAME", "REGISTRY_PASSWORD"
DOCKER_MISSING = "docker is not installed (or not on PATH): the image is built with Docker"


def registry(repo: Path) -> str:
    """Where CI pushes images: ci.image_registry of the platform settings."""
    value = (load_settings(repo).get("ci") or {}).get("image_registry")
    if not value or "://" in str(value) or str(value) != str(value).lower():
        raise HookError(
            f"{SETTINGS_FILE} needs ci.image_registry, a registry and path in lowercase without "
            f"a scheme (ghcr.io/<owner>/<project>); it has {value!r}. See docs/ci.md"
        )
    return str(value).rstrip("/")


def image_of(repo: Path, name: str, action: str) -> tuple[Path, str]:
    """The service folder, and its image: <registry>/<service>:<commit of HEAD>."""
    service = find_service(repo, name, action)
    commit = git(repo, "rev-parse", "HEAD").strip()
    return service, f"{registry(repo)}/{service.name}:{commit}"


def docker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The docker client, with BuildKit (the Dockerfile mounts caches)."""
    client = shutil.which("docker")
    if client is None:
        raise HookError(DOCKER_MISSING)
    return subprocess.run(
        [client, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )


def image_id(image: str) -> str | None:
    found = docker("image", "inspect", "--format", "{{.Id}}", image)
    return found.stdout.strip() if found.returncode == 0 else None


def build(repo: Path, name: str) -> Iterator[str]:
    """docker build of the runtime stage, from a committed service folder."""
    service, image = image_of(repo, name, "image")
    relative = service.relative_to(repo).as_posix()
    if service.is_symlink() or (service / ".git").exists():
        raise HookError(
            f"{relative} is a repository of its own: its own CI builds its image "
            "(.github/workflows/ci.yml there, docs/ci.md)"
        )
    dirty = git(repo, "status", "--porcelain", "--untracked-files=all", "--", relative)
    if dirty.strip():
        raise HookError(
            f"{relative} has uncommitted changes, and its image is tagged with the commit it "
            f"is built from: commit them first (git status {relative})"
        )
    commit = image.rsplit(":", 1)[1]
    yield f"building {image} (the runtime stage of {relative}/Dockerfile)"
    client = shutil.which("docker")
    if client is None:
        raise HookError(DOCKER_MISSING)
    command = [client, "build", "--progress", "plain", "--target", "runtime", "--tag", image]
    labels = {"revision": commit, "title": service.name}
    command += [f"--label=org.opencontainers.image.{key}={value}" for key, value in labels.items()]
    with subprocess.Popen(
        [*command, str(service)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    ) as process:
        for line in process.stdout or ():
            yield line.rstrip("\n")
    if process.returncode:
        raise HookError(f"docker build of {image} failed (its output is above)")
    yield f"built {image} ({image_id(image)})"


def _scanned_marker(repo: Path, identifier: str) -> Path:
    return repo / CACHE / "scanned" / identifier.replace(":", "-")


def blocking(results: list[dict[str, Any]]) -> list[str]:
    """One line per vulnerability trivy reported (it filtered severity and fixes already)."""
    return [
        f"{v['PkgName']} {v.get('InstalledVersion', '?')}: {v['VulnerabilityID']} "
        f"({v['Severity']}), fixed in {v.get('FixedVersion') or '?'} ({result['Target']})"
        for result in results
        for v in result.get("Vulnerabilities") or []
    ]


def trivy_report(image: str, cache: Path, trivy: Path = TRIVY) -> list[dict[str, Any]]:
    """trivy's vulnerability results for a local image: HIGH/CRITICAL with a fix only."""
    cache.mkdir(parents=True, exist_ok=True)
    command = [str(trivy), "image", "--scanners", "vuln", "--severity", SEVERITIES]
    command += ["--ignore-unfixed", "--format", "json", "--quiet", "--cache-dir", str(cache)]
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [*command, image],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TRIVY_DISABLE_VEX_NOTICE": "true", "TMPDIR": scratch},
        )
    if result.returncode:
        said = result.stderr.strip()[-1500:]
        database = "DB" in said or "database" in said
        hint = (
            "\ntrivy downloads its vulnerability database on first use (from mirror.gcr.io or "
            "ghcr.io) into .cache/ci/trivy; this machine cannot reach it. CI can (docs/ci.md)"
            if database
            else ""
        )
        raise HookError(f"trivy could not scan {image}: {said}{hint}")
    report: dict[str, Any] = json.loads(result.stdout or "{}")
    results: list[dict[str, Any]] = report.get("Results") or []
    return results


def scan(repo: Path, name: str, trivy: Path = TRIVY) -> Iterator[str]:
    """The gate: fail on a fixable HIGH or CRITICAL vulnerability; record a pass."""
    _, image = image_of(repo, name, "image-scan")
    identifier = image_id(image)
    if identifier is None:
        raise HookError(f"there is no image {image} here: build it first, make image name={name}")
    yield f"scanning {image} with trivy: {SEVERITIES} vulnerabilities that have a fix"
    found = blocking(trivy_report(image, repo / CACHE / "trivy", trivy))
    if found:
        yield from found
        raise HookError(
            f"{image}: {len(found)} HIGH/CRITICAL vulnerabilities with a fix. Rebuild on a "
            "patched base (a newer base image digest in platform settings, make update) or "
            "bump the package (make lock name=...); see docs/ci.md"
        )
    marker = _scanned_marker(repo, identifier)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{image}\n")
    yield f"{image}: no fixable HIGH or CRITICAL vulnerability"


def push(repo: Path, name: str, summary: str = "") -> Iterator[str]:
    """Push the scanned image; print (and add to `summary`, a Markdown file) its digest."""
    service, image = image_of(repo, name, "image-push")
    identifier = image_id(image)
    if identifier is None:
        raise HookError(f"there is no image {image} here: make image name={name} first")
    if not _scanned_marker(repo, identifier).exists():
        raise HookError(f"{image} has not passed the scan: make image-scan name={name} first")
    host = image.split("/", 1)[0]
    password = os.environ.get(PASSWORD, "")
    if password:
        login = docker(
            "login", host, "--username", os.environ.get(USERNAME, ""), "--password-stdin",
            stdin=password,
        )  # fmt: skip
        if login.returncode:
            raise HookError(f"docker login {host} failed: {login.stderr.strip()}")
    try:
        pushed = docker("push", image)
        if pushed.returncode:
            raise HookError(f"docker push {image} failed: {pushed.stderr.strip()[-1500:]}")
    finally:
        if password:
            docker("logout", host)
    repository = image.rsplit(":", 1)[0]
    inspected = docker("image", "inspect", "--format", "{{json .RepoDigests}}", image)
    digests = [d for d in json.loads(inspected.stdout or "[]") if d.startswith(f"{repository}@")]
    if not digests:
        raise HookError(f"{image} was pushed, but docker reports no digest for {repository}")
    digest = digests[0].split("@", 1)[1]
    if summary:
        with open(summary, "a") as markdown:
            markdown.write(
                f"### {service.name}\n\n| image | digest |\n|---|---|\n"
                f"| `{image}` | `{digest}` |\n\n"
            )
    yield f"pushed {image}: {repository}@{digest}"
