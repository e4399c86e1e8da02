"""Run a built image under what its rendered Deployment declares, translated to Docker."""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.engine import docker
from tests.support.load import MIB, peak_rss_mib
from tests.support.net import free_port
from tests.support.validation import by_kind, kustomize, quantity

THROWAWAY_SECRET = {"UPSTREAM_API_TOKEN": "throwaway-test-token"}


@dataclass
class PodSpec:
    """The parts of a rendered Deployment that decide how its container runs."""

    deployment: dict[str, Any]
    config: dict[str, str]

    @classmethod
    def render(cls, service: Path, overlay: str) -> "PodSpec":
        documents = kustomize(service / "k8s" / overlay)
        [deployment] = by_kind(documents, "Deployment")
        [config_map] = by_kind(documents, "ConfigMap")
        return cls(deployment, dict(config_map["data"]))

    @property
    def pod(self) -> dict[str, Any]:
        return self.deployment["spec"]["template"]["spec"]  # type: ignore[no-any-return]

    @property
    def container(self) -> dict[str, Any]:
        return self.pod["containers"][0]  # type: ignore[no-any-return]

    @property
    def memory_limit_mib(self) -> float:
        return quantity(self.container["resources"]["limits"]["memory"]) / MIB

    @property
    def container_port(self) -> int:
        [port] = [p["containerPort"] for p in self.container["ports"] if p["name"] == "http"]
        return int(port)

    def probe_path(self, probe: str) -> str:
        return str(self.container[probe]["httpGet"]["path"])

    def docker_run_options(self, env_file: Path) -> list[str]:
        """User, read-only root, emptyDirs as tmpfs, capabilities, privileges, limits, env."""
        pod, security = self.pod["securityContext"], self.container["securityContext"]
        options = [
            "--network",
            "host",
            "--user",
            f"{pod['runAsUser']}:{pod['runAsGroup']}",
            "--env-file",
            str(env_file),
        ]
        if security.get("readOnlyRootFilesystem"):
            options.append("--read-only")
        empty_dirs = {
            v["name"]: v["emptyDir"] for v in self.pod.get("volumes", []) if "emptyDir" in v
        }
        for mount in self.container.get("volumeMounts", []):
            if mount["name"] in empty_dirs:
                size = empty_dirs[mount["name"]].get("sizeLimit", "64Mi").replace("Mi", "m")
                options += ["--tmpfs", f"{mount['mountPath']}:size={size},mode=1777"]
        for capability in security["capabilities"].get("drop", []):
            options += ["--cap-drop", capability]
        for capability in security["capabilities"].get("add", []):
            options += ["--cap-add", capability]
        if security.get("allowPrivilegeEscalation") is False:
            options += ["--security-opt", "no-new-privileges"]
        limits = self.container["resources"]["limits"]
        options += [
            "--memory",
            limits["memory"].replace("Mi", "m"),
            "--cpus",
            str(int(limits["cpu"].rstrip("m")) / 1000),
        ]
        return options


@contextmanager
def running(image: str, spec: PodSpec, name: str) -> Iterator[tuple[str, int]]:
    """Run image as the Deployment declares; always removed, on failure too. Its name is
    `name` and this process's id, and its port a free one: tests of other cases run at the
    same time (pytest-xdist), each with a container of its own.

    Host networking (no bridge here): PORT is what tells them apart.
    """
    name = f"{name}-{os.getpid()}"
    env = {**spec.config, **THROWAWAY_SECRET, "PORT": str(free_port())}
    port = int(env["PORT"])
    with tempfile.NamedTemporaryFile("w", suffix=".env") as env_file:
        env_file.write("".join(f"{key}={value}\n" for key, value in env.items()))
        env_file.flush()
        docker("rm", "-f", name, check=False)
        docker("run", "-d", "--name", name, *spec.docker_run_options(Path(env_file.name)), image)
    try:
        yield name, port
    finally:
        docker("rm", "-f", name, check=False)


def container_peak_rss_mib(name: str) -> float:
    """Peak resident memory of the container's main process (PID 1 inside it)."""
    return peak_rss_mib(int(docker("inspect", "-f", "{{.State.Pid}}", name).stdout))


def image_bytes(image: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", image).stdout.strip())


def record(metrics_file: Path, case: str, values: dict[str, float]) -> None:
    """Merge measurements into the JSON file the benchmark publishes."""
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    data.setdefault(case, {}).update(values)
    metrics_file.write_text(json.dumps(data, indent=2, sort_keys=True))
