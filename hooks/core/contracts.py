"""Contract checks between services (make check): each caller lists, in its contracts.yaml,
the operations it uses on each peer it calls; each service publishes its OpenAPI document
(openapi.json, kept current by its own tests). A peer that stops offering an operation a
caller uses fails the check, naming both."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

from hooks.core.graph import nodes
from hooks.core.services import find_services

CONTRACTS = "contracts.yaml"
PUBLISHED = "openapi.json"
OPERATION = re.compile(r"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/\S*)")


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def offered(service: Path) -> set[str] | None:
    """`METHOD /path` of every operation the service's published document lists (None
    when it has none)."""
    try:
        document = json.loads((service / PUBLISHED).read_text())
    except (OSError, ValueError):
        return None
    return {
        f"{method.upper()} {path}"
        for path, item in (document.get("paths") or {}).items()
        for method in item
        if method.upper() in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    }


def problems(repo: Path) -> list[str]:
    """Every contract that does not hold, as a sentence with its fix."""
    services = {service.name: service for service in find_services(repo, [])}
    graph, found = nodes(repo), []
    for name, node in sorted(graph.items()):
        if not node.calls or name not in services:
            continue
        where = f"services/{name}/{CONTRACTS}"
        used = _read_yaml(services[name] / CONTRACTS)
        if not isinstance(used, dict):
            found.append(
                f"{name} calls {', '.join(node.calls)} but {where} does not list what it uses "
                f"on them: add, for each, `<peer>: [GET /path, ...]` (an empty list: nothing yet)"
            )
            continue
        found += [
            f"{where} lists {peer}, which {name} does not call: drop it, or add it to calls "
            f'(make update name={name} data="calls=...")'
            for peer in sorted(set(used) - set(node.calls))
        ]
        for peer in node.calls:
            found += _peer_problems(name, peer, used.get(peer), services, where)
    return found


def _peer_problems(
    caller: str, peer: str, operations: Any, services: dict[str, Path], where: str
) -> list[str]:
    if not isinstance(operations, list):
        return [f"{where} does not say what {caller} uses on {peer}: add `{peer}: [GET /path]`"]
    bad = [op for op in operations if not isinstance(op, str) or not OPERATION.fullmatch(op)]
    if bad:
        return [f"{where}: {bad[0]!r} is not `METHOD /path`, for example `GET /orders/{{id}}`"]
    if peer not in services:
        return []  # an unknown peer: the graph's own check says so
    published = offered(services[peer])
    if published is None:
        return [
            f"{peer} has published no OpenAPI document ({PUBLISHED}) for {caller} to be "
            f"checked against: make test name={peer} writes it; commit it"
        ]
    return [
        f"{caller} uses {operation} on {peer}, which {peer} no longer offers "
        f"(services/{peer}/{PUBLISHED}): restore it in {peer}, or change {caller} and its "
        f"{CONTRACTS}"
        for operation in operations
        if operation not in published
    ]
