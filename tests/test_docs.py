"""The docs hang together: the ADR index lists every record, and every relative link resolves."""

import re
from pathlib import Path

import pytest

from tests.helpers import REPO, git

pytestmark = pytest.mark.check
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
