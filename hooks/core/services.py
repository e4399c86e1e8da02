"""The platform's services: every folder under services/ with a copier answers file, found
one way and named one way in every message."""

from pathlib import Path

from hooks.errors import HookError

SERVICES_DIR = "services"
# The names of the services, one a line: the root Tiltfile watches it, so that a running
# Tilt loads a service `make service` adds (a watch on services/ would reload on every edit).
INDEX = Path(".cache") / "services.index"


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


def write_index(repo: Path) -> Path:
    """Bring INDEX up to date; left untouched when it is (a rewrite would reload Tilt)."""
    path = repo / INDEX
    text = "".join(f"{service.name}\n" for service in generated_services(repo))
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        temporary.replace(path)
    return path
