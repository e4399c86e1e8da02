"""Settings the platform computes for each place a service runs: in a cluster, and on this
machine (`make run`). A team's own values live in its env files; these are put on top of them
for one place only, so a local port never reaches the cluster and a cluster address never a
local run (docs/environment.md, "Computed settings")."""

from pathlib import Path

from hooks.core.answers import answer, read_answers
from hooks.core.settings import load_settings


def repository_of(service: Path) -> Path:
    """The platform checkout holding services/<name> (a linked service included)."""
    return service.absolute().parents[1]


def local_port(service: Path) -> int:
    """Where `make run` serves the service: its dev port moved by the platform's offset, so it
    runs beside Tilt's port-forward of the same service, and beside every other service."""
    settings = load_settings(repository_of(service))
    dev_port = answer(service, read_answers(service), "dev_port", int)
    return int(dev_port) + int(settings["run_port_offset"])


def cluster_settings(service: Path) -> dict[str, str]:
    """What the service reads in a cluster, whatever its .env.development says."""
    answers = read_answers(service, required=())
    return {"PORT": str(answer(service, answers, "service_port", int))}


def local_settings(service: Path) -> dict[str, str]:
    """What the service reads when `make run` serves it on this machine."""
    return {"PORT": str(local_port(service))}
