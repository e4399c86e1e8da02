"""Policy scanners over rendered manifests and Dockerfiles: trivy (embedded checks) and checkov.

Both run offline. checkov lives in its own venv (.venv-checkov): beside the main tools it
downgrades `packaging`. Findings not listed in security/suppressions.yml fail the gate.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from hooks.core.kube import kustomize
from hooks.errors import HookError

TRIVY = Path(sys.executable).with_name("trivy")
SUPPRESSIONS = Path("security") / "suppressions.yml"
BLOCKING = {"HIGH", "CRITICAL"}


@dataclass(frozen=True)
class Finding:
    """One scanner finding in one rendered file."""

    scanner: str
    id: str
    severity: str
    target: str
    title: str

    def __str__(self) -> str:
        return f"{self.target}: {self.scanner} {self.id} ({self.severity}) {self.title}"


def checkov_binary(repo: Path) -> Path:
    return repo / ".venv-checkov" / "bin" / "checkov"


def render_targets(service: Path, destination: Path) -> None:
    """Each overlay rendered to <overlay>.yaml, and the Dockerfile, in one folder."""
    destination.mkdir(parents=True, exist_ok=True)
    for overlay in ("base", "overlays/dev", "overlays/prod"):
        rendered = kustomize(service / "k8s" / overlay)
        (destination / f"{overlay.replace('overlays/', '')}.yaml").write_text(rendered)
    shutil.copyfile(service / "Dockerfile", destination / "Dockerfile")


def run_trivy(*arguments: str) -> list[dict[str, Any]]:
    """trivy's JSON results for one offline run, e.g. run_trivy("config", directory)."""
    with tempfile.TemporaryDirectory() as cache:
        result = subprocess.run(
            [str(TRIVY), *arguments, "--quiet", "--format", "json", "--cache-dir", cache],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TRIVY_DISABLE_VEX_NOTICE": "true"},
        )
    if result.returncode:
        raise HookError(f"trivy failed: {result.stderr.strip()[-1000:]}")
    results: list[dict[str, Any]] = json.loads(result.stdout).get("Results", [])
    return results


def trivy(directory: Path) -> list[Finding]:
    return [
        Finding("trivy", m["ID"], m["Severity"], r["Target"], m["Title"])
        for r in run_trivy("config", "--skip-check-update", str(directory))
        for m in r.get("Misconfigurations") or []
    ]


def checkov(repo: Path, directory: Path) -> list[Finding]:
    binary = checkov_binary(repo)
    if not binary.exists():
        raise HookError("checkov is not installed: run `make check` (it creates .venv-checkov)")
    result = subprocess.run(
        [
            str(binary),
            "-d",
            str(directory),
            "--framework",
            "kubernetes",
            "dockerfile",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):  # 1: findings
        raise HookError(f"checkov failed: {result.stderr.strip()[-1000:]}")
    reports: Any = json.loads(result.stdout) if result.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    return [
        Finding(
            "checkov",
            f["check_id"],
            f.get("severity") or "UNRATED",
            f["file_path"].lstrip("/"),
            f["check_name"],
        )
        for report in reports
        if isinstance(report, dict)
        for f in report.get("results", {}).get("failed_checks", [])
    ]


def under(findings: list[Finding], folder: str) -> list[Finding]:
    """The findings in files under `folder` of the scanned tree."""
    return [f for f in findings if f.target.startswith(f"{folder}/")]


def unaccepted(findings: list[Finding], repo: Path) -> list[Finding]:
    """Findings the suppression file does not accept (dev relaxations only in dev.yaml)."""
    listed = yaml.safe_load((repo / SUPPRESSIONS).read_text())
    everywhere = {(s["scanner"], s["id"]) for s in listed["suppressions"]}
    in_dev = {(s["scanner"], s["id"]) for s in listed["dev_relaxations"]}
    return [
        f
        for f in findings
        if (f.scanner, f.id) not in everywhere
        and not (Path(f.target).name == "dev.yaml" and (f.scanner, f.id) in in_dev)
    ]


def scan_findings(repo: Path, services: Mapping[str, Path], platform: bool) -> list[Finding]:
    """Every finding, accepted or not, in each service's overlays and Dockerfile (rendered
    under its key: `<key>/dev.yaml`) and, if asked, the platform manifests
    (`platform/namespaces.yaml`). A scanner's start-up, not the files, is most of its time, so
    checkov runs once for all of them, trivy once for the services and once for the platform
    (together, trivy would report the platform's namespace-wide checks on every service)."""
    with tempfile.TemporaryDirectory() as scratch:
        root, findings = Path(scratch), []
        for key, service in services.items():
            render_targets(service, root / "services" / key)
        if services:
            findings += trivy(root / "services")
        if platform:
            (root / "platform").mkdir()
            rendered = kustomize(repo / "platform" / "namespaces")
            (root / "platform" / "namespaces.yaml").write_text(rendered)
            findings += [
                replace(f, target=f"platform/{f.target}") for f in trivy(root / "platform")
            ]
        findings += [
            replace(f, target=f.target.removeprefix("services/")) for f in checkov(repo, root)
        ]
        return findings


def scan(repo: Path, services: Sequence[Path]) -> list[Finding]:
    """Every unaccepted finding in the platform manifests and the services (make scan)."""
    keyed = {service.relative_to(repo).as_posix(): service for service in services}
    return unaccepted(scan_findings(repo, keyed, platform=True), repo)
