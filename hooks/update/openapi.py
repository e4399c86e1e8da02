"""A service's published OpenAPI document (openapi.json), written again by an update that
changed its app (its code under src/ or its locks): callers' contracts are checked against it
and the service's own tests fail while it is stale, so a rollout that left it as it was would
leave every such service red.

It is the service's own `python -m <module>.openapi`, run with .env.example's values in the
venv of its (updated) requirements-dev.lock, shared by the services that pin the same one
(hooks/core/venvs.py); without that venv (offline, say) the update still applies and says
how to publish the document by hand."""

import os
import subprocess
from pathlib import Path

from hooks.core.contracts import PUBLISHED
from hooks.core.journal import Change
from hooks.core.venvs import locked_venv

# What the document is made from: the app's code and the packages it runs with.
APP = ("src/", "requirements.lock", "requirements-dev.lock")


def changes_the_app(changes: list[Change]) -> bool:
    return any(change.path.startswith(APP) for change in changes)


def republish(service: Path, cache: Path) -> str:
    """Write `service`'s openapi.json from its app; '' when done, else what to do by hand."""
    by_hand = f"openapi.json not published again ({{}}): make -C services/{service.name} openapi"
    # Its package is the one under src/ that publishes the document (module_name, copier.yml).
    modules = [path.parent.name for path in service.glob("src/*/openapi.py")]
    if len(modules) != 1:
        return by_hand.format("no single src/<module>/openapi.py")
    try:
        python = locked_venv(cache, service / "requirements-dev.lock")
    except (OSError, subprocess.CalledProcessError) as error:
        said = (getattr(error, "stderr", None) or "").strip().splitlines() or [str(error)]
        return by_hand.format(f"no venv for its locks: {said[-1]}")
    # .env.example's values only: none of this shell's, which may hold real secrets that
    # a failing start would print.
    environment = {
        **{key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ},
        "PYTHONPATH": "src",
        "PYTHONDONTWRITEBYTECODE": "1",  # nothing written in the service but the document
    }
    command = [str(python), "scripts/with_env.py", ".env.example", str(python), "-m"]
    made = subprocess.run(
        [*command, f"{modules[0]}.openapi"],
        cwd=service,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode or not made.stdout.strip():
        last = (made.stderr.strip().splitlines() or ["no output"])[-1]
        return by_hand.format(f"its app does not start: {last}")
    (service / PUBLISHED).write_text(made.stdout)
    return ""
