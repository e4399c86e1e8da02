"""The one parser for env files (docs/environment.md): `.env.example`, its local copies and
kustomize's `config.env`.

A file is `KEY=value` lines; `#` lines are comments. In `.env.example` a comment above each
key says what it is, and a `# @secret` line above a key marks it sensitive: it goes to a
Kubernetes Secret, never a ConfigMap, and its example value must be a placeholder.

It fails closed. A comment that looks like a mistyped marker, a marker that marks no key and,
in `.env.example`, a key whose name says it is sensitive but is not marked are errors. Messages
name the file, the line and the key, never a value: a malformed line may be a pasted token.
"""

import difflib
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
# A password in a URL: `scheme://user:password@` (the user may be empty: `redis://:pw@host`).
# A password holding `/` or `@` must be percent-encoded in a URL anyway.
URL_CREDENTIALS = re.compile(
    r"[a-z][a-z0-9+.-]*://[^\s/?#@:]*:(?P<password>[^\s/?#@]+)@", re.IGNORECASE
)
# What a URL's password may be in an example: a placeholder, a word meaning "the password",
# or a reference to another variable (`${DB_PASSWORD}`).
PLACEHOLDER_PASSWORD = re.compile(
    rf"{PLACEHOLDER.pattern}|pass(?:word|wd)?|pwd|pw|secret|\$\{{?[A-Za-z_][A-Za-z0-9_]*\}}?",
    re.IGNORECASE,
)
# A part of a key (between underscores) that says its value is sensitive. The committed-secret
# scan (hooks/security/assignments.py) uses it too, over a key's words in any case.
SENSITIVE_PART = re.compile(
    r"[A-Z0-9]*(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE)[A-Z0-9]*"
    r"|[A-Z0-9]*KEYS?|PWD|PASS|CREDS|SALT|DSN"
)
# Inline comments are not supported, so a marker after a value would silently be part of it.
MARKER_IN_VALUE = re.compile(r"#\s*@\s*secret", re.IGNORECASE)
ONE_LINE = (
    "a value must fit on one line: put a multi-line value such as a PEM key on one line "
    "(for example base64-encoded)"
)
# Key-like text a message may quote back: a few plain words, never what a pasted token or a
# base64 line looks like (digits, symbols or mixed case inside a word).
WORDS = re.compile(r"(?:[a-z]+|[A-Z][a-z]*|[A-Z]+)(?:[-. _](?:[a-z]+|[A-Z][a-z]*|[A-Z]+))*")


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


def sensitive_part(key: str) -> str:
    """The part of `key` that says it is sensitive (DB_PASSWORD -> PASSWORD), or ''."""
    return next((part for part in key.split("_") if SENSITIVE_PART.fullmatch(part)), "")


def url_credentials(value: str) -> bool:
    """Whether `value` holds a URL with a password (`postgres://app:pw@db/app`)."""
    return bool(URL_CREDENTIALS.search(value))


def real_url_passwords(value: str) -> list[str]:
    """The passwords of the URLs in `value` that are not placeholders."""
    passwords = (m["password"] for m in URL_CREDENTIALS.finditer(value))
    return [p for p in passwords if not PLACEHOLDER_PASSWORD.fullmatch(p)]


def is_placeholder(value: str) -> bool:
    """An example value that holds no secret: a placeholder (change-me, <token>, xxx, ...), or
    a URL whose every password is one (`postgresql://user:password@localhost/db`)."""
    if PLACEHOLDER.fullmatch(value):
        return True
    return url_credentials(value) and not real_url_passwords(value)


