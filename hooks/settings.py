"""The platform settings file, read the same way by every hook."""

from pathlib import Path
from typing import Any

import yaml

SETTINGS_FILE = Path("platform") / "settings" / "settings.yaml"
SERVICES_DIR = "services"


def load_settings(repo: Path) -> dict[str, Any]:
    """The `data` of platform/settings/settings.yaml."""
    document = yaml.safe_load((repo / SETTINGS_FILE).read_text())
    data: dict[str, Any] = document["data"]
    return data


def kube_context(settings: dict[str, Any], product: str) -> str:
    """The kube context each cluster tool names the platform's cluster."""
    name = settings["cluster_name"]
    return f"k3d-{name}" if product == "k3d" else str(name)


def generated_services(repo: Path) -> list[Path]:
    """Every service folder under services/ that copier generated (it has an answers file)."""
    return sorted(p.parent for p in (repo / SERVICES_DIR).glob("*/.copier-answers.yml"))
