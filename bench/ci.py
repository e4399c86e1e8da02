"""12. `make changed` on a 50-service history: what CI's first job costs as services grow.

The services are generated cheaply: one `make service`, then its folder copied under new
names with the answers' service_name rewritten (`make changed` reads git, never renders).
"""

import json
import shutil
import subprocess
from pathlib import Path

from bench.report import Series, timed
from tests.support.helpers import VENVS, add_service, git, snapshot_repo

Section = tuple[str, list[Series], list[str]]


def copies(repo: Path, count: int) -> list[str]:
    """`count` services: one generated, the others copies of it under their own names."""
    names = [f"svc{number:02d}" for number in range(count)]
    add_service(repo, names[0])
    first = repo / "services" / names[0]
    for name in names[1:]:
        shutil.copytree(first, repo / "services" / name, symlinks=True)
        answers = repo / "services" / name / ".copier-answers.yml"
        answers.write_text(answers.read_text().replace(names[0], name))
    return names


def history(repo: Path, names: list[str]) -> None:
    """Four commits on top of the services: the template, a rename, a deletion, then a
    change in one service (the last, so that `base=HEAD~1` is one service's push)."""

    def commit(message: str) -> None:
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", message)

    commit(f"{len(names)} services")
    template = repo / "template" / "README.md.jinja"
    template.write_text(template.read_text() + "\nA new convention.\n")
    commit("the template")
    git(repo, "mv", f"services/{names[2]}", f"services/{names[2]}-renamed")
    commit("a rename")
    git(repo, "rm", "-rq", f"services/{names[3]}")
    commit("a deletion")
    readme = repo / "services" / names[1] / "README.md"
    readme.write_text(readme.read_text() + "\nA change.\n")
    commit("one service")


def changed(repo: Path, base: str) -> dict[str, object]:
    result = subprocess.run(
        ["make", "--no-print-directory", *VENVS, "changed", f"base={base}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    found: dict[str, object] = json.loads(result.stdout)
    return found


def make_changed(work: Path, count: int = 50, runs: int = 3) -> tuple[Section, float]:
    """12. `make changed` over the last commit (one service) and the last four (every kind)."""
    repo = snapshot_repo(work / f"changed-{count}", tag="v0.1.0")
    (repo / ".venv").symlink_to(Path(VENVS[0].split("=", 1)[1]))
    names = copies(repo, count)
    history(repo, names)
    one = Series(f"{count} services, a push of one service's commit", "s")
    four = Series(f"{count} services, 4 commits: template, rename, deletion, service", "s")
    for _ in range(runs):
        one.values.append(timed(lambda: changed(repo, "HEAD~1")))
        four.values.append(timed(lambda: changed(repo, "HEAD~4")))
    single, every = changed(repo, "HEAD~1"), changed(repo, "HEAD~4")
    notes = [
        "`make changed` as CI's first job runs it (make and Python start-up included), on "
        f"one generated service copied {count - 1} times under new names.",
        f"One commit: services={single['services']}, platform={single['platform']}. "
        f"Four commits: platform={every['platform']}, {len(every['services'])} services "
        f"to test, renamed={every['renamed']}, deleted={every['deleted']}.",
    ]
    return ("12. CI: which services a change touches", [one, four], notes), four.median
