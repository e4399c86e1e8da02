"""The one call that renders the template: every copy the platform makes goes through here."""

from pathlib import Path
from typing import Any


def render_service(
    template: Path | str,
    destination: Path,
    answers: dict[str, Any],
    ref: str | None = None,
    tasks: bool = False,
    ask: bool = False,
) -> Path:
    """Render the template with these answers (copier's own keys left out) into
    `destination`, at `ref` (default: the version the answers record, else copier's choice:
    the newest release tag). Tasks run only when asked: `make service` creates the local env
    files; a scratch render for comparison or locking needs none. `ask` prompts for what the
    answers leave open (in a terminal); otherwise the defaults are taken."""
    import copier  # a third of a second: commands that render nothing never pay it

    copier.run_copy(
        str(template),
        str(destination),
        data={key: value for key, value in answers.items() if not key.startswith("_")},
        vcs_ref=ref or answers.get("_commit"),
        defaults=not ask,
        skip_tasks=not tasks,
        unsafe=True,  # the template's own tasks and migrations: Python from this repository
        quiet=True,
    )
    return destination
