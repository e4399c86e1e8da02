"""Bad input: a message that says what is wrong and how to fix it, and nothing left behind."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import add_service, git, snapshot_repo

# (name, extra answers, what the message must say)
BAD_ANSWERS = [
    ("", [], "no service name given; usage: make service name=orders"),
    ("Orders", [], "may only hold lowercase letters"),
    ("my_orders", [], "for example 'my-orders'"),
    ("o", [], "use 2 to 40"),
    ("a" * 41, [], "has 41 characters; use 2 to 40"),
    ("1orders", [], "must start with a letter"),
    ("orders-", [], "must not end with '-'"),
    ("kube-system", [], "is reserved by Kubernetes or the platform"),
    ("default", [], "is reserved by Kubernetes or the platform"),
    ("platform", [], "is reserved by Kubernetes or the platform"),
    ("json", [], "would shadow the Python module 'json'"),
    ("fastapi", [], "would shadow the Python module 'fastapi'"),
    ("../evil", [], "is a path; give just a name"),
    ("orders", ["service_port=80"], "port 80 is out of range; use an unprivileged port"),
    ("orders", ["service_port=70000"], "port 70000 is out of range"),
    ("orders", ["service_port=http"], "service_port 'http' is not a port number; write it in"),
    ("orders", ["dev_port=abc"], "dev_port 'abc' is not a port number"),
    *[
        ("orders", [f"dev_port={port}"], f"dev_port '{port}' is not a port number")
        for port in ("18_000", "0x4650", "+18001", "018000", " 18000", "1e4")
    ],
    ("orders", ["service-port=9000"], "there is no question 'service-port'; the questions are"),
    ("orders", ["namespace=Bad_NS"], "namespace 'Bad_NS' is not a DNS-1123 label"),
    ("orders", ["namespace=" + "n" * 64], "is not a DNS-1123 label; use 1-63"),
    ("orders", ["namespace=kube-system"], "belongs to Kubernetes itself"),
    ("orders", ["team=Team A"], "team 'Team A' is not a valid label value"),
    ("orders", ["description="], "the description is empty"),
    ("orders", ["description=" + "d" * 201], "keep it to one line of at most 200"),
    ("orders", ["description=two\nlines"], "must be one line of printable text"),
    ("orders", ["python_version=2.7"], "python_version"),
    ("orders", ["service_port"], "is not KEY=VALUE; for example service_port=9000"),
    ("import", [], "is a Python keyword, which cannot name the service's package"),
    ("class", [], "is a Python keyword"),
    ("as", [], "is a Python keyword"),
    ("-h", [], "service name '-h' must start with a letter"),
    ("orders", ["service_port=9000", "service_port=9001"], "service_port is given twice"),
    ("orders", ["service_port=\u00b2"], "is not a port number"),
    ("uvloop", [], "would shadow the Python module 'uvloop'"),
    ("pip", [], "would shadow the Python module 'pip'"),
    ("httptools", [], "would shadow the Python module 'httptools'"),
    ("orders", ["dev_port=10350"], "dev_port 10350 is taken by Tilt's UI; use a free one"),
    *[
        ("orders", [f"description=a{mark}b"], "must be one line of printable text")
        for mark in ("\u200e", "\u200f", "\u061c", "\u200b", "\ufeff")
    ],
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_repo(tmp_path_factory.mktemp("repo"))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    BAD_ANSWERS,
    ids=[f"{n[:12]}-{'-'.join(d)[:24]}" for n, d, _ in BAD_ANSWERS],
)
def test_a_bad_answer_is_refused_clearly_and_leaves_nothing(
    repo: Path, name: str, data: list[str], message: str
) -> None:
    result = add_service(repo, name, [*data], check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / "services" / name).exists() or name == ""


def test_an_existing_service_folder_is_never_overwritten(repo: Path) -> None:
    existing = repo / "services" / "orders"
    existing.mkdir(parents=True)
    (existing / "keep.txt").write_text("mine")
    try:
        result = add_service(repo, "orders", check=False)
        assert result.returncode == 1
        assert "services/orders already exists; pick another name" in result.stderr
        assert sorted(p.name for p in existing.iterdir()) == ["keep.txt"]
    finally:
        (existing / "keep.txt").unlink()
        existing.rmdir()


def test_a_dev_port_another_service_holds_is_refused_naming_it(repo: Path) -> None:
    assert add_service(repo, "holder", check=False).returncode == 0
    try:
        result = add_service(repo, "orders", ["dev_port=18000"], check=False)
        assert result.returncode == 1
        assert "dev_port 18000 is taken by service holder; use a free one, for example 18001" in (
            result.stderr
        )
    finally:
        shutil.rmtree(repo / "services" / "holder")


def test_an_answer_that_is_not_utf8_is_refused_without_a_traceback(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hooks", "new-service", "--data", b"description=caf\xe9", "orders"],
        cwd=repo,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert b"description is not valid UTF-8 text" in result.stderr
    assert b"Traceback" not in result.stderr
