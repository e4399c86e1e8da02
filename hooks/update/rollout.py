"""`make update`: move every service (or one) to a template version, one at a time.

Copier writes a git tree of the whole repository's index and applies its diff against the
service's old render at the repository root, so whatever else the index holds can come
back (a file the user deleted anywhere, a file an earlier service's update removed). Each
service is therefore updated with an index holding only that service; the user's own index
is put back afterwards, untouched. A check of the whole working tree, before and after,
fails loudly (and restores) if anything outside the service moved anyway. A service whose
update fails or is interrupted is put back exactly as it was: updated or untouched.
"""

import shutil
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import copier

from hooks.core.answers import AnswersError, read_answers
from hooks.core.gitrepo import git, git_succeeds, latest_release, uncommitted_paths
from hooks.core.services import find_services
from hooks.core.session import children_stderr_held, exclusive, signals_blocked
from hooks.core.versions import resolve, template_version
from hooks.errors import HookError
from hooks.update.pins import follow_template_locks
from hooks.update.worktree import WorktreeSnapshot, private_index, restore_saved_index

CONFLICT_MARKER = "<<<<<<< "


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


def conflicts_in(repo: Path, service: Path) -> list[str]:
    """Files of the service with conflict markers, .rej files, or unmerged index entries."""
    relative = str(service.relative_to(repo))
    found = set(git(repo, "diff", "--name-only", "--diff-filter=U", "--", relative).split())
    for path in service.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            name = str(path.relative_to(repo))
            if path.suffix == ".rej":
                found.add(name)
            else:
                try:
                    text = path.read_text()
                except (UnicodeDecodeError, OSError):
                    continue
                if any(line.startswith(CONFLICT_MARKER) for line in text.splitlines()):
                    found.add(name)
    return sorted(found)


def _precheck(repo: Path, service: Path, ref: str, changes: dict[str, str]) -> Outcome | None:
    """The outcome when the service cannot or need not be updated; None to go ahead."""
    relative = str(service.relative_to(repo))
    outcome = Outcome(service.name)
    if service.is_symlink():
        outcome.result = "skipped"
        outcome.detail = (
            f"{relative} links to {service.resolve()}, a repository of its own: update it "
            "there (docs/updating.md, a service in its own repository)"
        )
        return outcome
    try:
        outcome.before = str(read_answers(service)["_commit"])
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
    dirty = [p for p in uncommitted_paths(repo) if p.startswith(relative + "/")]
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
    return None


def _restore(backup: Path, service: Path) -> None:
    with signals_blocked():
        shutil.rmtree(service, ignore_errors=True)
        shutil.copytree(backup, service, symlinks=True)


def update_service(
    repo: Path, service: Path, ref: str, shown: str, changes: dict[str, str], scratch: Path
) -> Outcome:
    """Update one service; never raises but for an interruption, which restores it first."""
    outcome = _precheck(repo, service, ref, changes)
    if outcome is not None:
        outcome.after = shown
        return outcome
    outcome = Outcome(service.name, str(read_answers(service)["_commit"]), shown)
    backup = scratch / "backup" / service.name
    shutil.copytree(service, backup, symlinks=True)
    snapshot = WorktreeSnapshot(repo, scratch / "worktree-index")
    before = snapshot.take()
    try:
        with private_index(repo, service), children_stderr_held():
            copier.run_update(
                str(service.relative_to(repo)),
                vcs_ref=ref,
                data=changes,
                defaults=True,
                overwrite=True,
                unsafe=True,
                skip_answered=True,
                conflict="inline",
                quiet=True,
            )
            outcome.conflicts = conflicts_in(repo, service)
        moved = snapshot.moved_outside(before, snapshot.take(), service)
        if moved:
            snapshot.restore(before, moved)
            raise HookError(f"the update changed paths outside it (restored): {', '.join(moved)}")
        old_commit = resolve(repo, outcome.before)
        outcome.detail = follow_template_locks(repo, service, old_commit or "", ref)
    except KeyboardInterrupt:  # anywhere before the end: the service is left as it was
        _restore(backup, service)
        raise
    except Exception as error:  # copier's errors have no common base; report, go on
        _restore(backup, service)
        message = str(error) if isinstance(error, HookError) else f"{type(error).__name__}: {error}"
        outcome.result, outcome.detail, outcome.conflicts = "failed", message, []
        return outcome
    outcome.result = "conflicts" if outcome.conflicts else "updated"
    return outcome


def rollout(
    repo: Path, name: str = "", ref: str = "", changes: dict[str, str] | None = None
) -> Generator[str, None, list[Outcome]]:
    """Update the services one at a time: yields a progress line for each, returns outcomes.

    Interrupted, it yields the table of what was done before the interruption goes on."""
    targets = find_services(repo, [name] if name else [])
    if changes and not name:
        raise HookError("data= changes the answers of one service: add name=<service>")
    outcomes: list[Outcome] = []
    with exclusive(repo, "make update") as scratch:
        restore_saved_index(repo)
        if changes and not ref:  # new answers, at the version the service already records
            ref = str(read_answers(targets[0])["_commit"])
        git_ref, shown = template_version(repo, ref)
        try:
            for number, service in enumerate(targets, start=1):
                yield f"[{number}/{len(targets)}] {service.name}: updating to {shown} ..."
                outcome = update_service(repo, service, git_ref, shown, changes or {}, scratch)
                yield f"[{number}/{len(targets)}] {service.name}: {outcome.result}"
                outcomes.append(outcome)
        except KeyboardInterrupt:
            outcomes.append(
                Outcome(
                    targets[len(outcomes)].name,
                    result="interrupted",
                    detail="left as it was; rerun make update",
                )
            )
            yield table(outcomes)
            raise
    return outcomes


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
    for service in [s for s in find_services(repo, []) if not s.is_symlink()]:  # linked: their own
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
