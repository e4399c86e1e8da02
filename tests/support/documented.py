"""The commands the docs show, each with the setting a reader runs it in (a fresh clone,
a clone with a service, a service in its own repository), or why it cannot run here.
The template tier runs them (tests/template/test_documented_commands.py); the check tier
holds the list to the docs (tests/check/test_docs.py)."""

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.helpers import (
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
DOCTOR = "checks this machine's cluster tools: tests/template/test_makefile.py runs it, stand-ins"
SUITE = "is this test suite itself"
PROD = (
    "deploys to a cluster of yours: the cluster tier applies a database service's prod overlay, "
    "its migration Job included, with a server-side dry run (tests/cluster/test_database.py)"
)
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


def clone_with(*services: str, data: str = "") -> Callable[[Path], Path]:
    def setup(tmp: Path) -> Path:
        repo = clone(tmp)
        for name in services:
            subprocess.run(
                ["make", "service", f"name={name}", f"data={data}"],
                cwd=repo,
                check=True,
                capture_output=True,
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
    for name in re.findall(r"make test name=([a-z0-9-]+)", command):
        if not (cwd / "services" / name / ".venv").exists():
            link_service_venv(cwd / "services" / name)
    own = re.fullmatch(r"(?:cd (\S+) && )?make test", command)  # in the service's folder
    if own:
        link_service_venv(cwd / (own[1] or "."))


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
    ("docs/environment.md", 1): Block(
        "kubectl kustomize services/ledger/k8s/overlays/prod > ledger.yaml",
        clone_with("ledger", data="database=postgres"),
        skip={
            "kubectl apply -f ledger.yaml -l 'app.kubernetes.io/component!=server'": PROD,
            "kubectl wait -n apps --for=condition=complete --timeout=10m "
            "job/ledger-migrate-1.4.2": PROD,
            "kubectl apply -f ledger.yaml": PROD,
        },
    ),
    ("docs/updating.md", 1): Block("make update", clone_with("orders"), alternatives=True),
    ("docs/updating.md", 2): Block(
        "make update", own_repository(("v0.2.0", "v0.3.0")), commit_first
    ),
    ("services/README.md", 1): Block(
        "make update name=hello ref=HEAD && make test name=hello",
        clone_with("hello"),
        venv_for_make_test,
    ),
}


def block_id(key: tuple[str, int]) -> str:
    return f"{key[0]}#{key[1]}"
