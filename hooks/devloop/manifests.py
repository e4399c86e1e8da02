"""What Tilt deploys for a service: the dev overlay, with config from .env.development.

Non-secret keys go into the service's ConfigMap, secret keys (marked `# @secret`, or unknown to
.env.example) into a Secret: Tilt redacts Secret values from its logs, not ConfigMap values.
Names carry a hash of the content, so a changed value rolls the pods, as kustomize generators do.
"""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from hooks.core.graph import Node
from hooks.core.kube import kustomize_objects, manifest_stream
from hooks.devloop.places import cluster_settings
from hooks.env.parser import local_secret_keys, read_env


def _suffixed(name: str, data: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return f"{name}-{digest[:10]}"


def split_config(
    service_dir: Path, known: dict[str, Node] | None = None
) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(config, secrets, every secret key) from .env.development (docs/environment.md)."""
    example = read_env(service_dir / ".env.example", example=True)
    local_path = service_dir / ".env.development"
    local = read_env(local_path) if local_path.exists() else example
    secret = local_secret_keys(example, local) | example.secret_keys
    computed = cluster_settings(service_dir, known)  # the cluster's own values win
    values = {k: v for k, v in local.values.items() if k not in computed}
    config = {**{k: v for k, v in values.items() if k not in secret}, **computed}
    secrets = {k: v for k, v in values.items() if k in secret}
    return config, secrets, secret - computed.keys()


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
    config_map["metadata"]["name"] = config_ref["name"] = _suffixed(base_name, data)
    config_map["data"] = data
    secret_name = _suffixed(secret_ref["name"], secrets)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {**config_map["metadata"], "name": secret_name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in secrets.items()},
    }
    secret_ref["name"] = secret_name
    return [*documents, secret]


def render_dev_manifests(service_dir: Path) -> str:
    """The YAML stream Tilt's k8s_yaml() takes."""
    return manifest_stream(dev_manifests(service_dir))
