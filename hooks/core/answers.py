"""The one reader of a service's `.copier-answers.yml`: what copier recorded for it."""

from pathlib import Path
from typing import Any

import yaml

from hooks.errors import HookError

ANSWERS_FILE = ".copier-answers.yml"
# What copier needs to update a service, and what the platform reads from it.
REQUIRED = ("_commit", "_src_path", "service_name")


class AnswersError(HookError):
    """An answers file that cannot be used; the message says how to restore it."""


def answers_path(service: Path) -> Path:
    return service / ANSWERS_FILE


def read_answers(service: Path, required: tuple[str, ...] = REQUIRED) -> dict[str, Any]:
    """The answers of one service, checked to be a mapping with copier's own keys (a bare
    render, with no template version, asks for fewer)."""
    path = answers_path(service)
    shown = f"{service.parent.name}/{service.name}/{ANSWERS_FILE}"
    fix = f"restore it from git: git checkout -- {shown}"
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise AnswersError(f"{shown} is missing; {fix}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnswersError(f"{shown} cannot be read ({error}); {fix}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise AnswersError(f"{shown} is not valid YAML{where}; {fix}") from None
    if not isinstance(data, dict):
        raise AnswersError(f"{shown} holds no answers (empty or not a mapping); {fix}")
    missing = [key for key in required if not data.get(key)]
    if missing:
        raise AnswersError(f"{shown} lacks {', '.join(missing)}; {fix}")
    return data


def change_command(service: Path, assignment: str) -> str:
    """The command, run from the platform root, that changes an answer of a service.

    `make update` leaves a service linked from a repository of its own to that repository,
    whose Makefile changes it there (same template version).
    """
    if service.is_symlink():
        where = f"{service.parent.name}/{service.name}"
        return f'make -C {where} update ref=:current: data="{assignment}"'
    return f'make update name={service.name} data="{assignment}"'


def answer(service: Path, answers: dict[str, Any], key: str, kind: type) -> Any:
    """One answer of the expected type, or an error naming the service and the key."""
    value = answers.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise AnswersError(
            f"{service.name}: {ANSWERS_FILE} has no valid {key} (a {kind.__name__}); "
            f"set it with: {change_command(service, key + '=...')}"
        )
    return value


def check_named_as_folder(service: Path, answers: dict[str, Any]) -> None:
    """A service's name is its folder's: a copied folder would be a second service of the
    same name (its Kubernetes objects and package are named by the answer, not the folder)."""
    recorded = answers.get("service_name")
    if recorded != service.name:
        relative = f"{service.parent.name}/{service.name}"
        raise AnswersError(
            f"{relative} records service_name '{recorded}', not '{service.name}' (a copied "
            f"folder?): a service's name is its folder's. Generate it instead: git rm -r "
            f"{relative}, then make service name={service.name}"
        )
