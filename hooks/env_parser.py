"""The one parser for env files (docs/environment.md): `.env.example` and its local copies.

A file is `KEY=value` lines; `#` lines are comments. In `.env.example` a comment above each
key says what it is, and a `# @secret` line above a key marks it sensitive: it goes to a
Kubernetes Secret, never a ConfigMap, and its example value must be a placeholder.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from hooks.errors import HookError

KEY = re.compile(r"[A-Z][A-Z0-9_]*")
SECRET_MARKER = "# @secret"  # noqa: S105 - a marker, not a password
PLACEHOLDER = re.compile(
    r"(|<[^>]*>|change[-_]?me|replace[-_]?me|placeholder|example|dummy|todo|x+|\*+|your[-_].*)",
    re.IGNORECASE,
)


class EnvFileError(HookError):
    """An env file breaks the format; the message names file and line of each problem."""


@dataclass(frozen=True)
class EnvEntry:
    """One KEY=value line, with what the lines above it said."""

    key: str
    value: str
    line: int
    comment: str = ""
    secret: bool = False


@dataclass
class EnvFile:
    """A parsed env file, keys in file order."""

    path: Path
    entries: dict[str, EnvEntry] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, str]:
        return {key: entry.value for key, entry in self.entries.items()}

    @property
    def secret_keys(self) -> set[str]:
        return {key for key, entry in self.entries.items() if entry.secret}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_env(text: str, path: Path, example: bool = False) -> EnvFile:
    """Parse env-file text; `example=True` also enforces the .env.example contract.

    Every problem is collected, so one run reports them all.
    """
    parsed, problems = EnvFile(path), []
    comment: list[str] = []
    secret = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            comment, secret = [], False
        elif line == SECRET_MARKER:
            secret = True
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
        else:
            problem = _check_line(parsed, line, number, comment, secret, example)
            if problem:
                problems.append(f"{path}:{number}: {problem}")
            else:
                key, _, value = line.partition("=")
                parsed.entries[key.strip()] = EnvEntry(
                    key.strip(), _unquote(value.strip()), number, " ".join(comment), secret
                )
            comment, secret = [], False
    if problems:
        raise EnvFileError("\n".join(problems))
    return parsed


def _check_line(
    parsed: EnvFile, line: str, number: int, comment: list[str], secret: bool, example: bool
) -> str:
    """What is wrong with one KEY=value line, and how to fix it; '' when nothing is."""
    key, sep, value = line.partition("=")
    key = key.strip()
    if not sep:
        return f"'{line}' has no '='; write it as KEY=value"
    if not KEY.fullmatch(key):
        suggestion = re.sub(r"[^A-Z0-9_]+", "_", key.upper()).strip("_") or "NAME"
        return f"key '{key}' is not UPPER_SNAKE_CASE; rename it, for example {suggestion}"
    if key in parsed.entries:
        return f"{key} is already set on line {parsed.entries[key].line}; keep one of them"
    if example and not comment:
        return f"{key} has no comment above it; add a '# ...' line saying what it is"
    if example and secret and not PLACEHOLDER.fullmatch(_unquote(value.strip())):
        return (
            f"{key} is marked @secret but its example value looks real; "
            "commit a placeholder such as change-me, and keep the real value in .env.development"
        )
    return ""


def read_env(path: Path, example: bool = False) -> EnvFile:
    """Parse a file on disk."""
    return parse_env(path.read_text(), path, example=example)
