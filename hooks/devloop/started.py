"""What the last `make dev` of this checkout started, so that `make down` (and `make logs`)
need no arguments: the cluster kind, the kube context and Tilt's port."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from hooks.core.settings import kube_context, load_settings
from hooks.errors import HookError

RECORD = Path(".cache") / "dev-started.json"


@dataclass(frozen=True)
class Started:
    cluster: str
    context: str
    port: int

    def arguments(self) -> str:
        """How to name this cluster on make's command line."""
        if self.cluster == "existing":
            return f"cluster=existing context={self.context}"
        return f"cluster={self.cluster}"


def remember(repo: Path, started: Started) -> None:
    (repo / RECORD).parent.mkdir(parents=True, exist_ok=True)
    (repo / RECORD).write_text(json.dumps(asdict(started)) + "\n")


def recall(repo: Path) -> Started | None:
    try:
        return Started(**json.loads((repo / RECORD).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def chosen(repo: Path, cluster: str, context: str, what: str) -> Started:
    """The cluster named on the command line, else the one `make dev` last used here."""
    from hooks.devloop.doctor import tilt_port

    settings = load_settings(repo)
    if cluster:
        return Started(cluster, kube_context(settings, cluster, context), tilt_port(settings))
    started = recall(repo)
    if started is None:
        raise HookError(
            f"make {what} acts on what `make dev` started in this checkout, and it started "
            f"nothing here yet. For a Tilt started otherwise: make {what} cluster=k3d (or "
            "cluster=minikube, or cluster=existing context=NAME)"
        )
    return started