def local_secret_keys(example: EnvFile, local: EnvFile) -> set[str]:
    """Keys of a local file that are secret: marked in either file, unknown to the example, or
    holding a URL with a password (a local value can only add secrecy, never lose it)."""
    return {
        key
        for key, entry in local.entries.items()
        if entry.secret
        or key not in example.entries
        or example.entries[key].secret
        or url_credentials(entry.value)
    }


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _looks_like_marker(comment: str) -> bool:
    """A comment that is not exactly `# @secret` but reads like an attempt at it."""
    text = comment.lstrip("#").strip().lower()
    letters = re.sub(r"[^a-z]", "", text)
    return (
        text.startswith("@")
        or "@secret" in re.sub(r"\s", "", text)
        or sorted(letters) == sorted("secret")  # transposed letters
        or difflib.SequenceMatcher(None, letters, "secret").ratio() >= 0.9
    )


def parse_env(text: str, path: Path, example: bool = False) -> EnvFile:
    """Parse env-file text; `example=True` also enforces the .env.example contract.

    Every problem is collected, so one run reports them all.
    """
    parsed, problems = EnvFile(path), _Problems(path)
    raws = text.removeprefix("\ufeff").split("\n")
    lines = [raw.strip() for raw in raws]
    for number, raw in enumerate(raws, start=1):  # other tools end a line at a lone CR
        if "\r" in raw.rstrip("\r"):
            problems.add(
                number, "a carriage return inside the line; save the file with plain line ends"
            )
    comment: list[str] = []
    marker = 0  # line of a `# @secret` waiting for its key
    previous = ""  # "KEY on line N": the entry that lines which are not KEY=value follow
    stray = False  # such lines came since: until a blank line, they may be a pasted value
    number = 0
    while number < len(lines):
        line, number = lines[number], number + 1
        if not line:
            if marker:
                problems.add(marker, _dangling_marker())
            comment, marker, previous, stray = [], 0, "", False
        elif line == SECRET_MARKER:
            marker = marker or number
        elif line.startswith("#"):
            if _looks_like_marker(line):
                problems.add(
                    number,
                    "this comment looks like a secret marker but is not one; write it exactly "
                    f"as '{SECRET_MARKER}' (lower case, one space, nothing after it), "
                    "or reword the comment",
                )
            comment.append(line.lstrip("#").strip())
        elif "=" not in line:
            after = f" (after {previous})" if previous else ""
            problems.add(number, f"not KEY=value{after}; {ONE_LINE}")
            comment, marker, stray = [], 0, True
        else:
            key, _, value = (part.strip() for part in line.partition("="))
            last = _quote_closes_at(lines, number, value)
            if last > number:  # a quoted value over several lines: a pasted PEM key
                owner = f"{key}'s quoted value" if KEY.fullmatch(key) else "a quoted value"
                problems.add(number, f"{owner} runs over lines {number}-{last}; {ONE_LINE}")
                number = last
            elif problem := _check_line(
                parsed, key, value, comment, bool(marker), example
            ) or _read_otherwise(key, line.partition("=")[2], value):
                problems.add(number, problem)
            else:
                entry = EnvEntry(key, _unquote(value), number, " ".join(comment), bool(marker))
                parsed.entries[key] = entry
            if KEY.fullmatch(key) and not stray:  # not an upper-case token amid pasted lines
                previous = f"{key} on line {number}"
            comment, marker = [], 0
    if marker:
        problems.add(marker, _dangling_marker())
    problems.raise_any()
    return parsed


def _quote_closes_at(lines: list[str], number: int, value: str) -> int:
    """Where a value that opens a quote without closing it ends: the first later line with
    that quote (else the last line with text); `number` when the value opens no quote."""
    if not value or value[0] not in "'\"" or value.count(value[0]) > 1:
        return number
    closing = (n for n in range(number + 1, len(lines) + 1) if value[0] in lines[n - 1])
    last = next(closing, len(lines))
    while not lines[last - 1]:  # a quote never closed runs to the last line with text
        last -= 1
    return last


