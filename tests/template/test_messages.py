"""What the hooks print is runnable as printed and plain in a log."""

import ast
import re
from pathlib import Path

from tests.support.helpers import commit_all, make, release, snapshot_repo

# A copier command: `copier` is not on PATH in a platform checkout (it lives in .venv/bin).
BARE_COPIER = re.compile(r"(?<![\w/.-])copier (copy|update|recopy|check-update)\b")


def printed_strings(source: str) -> list[str]:
    """String constants of a module but docstrings and argparse's help texts."""
    tree = ast.parse(source)
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))
        if isinstance(node, ast.keyword) and node.arg == "help":
            skipped.add(id(node.value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skipped
    ]


def test_make_service_and_make_update_print_plain_text_off_a_terminal(tmp_path: Path) -> None:
    repo = snapshot_repo(tmp_path, tag="v0.1.0")
    outputs = [make(repo, "service", "name=orders")]
    commit_all(repo, "add orders")
    release(repo, "v0.2.0", {"template/README.md.jinja": ("## Run it\n", "## Run it here\n")})
    outputs.append(make(repo, "update"))
    rows = [line.split() for line in outputs[-1].stdout.splitlines()]
    assert ["orders", "v0.1.0", "v0.2.0", "updated"] in rows
    for result in outputs:
        assert result.returncode == 0, result.stdout + result.stderr
        text = result.stdout + result.stderr
        assert "\x1b[" not in text, "colour codes in a log"
        assert "Running task" not in text and "copier._vcs" not in text
