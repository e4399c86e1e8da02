"""Every answer reaches every rendered file as exactly the string typed.

The values are those a format reads as something else: YAML 1.1 and 1.2 booleans and
nulls, numbers in every base and notation, dates, strings that look like Jinja, Python or
Starlark. A first render with plain sentinels shows where each free-form answer lands: in
which file, at which place of the parsed document. Every other render must parse there to
the string typed, as a string.
"""

import ast
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from hooks.core.render import render_service as render
from hooks.env.parser import read_env
from tests.support.tiltfile import load_fragment
from tests.support.validation import kustomize, validation_errors

FREE_FORM = ("service_name", "team", "namespace", "description")
SENTINEL = {
    "service_name": "zq-svc",
    "team": "zq-team",
    "namespace": "zq-ns",
    "description": "zq description",
}
# Each row answers every free-form question at once; each value is valid for its question.
ROWS = [
    {"service_name": "yes", "team": "0", "namespace": "123", "description": "yes"},
    {"service_name": "no", "team": "0x1f", "namespace": "0o17", "description": "null"},
    {"service_name": "on", "team": "1e3", "namespace": "2026-11-30", "description": "2026-11-30"},
    {"service_name": "off", "team": "007", "namespace": "1e-3", "description": "0x1F"},
    {"service_name": "true", "team": "2026-11-30", "namespace": "yes", "description": "{{ 7*7 }}"},
    {"service_name": "false", "team": "0b101", "namespace": "null", "description": "{% raw %}x"},
    {"service_name": "null", "team": "yes", "namespace": "on", "description": "'%s' % (1,)"},
    {"service_name": "nan", "team": "null", "namespace": "0", "description": '"""end'},
    {"service_name": "inf", "team": "1e-3", "namespace": "0x1f", "description": "${HOME} $(id)"},
    {"service_name": "y-1", "team": "1-2", "namespace": "off", "description": "- [a]: {b: c} #"},
    {"service_name": "e1", "team": "12-30", "namespace": "07", "description": "~"},
]
IDS = [row["service_name"] for row in ROWS]


def module(answers: dict[str, str]) -> str:
    return answers["service_name"].replace("-", "_")


def scalars(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """Every leaf of a parsed document, by its path; YAML inside a string is parsed too
    (kustomize takes a transformer's config as a block of YAML)."""
    if isinstance(value, str) and "\n" in value:
        embedded = yaml.safe_load(value)
        if isinstance(embedded, dict | list):
            return scalars(embedded, (*path, "yaml"))
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in scalars(item, (*path, key)).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in scalars(item, (*path, i)).items()}
    return {path: value}


def python_strings(text: str) -> dict[tuple[Any, ...], Any]:
    """Every string constant of a Python (or Starlark) file, in order."""
    constants = [n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant)]
    return {(i,): value for i, value in enumerate(c for c in constants if isinstance(c, str))}


def dockerfile_values(path: Path) -> dict[tuple[Any, ...], Any]:
    """Instructions by position; exec-form CMD and ENTRYPOINT as the JSON they are."""
    parsed = {}
    for i, item in enumerate(DockerfileParser(fileobj=path.open("rb")).structure):
        value = item["value"]
        if item["instruction"] in ("CMD", "ENTRYPOINT") and value.startswith("["):
            value = json.loads(value)
        parsed.update(scalars(value, (i, item["instruction"])))
    return parsed


def parse(path: Path) -> dict[tuple[Any, ...], Any] | None:
    """A rendered file as its consumers read it; None for free text (README, ignore files)."""
    name = path.name
    if name.endswith((".yaml", ".yml")):
        return scalars(list(yaml.safe_load_all(path.read_text())))
    if name.endswith(".toml"):
        return scalars(tomllib.loads(path.read_text()))
    if name.endswith(".py") or name == "Tiltfile":
        return python_strings(path.read_text())
    if name == "Dockerfile":
        return dockerfile_values(path)
    if name.startswith(".env") or name.endswith(".env"):
        return scalars(read_env(path).values)
    return None


def parsed_service(service: Path, answers: dict[str, str]) -> dict[str, dict[tuple[Any, ...], Any]]:
    """Every parseable file, under a path that does not depend on the module's name."""
    parsed = {}
    for path in sorted(p for p in service.rglob("*") if p.is_file()):
        relative = str(path.relative_to(service)).replace(f"src/{module(answers)}/", "src/MODULE/")
        values = parse(path)
        if values is not None:
            parsed[relative] = values
    return parsed


def substitute(text: str, answers: dict[str, str]) -> str:
    """What a sentinel-rendered string becomes with these answers."""
    replacements = {**{SENTINEL[k]: answers[k] for k in FREE_FORM}, "zq_svc": module(answers)}
    pattern = re.compile("|".join(map(re.escape, replacements)))
    return pattern.sub(lambda match: replacements[match.group()], text)


@pytest.fixture(scope="module")
def landing(plain_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Where each answer lands: file -> path -> the sentinel-rendered string there."""
    service = render(plain_template, tmp_path_factory.mktemp("sentinel") / "svc", SENTINEL)
    places = {
        file: {
            path: value
            for path, value in values.items()
            if isinstance(value, str) and "zq" in value
        }
        for file, values in parsed_service(service, SENTINEL).items()
    }
    assert sum(len(paths) for paths in places.values()) > 50  # the answers land widely
    return places


@pytest.mark.parametrize("answers", ROWS, ids=IDS)
def test_every_answer_parses_back_as_the_string_typed(
    answers: dict[str, str],
    landing: dict,
    plain_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    service = render(plain_template, tmp_path_factory.mktemp("typed") / "svc", answers)
    parsed = parsed_service(service, answers)
    assert set(parsed) == set(landing)  # every file still parses
    wrong = {
        (file, path): (parsed[file].get(path), substitute(sentinel, answers))
        for file, paths in landing.items()
        for path, sentinel in paths.items()
        if parsed[file].get(path) != substitute(sentinel, answers)
    }
    assert wrong == {}
    for overlay in ("base", "overlays/dev", "overlays/prod"):
        documents = kustomize(service / "k8s" / overlay)
        assert validation_errors(documents, "1.37") == []
        for document in documents:
            assert document["metadata"]["labels"]["team"] == answers["team"]
            assert document["metadata"]["annotations"]["description"] == answers["description"]
            if document["kind"] != "Namespace":
                assert document["metadata"]["namespace"] == answers["namespace"]


@pytest.mark.parametrize("answers", ROWS[:2], ids=IDS[:2])
def test_a_service_with_such_answers_passes_its_own_tests_and_loads_in_tilt(
    answers: dict[str, str],
    plain_template: Path,
    service_python: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    service = render(plain_template, tmp_path_factory.mktemp("own") / "svc", answers)
    tests = subprocess.run(
        [str(service_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=service,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    resource = load_fragment(service)
    assert resource.name == answers["service_name"]
    [image] = resource.images
    assert image["selector"] == answers["service_name"]
