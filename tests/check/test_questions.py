"""The questions' prompts fit on one line of a terminal; docs/questions.md has the rest."""

import re

import pytest

from hooks.core.questions import questions
from tests.support.helpers import REPO

ASKED = questions(REPO)
# Copier prints "🎤 " and the help on one line: 80 columns, with room for the mark.
HELP_WIDTH = 70


@pytest.mark.parametrize("name", list(ASKED))
def test_each_prompt_is_one_short_line(name: str) -> None:
    text = ASKED[name]["help"]
    assert "\n" not in text.strip() and len(text) < HELP_WIDTH, f"{name}: {text!r}"


def test_docs_questions_has_one_section_per_question_in_copier_order() -> None:
    page = (REPO / "docs" / "questions.md").read_text()
    sections = re.findall(r"^## (\S+)$", page, re.MULTILINE)
    assert sections == list(ASKED), "docs/questions.md: one '## <question>' per question"
