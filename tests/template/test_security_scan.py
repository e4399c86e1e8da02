"""Policy scanners (trivy, checkov) over every rendered overlay, Dockerfile and the platform."""

import shutil
from pathlib import Path

import pytest
import yaml

from hooks.security.scan import BLOCKING, SUPPRESSIONS, Finding, scan_findings, unaccepted, under
from tests.support.helpers import REPO

LISTED = yaml.safe_load((REPO / SUPPRESSIONS).read_text())


@pytest.fixture(scope="module")
def all_findings(rendered_services: dict[str, Path]) -> list[Finding]:
    """Every finding, suppressed or not, in the platform and each case of the answer matrix."""
    return scan_findings(REPO, rendered_services, platform=True)


@pytest.fixture(scope="module")
def raw_findings(
    rendered_services: dict[str, Path], all_findings: list[Finding]
) -> dict[str, list[Finding]]:
    """Every finding, suppressed or not, per case of the answer matrix."""
    return {case: under(all_findings, case) for case in rendered_services}


def test_no_unaccepted_finding_in_any_overlay_or_dockerfile(raw_findings: dict) -> None:
    for case, findings in raw_findings.items():
        assert findings, f"{case} was not scanned: every case has accepted findings"
        assert [str(f) for f in unaccepted(findings, REPO)] == [], case


def test_base_and_prod_have_no_high_or_critical_finding_even_suppressed(raw_findings: dict) -> None:
    for case, findings in raw_findings.items():
        blocking = [
            str(f) for f in findings if f.severity in BLOCKING and Path(f.target).name != "dev.yaml"
        ]
        assert blocking == [], case


def test_every_suppression_is_used_and_has_a_reason(all_findings: list[Finding]) -> None:
    seen = {(f.scanner, f.id) for f in all_findings}
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
    found = unaccepted(scan_findings(REPO, {"service": service}, platform=False), REPO)
    assert found and all(f.target == "service/dev.yaml" for f in found)
