"""Template releases the update tests make, and what they read back from services."""

import shutil
from pathlib import Path

from hooks.core.answers import read_answers
from tests.support.helpers import add_service, edit, git

README_CHANGE = {"template/README.md.jinja": ("## Run it\n", "## Run it locally\n")}
DEPLOYMENT = "template/k8s/base/deployment.yaml.jinja"
HISTORY_CHANGE = {DEPLOYMENT: ("revisionHistoryLimit: 5", "revisionHistoryLimit: 3")}
# A change to the app: /metrics in its OpenAPI document.
CHASSIS = "template/src/{{module_name}}/chassis.py.jinja"
APP_CHANGE = {CHASSIS: ('@app.get("/metrics", include_in_schema=False)', '@app.get("/metrics")')}


def recorded(service: Path) -> str:
    return read_answers(service)["_commit"]


def row(output: str, name: str) -> list[str]:
    [line] = [line for line in output.splitlines() if line.startswith(name + " ")]
    return line.split()


def files(folder: Path) -> dict[Path, bytes]:
    """Every file of a service folder but its answers, by relative path."""
    return {
        p.relative_to(folder): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".copier-answers.yml"
    }


def rename_service_yaml(repo: Path, declared: bool) -> None:
    """A template change: k8s/base/service.yaml becomes svc.yaml (declared as a migration)."""
    base = repo / "template/k8s/base"
    (base / "service.yaml.jinja").rename(base / "svc.yaml.jinja")
    edit(base / "svc.yaml.jinja", "  type: ClusterIP", "  type: ClusterIP  # in-cluster only")
    edit(base / "kustomization.yaml.jinja", "  - service.yaml\n", "  - svc.yaml\n")
    if declared:
        (repo / "migrations.yml").write_text(
            "releases:\n  - version: 0.2.0\n    renames:\n"
            "      template/k8s/base/service.yaml.jinja: template/k8s/base/svc.yaml.jinja\n"
        )


def fresh_copies(repo: Path, clone: Path, names: list[str]) -> dict[str, dict[Path, bytes]]:
    """Each service generated afresh at the newest release, with the same answers."""
    git(repo, "clone", "-q", str(repo), str(clone))
    (clone / ".venv").symlink_to(repo / ".venv")
    copies = {}
    for name in names:
        answers = read_answers(repo / "services" / name)
        shutil.rmtree(clone / "services" / name)
        add_service(clone, name, [f"dev_port={answers['dev_port']}"])
        copies[name] = files(clone / "services" / name)
    return copies
