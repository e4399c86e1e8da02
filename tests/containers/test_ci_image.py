"""`make image`, `image-scan` and `image-push`: the runtime image CI builds, gates and ships.

The scanner's vulnerability database cannot be had here, so the gate is shown with the
pinned trivy's own flags, its failure without a database, and stand-in reports; the build
and the push run for real (a Docker engine, a registry on 127.0.0.1).
"""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from hooks.ci import image
from hooks.errors import HookError
from tests.support.engine import ensure_base_image
from tests.support.helpers import commit_all, edit, git, make, repo_with_services
from tests.support.stand_ins import stand_in_trivy, use_registry

REPORT = {
    "Results": [
        {
            "Target": "example (debian 13.1)",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2099-0001",
                    "PkgName": "libexample",
                    "InstalledVersion": "1.0",
                    "FixedVersion": "1.1",
                    "Severity": "CRITICAL",
                }
            ],
        }
    ]
}


def test_the_gate_asks_trivy_for_fixable_high_and_critical_vulnerabilities(tmp_path: Path) -> None:
    trivy = stand_in_trivy(tmp_path / "bin", REPORT)
    results = image.trivy_report("registry/orders:abc", tmp_path / "cache", trivy)
    args = (tmp_path / "bin" / "args").read_text().split()
    assert args[:1] == ["image"] and args[-1] == "registry/orders:abc"
    assert "--ignore-unfixed" in args
    assert args[args.index("--severity") + 1] == "HIGH,CRITICAL"
    assert args[args.index("--scanners") + 1] == "vuln"
    assert image.blocking(results) == [
        "libexample 1.0: CVE-2099-0001 (CRITICAL), fixed in 1.1 (example (debian 13.1))"
    ]
    assert image.blocking([{"Target": "clean"}]) == []


def test_the_pinned_trivy_knows_every_flag_the_gate_gives_it() -> None:
    helped = subprocess.run(
        [str(image.TRIVY), "image", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--ignore-unfixed", "--severity", "--scanners", "--format", "--cache-dir"):
        assert f"{flag} " in helped, flag


def test_without_its_database_the_scan_fails_and_says_why(tmp_path: Path) -> None:
    os.environ["TRIVY_DB_REPOSITORY"] = "127.0.0.1:9/nowhere"  # never the network
    try:
        with pytest.raises(HookError) as failed:
            image.trivy_report("registry/orders:abc", tmp_path / "cache")
    finally:
        del os.environ["TRIVY_DB_REPOSITORY"]
    assert "trivy could not scan registry/orders:abc" in str(failed.value)
    assert "vulnerability database" in str(failed.value)


@pytest.mark.parametrize(
    "value", [None, "", "https://ghcr.io/acme/platform", "ghcr.io/Acme/platform"]
)
def test_the_registry_comes_from_platform_settings(tmp_path: Path, value: str | None) -> None:
    settings = tmp_path / "platform" / "settings" / "settings.yaml"
    settings.parent.mkdir(parents=True)
    ci = "" if value is None else f"  ci:\n    image_registry: {value!r}\n"
    settings.write_text(f"data:\n  platform_name: p\n{ci}")
    with pytest.raises(HookError, match=r"needs ci\.image_registry"):
        image.registry(tmp_path)
    settings.write_text("data:\n  ci:\n    image_registry: ghcr.io/acme/platform/\n")
    assert image.registry(tmp_path) == "ghcr.io/acme/platform"


@pytest.mark.containers
def test_an_image_is_built_gated_and_pushed_by_digest(
    engine: None, registry: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    usable, how = ensure_base_image("python:3.13-slim-trixie", "3.13")
    if not usable:
        pytest.skip(how)
    repo = repo_with_services(tmp_path / "repo", {"orders": []})
    use_registry(repo, f"{registry}/acme")
    commit_all(repo, "orders, and a registry here")
    commit = git(repo, "rev-parse", "HEAD").strip()
    tag = f"{registry}/acme/orders:{commit}"

    request.addfinalizer(lambda: subprocess.run(["docker", "rmi", "-f", tag], capture_output=True))
    built = make(repo, "image", "name=orders")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr
    assert f"built {tag}" in built.stdout
    labels = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(labels)["org.opencontainers.image.revision"] == commit

    unscanned = make(repo, "image-push", "name=orders")
    assert unscanned.returncode != 0
    assert "has not passed the scan: make image-scan name=orders first" in unscanned.stderr

    with pytest.raises(HookError, match="1 HIGH/CRITICAL vulnerabilities with a fix"):
        list(image.scan(repo, "orders", stand_in_trivy(tmp_path / "vulnerable", REPORT)))
    assert make(repo, "image-push", "name=orders").returncode != 0  # still not pushed
    clean = stand_in_trivy(tmp_path / "clean", {"Results": [{"Target": "clean"}]})
    said = list(image.scan(repo, "orders", clean))
    assert said[-1] == f"{tag}: no fixable HIGH or CRITICAL vulnerability"

    summary = tmp_path / "summary.md"
    pushed = make(repo, "image-push", "name=orders", f"summary={summary}")
    assert pushed.returncode == 0, pushed.stderr
    digest = pushed.stdout.strip().rsplit("@", 1)[1]
    assert digest.startswith("sha256:")
    manifest = urllib.request.Request(
        f"http://{registry}/v2/acme/orders/manifests/{commit}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(manifest, timeout=10) as answer:  # noqa: S310 (http, 127.0.0.1)
        assert answer.headers["Docker-Content-Digest"] == digest
    assert f"| `{tag}` | `{digest}` |" in summary.read_text()


def test_an_image_is_built_only_from_a_committed_service(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {"orders": []})
    commit_all(repo, "orders")
    edit(repo / "services/orders/README.md", "\n", "\n\nUncommitted.\n")
    refused = make(repo, "image", "name=orders")
    assert refused.returncode != 0
    assert "services/orders has uncommitted changes" in refused.stderr
    unknown = make(repo, "image", "name=nope")
    assert "there is no service 'nope'" in unknown.stderr
