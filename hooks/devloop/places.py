"""Settings the platform computes for each place a service runs: in a cluster, and on this
machine (`make run`). A team's own values live in its env files; these are put on top of them
for one place only, so a local port never reaches the cluster and a cluster address never a
local run (docs/environment.md, "Computed settings"):
- PORT: in a cluster its service_port (the container's); here its dev port + run_port_offset;
- <PEER>_URL: in a cluster http://<peer>.<namespace>.svc.cluster.local:<port> (its Service);
  here http://127.0.0.1:<the peer's own make run port>;
- DATABASE_URL (a service with a database; a secret, so it goes to the Secret): in the dev
  cluster the user, password and database of .env.development's, at the service's own
  Postgres (<service>-postgres.<namespace>.svc.cluster.local:5432, devloop/databases.py); here
  the service's `make run` sets it, to the local Postgres it starts (its scripts/postgres.py).
"""

from pathlib import Path

from hooks.core import graph
from hooks.core.answers import answer, read_answers
from hooks.core.settings import load_settings
from hooks.devloop import databases


def repository_of(service: Path) -> Path:
    """The platform checkout holding services/<name> (a linked service included)."""
    return service.absolute().parents[1]


def local_port(service: Path) -> int:
    """Where `make run` serves the service: its dev port moved by the platform's offset, so it
    runs beside Tilt's port-forward of the same service, and beside every other service."""
    settings = load_settings(repository_of(service))
    dev_port = answer(service, read_answers(service, required=()), "dev_port", int)
    return int(dev_port) + int(settings["run_port_offset"])


def _graph(service: Path, known: dict[str, graph.Node] | None) -> dict[str, graph.Node]:
    if known is not None and service.name in known:
        return known
    answers = read_answers(service, required=())
    return graph.nodes(repository_of(service), {service.name: answers})


def cluster_settings(service: Path, known: dict[str, graph.Node] | None = None) -> dict[str, str]:
    """What the service reads in a cluster, whatever its .env.development says."""
    answers = read_answers(service, required=())
    nodes = _graph(service, known)
    computed = {"PORT": str(answer(service, answers, "service_port", int))}
    for peer in nodes[service.name].calls:
        if peer in nodes:
            computed[graph.setting(peer)] = graph.url(nodes[peer])
    return computed


def cluster_secrets(service: Path, values: dict[str, str]) -> dict[str, str]:
    """The secret settings the service reads in the dev cluster, from its env file's `values`."""
    database = databases.of(service, read_answers(service, required=()))
    if database is None:
        return {}
    url = databases.cluster_url(database, values.get(databases.URL_KEY, ""))
    return {databases.URL_KEY: url}


def local_settings(service: Path) -> dict[str, str]:
    """What the service reads when `make run` serves it on this machine."""
    computed = {"PORT": str(local_port(service))}
    nodes = _graph(service, None)
    for peer in nodes[service.name].calls:
        peer_folder = service.parent / peer
        if peer in nodes and peer_folder.exists():
            computed[graph.setting(peer)] = f"http://127.0.0.1:{local_port(peer_folder)}"
    return computed
