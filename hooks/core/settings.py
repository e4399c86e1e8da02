"""The platform settings file, read the same way by every hook."""

from pathlib import Path
from typing import Any

import yaml

from hooks.errors import HookError

SETTINGS_FILE = Path("platform") / "settings" / "settings.yaml"
# Clusters the platform creates with ctlptl, and the one a developer already runs.
CREATED_CLUSTERS = ("k3d", "minikube")
EXISTING_CLUSTER = "existing"


def load_settings(repo: Path) -> dict[str, Any]:
    """The `data` of platform/settings/settings.yaml."""
    document = yaml.safe_load((repo / SETTINGS_FILE).read_text())
    data: dict[str, Any] = document["data"]
    return data


def kube_context(settings: dict[str, Any], product: str, context: str = "") -> str:
    """The kube context of the cluster `make dev` deploys to.

    k3d and minikube name the platform's cluster after the settings; an existing cluster
    is used only when its context is named explicitly.
    """
    if product == EXISTING_CLUSTER:
        if not context:
            raise HookError(
                "cluster=existing needs the kube context of your cluster, for example: "
                "make dev cluster=existing context=kind-kind (kubectl config get-contexts)"
            )
        return context
    if product not in CREATED_CLUSTERS:
        choices = ", ".join((*CREATED_CLUSTERS, EXISTING_CLUSTER))
        raise HookError(f"cluster={product} is not supported; use one of: {choices}")
    return str(settings["context_prefixes"][product]) + str(settings["cluster_name"])
