"""`make doctor`: is this machine ready for `make dev`? Each gap comes with its fix."""

import os
import platform
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hooks.core.settings import EXISTING_CLUSTER, kube_context, load_settings
from hooks.devloop.cluster import NO_REGISTRY, announced_registry, reachable

MIN_AVAILABLE_MEMORY_GIB = 3


@dataclass(frozen=True)
class Tool:
    """A command `make dev` needs, the oldest version that works, and how to install it."""

    name: str
    version_command: tuple[str, ...]
    minimum: str
    install_linux: str
    install_macos: str

    def install(self) -> str:
        return self.install_macos if platform.system() == "Darwin" else self.install_linux


TOOLS = {
    "docker": Tool(
        "docker",
        ("docker", "version", "--format", "{{.Server.Version}}"),
        "20.10.5",  # k3d needs at least this
        "curl -fsSL https://get.docker.com | sh",
        "brew install --cask docker",
    ),
    "k3d": Tool(
        "k3d",
        ("k3d", "version"),
        "5.6.0",
        "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash",
        "brew install k3d",
    ),
    "minikube": Tool(
        "minikube",
        ("minikube", "version", "--short"),
        "1.33.0",
        "curl -LO https://storage.googleapis.com/minikube/releases/latest/"
        "minikube-linux-amd64 && sudo install minikube-linux-amd64 "
        "/usr/local/bin/minikube",
        "brew install minikube",
    ),
    "kubectl": Tool(
        "kubectl",
        ("kubectl", "version", "--client"),
        "1.30.0",
        'curl -LO "https://dl.k8s.io/release/$(curl -Ls https://dl.k8s.io/release/'
        'stable.txt)/bin/linux/amd64/kubectl" && sudo install kubectl '
        "/usr/local/bin/kubectl",
        "brew install kubectl",
    ),
    # Its minimum comes from the settings, which the Tiltfile's version_settings reads too.
    "tilt": Tool(
        "tilt",
        ("tilt", "version"),
        "",
        "curl -fsSL https://raw.githubusercontent.com/tilt-dev/tilt/master/scripts/"
        "install.sh | bash",
        "brew install tilt",
    ),
    "ctlptl": Tool(
        "ctlptl",
        ("ctlptl", "version"),
        "0.8.20",
        "curl -fsSL https://github.com/tilt-dev/ctlptl/releases/download/v0.9.3/"
        "ctlptl.0.9.3.linux.x86_64.tar.gz | sudo tar -xzv -C /usr/local/bin ctlptl",
        "brew install tilt-dev/tap/ctlptl",
    ),
}


@dataclass(frozen=True)
class Finding:
    """One line of the report; `required` findings make doctor fail."""

    ok: bool
    what: str
    fix: str = ""
    required: bool = True


