"""Every command the docs show works as written, from a fresh clone.

Each ```sh block of README.md, docs/ and the other READMEs is run as a reader runs it, in
order, in the setting it describes (a fresh clone, a clone with a service, a service in its
own repository). A command that cannot run here (it needs a cluster, the network or is this
suite itself) is listed with the reason. A new block, or a new command in one, fails this
test until it is run or consciously excluded. Inline `make ...` and `python -m hooks ...`
spans must name targets and commands that exist.
"""

import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import (
    REPO,
    commit_all,
    git,
    release,
    service_venv,
    snapshot_repo,
    stand_in_venvs,
)

READMES = [REPO / "README.md", REPO / "services" / "README.md", REPO / "platform" / "README.md"]
DOCS = sorted([*READMES, *(REPO / "docs").rglob("*.md")])
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s+#\s.*$")
CLUSTER = "needs a local cluster and Tilt: the cluster tier runs make dev (docs/testing.md)"
DOCTOR = "checks this machine's cluster tools: tests/test_makefile.py runs it with stand-ins"
SUITE = "is this test suite itself"
URL = "https://git.example.com/platform/microplatform.git"


def shown_blocks() -> dict[tuple[str, int], list[str]]:
    """(file, number of the block in it) -> the block's commands, comments left out."""
    blocks = {}
    for doc in DOCS:
        fenced = [body for language, body in FENCE.findall(doc.read_text()) if language == "sh"]
        for number, body in enumerate(fenced, start=1):
            lines = [COMMENT.sub("", line).strip() for line in body.splitlines()]
            commands = [line for line in lines if line and not line.startswith("#")]
            blocks[(str(doc.relative_to(REPO)), number)] = commands
    return blocks


def link_service_venv(service: Path) -> None:
    """The service's venv is this session's cached one: its make installs nothing."""
    venv = service_venv(service / "requirements-dev.lock").parent.parent
    (venv / ".installed").touch()
    (service / ".venv").symlink_to(venv)


CLONE = "microplatform"


def clone(tmp: Path) -> Path:
    """A fresh clone of this repository, a release tagged, its tools installed."""
    repo = snapshot_repo(tmp / CLONE, tag="v0.1.0")
    stand_in_venvs(repo)
    return repo


def clone_with(*services: str) -> Callable[[Path], Path]:
    def setup(tmp: Path) -> Path:
        repo = clone(tmp)
        for name in services:
            subprocess.run(
                ["make", "service", f"name={name}"], cwd=repo, check=True, capture_output=True
            )
        commit_all(repo, "add services")
        return repo

    return setup


def standalone(releases: tuple[str, ...] = ()) -> Callable[[Path], Path]:
    """A folder to generate a service of its own in, from a clone (its URL) with releases."""

    def setup(tmp: Path) -> Path:
        repo = clone(tmp)
        for version in releases:
            readme = ("## Layout\n", f"## Layout\n\nSince {version}.\n")
            release(repo, version, {"template/README.md.jinja": readme})
        (tmp / "own").mkdir()
        return tmp / "own"  # beside the clone

    return setup


def own_repository(releases: tuple[str, ...]) -> Callable[[Path], Path]:
    """A service in its own repository generated at v0.1.0, then template releases."""

    def setup(tmp: Path) -> Path:
        repo = clone(tmp)
        copier = repo / ".venv" / "bin" / "copier"
        command = [copier, "copy", "--trust", "--defaults", "--quiet", "-r", "v0.1.0"]
        subprocess.run([*command, repo, tmp / "orders"], check=True, capture_output=True)
        git(tmp / "orders", "init", "-q")
        commit_all(tmp / "orders", "generate orders")
        for version in releases:
            readme = ("## Layout\n", f"## Layout\n\nSince {version}.\n")
            release(repo, version, {"template/README.md.jinja": readme})
        return tmp / "orders"

    return setup


def reader(tmp: Path) -> Path:
    """Where a reader clones this repository (a fresh clone of it stands at its URL)."""
    clone(tmp)
    (tmp / "reader").mkdir()
    return tmp / "reader"


def nothing(cwd: Path, command: str) -> None:
    return None


def commit_first(cwd: Path, command: str) -> None:
    """Each command is an example of its own: it starts from a committed tree."""
    if git(cwd, "status", "--porcelain").strip():
        commit_all(cwd, "before the next example")


def venv_for_make_test(cwd: Path, command: str) -> None:
    if command == "make test name=orders":
        link_service_venv(cwd / "services" / "orders")
    if command == "make test":  # in the service's own folder
        link_service_venv(cwd)


@dataclass(frozen=True)
class Block:
    """Where a block runs, what happens before each command, and what cannot run here."""

    shows: str  # its first command, so that this table reads as the docs
    setup: Callable[[Path], Path]
    before: Callable[[Path, str], None] = nothing
    skip: dict[str, str] = field(default_factory=dict)
    # What a reader replaces: TEMPLATE is where the clone of this repository stands.
    placeholders: dict[str, str] = field(default_factory=dict)
    # Alternatives, not steps: each command starts from a fresh setup.
    alternatives: bool = False


