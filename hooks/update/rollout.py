"""`make update`: move every service (or one) to a template version.

Copier never runs in the user's repository. Each service is updated in a private clone that
holds only that service (update/workspace), so neither the user's index nor any path outside
the service can change, whatever copier does and whatever else runs meanwhile (a `git commit`
in another shell included). The result is written into the service's folder through a
journal (core/journal): whole, or undone by the next run if a kill cuts the writing short.
A service whose update fails or is interrupted before that is left as it was.
"""

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import copier

from hooks.core import graph, journal
from hooks.core.answers import AnswersError, check_named_as_folder, read_answers
from hooks.core.contracts import PUBLISHED
from hooks.core.gitrepo import git, git_succeeds, latest_release
from hooks.core.journal import Change, Content
from hooks.core.ports import check_dev_port
from hooks.core.questions import questions_at
from hooks.core.services import find_services
from hooks.core.session import children_stderr_held, exclusive
from hooks.core.venvs import venv_cache
from hooks.core.versions import resolve, template_version
from hooks.errors import HookError
from hooks.update import openapi, parallel, reuse, workspace
from hooks.update.pins import follow_template_locks


@dataclass
class Outcome:
    """What happened to one service."""

    name: str
    before: str = "?"
    after: str = ""
    result: str = ""
    conflicts: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("updated", "already current", "skipped")


def _uncommitted(repo: Path, relative: str) -> list[str]:
    """Paths of one service git sees as modified, staged or untracked (not ignored)."""
    status = git(repo, "status", "--porcelain", "--untracked-files=all", "--", relative)
    return [line[3:] for line in status.splitlines() if line.strip()]


def _precheck(
    repo: Path, service: Path, base: str, ref: str, changes: dict[str, str]
) -> Outcome | None:
    """The outcome when the service cannot or need not be updated; None to go ahead."""
    relative = service.relative_to(repo).as_posix()
    outcome = Outcome(service.name)
    own_repository = service.is_symlink() or (service / ".git").exists()
    if own_repository:
        where = f"links to {service.resolve()}" if service.is_symlink() else "has a .git of its own"
        outcome.result = "skipped"
        outcome.detail = (
            f"{relative} {where}: a repository of its own: update it there "
            f"(cd {relative} && make update; docs/updating.md)"
        )
        return outcome
    try:
        answers = read_answers(service)
        outcome.before = str(answers["_commit"])
    except AnswersError as error:
        outcome.result, outcome.detail = "failed", str(error)
        return outcome
    if "service_name" in changes and changes["service_name"] != service.name:
        outcome.result = "refused"
        outcome.detail = (
            f"a service's name is its folder's, and renaming would delete {relative}'s code: "
            f"to rename it, generate the new one (make service name={changes['service_name']}), "
            f"move your code over, then git rm -r {relative}"
        )
        return outcome
    try:
        check_named_as_folder(service, answers)
    except AnswersError as error:
        outcome.result, outcome.detail = "failed", str(error)
        return outcome
    current, target = resolve(repo, outcome.before), resolve(repo, ref)
    if current is None:
        outcome.result = "failed"
        outcome.detail = (
            f"records template version {outcome.before}, which this repository does not have: "
            "fetch it (git fetch --tags), or re-apply the template without merging "
            f"(edits to template-managed files are overwritten): .venv/bin/copier recopy "
            f"--trust --defaults --overwrite {relative}"
        )
        return outcome
    dirty = _uncommitted(repo, relative)
    newer = target is not None and git_succeeds(
        repo, "merge-base", "--is-ancestor", target, current
    )
    if not changes and (current == target or newer):
        outcome.result = "already current"
        if current != target:
            outcome.detail = f"records {outcome.before}, newer than the version asked for"
        elif dirty:
            outcome.detail = f"not committed yet: review (git diff {relative}), then commit"
        return outcome
    if dirty:
        outcome.result = "refused"
        outcome.detail = f"uncommitted changes in {relative}: commit or stash them, then rerun"
        if f"{relative}/.copier-answers.yml" in dirty:
            outcome.detail += (
                f"; answers change through copier, not by hand: git checkout -- {relative}/"
                f'.copier-answers.yml, then make update name={service.name} data="KEY=VALUE"'
            )
        return outcome
    if not git_succeeds(repo, "cat-file", "-e", f"{base}:{relative}/.copier-answers.yml"):
        outcome.result = "refused"
        outcome.detail = f"{relative} is not committed yet: git add {relative} && git commit"
        return outcome
    return None


@dataclass
class Prepared:
    """A service's update, computed in its workspace, not yet written."""

    relative: str
    outcome: Outcome
    changes: list[Change] = field(default_factory=list)


