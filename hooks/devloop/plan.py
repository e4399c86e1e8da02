"""What the root Tiltfile deploys, computed in one process so that its Starlark stays thin.

`python -m hooks tilt-plan [service ...]` prints one JSON document: the platform objects
(the namespace setup, once per namespace a selected service uses), the images of the dev
databases the selected services have, and, for each selected service, its fragment, dev
port, Tilt labels, files to watch and dev manifests, and the resources that come before it
(its database, then its migration Job: devloop/databases.py). On an error
it prints one line on stderr and nothing on stdout: Tilt shows a failed command's stdout,
and the manifests hold the values of the service's Secret.
"""

import copy
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from hooks.core import graph
from hooks.core.answers import answer, answers_path, check_named_as_folder, read_answers
from hooks.core.kube import kustomize_objects, manifest_stream
from hooks.core.ports import check_unique_dev_ports
from hooks.core.services import find_services, write_index
from hooks.core.settings import load_settings
from hooks.devloop import databases
from hooks.devloop.manifests import dev_manifests
from hooks.errors import HookError

PLATFORM_DIR = Path("platform")
NAMESPACE_SETUP = PLATFORM_DIR / "namespaces"
# What a service's dev manifests are made from, besides its answers file.
WATCHED = (".env.development", ".env.example", "k8s")


def platform_objects(repo: Path, namespaces: list[str]) -> tuple[str, list[str]]:
    """The namespace setup for each namespace, and Tilt selectors for its objects."""
    template = kustomize_objects(repo / NAMESPACE_SETUP)
    documents, selectors = [], []
    for namespace in namespaces:
        for document in copy.deepcopy(template):
            metadata = document["metadata"]
            if document["kind"] == "Namespace":
                metadata["name"] = namespace
                selectors.append(f"{namespace}:namespace")
            else:
                metadata["namespace"] = namespace
                selectors.append(f"{metadata['name']}:{document['kind'].lower()}:{namespace}")
            documents.append(document)
    return manifest_stream(documents), selectors


def http_port(documents: list[dict[str, Any]], service: Path) -> int:
    """The container port named `http` of the service's Deployment: its one home."""
    found = [
        port["containerPort"]
        for document in documents
        if document["kind"] == "Deployment"
        for container in document["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports", [])
        if port.get("name") == "http"
    ]
    if len(found) != 1:
        raise HookError(
            f"{service.name}: its Deployment must name exactly one container port `http` "
            f"(k8s/base/deployment.yaml), found {len(found)}"
        )
    return int(found[0])


def service_plan(
    service: Path,
    answers: dict[str, Any],
    documents: list[dict[str, Any]],
    peers: list[str] | None = None,
) -> dict[str, Any]:
    """What the service's fragment registers with Tilt (its register_service()), and the
    resources the root Tiltfile configures before it (`dependencies`)."""
    labels = [answer(service, answers, "team", str)]
    database = databases.of(service, answers)
    dependencies: list[dict[str, Any]] = []
    taken: set[str] = set()
    if database is not None:
        dependencies, taken = databases.resources(database, documents, labels)
    first = [dependency["workload"] for dependency in dependencies[-1:]]  # the migration Job
    # Tilt groups each workload with its Service by itself; other objects join a resource.
    objects = [
        f"{d['metadata']['name']}:{d['kind'].lower()}"
        for d in documents
        if d["kind"] not in ("Deployment", "Service", "StatefulSet", "Job")
    ]
    return {
        "name": service.name,
        "dir": str(service),
        "tiltfile": str(service / "Tiltfile"),
        "dev_port": answer(service, answers, "dev_port", int),
        "http_port": http_port(documents, service),
        "labels": labels,
        "manifests": manifest_stream(documents),
        "objects": [selector for selector in objects if selector not in taken],
        "resource_deps": ["platform", *(peers or []), *first],
        "dependencies": dependencies,
        "watch": [str(service / path) for path in WATCHED],
    }


def tilt_plan(repo: Path, selection: list[str]) -> dict[str, Any]:
    """Everything the root Tiltfile needs, for the selected services."""
    services = {path.name: path for path in find_services(repo, [])}
    answers = {name: read_answers(path) for name, path in services.items()}
    for name, path in services.items():
        check_named_as_folder(path, answers[name])
    ports = {name: answer(services[name], answers[name], "dev_port", int) for name in services}
    check_unique_dev_ports(repo, ports)
    nodes = {name: graph.node_of(name, answers[name]) for name in services}
    problems = graph.unknown_peers(nodes)
    if problems:
        raise HookError("; ".join(problems))
    # A service runs with the services it calls (tilt up shop: orders too), started first.
    selected = graph.closure(nodes, [path.name for path in find_services(repo, selection)])
    deps, notes = graph.start_order(nodes, selected)
    default = load_settings(repo)["namespaces"]["default"]
    asked = {answer(services[name], answers[name], "namespace", str) for name in selected}
    platform_yaml, platform_selectors = platform_objects(
        repo, [default, *sorted(asked - {default})]
    )
    with ThreadPoolExecutor(max_workers=4) as pool:  # kustomize runs as a subprocess each
        rendered = pool.map(partial(dev_manifests, known=nodes), [services[n] for n in selected])
        manifests = dict(zip(selected, rendered, strict=True))
    kinds = {db.kind for name in selected if (db := databases.of(services[name], answers[name]))}
    return {
        "images": [databases.image_build(repo, kind) for kind in sorted(kinds)],
        "platform": {
            "yaml": platform_yaml,
            "objects": platform_selectors,
            "watch": [
                str(repo / NAMESPACE_SETUP),
                str(write_index(repo)),
                *map(str, map(answers_path, services.values())),
            ],
        },
        "services": [
            service_plan(services[name], answers[name], manifests[name], deps[name])
            for name in selected
        ],
        "notes": notes,
    }