class _Problems:
    """Problems by line; one problem on consecutive lines (a pasted PEM body) is one entry."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.found: list[tuple[int, int, str]] = []  # (first line, last line, message)

    def add(self, line: int, message: str) -> None:
        if self.found and self.found[-1][1:] == (line - 1, message):
            self.found[-1] = (self.found[-1][0], line, message)
        else:
            self.found.append((line, line, message))

    def raise_any(self) -> None:
        if self.found:
            raise EnvFileError(
                "\n".join(
                    f"{self.path}:{first}: "
                    + (f"lines {first}-{last}: " if last > first else "")
                    + message
                    for first, last, message in self.found
                )
            )


def _dangling_marker() -> str:
    return f"'{SECRET_MARKER}' marks no key; put it directly above the key it marks"


def _read_otherwise(key: str, after: str, value: str) -> str:
    """Why python-dotenv, which `make run` and `make test` load the file with, would read the
    value otherwise than the platform; '' when it reads it the same. The platform's grammar
    is a part of dotenv's, so both read every file the platform accepts alike."""
    name = key if KEY.fullmatch(key) else "the"
    if value[:1] in ("'", '"'):
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != value[0]:
            return (
                f"{name}'s value starts with a quote but does not end with it; quote the whole "
                "value, or drop the quotes"
            )
        if value[0] in inner or "\\" in inner:
            return (
                f"{name}'s quoted value holds its own quote or a backslash, which tools read "
                "differently; use the other kind of quotes, or none"
            )
    elif re.search(r"\s#", after):
        return (
            f"{name}'s value has a ' #', which python-dotenv, docker and shells read as the "
            "start of a comment; quote the value, or drop the space before the '#'"
        )
    return ""


def _check_line(
    parsed: EnvFile, key: str, value: str, comment: list[str], secret: bool, example: bool
) -> str:
    """What is wrong with one KEY=value line, and how to fix it; '' when nothing is.

    Never quotes the value, nor a key that could be something else pasted in.
    """
    if not KEY.fullmatch(key):
        return _bad_key(key)
    if key in parsed.entries:
        return f"{key} is already set on line {parsed.entries[key].line}; keep one of them"
    if MARKER_IN_VALUE.search(value):
        return (
            f"{key} has a '# @secret' after its value, where it is part of the value; "
            f"put '{SECRET_MARKER}' on its own line above {key}"
        )
    if not example:
        return ""
    if not comment:
        return f"{key} has no comment above it; add a '# ...' line saying what it is"
    if not secret and sensitive_part(key):
        return (
            f"{key} looks sensitive (its name has {sensitive_part(key)}) but is not marked; "
            f"add a '{SECRET_MARKER}' line above it, so it goes to a Secret, never a ConfigMap"
        )
    if not secret and url_credentials(value):
        return (
            f"{key}'s value is a URL with a password (user:password@) but {key} is not marked; "
            f"add a '{SECRET_MARKER}' line above it, so it goes to a Secret, never a ConfigMap "
            "(keep a placeholder such as postgresql://user:password@localhost/db here)"
        )
    if secret and not is_placeholder(_unquote(value)):
        return (
            f"{key} is marked @secret but its example value looks real; "
            "commit a placeholder such as change-me, and keep the real value in .env.development"
        )
    return ""


def _bad_key(key: str) -> str:
    """The message for text before '=' that is not a key, quoting it only if it is words."""
    prefix, _, rest = key.partition(" ")
    if prefix == "export" and KEY.fullmatch(rest.strip()):
        return f"'export' before {rest.strip()}: drop it, env files only set variables"
    if len(key) <= 40 and WORDS.fullmatch(key):
        suggestion = re.sub(r"[^A-Z]+", "_", key.upper()).strip("_")
        return f"key '{key}' is not UPPER_SNAKE_CASE; rename it, for example {suggestion}"
    return (
        "the text before '=' is not a key (UPPER_SNAKE_CASE, like LOG_LEVEL); "
        "if this line continues a value, put that value on one line"
    )


def read_env(path: Path, example: bool = False) -> EnvFile:
    """Parse a file on disk."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EnvFileError(f"{path} is missing (docs/environment.md)") from None
    try:
        text = data.decode()
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise EnvFileError(f"{path}:{line}: not UTF-8 text; save the file as UTF-8") from None
    return parse_env(text, path, example=example)
