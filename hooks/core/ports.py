"""Local dev ports: each service keeps the port it was given, and no two services share one."""

from pathlib import Path

from hooks.core.answers import AnswersError, answer, change_command, read_answers
from hooks.core.services import SERVICES_DIR, generated_services
from hooks.core.settings import load_settings
from hooks.errors import HookError


def taken_dev_ports(repo: Path) -> dict[int, str]:
    """dev_port -> service, for every service whose answers file can be read."""
    taken: dict[int, str] = {}
    for service in generated_services(repo):
        try:
            port = answer(service, read_answers(service), "dev_port", int)
        except AnswersError:
            continue  # reported where that service is used; it holds no port meanwhile
        taken.setdefault(port, service.name)
    return taken


def free_dev_port(repo: Path, taken: dict[int, str] | None = None) -> int:
    """The lowest port of the platform's dev range no service uses yet."""
    ports = load_settings(repo)["dev_ports"]
    taken = taken_dev_ports(repo) if taken is None else taken
    for port in range(ports["first"], ports["last"] + 1):
        if port not in taken:
            return port
    raise HookError(
        f"every dev port from {ports['first']} to {ports['last']} is taken; widen dev_ports "
        "in platform/settings/settings.yaml"
    )


def check_unique_dev_ports(repo: Path, ports: dict[str, int]) -> None:
    """Refuse two services forwarding the same local port, naming a free one for the second."""
    owner: dict[int, str] = {}
    for name in sorted(ports):
        port = ports[name]
        if port in owner:
            free = free_dev_port(repo, {p: n for n, p in ports.items()})
            change = change_command(repo / SERVICES_DIR / name, f"dev_port={free}")
            raise HookError(
                f"services {owner[port]} and {name} both forward localhost:{port}; give {name} "
                f"a free port: {change}"
            )
        owner[port] = name


def check_dev_port(repo: Path, port: int, owner: str = "") -> None:
    """A dev port no other service (than `owner`) and no platform tool holds, or an error
    naming a free one."""
    settings = load_settings(repo)
    holders = {
        settings["tilt"]["ui_port"]: "Tilt's UI",
        settings["registry"]["port"]: "the local registry",
        **{p: f"service {name}" for p, name in taken_dev_ports(repo).items() if name != owner},
    }
    if port in holders:
        free = free_dev_port(repo, {p: "" for p in holders})
        raise HookError(
            f"dev_port {port} is taken by {holders[port]}; use a free one, for example {free}"
        )
