"""Hostile answers: refused with a clear message, or rendered faithfully; never executed."""

import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks.core.render import render_service as render_template
from tests.support.helpers import REPO, hadolint, make, snapshot_repo
from tests.support.validation import kustomize

CANARY = "/tmp/template-hostile-canary"  # the file an injection would create
PIECES = [
    '"',
    "'",
    ":",
    ": ",
    "#",
    " #",
    "\n",
    "\r\n",
    "\t",
    "{{ 7*7 }}",
    "{% if true %}x{% endif %}",
    "{{ cycler.__init__.__globals__.os.system('touch " + CANARY + "') }}",
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f"; touch {CANARY}",
    "&& ",
    "| ",
    "> ",
    "\\",
    "- ",
    "? ",
    "*",
    "&anchor ",
    "!!python/object ",
    "---",
    "ü",
    "日本語",
    "🚀",
    "\u202e",
    "a",
    "orders",
    "-",
    "0",
]
HOSTILE = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join),
    st.text(max_size=60),
    st.text(min_size=150, max_size=400),
)
FREE_TEXT = ["service_name", "description", "team", "namespace"]


def render_one(template: Path, destination: Path, key: str, value: str) -> Exception | None:
    """Copy with one hostile answer; the refusal, if any. The copy task takes no answer."""
    data = {key: value} if key == "service_name" else {key: value, "service_name": "orders"}
    try:
        render_template(template, destination, data)
    except ValueError as refusal:
        return refusal
    return None


@pytest.mark.parametrize("key", FREE_TEXT)
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=HOSTILE)
def test_a_hostile_answer_is_refused_or_rendered_exactly(
    key: str, value: str, plain_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    destination = tmp_path_factory.mktemp("hostile") / "service"
    refusal = render_one(plain_template, destination, key, value)
    assert not Path(CANARY).exists(), "an answer was executed"
    if refusal is not None:
        message = str(refusal)
        assert f"'{key}'" in message and len(message) > 40, message  # says what and how
        assert not destination.exists() or not any(destination.iterdir())
        return
    for path in destination.rglob("*.y*ml"):
        list(yaml.safe_load_all(path.read_text()))  # every YAML file still parses
    project = tomllib.loads((destination / "pyproject.toml").read_text())["project"]
    [deployment] = [d for d in kustomize(destination / "k8s" / "base") if d["kind"] == "Deployment"]
    given_back = {
        "description": deployment["metadata"]["annotations"]["description"],
        "team": deployment["metadata"]["labels"]["team"],
        "namespace": deployment["metadata"]["namespace"],
        "service_name": project["name"],
    }
    assert given_back[key] == value
    if key == "description":
        assert project["description"] == value
    lint = hadolint(destination / "Dockerfile")
    assert lint.returncode == 0, lint.stdout


def test_no_answer_reaches_a_shell_as_a_command_string() -> None:
    config = yaml.safe_load((REPO / "copier.yml").read_text())
    for entry in config["_tasks"] + config["_migrations"]:
        assert isinstance(entry["command"], list), entry  # a list runs without a shell


def test_a_hostile_name_through_make_is_refused_and_runs_nothing(tmp_path: Path) -> None:

    repo = snapshot_repo(tmp_path / "repo")
    for name in (
        f"x$(touch {CANARY})",
        f"x`touch {CANARY}`",
        f"x; touch {CANARY}",
        f"x' && touch {CANARY} '",
    ):
        result = make(repo, "service", f"name={name}", f"data=description=$(touch {CANARY})")
        assert result.returncode != 0
        assert not Path(CANARY).exists()