@dataclass
class Job:
    """One service's update to prepare: everything a worker process needs."""

    repo: Path
    relative: str  # the service's folder in repo
    base: str  # the commit its workspace starts from
    ref: str  # the template version to update to
    answers: dict[str, str]  # answers to change (data=)
    scratch: Path  # the job's own scratch folder
    graph: dict[str, graph.Node]  # every service's node as the rollout began


def prepare(job: Job) -> Prepared:
    """Update the service in a workspace of its own; return the outcome and the changes.

    Never touches the user's repository; raises only for an interruption."""
    repo, relative = job.repo, job.relative
    outcome = Outcome(Path(relative).name, str(read_answers(repo / relative)["_commit"]))
    said: list[str] = []
    try:
        space = workspace.create(repo, job.base, relative, job.scratch / "workspace")
        before = workspace.snapshot(space.service)
        with workspace.inside(space, job.scratch / "tmp"), children_stderr_held() as said:
            copier.run_update(
                relative,
                vcs_ref=job.ref,
                data=job.answers,
                defaults=True,
                overwrite=True,
                unsafe=True,
                skip_answered=True,
                conflict="inline",
                quiet=True,
            )
        moved = workspace.outside_the_service(space)
        if moved:
            raise HookError(
                f"the update wrote outside the service (not applied): {', '.join(moved)}"
            )
        outcome.conflicts = workspace.conflicts_in(space.root, space.service)
        answers_now = read_answers(space.service, required=("service_name",))
        name = space.service.name
        graph.write_generated({**job.graph, name: graph.node_of(name, answers_now)}, space.service)
        old_commit = resolve(repo, outcome.before) or ""
        details = [follow_template_locks(space.root, space.service, old_commit, job.ref)]
        changes = workspace.changes_between(before, workspace.snapshot(space.service))
        published = (space.service / PUBLISHED).is_file()
        if published and not outcome.conflicts and openapi.changes_the_app(changes):
            details.append(openapi.republish(space.service, venv_cache(repo)))
            changes = workspace.changes_between(before, workspace.snapshot(space.service))
        outcome.detail = "; ".join(detail for detail in details if detail)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # copier's errors have no common base; report, go on
        message = str(error) if isinstance(error, HookError) else f"{type(error).__name__}: {error}"
        told = [line for line in "".join(said).splitlines() if line.startswith("error: ")]
        outcome.result, outcome.detail = (
            "failed",
            told[-1].removeprefix("error: ") if told else message,
        )
        return Prepared(relative, outcome)
    outcome.result = "conflicts" if outcome.conflicts else "updated"
    return Prepared(relative, outcome, changes)


def write(repo: Path, service: Path, prepared: Prepared) -> Outcome:
    """Write a prepared update into the service folder, whole, unless the folder changed
    meanwhile at a path the update writes (then nothing is written)."""
    outcome = prepared.outcome
    if not prepared.changes:
        return outcome
    moved = [c.path for c in prepared.changes if Content.read(service / c.path) != c.old]
    if moved:
        outcome.result, outcome.conflicts = "refused", []
        outcome.detail = (
            f"changed while the update ran, or not committed (ignored files included): "
            f"{', '.join(moved)}; nothing was written. Commit or move them, then rerun"
        )
        return outcome
    journal.apply(repo, service, prepared.changes)
    return outcome


def rollout(
    repo: Path, name: str = "", ref: str = "", changes: dict[str, str] | None = None
) -> Generator[str, None, list[Outcome]]:
    """Update the services one at a time: yields a progress line for each, returns outcomes.

    Interrupted, it yields the table of what was done before the interruption goes on."""
    targets = find_services(repo, [name] if name else [])
    if changes and not name:
        raise HookError("data= changes the answers of one service: add name=<service>")
    if changes and "dev_port" in changes:
        check_dev_port(repo, int(changes["dev_port"]), owner=name)
    if changes and "calls" in changes:
        known = graph.nodes(repo)
        unknown = [p for p in graph.parse_calls(changes["calls"]) if p not in known]
        if unknown:
            raise HookError(
                f"calls: {', '.join(unknown)} is not a service here; generate it first "
                f"(make service name={unknown[0]}), or leave it out"
            )
    outcomes: list[Outcome] = []
    before = graph.nodes(repo)
    with exclusive(repo, "make update") as session:
        yield from session.recovered
        if changes and not ref:  # new answers, at the version the service already records ...
            recorded = str(read_answers(targets[0])["_commit"])
            new = sorted(set(changes) - set(questions_at(repo, recorded)))
            ref = "" if new else recorded  # ... unless it asks nothing about them yet
            if new:
                yield f"{', '.join(new)}: not asked by {recorded}; the newest template asks it"
        git_ref, shown = template_version(repo, ref)
        try:
            with reuse.installed(session.scratch / "template-cache"):
                done = yield from _update_each(
                    repo, targets, (git_ref, shown), changes or {}, session.scratch, before
                )
                outcomes += [done[service.name] for service in targets]
        except KeyboardInterrupt as stopped:
            done = stopped.args[1] if len(stopped.args) > 1 else {}
            for service in targets:
                outcomes.append(
                    done.get(service.name)
                    or Outcome(
                        service.name,
                        result="interrupted",
                        detail="left as it was; rerun make update",
                    )
                )
            yield table(outcomes)
            raise
        yield from graph.follow(repo, *_affected(repo, name, before))
    return outcomes


