"""The platform's services: every folder under services/ with a copier answers file, found
one way and named one way in every message."""

from pathlib import Path

from hooks.errors import HookError

SERVICES_DIR = "services"


def generated_services(repo: Path) -> list[Path]:
    """Every service folder under services/ (links followed) with a copier answers file."""
    return sorted(p.parent for p in (repo / SERVICES_DIR).glob("*/.copier-answers.yml"))


def find_services(repo: Path, names: list[str]) -> list[Path]:
    """The services named (in that order, once each), or every service when none is named."""
    services = {path.name: path for path in generated_services(repo)}
    unknown = [name for name in names if name not in services]
    if unknown:
        known = ", ".join(services) or "none yet"
        raise HookError(
            f"there is no service {', '.join(repr(n) for n in unknown)} under {SERVICES_DIR}/ "
            f"(a folder with a .copier-answers.yml); services: {known}. "
            "Create one with: make service name=<name>"
        )
    return [services[name] for name in dict.fromkeys(names)] or list(services.values())


def find_service(repo: Path, name: str, action: str) -> Path:
    """The one service `make <action> name=<name>` is about."""
    if not name:
        known = ", ".join(p.name for p in generated_services(repo)) or "none yet"
        raise HookError(f"which service? make {action} name=<service>; services: {known}")
    [service] = find_services(repo, [name])
    return service