BLOCKS = {
    ("README.md", 1): Block(
        "make service name=orders", clone, venv_for_make_test, skip={"make test": SUITE}
    ),
    ("README.md", 2): Block(
        "make doctor", clone, skip={"make doctor": DOCTOR, "make dev": CLUSTER}
    ),
    ("README.md", 3): Block(
        ".venv/bin/copier copy --trust --defaults . services/orders", clone, commit_first
    ),
    ("README.md", 4): Block(
        f"copier copy --trust --defaults {URL} orders",
        standalone(),
        venv_for_make_test,
        placeholders={URL: "TEMPLATE"},
    ),
    ("docs/getting-started.md", 1): Block(
        "git clone <this repository> && cd microplatform",
        reader,
        skip={"make doctor": DOCTOR, "make dev": CLUSTER},
        placeholders={"<this repository>": "TEMPLATE"},
    ),
    ("docs/getting-started.md", 2): Block(
        "make dev cluster=existing context=kind-kind",
        clone,
        skip={
            "make dev cluster=existing context=kind-kind": CLUSTER,
            "make down cluster=existing context=kind-kind": CLUSTER,
        },
    ),
    ("docs/updating.md", 1): Block("make update", clone_with("orders"), alternatives=True),
    ("docs/updating.md", 2): Block(
        "make update", own_repository(("v0.2.0", "v0.3.0")), commit_first
    ),
    ("services/README.md", 1): Block(
        'make update name=hello ref=HEAD && git add services/hello && git commit -m "Update hello"',
        clone_with("hello"),
    ),
}


def block_id(key: tuple[str, int]) -> str:
    return f"{key[0]}#{key[1]}"


@pytest.mark.check
def test_every_shown_block_is_listed_here() -> None:
    shown = {key: commands[0] for key, commands in shown_blocks().items()}
    assert shown == {key: block.shows for key, block in BLOCKS.items()}


@pytest.mark.parametrize("key", list(BLOCKS), ids=block_id)
def test_a_shown_block_runs_as_written(key: tuple[str, int], tmp_path: Path) -> None:
    commands, block = shown_blocks()[key], BLOCKS[key]
    assert set(block.skip) <= set(commands), "a skipped command is no longer shown"
    cwd = block.setup(tmp_path)
    for number, command in enumerate(commands):
        if command in block.skip:
            continue
        if block.alternatives and number:
            cwd = block.setup(tmp_path / str(number))
        block.before(cwd, command)
        typed = command
        for placeholder, value in block.placeholders.items():
            typed = typed.replace(placeholder, value.replace("TEMPLATE", str(tmp_path / CLONE)))
        result = subprocess.run(
            ["bash", "-c", typed],
            cwd=cwd,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}{result.stderr}"
        moved = re.match(r"cd (\S+) &&", typed)
        if moved:  # the reader's shell is there now
            cwd = cwd / moved.group(1)


TEMPLATE_MAKEFILE = REPO / "template" / "Makefile.jinja"
INLINE = re.compile(r"(?<!`)`((?:make|\.venv/bin/python -m hooks|python -m hooks) [^`]*)`")


def shown_inline() -> list[str]:
    spans = []
    for doc in DOCS:
        prose = FENCE.sub("", doc.read_text())
        spans += [span for span in INLINE.findall(prose) if "..." not in span]  # illustrations
    return sorted(set(spans))


@pytest.mark.check
@pytest.mark.parametrize("span", shown_inline())
def test_an_inline_command_names_what_exists(span: str, tmp_path: Path) -> None:
    words = re.sub(r"\[[^]]*\]", "", span).split()  # [optional] parts left out
    if words[:2] == ["make", "-C"]:  # a service's own Makefile
        service_targets = re.findall(r"^([a-z-]+):", TEMPLATE_MAKEFILE.read_text(), re.MULTILINE)
        assert words[3] in service_targets, span
        return
    if words[0] == "make":
        for command in span.split(" && "):
            # `make run|test|lint name=...` names each of the targets.
            for target in shlex.split(command)[1].split("|"):
                arguments = [target, *shlex.split(command)[2:]]
                stamps = ["-o", ".venv/.installed", "-o", ".venv-checkov/.installed"]
                result = subprocess.run(
                    ["make", "-n", *stamps, *arguments], cwd=REPO, capture_output=True, text=True
                )
                assert result.returncode == 0, f"{command}: {result.stderr}"
        return
    subcommand = words[words.index("hooks") + 1 :][:1]
    if subcommand and subcommand[0].startswith("<"):
        subcommand = []  # `python -m hooks <command>`: the command list
    result = subprocess.run(
        [sys.executable, "-m", "hooks", *subcommand, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