def _update_each(
    repo: Path,
    targets: list[Path],
    versions: tuple[str, str],
    answers: dict[str, str],
    scratch: Path,
    nodes: dict[str, graph.Node],
) -> Generator[str, None, dict[str, Outcome]]:
    """Check each service, prepare the updates of those that need one in parallel, and write
    each, whole, as it comes (core/journal); the lines say what starts and what ended how.

    Interrupted, it raises KeyboardInterrupt(message, outcomes so far)."""
    ref, shown = versions
    done: dict[str, Outcome] = {}
    work = []

    def ended(service: Path, outcome: Outcome) -> str:
        outcome.after = shown
        done[service.name] = outcome
        return f"[{len(done)}/{len(targets)}] {service.name}: {outcome.result}"

    for service in targets:
        base = git(repo, "rev-parse", "HEAD").strip()  # commits made meanwhile count
        outcome = _precheck(repo, service, base, ref, answers)
        if outcome is None:
            relative = service.relative_to(repo).as_posix()
            work.append(Job(repo, relative, base, ref, answers, scratch / service.name, nodes))
        else:
            yield ended(service, outcome)
    try:
        if work:
            at_once = min(parallel.JOBS, len(work))
            yield f"updating {len(work)} service(s) to {shown}, {at_once} at a time ..."
        for prepared in parallel.run(work, scratch / "template-cache", prepare, _crashed):
            service = repo / prepared.relative
            yield ended(service, write(repo, service, prepared))
    except KeyboardInterrupt as stopped:
        raise KeyboardInterrupt(str(stopped), done) from None
    return done


def _crashed(job: Job, why: str) -> Prepared:
    """The update of a service whose worker ended without one (killed, out of memory)."""
    before = str(read_answers(job.repo / job.relative)["_commit"])
    name = Path(job.relative).name
    return Prepared(job.relative, Outcome(name, before, result="failed", detail=why))


def _affected(
    repo: Path, name: str, before: dict[str, graph.Node]
) -> tuple[dict[str, graph.Node], list[str]]:
    """The graph after a rollout, and the services whose generated files it may change: all
    of them, or the one named with its peers and callers, before and after."""
    after = graph.nodes(repo)
    if not name:
        return after, sorted(after)
    related = {name}
    for nodes in (before, after):
        if name in nodes:
            related |= set(nodes[name].calls) | set(graph.callers(nodes, name))
    return after, sorted(related)


NEXT_STEPS = {
    "updated": "Review the changes (git diff services/), run make check, then commit.",
    "conflicts": (
        "Resolve each conflict (keep what you need, drop the markers), then commit; "
        "make check fails until none remain. See docs/updating.md."
    ),
}


def table(outcomes: list[Outcome]) -> str:
    """The final report: one row per service, each conflicted file and detail, what next."""
    rows = [("service", "from", "to", "result")]
    rows += [(o.name, o.before, o.after, o.result) for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    for outcome in outcomes:
        lines += [f"  {outcome.name}: conflict in {path}" for path in outcome.conflicts]
        if outcome.detail:
            lines.append(f"  {outcome.name}: {outcome.detail}")
    results = {o.result for o in outcomes}
    lines += [step for result, step in NEXT_STEPS.items() if result in results]
    return "\n".join(lines)


def behind(repo: Path) -> list[tuple[str, str, str]]:
    """(service, recorded, latest release) for every service behind the latest release."""
    release = latest_release(repo)
    if release is None:
        raise HookError(
            "there is no release yet, so no service can be behind one: make release "
            "version=X.Y.Z (then make update), or compare with HEAD: make update ref=HEAD"
        )
    latest = git(repo, "rev-parse", f"{release}^{{commit}}").strip()
    late = []
    for service in find_services(repo, []):
        if service.is_symlink() or (service / ".git").exists():  # their own repositories
            continue
        recorded = str(read_answers(service)["_commit"])
        current = resolve(repo, recorded)
        if current is None:
            raise HookError(
                f"{service.name} records {recorded}, which this repository does not have; "
                "fetch it: git fetch --tags"
            )
        if current != latest and not git_succeeds(
            repo, "merge-base", "--is-ancestor", latest, current
        ):
            late.append((service.name, recorded, release))
    return late
