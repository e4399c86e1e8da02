"""Policy scanners (trivy, checkov) over every rendered overlay, Dockerfile and the platform."""

import shutil
from pathlib import Path

import pytest
import yaml

from hooks.scan import (
    BLOCKING,
    SUPPRESSIONS,
    checkov,
    render_targets,
    scan_platform,
    scan_service,
    trivy,
    unaccepted,
)
from hooks.settings import generated_services
from tests.helpers import REPO
from tests.kube import kustomize

LISTED = yaml.safe_load((REPO / SUPPRESSIONS).read_text())


@pytest.fixture(scope="session")
def raw_findings(rendered_services: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """Every finding, suppressed or not, per case of the answer matrix."""
    found = {}
    for case, service in rendered_services.items():
        scratch = tmp_path_factory.mktemp(f"scan-{case}")
        render_targets(service, scratch)
        found[case] = trivy(scratch) + checkov(REPO, scratch)
    return found


@pytest.fixture(scope="session")
def platform_findings(tmp_path_factory: pytest.TempPathFactory) -> list:
    """Every finding in the platform manifests, suppressed or not."""
    scratch = tmp_path_factory.mktemp("scan-platform")
    (scratch / "platform.yaml").write_text(
        yaml.safe_dump_all(kustomize(REPO / "platform" / "namespaces"))
    )
    return trivy(scratch) + checkov(REPO, scratch)


def test_no_unaccepted_finding_in_any_overlay_or_dockerfile(raw_findings: dict) -> None:
    for case, findings in raw_findings.items():
        assert [str(f) for f in unaccepted(findings, REPO)] == [], case


def test_base_and_prod_have_no_high_or_critical_finding_even_suppressed(raw_findings: dict) -> None:
    for case, findings in raw_findings.items():
        blocking = [
            str(f) for f in findings if f.severity in BLOCKING and Path(f.target).name != "dev.yaml"
        ]
        assert blocking == [], case


def test_every_suppression_is_used_and_has_a_reason(
    raw_findings: dict, platform_findings: list
) -> None:
    everything = [*platform_findings, *(f for found in raw_findings.values() for f in found)]
    seen = {(f.scanner, f.id) for f in everything}
    for entry in LISTED["suppressions"] + LISTED["dev_relaxations"]:
        assert len(entry["reason"]) > 40, entry["id"]
        assert (entry["scanner"], entry["id"]) in seen, f"stale suppression {entry['id']}"


def test_a_new_dev_relaxation_is_caught(rendered_services: dict[str, Path], tmp_path: Path) -> None:
    service = tmp_path / "service"
    shutil.copytree(rendered_services["defaults"], service)
    overlay = service / "k8s" / "overlays" / "dev" / "kustomization.yaml"
    overlay.write_text(
        overlay.read_text()
        + (
            "      - op: replace\n"
            "        path: /spec/template/spec/containers/0/securityContext/"
            "allowPrivilegeEscalation\n"
            "        value: true\n"
        )
    )
    found = scan_service(REPO, service)
    assert found and all(Path(f.target).name == "dev.yaml" for f in found)


@pytest.mark.check
def test_the_platform_manifests_pass_the_scanners() -> None:
    assert [str(f) for f in scan_platform(REPO)] == []


SERVICES = generated_services(REPO)


@pytest.mark.check
@pytest.mark.parametrize("service", SERVICES, ids=[p.name for p in SERVICES])
def test_each_committed_service_passes_the_scanners(service: Path) -> None:
    assert [str(f) for f in scan_service(REPO, service)] == []
