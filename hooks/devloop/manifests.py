"""What Tilt deploys for a service: the dev overlay, with config from .env.development.

Non-secret keys go into the service's ConfigMap, secret keys (marked `# @secret`, or unknown to
.env.example) into a Secret: Tilt redacts Secret values from its logs, not ConfigMap values.
Names carry a hash of the content, so a changed value rolls the pods, as kustomize generators do.
A service with a database also gets the Secret its dev Postgres is made with
(devloop/databases.py), and its migration Job reads the same ConfigMap and Secret as its pods.
"""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from hooks.core.answers import read_answers
from hooks.core.graph import Node
from hooks.core.kube import kustomize_objects, manifest_stream
from hooks.devloop import databases
from hooks.devloop.places import cluster_secrets, cluster_settings
from hooks.env.parser import local_secret_keys, read_env


def _suffixed(name: str, data: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return f"{name}-{digest[:10]}"


def local_values(service_dir: Path) -> dict[str, str]:
    """The values of .env.development (of .env.example while it is missing)."""
    local_path = service_dir / ".env.development"
    if local_path.exists():
        return read_env(local_path).values
    return read_env(service_dir / ".env.example", example=True).values


def split_config(
    service_dir: Path, known: dict[str, Node] | None = None
) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(config, secrets, every secret key) from .env.development (docs/environment.md)."""
    example = read_env(service_dir / ".env.example", example=True)
    local_path = service_dir / ".env.development"
    local = read_env(local_path) if local_path.exists() else example
    secret = local_secret_keys(example, local) | example.secret_keys
    computed = cluster_settings(service_dir, known)  # the cluster's own values win
    hidden = cluster_secrets(service_dir, local.values)  # ... and stay secret
    values = {k: v for k, v in local.values.items() if k not in computed | hidden}
    config = {**{k: v for k, v in values.items() if k not in secret}, **computed}
    secrets = {**{k: v for k, v in values.items() if k in secret}, **hidden}
    return config, secrets, (secret - computed.keys()) | hidden.keys()


def _secret(metadata: dict[str, Any], name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {**metadata, "name": _suffixed(name, data)},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def _rename_references(
    documents: list[dict[str, Any]], names: dict[str, str], kind: str = ""
) -> None:
    """Point every workload's envFrom at the renamed ConfigMaps and Secrets (of one `kind` of
    reference, configMapRef or secretRef, when a ConfigMap and a Secret share a name)."""
    for document in documents:
        template = document.get("spec", {}).get("template", {}).get("spec", {})
        for container in template.get("containers", []):
            for source in container.get("envFrom", []):
                for key in [kind] if kind else ["configMapRef", "secretRef"]:
                    reference = source.get(key)
                    if reference and reference.get("name") in names:
                        reference["name"] = names[reference["name"]]


def dev_manifests(service_dir: Path, known: dict[str, Node] | None = None) -> list[dict[str, Any]]:
    """The dev overlay's objects with the env split into a ConfigMap and a Secret."""
    documents = kustomize_objects(service_dir / "k8s" / "overlays" / "dev")
    config, secrets, secret_keys = split_config(service_dir, known)
    [deployment] = [doc for doc in documents if doc["kind"] == "Deployment"]
    env_from = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    config_ref = next(e["configMapRef"] for e in env_from if "configMapRef" in e)
    secret_ref = next(e["secretRef"] for e in env_from if "secretRef" in e)
    [config_map] = [d for d in documents if d["metadata"]["name"] == config_ref["name"]]
    # .env.development wins over the defaults of config.env, and a secret key never lands in
    # the ConfigMap, whatever config.env says (make check reports that).
    defaults = {k: v for k, v in config_map.get("data", {}).items() if k not in secret_keys}
    data = {**defaults, **config}
    base_name = config_map["metadata"]["name"].rsplit("-", 1)[0]
    renamed = {config_ref["name"]: _suffixed(base_name, data)}
    config_map["metadata"]["name"] = renamed[config_ref["name"]]
    config_map["data"] = data
    secret = _secret(config_map["metadata"], secret_ref["name"], secrets)
    renamed[secret_ref["name"]] = secret["metadata"]["name"]
    added = [secret]
    database = databases.of(service_dir, read_answers(service_dir, required=()))
    if database is not None:  # what its Postgres is made with
        url = local_values(service_dir).get(databases.URL_KEY, "")
        plain, hidden = databases.server_settings(database, url)
        labels = {"app.kubernetes.io/name": database.kind}
        labels["app.kubernetes.io/instance"] = database.name
        metadata = {**config_map["metadata"], "labels": labels}
        config_name = _suffixed(database.name, plain)
        server_config: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {**metadata, "name": config_name},
            "data": plain,
        }
        server_secret = _secret(metadata, database.name, hidden)
        added += [server_config, server_secret]
        _rename_references(documents, {database.name: config_name}, "configMapRef")
        secret_name = server_secret["metadata"]["name"]
        _rename_references(documents, {database.name: secret_name}, "secretRef")
    _rename_references(documents, renamed)
    return [*documents, *added]


def render_dev_manifests(service_dir: Path) -> str:
    """The YAML stream Tilt's k8s_yaml() takes."""
    return manifest_stream(dev_manifests(service_dir))
