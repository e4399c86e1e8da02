"""Values a template release moves from a file it drops into the file that replaces it, so
an update loses none of them: each carry reads before copier updates the service and writes
after it (copier's `before` and `after` migrations, declared in migrations.yml as `carry:`).

`release-image`: 0.2.0 replaced `k8s/overlays/prod/release.yaml` (a ConfigMap copied around
by kustomize replacements) with the component `k8s/overlays/prod/release/` (kustomize's
`images:`); a service's released image and version move with it.
"""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from hooks.core.answers import read_answers
from hooks.errors import HookError
from hooks.update.releaseimage import write_release

OLD_RELEASE = Path("k8s") / "overlays" / "prod" / "release.yaml"


def _stash(service: Path, carry: str) -> Path:
    """Where a carry keeps what it read: in the git directory, outside every service file."""
    relative = subprocess.run(
        ["git", "rev-parse", "--git-path", f"microplatform-carry/{service.name}.{carry}.json"],
        cwd=service,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return service / relative


def _read_release_yaml(service: Path) -> dict[str, Any] | None:
    path = service / OLD_RELEASE
    if not path.is_file():
        return None
    data = (yaml.safe_load(path.read_text()) or {}).get("data") or {}
    image, version = str(data.get("image", "")), str(data.get("version", ""))
    if version in ("", "unreleased") and image.endswith(":unreleased"):
        return None  # never released: the new file's defaults say the same
    return {"image": image, "version": version}


def _write_release(service: Path, values: dict[str, Any]) -> str:
    name = str(read_answers(service)["service_name"])
    path = write_release(service, name, values["image"], values["version"])
    return f"carried the released image and version into {path.relative_to(service)}"


CARRIES: dict[str, tuple[Callable[[Path], dict[str, Any] | None], Callable[..., str]]] = {
    "release-image": (_read_release_yaml, _write_release),
}


def carry(service: Path, names: list[str], stage: str) -> list[str]:
    """Read (stage 'before') or write (stage 'after') each named carry; report each write."""
    said = []
    for name in names:
        if name not in CARRIES:
            raise HookError(f"migrations.yml names carry '{name}'; known: {', '.join(CARRIES)}")
        read, write = CARRIES[name]
        stash = _stash(service, name)
        if stage == "before":
            values = read(service)
            if values is not None:
                stash.parent.mkdir(parents=True, exist_ok=True)
                stash.write_text(json.dumps(values))
        elif stash.exists():
            said.append(write(service, json.loads(stash.read_text())))
            stash.unlink()
    return said
