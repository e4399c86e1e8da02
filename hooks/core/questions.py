"""The template's questions (copier.yml), and answers given to them on the command line."""

import re
from pathlib import Path
from typing import Any

import yaml

from hooks.core.gitrepo import git
from hooks.errors import HookError


def questions(repo: Path) -> dict[str, dict[str, Any]]:
    """The questions copier.yml asks (settings and computed values left out)."""
    return _asked(yaml.safe_load((repo / "copier.yml").read_text()))


def questions_at(repo: Path, ref: str) -> dict[str, dict[str, Any]]:
    """The questions the template version `ref` (a tag or commit of this repository) asks."""
    return _asked(yaml.safe_load(git(repo, "show", f"{ref}:copier.yml")))


def _asked(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        key: spec
        for key, spec in config.items()
        if not key.startswith("_") and spec.get("when") is not False
    }


# Port answers, each with an example; range checks are copier.yml's validators'.
PORTS = {"service_port": "9000", "dev_port": "18042"}
PORT = re.compile(r"[1-9][0-9]{0,4}")


def parse_data(repo: Path, pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs from the command line, checked against the questions' names and types.

    Copier would silently ignore a misspelt question and report a bad int without its name.
    """
    asked = questions(repo)
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HookError(f"answer '{pair}' is not KEY=VALUE; for example service_port=9000")
        if key not in asked:
            raise HookError(f"there is no question '{key}'; the questions are: {', '.join(asked)}")
        if key in data:
            raise HookError(f"{key} is given twice; keep one {key}=... answer")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 reach Python as surrogates
            raise HookError(f"{key} is not valid UTF-8 text; type it again") from None
        data[key] = str(parse_port(key, value)) if key in PORTS else value
    return data


def parse_port(key: str, text: str) -> int:
    """The one reading of a port typed on the command line: plain decimal digits. YAML would
    also read 18_000, 0x4650 or +18001 as numbers, which no check of the digits would see."""
    if not PORT.fullmatch(text):
        raise HookError(
            f"{key} '{text}' is not a port number; write it in plain digits from 1024 to "
            f"65535, for example {PORTS[key]}"
        )
    return int(text)
