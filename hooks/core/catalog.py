"""`make services`: every service of the platform in one table, with what each answers and
whether a template release is waiting for it."""

from pathlib import Path

from hooks.core.answers import AnswersError, read_answers
from hooks.core.gitrepo import git, git_succeeds, latest_release
from hooks.core.graph import parse_calls
from hooks.core.services import find_services
from hooks.core.settings import load_settings
from hooks.core.versions import resolve

COLUMNS = ("service", "template", "team", "namespace", "dev port", "run port", "calls", "update")


def _update_state(repo: Path, service: Path, recorded: str, latest: str | None) -> str:
    if service.is_symlink() or (service / ".git").exists():
        return "its own repository"
    current = resolve(repo, recorded)
    if current is None:
        return f"{recorded} unknown here: git fetch --tags"
    if latest is None:
        return "no release yet"
    target = git(repo, "rev-parse", f"{latest}^{{commit}}").strip()
    if current == target or git_succeeds(repo, "merge-base", "--is-ancestor", target, current):
        return "current"
    return f"{latest} waiting: make update name={service.name}"


def rows(repo: Path) -> list[tuple[str, ...]]:
    """One row per service, in COLUMNS' order."""
    offset = int(load_settings(repo)["run_port_offset"])
    latest = latest_release(repo)
    found: list[tuple[str, ...]] = []
    for service in find_services(repo, []):
        try:
            answers = read_answers(service)
        except AnswersError as error:
            found.append((service.name, "?", "?", "?", "?", "?", "?", str(error)))
            continue
        dev_port = answers.get("dev_port")
        run_port = str(dev_port + offset) if isinstance(dev_port, int) else "?"
        found.append(
            (
                service.name,
                str(answers["_commit"]),
                str(answers.get("team", "?")),
                str(answers.get("namespace", "?")),
                str(dev_port),
                run_port,
                ",".join(parse_calls(answers.get("calls"))) or "-",
                _update_state(repo, service, str(answers["_commit"]), latest),
            )
        )
    return found


def table(repo: Path) -> str:
    found = [COLUMNS, *rows(repo)]
    if len(found) == 1:
        return "no service yet: make service name=orders"
    widths = [max(len(row[i]) for row in found) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in found
    )
