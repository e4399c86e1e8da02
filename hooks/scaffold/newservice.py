"""`make service`: generate services/<name> from a template version that exists in git."""

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import jinja2

from hooks.core.answers import read_answers
from hooks.core.gitrepo import latest_release, require_repository
from hooks.core.graph import follow, nodes, write_generated
from hooks.core.ports import check_dev_port, free_dev_port
from hooks.core.questions import parse_data
from hooks.core.render import render_service
from hooks.core.services import SERVICES_DIR, write_index
from hooks.core.session import children_stderr_held, exclusive
from hooks.core.signals import ignore_interruptions, signals_blocked
from hooks.core.versions import next_release, template_version
from hooks.errors import HookError

AFTER_COPY = Path("hooks") / "data" / "after-copy.jinja"


def next_steps(repo: Path, destination: Path) -> str:
    """What to do with a service just generated: the message `copier copy` users see too
    (hooks/data/after-copy.jinja), rendered for the real folder (copier ran in a scratch one)."""
    answers = read_answers(destination)
    environment = jinja2.Environment(autoescape=False, keep_trailing_newline=True)  # noqa: S701 - terminal text
    environment.filters["quote"] = shlex.quote
    template = environment.from_string((repo / AFTER_COPY).read_text())
    context = {
        **answers,
        "_copier_answers": answers,
        "_copier_conf": {"dst_path": destination.relative_to(repo)},
    }
    return template.render(context).strip("\n")


def new_service(
    repo: Path, name: str, ref: str = "", data: list[str] | None = None
) -> Iterator[str]:
    """Generate services/<name>: it appears whole or not at all, whatever stops the run.

    Yields what an interrupted run left and was undone, then what to do next."""
    if not name:
        raise HookError("no service name given; usage: make service name=orders")
    if "/" in name or name in {".", ".."}:
        raise HookError(f"service name '{name}' is a path; give just a name, for example 'orders'")
    destination = repo / SERVICES_DIR / name
    if destination.exists() or destination.is_symlink():
        raise HookError(
            f"{destination.relative_to(repo)} already exists; pick another name, or use "
            "`make update name=" + name + "` to bring that service up to date"
        )
    require_repository(repo)
    given = parse_data(repo, data or [])
    if "dev_port" in given:
        check_dev_port(repo, int(given["dev_port"]))
    with exclusive(repo, "make service") as session:
        yield from session.recovered
        scratch = session.scratch
        answers = {"dev_port": str(free_dev_port(repo)), **given, "service_name": name}
        version, shown = template_version(repo, ref)
        if not ref and latest_release(repo) is None:
            yield (
                "note: this repository has no release tag (a fresh clone has none; "
                "git fetch --tags if your remote has them), so the service is generated from "
                f"the committed HEAD {shown}. First release: "
                f"make release version={next_release(repo)}"
            )
        staging = scratch / name  # beside services/, on the same file system
        try:
            with children_stderr_held():
                render_service(
                    ".",  # relative, so the answers file stays valid in every clone (run from repo)
                    staging,
                    answers,
                    ref=version,
                    tasks=True,
                    ask=sys.stdin.isatty(),
                )
        except ValueError as error:  # copier's validators: the message says what to change
            raise HookError(str(error).removeprefix("Validation error for question ")) from None
        graph = nodes(repo, overrides={name: read_answers(staging)})
        unknown = [peer for peer in graph[name].calls if peer not in graph]
        if unknown:
            raise HookError(
                f"calls: {', '.join(unknown)} is not a service here; generate it first "
                f"(make service name={unknown[0]}), then this one"
            )
        write_generated(graph, staging, name)
        with signals_blocked():
            destination.parent.mkdir(exist_ok=True)
            staging.rename(destination)
            ignore_interruptions()  # the service is whole: what is left is cleanup
        write_index(repo)  # a running Tilt (make dev over every service) loads it now
        yield from follow(repo, graph, list(graph[name].calls))  # their callers: + this one
    yield next_steps(repo, destination)
