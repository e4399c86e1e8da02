"""`make update`: move every service (or one) to a template version, one at a time.

Copier 9.19 refuses to update a service while any unmerged index entry exists in the
repository (`git-write-tree: error building trees`), so after each service its conflict
stages are dropped from the index: the markers stay in the working tree for the user, and
the next service starts from a state copier accepts. Copier only checks the service's own
folder for uncommitted changes, so earlier, uncommitted updates do not block later ones.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path

import copier
import yaml

from hooks.errors import HookError
from hooks.gitrepo import git, git_succeeds, latest_release, uncommitted_paths
from hooks.settings import generated_services

TEMPLATE_PATHS = ("copier.yml", "template", "hooks", "platform", "migrations.yml")
CONFLICT_MARKER = "<<<<<<< "


@dataclass
class Outcome:
    """What happened to one service."""

    name: str
    before: str
    after: str = ""
    result: str = ""
    conflicts: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("updated", "already current")


def services(repo: Path, name: str = "") -> list[Path]:
    """Every generated service, or the one named."""
    found = generated_services(repo)
    if name:
        found = [p for p in found if p.name == name]
        if not found:
            raise HookError(f"there is no service '{name}' under services/ (with an answers file)")
    return found


def recorded_version(service: Path) -> str:
    """The template version the service's answers file records."""
    return str(yaml.safe_load((service / ".copier-answers.yml").read_text())["_commit"])


def resolve(repo: Path, ref: str) -> str | None:
    """The commit a ref names, or None when git does not know it."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except HookError:
        return None


def choose_target(repo: Path, ref: str) -> tuple[str, str]:
    """(ref to give copier, name to show): the latest release, or committed HEAD."""
    if ref and ref != "HEAD":
        if resolve(repo, ref) is None:
            raise HookError(f"ref={ref} is not a tag or commit of this repository")
        return ref, ref
    if not ref:
        release = latest_release(repo)
        if release is None:
            raise HookError(
                "there is no release yet: make release version=0.1.0, "
                "or try unreleased template changes with ref=HEAD"
            )
        return release, release
    dirty = [p for p in uncommitted_paths(repo) if p.startswith(TEMPLATE_PATHS)]
    if dirty:
        raise HookError(
            "ref=HEAD updates to the committed template, but these template files "
            "have uncommitted changes; commit them first:\n  " + "\n  ".join(dirty)
        )
    head = git(repo, "rev-parse", "HEAD").strip()
    return head, head[:7]  # a commit that exists, never copier's throwaway one


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


def update_service(repo: Path, service: Path, ref: str, shown: str) -> Outcome:
    """Update one service; never raises, the outcome says what happened."""
    relative = str(service.relative_to(repo))
    outcome = Outcome(service.name, recorded_version(service), shown)
    if any(p.startswith(relative + "/") for p in uncommitted_paths(repo)):
        outcome.result = "refused"
        outcome.detail = f"uncommitted changes in {relative}: commit or stash them, then rerun"
        return outcome
    current = resolve(repo, outcome.before)
    if current is None:
        outcome.result = "failed"
        outcome.detail = (
            f"records template version {outcome.before}, which is not in git; "
            f"regenerate it: copier recopy --trust {relative}"
        )
        return outcome
    target = resolve(repo, ref)
    if current == target:
        outcome.result = "already current"
        return outcome
    if target and git_succeeds(repo, "merge-base", "--is-ancestor", target, current):
        outcome.result = "already current"
        outcome.detail = f"records {outcome.before}, newer than {shown}; use ref=HEAD to move on"
        return outcome
    try:
        copier.run_update(
            relative,
            vcs_ref=ref,
            defaults=True,
            overwrite=True,
            unsafe=True,
            skip_answered=True,
            conflict="inline",
            quiet=True,
        )
    except Exception as error:  # copier's errors have no common base; report, go on
        outcome.result, outcome.detail = "failed", f"{type(error).__name__}: {error}"
        return outcome
    finally:
        outcome.conflicts = conflicts_in(repo, service)
        git(repo, "reset", "--quiet", "--", relative)  # drop unmerged stages, keep markers
    outcome.result = "conflicts" if outcome.conflicts else "updated"
    return outcome


def rollout(repo: Path, name: str = "", ref: str = "") -> list[Outcome]:
    """Update the services one at a time, printing a progress line for each."""
    targets = services(repo, name)
    git_ref, shown = choose_target(repo, ref)
    outcomes = []
    for number, service in enumerate(targets, start=1):
        print(f"[{number}/{len(targets)}] {service.name}: updating to {shown} ...", flush=True)
        outcome = update_service(repo, service, git_ref, shown)
        print(f"[{number}/{len(targets)}] {service.name}: {outcome.result}", flush=True)
        outcomes.append(outcome)
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """The final report: one row per service, then each conflicted file and detail."""
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
    if any(o.conflicts for o in outcomes):
        lines.append(
            "Resolve each conflict (keep what you need, drop the markers), then "
            "commit; `make check` fails until none remain. See docs/updating.md."
        )
    return "\n".join(lines)


def run(repo: Path, name: str, ref: str) -> bool:
    """`make update`: print the table; True when every service is updated or current."""
    outcomes = rollout(repo, name, ref)
    print(table(outcomes))
    sys.stdout.flush()
    return all(outcome.ok for outcome in outcomes)


def behind(repo: Path) -> list[tuple[str, str, str]]:
    """(service, recorded, latest release) for every service behind the latest release."""
    release = latest_release(repo)
    if release is None:
        return []
    latest = resolve(repo, release)
    return [
        (s.name, recorded_version(s), release)
        for s in services(repo)
        if resolve(repo, recorded_version(s)) != latest
    ]
