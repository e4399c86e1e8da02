"""A service in a repository of its own: generated, committed, tested and updated with the
commands its after-copy message and README print, off a terminal."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hooks.core.answers import read_answers
from tests.support.helpers import commit_all, edit, git, release, service_venv, snapshot_repo
from tests.support.updates import APP_CHANGE

COPIER = str(Path(sys.executable).with_name("copier"))
HISTORY = ("revisionHistoryLimit: 5", "revisionHistoryLimit: 3")
# Every question but dev_port: what a user answers (or takes the defaults of) at the prompts.
ANSWERS = [
    "service_name=orders",
    "description=Orders.",
    "team=payments",
    "service_port=8000",
    "namespace=apps",
    "calls=",
    "database=none",
    "python_version=3.13",
]


def run(cwd: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """A command as a user types it, off a terminal (no stdin)."""
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def copy(source: str, cwd: Path, destination: str, *options: str) -> str:
    data = [arg for answer in ANSWERS for arg in ("--data", answer)]
    result = run(cwd, COPIER, "copy", "--trust", *options, *data, source, destination)
    assert result.returncode == 0, result.stderr
    return result.stderr  # copier prints its messages on stderr


def with_cached_venv(service: Path) -> None:
    """The service's .venv is the session's cached one: its make builds nothing (no PyPI)."""
    venv = service_venv(service / "requirements-dev.lock").parent.parent
    (venv / ".installed").touch()
    (service / ".venv").symlink_to(venv)


def printed_command(message: str, start: str) -> str:
    [line] = [line.strip() for line in message.splitlines() if line.strip().startswith(start)]
    return line


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return snapshot_repo(tmp_path / "microplatform", tag="v0.1.0")


def test_a_standalone_service_from_copy_to_a_conflicted_update(
    template: Path, tmp_path: Path
) -> None:
    # 1. Copy with no terminal: nothing is asked, dev_port included.
    message = copy(str(template), tmp_path, "orders")
    orders = tmp_path / "orders"
    answers = read_answers(orders)
    assert 18000 <= answers["dev_port"] <= 18999  # recorded, for when it is linked
    assert "make dev" not in message and "a repository of its own" in message

    # 2. The printed commands, as printed: its tests (publishing openapi.json), then git.
    with_cached_venv(orders)
    tests = printed_command(message, "cd ")
    assert tests.startswith("cd orders && make test")
    tested = run(tmp_path, "bash", "-c", tests)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert (orders / "openapi.json").is_file()
    first_commit = printed_command(message, "git init")
    assert run(orders, "bash", "-c", first_commit).returncode == 0
    assert git(orders, "status", "--porcelain") == ""  # openapi.json in; env files ignored
    result = run(orders, "make", "lint")
    assert result.returncode == 0, result.stdout + result.stderr

    # 3. A local edit, then a template release that changes the same line and another file.
    edit(orders / "k8s/base/deployment.yaml", HISTORY[0], "revisionHistoryLimit: 10")
    commit_all(orders, "keep ten revisions")
    release(
        template,
        "v0.2.0",
        {
            "template/k8s/base/deployment.yaml.jinja": HISTORY,
            "template/README.md.jinja": ("## Run it\n", "## Run it locally\n"),
        },
    )

    # 4. make update: merges, then lists the conflict and fails, off a terminal.
    update = run(orders, "make", "update")
    assert update.returncode != 0
    assert "conflicts:" in update.stderr and "k8s/base/deployment.yaml" in update.stderr
    assert "\x1b[" not in update.stdout + update.stderr  # no colour codes in a log
    assert "Running task" not in update.stdout + update.stderr
    assert "## Run it locally" in (orders / "README.md").read_text()
    unmerged = git(orders, "diff", "--name-only", "--diff-filter=U").split()
    assert unmerged == ["k8s/base/deployment.yaml"]

    # 5. Resolved and committed, the next update has nothing left to report; uncommitted
    # work stops it first, with the files named.
    deployment = orders / "k8s/base/deployment.yaml"
    ours = re.compile(r"^<<<<<<< .*?\n(.*?)^(?:\|{7}|={7}).*?^>{7} .*?\n", re.MULTILINE | re.DOTALL)
    deployment.write_text(ours.sub(r"\1", deployment.read_text()))  # keep our ten revisions
    assert "revisionHistoryLimit: 10" in deployment.read_text()
    commit_all(orders, "update to v0.2.0")
    (orders / "notes.md").write_text("not committed yet\n")
    refused = run(orders, "make", "update")
    assert refused.returncode != 0
    assert "commit (or stash) these first:\n  notes.md" in refused.stderr
    (orders / "notes.md").unlink()
    again = run(orders, "make", "update")
    assert again.returncode == 0, again.stderr
    assert "now at template v0.2.0" in again.stdout

    # 6. A release that changes the app: its published document follows, its tests pass.
    release(template, "v0.3.0", APP_CHANGE)
    changed = run(orders, "make", "update")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "openapi.json is published again" in changed.stdout
    assert "/metrics" in json.loads((orders / "openapi.json").read_text())["paths"]
    tested = run(orders, "make", "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_make_update_in_a_platform_repository_points_to_the_root(template: Path) -> None:
    copy(".", template, "services/orders", "--defaults")
    result = run(template / "services" / "orders", "make", "update")
    assert result.returncode != 0
    assert "from its root, make update name=orders" in result.stderr


def test_dev_port_is_asked_only_in_the_platform_repository(template: Path, tmp_path: Path) -> None:
    # Without --defaults copier prompts for any question not answered: off a terminal that
    # fails, so a copy that succeeds asked nothing.
    copy(str(template), tmp_path, "orders")  # a repository of its own
    data = [arg for answer in ANSWERS for arg in ("--data", answer)]
    inside = run(template, COPIER, "copy", "--trust", *data, ".", "services/orders")
    assert inside.returncode != 0 and "Interactive session required" in inside.stderr
    message = copy(".", template, "services/orders", "--data", "dev_port=18042")
    assert printed_command(message, "git add") == (
        'git add services/orders && git commit -m "Add orders service"'
    )
    assert "make test name=orders" in message and "http://localhost:18042" in message


def test_its_make_update_takes_answers_as_typed_and_never_runs_them(
    template: Path, tmp_path: Path
) -> None:
    copy(str(template), tmp_path, "orders", "--defaults")
    orders = tmp_path / "orders"
    git(orders, "init", "-q")
    commit_all(orders, "generate")
    injected = run(orders, "make", "update", "data=description='ok;touch INJECTED $5' team=x")
    assert not (orders / "INJECTED").exists() and "INJECTED" not in git(orders, "ls-files")
    assert injected.returncode == 0, injected.stderr
    answers = read_answers(orders)
    assert (answers["description"], answers["team"]) == ("ok;touch INJECTED $5", "x")
    commit_all(orders, "answers")
    two_words = run(orders, "make", "update", "data=description=two words")
    assert two_words.returncode != 0 and "Traceback" not in two_words.stderr
    assert "answer 'words' is not KEY=VALUE; quote a value with spaces" in two_words.stderr
