"""The docs hang together: the ADR index lists every record, every relative link resolves,
every command a doc shows is run by the template tier or listed with why not, and every
inline `make ...` or `python -m hooks ...` names what exists."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.documented import BLOCKS, DOCS, FENCE, shown_blocks
from tests.support.helpers import REPO, git

ADR = REPO / "docs" / "adr"
ROW = re.compile(r"^\| \[(\d{3})\]\((\d{4}-[a-z0-9-]+\.md)\) \| (.+?) \| (\w+) \|$", re.MULTILINE)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")


def test_the_adr_index_lists_every_record_with_its_number_title_and_status() -> None:
    rows = ROW.findall((ADR / "README.md").read_text())
    assert sorted(name for _, name, _, _ in rows) == sorted(p.name for p in ADR.glob("0*.md"))
    for number, name, title, status in rows:
        text = (ADR / name).read_text()
        assert name.startswith(f"0{number}-"), name
        assert text.splitlines()[0] == f"# ADR {number}: {title}", name
        assert f"\nStatus: {status}\n" in text, name
    numbers = [int(number) for number, *_ in rows]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "in order, no gap"


def markdown_files() -> list[Path]:
    """This repository's own Markdown; a generated service's is the template's."""
    names = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "*.md").split()
    generated = re.compile(r"template/|services/[^/]+/")
    return [REPO / name for name in names if not generated.match(name)]


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(doc: Path) -> None:
    targets = [t for t in LINK.findall(doc.read_text()) if "://" not in t]
    assert [t for t in targets if not (doc.parent / t).exists()] == []


def test_every_shown_block_is_listed_here() -> None:
    shown = {key: commands[0] for key, commands in shown_blocks().items()}
    assert shown == {key: block.shows for key, block in BLOCKS.items()}


TEMPLATE_MAKEFILE = REPO / "template" / "Makefile.jinja"
INLINE = re.compile(r"(?<!`)`((?:make|\.venv/bin/python -m hooks|python -m hooks) [^`]*)`")


def shown_inline() -> list[str]:
    spans = []
    for doc in DOCS:
        prose = FENCE.sub("", doc.read_text())
        spans += [span for span in INLINE.findall(prose) if "..." not in span]  # illustrations
    return sorted(set(spans))


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
