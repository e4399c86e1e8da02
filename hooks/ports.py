"""Local dev ports: each service keeps the port it was given, and no two services share one."""

from pathlib import Path

import yaml

from hooks.errors import HookError
from hooks.settings import generated_services, load_settings


def taken_dev_ports(repo: Path) -> dict[int, str]:
    """dev_port -> service, from every generated service's answers file."""
    taken = {}
    for service in generated_services(repo):
        port = yaml.safe_load((service / ".copier-answers.yml").read_text()).get("dev_port")
        if isinstance(port, int):
            taken[port] = service.name
    return taken


def free_dev_port(repo: Path) -> int:
    """The lowest port of the platform's dev range no service uses yet."""
    ports = load_settings(repo)["dev_ports"]
    taken = taken_dev_ports(repo)
    for port in range(ports["first"], ports["last"] + 1):
        if port not in taken:
            return port
    raise HookError(
        f"every dev port from {ports['first']} to {ports['last']} is taken; widen dev_ports "
        "in platform/settings/settings.yaml"
    )