def parse_version(text: str) -> tuple[int, ...] | None:
    """The first dotted version number in a tool's output (`v0.37.6, built …` → (0, 37, 6))."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part) for part in match.groups(default="0")) if match else None


def check_tool(tool: Tool) -> Finding:
    """Present, answering, and at least the minimum version."""
    if shutil.which(tool.name) is None:
        return Finding(False, f"{tool.name} is not installed", f"install it: {tool.install()}")
    result = subprocess.run(tool.version_command, capture_output=True, text=True, check=False)
    if result.returncode and tool.name == "docker":
        return Finding(
            False,
            "docker is installed but its daemon does not answer",
            "start Docker (Docker Desktop, or: sudo systemctl start docker)",
        )
    found = parse_version(result.stdout + result.stderr)
    if found is None or found < (parse_version(tool.minimum) or ()):
        shown = ".".join(map(str, found)) if found else "unknown"
        return Finding(
            False,
            f"{tool.name} {shown} is older than {tool.minimum}",
            f"upgrade it: {tool.install()}",
        )
    return Finding(True, f"{tool.name} {'.'.join(map(str, found))}")


def can_build(docker: str = "docker") -> Finding:
    """Whether the Docker daemon can run a build's RUN steps: BuildKit runs them on the
    default `bridge` network, which a daemon started with --bridge=none lacks."""
    result = subprocess.run(
        [docker, "network", "inspect", "bridge", "--format", "{{.Name}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return Finding(
        result.returncode == 0,
        "docker can build images (its default bridge network is there)"
        if result.returncode == 0
        else "docker has no `bridge` network (started with --bridge=none?): Tilt's builds fail "
        "at their first RUN step with `network bridge not found`",
        "restart the daemon with its default network: stop it, then start `dockerd` without "
        "--bridge=none (Docker Desktop has it; on this repository's CI machines: make engine)",
    )


def check_memory(meminfo: Path = Path("/proc/meminfo")) -> Finding:
    """Enough free memory for the cluster and a few services."""
    if not meminfo.exists():
        return Finding(True, "free memory: not measurable here", required=False)
    available = re.search(r"MemAvailable:\s+(\d+) kB", meminfo.read_text())
    gib = int(available.group(1)) / 2**20 if available else 0.0
    return Finding(
        gib >= MIN_AVAILABLE_MEMORY_GIB,
        f"{gib:.1f} GiB of memory available",
        f"free memory: the cluster and services need {MIN_AVAILABLE_MEMORY_GIB} GiB",
    )


def check_port(port: int, purpose: str) -> Finding:
    """A local port that `make dev` will listen on is free (a warning: ours may hold it)."""
    with socket.socket() as probe:
        free = probe.connect_ex(("127.0.0.1", port)) != 0
    return Finding(
        free,
        f"port {port} ({purpose}) is {'free' if free else 'in use'}",
        "stop what listens there (if it is Tilt already running: make down)",
        required=False,
    )


def check_existing_cluster(context: str) -> list[Finding]:
    """The cluster you chose answers; whether it announces a registry Tilt can push to."""
    reason = reachable(context)
    if reason:
        return [
            Finding(
                False,
                f"the cluster of kube context {context} does not answer ({reason})",
                "start it, or pick another: kubectl config get-contexts",
            )
        ]
    registry = announced_registry(context)
    return [
        Finding(True, f"cluster {context} answers"),
        Finding(
            bool(registry),
            f"cluster {context} announces the registry {registry}" if registry else NO_REGISTRY,
            "run a registry and publish it (KEP-1755), as ctlptl, k3d and kind do",
            required=False,
        ),
    ]


def tilt_port(settings: dict[str, Any]) -> int:
    """The port of Tilt's UI: Tilt's own TILT_PORT when set, else the platform's."""
    return int(os.environ.get("TILT_PORT") or settings["tilt"]["ui_port"])


def diagnose(repo: Path, product: str, context: str = "") -> list[Finding]:
    """Every check `make dev` depends on, for the chosen cluster."""
    settings = load_settings(repo)
    tools = {**TOOLS, "tilt": replace(TOOLS["tilt"], minimum=settings["tilt"]["min_version"])}
    if product == EXISTING_CLUSTER:
        context = kube_context(settings, product, context)
        findings = [check_tool(tools[name]) for name in ("docker", "kubectl", "tilt")]
        findings += check_existing_cluster(context)
    else:
        findings = [
            check_tool(tools[name]) for name in ("docker", product, "kubectl", "tilt", "ctlptl")
        ]
        findings.append(check_port(settings["registry"]["port"], "local registry"))
    if findings[0].ok:  # the daemon answers: can it build what Tilt builds?
        findings.insert(1, can_build())
    findings.append(check_memory())
    findings.append(check_port(tilt_port(settings), "Tilt UI"))
    return findings


def report(findings: list[Finding]) -> tuple[str, bool]:
    """The printed report, and whether everything required is there."""
    lines = []
    for finding in findings:
        mark = "ok " if finding.ok else ("MISSING" if finding.required else "warn")
        lines.append(f"  [{mark}] {finding.what}")
        if not finding.ok:
            lines.append(f"          -> {finding.fix}")
    ready = all(finding.ok for finding in findings if finding.required)
    lines.append("ready for `make dev`" if ready else "not ready: fix the MISSING lines above")
    return "\n".join(lines), ready
