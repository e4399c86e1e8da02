"""Values a file assigns to names, read with the file's own syntax, and which of them are
secrets: the committed-secret scan's sensitive-key and URL-password rules.

A line-based scanner misses a secret whose value is not on its key's line, or whose key is
not written `KEY=value`: a pydantic field default (`db_password: str = "..."`), a `Final`
constant, `os.getenv("DB_PASSWORD", "...")`, YAML flow maps and block scalars, a Kubernetes
`env` entry (`- name: DB_PASSWORD` then `value: "..."`), JSON with a line break after the
colon, a Dockerfile `ENV KEY value`, `export KEY="two words"`. So each format is read with its
own parser, and every (key, value, line) it assigns is judged by two rules:

- `sensitive-value`: the key looks sensitive (hooks/env/parser.py `sensitive_part`, over the
  key's words in any case: `db_password`, `dbPassword`, `DB_PASSWORD`, `db.password`) and the
  value looks like a secret (`looks_secret`);
- `url-credentials`: the value holds a URL with a password that is not a placeholder.

| file                        | read with                                                    |
|-----------------------------|--------------------------------------------------------------|
| `*.py`                      | `ast`: assignments, annotated ones, keyword arguments,       |
|                             | dict literals, defaults, `getenv("KEY", "default")`, `==`    |
| `*.yaml`, `*.yml`, `*.json` | PyYAML's composer: every scalar under its key path, and      |
|                             | `name`/`key` + `value` pairs (Kubernetes `env`)              |
| Dockerfiles                 | dockerfile-parse: `ENV`/`ARG`/`LABEL` in both forms, and     |
|                             | every other instruction as shell                             |
| `*.md`                      | each fenced block by its language, the prose as shell        |
| anything else               | shell words (`shlex`): `KEY=value`, `KEY = value`, `key: v`  |

A `.jinja` file is read as what it renders to, each `{{ ... }}` standing for a reference. A
file its parser refuses is read as shell words. Nothing here ever returns a value.
"""

import ast
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml
from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]

from hooks.env.parser import URL_CREDENTIALS, is_placeholder, real_url_passwords, sensitive_part

SENSITIVE_RULE = "sensitive-value"
URL_RULE = "url-credentials"
TITLES = {
    SENSITIVE_RULE: "A value assigned to a sensitive-looking key",
    URL_RULE: "A password in a URL",
}

SHORTEST = 8  # a shorter value (sha256, RS256, 4096) is not reported as a secret
# References to a value held elsewhere, and template expressions: never a secret themselves.
REFERENCE = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Z_][A-Z0-9_]*(?![a-z])"  # ${VAR}, $(command), $VAR
    r"|\{\{.*?\}\}|\{%.*?%\}"  # Jinja
    r"|\{[A-Za-z_][\w.]*(?:\[[^]]*\])?(?:![rsa])?(?::[^{}]*)?\}|%(?:\([a-z_]+\))?[sdr]"  # format
    r"|<[A-Za-z][A-Za-z _.-]*>|\.\.\.|…"  # <your-token>, an ellipsis
)
CONSTANT = re.compile(
    r"true|false|yes|no|on|off|null|none|nil|[-+]?[0-9][0-9_.,]*(?:e[-+]?[0-9]+)?[a-z]{0,3}",
    re.IGNORECASE,
)
# A run of letters or digits a word, a number or a CamelCase name is made of; a run mixing
# digits and letters, or cases otherwise, is what generated secrets and passwords look like.
RUN = re.compile(r"[A-Za-z0-9]+")
WORD_RUN = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|[a-z]*(?:[A-Z][a-z]+)+")
RANDOM_RUN = re.compile(r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)


@dataclass(frozen=True)
class Assignment:
    """A value assigned to a key: `key` may be a dotted path (`db.password`)."""

    key: str
    value: str
    line: int


def key_words(key: str) -> str:
    """A key as UPPER_SNAKE words: `dbPassword`, `db.password`, `DB-PASSWORD` -> DB_PASSWORD."""
    words = []
    for run in RUN.findall(key):
        if run.lower() != run and run.upper() != run:  # camelCase
            words += re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[A-Z]", run)
        else:
            words.append(run)
    return "_".join(words).upper()


# A key whose last word is one of these names a secret held elsewhere (`secretName:
# orders2-tls`), and so does anything under a reference (Kubernetes' secretKeyRef: its name
# and its key).
NAMING_WORDS = {"NAME", "NAMES", "REF"}


def sensitive_key(key: str) -> bool:
    """Whether a key (a dotted path in YAML) says its value is sensitive, as the env
    convention's names do (hooks/env/parser.py), unless it only names a secret."""
    last_words = [key_words(part).rpartition("_")[2] for part in key.split(".")]
    if last_words[-1] in NAMING_WORDS or "REF" in last_words:
        return False
    return bool(sensitive_part(key_words(key)))


def _unreferenced(value: str) -> str:
    return REFERENCE.sub("", value).strip().strip("\"'`").strip()


def looks_secret(value: str) -> bool:
    """Whether a value under a sensitive key is reported: not a placeholder (change-me, <...>,
    `${VAR}`, `{{ expr }}`, example, xxx, a URL whose password is one), a boolean, a number,
    plain words, CamelCase or UPPER_CASE names, and at least 8 characters holding a run of
    letters and digits that mixes them, or mixes cases otherwise (Zq8vR2mK, hunter22,
    p@ss;w0rd!, xKQmZpLw)."""
    rest = _unreferenced(value)
    if len(rest) < SHORTEST or is_placeholder(rest) or CONSTANT.fullmatch(rest):
        return False
    if URL.fullmatch(rest):  # a URL's password is url-credentials' business; its path may hold
        return bool(RANDOM_RUN.search(URL_CREDENTIALS.sub("", rest)))  # a token, though
    return any(not WORD_RUN.fullmatch(run) for run in RUN.findall(rest))


def not_a_secret(secret: str, plugin: object) -> bool:
    """detect-secrets filter: what its keyword plugin finds after a secret-sounding name is
    judged by the same rule (its token-format and entropy plugins are left alone)."""
    return getattr(plugin, "secret_type", "") == "Secret Keyword" and not looks_secret(secret)


def url_passwords(value: str) -> list[str]:
    """The passwords of the URLs in `value` that are neither placeholders nor references."""
    return [p for p in real_url_passwords(value) if _unreferenced(p)]


def findings(name: str, text: str) -> list[tuple[int, str]]:
    """(line, rule) of each secret in a file's text, first line first, each once."""
    found = {
        (a.line, SENSITIVE_RULE)
        for a in assignments(name, text)
        if sensitive_key(a.key) and looks_secret(a.value)
    }
    # A URL's password is a secret wherever it is: code, prose or a comment.
    found |= {
        (number, URL_RULE)
        for number, line in enumerate(text.splitlines(), start=1)
        if url_passwords(line)
    }
    return sorted(found)


def assignments(name: str, text: str) -> list[Assignment]:
    """Every (key, value, line) the file assigns, read as its name says it is written."""
    path = PurePosixPath(name)
    if path.suffix == ".jinja":
        path, text = path.with_suffix(""), _without_jinja(text)
    return list(_read(_kind(path), text, 0))


def _kind(path: PurePosixPath) -> str:
    name, suffix = path.name.lower(), path.suffix.lower()
    if suffix in {".py", ".pyi"}:
        return "python"
    if suffix in {".yaml", ".yml", ".json"}:
        return "yaml"
    if name.startswith(("dockerfile", "containerfile")) or name.endswith(".dockerfile"):
        return "dockerfile"
    if suffix in {".md", ".markdown"}:
        return "markdown"
    return "shell"


FENCE_KINDS = {
    "python": "python",
    "py": "python",
    "yaml": "yaml",
    "yml": "yaml",
    "json": "yaml",
    "dockerfile": "dockerfile",
}


def _read(kind: str, text: str, offset: int) -> Iterator[Assignment]:
    """Assignments of `text` read as `kind`, as shell words when its parser refuses it;
    `offset` is added to every line number (a fenced block in Markdown)."""
    readers = {
        "python": _python,
        "yaml": _yaml,
        "dockerfile": _dockerfile,
        "markdown": _markdown,
        "shell": _shell,
    }
    try:
        found = list(readers[kind](text))
    except (SyntaxError, ValueError, yaml.YAMLError, RecursionError):
        found = list(_shell(text))
    for assignment in found:
        yield Assignment(assignment.key, assignment.value, assignment.line + offset)


def _without_jinja(text: str) -> str:
    """A template as what it renders to: an expression reads as a reference, tags as nothing;
    lines keep their numbers."""

    def blank(match: re.Match[str]) -> str:
        return "\n" * match[0].count("\n")

    text = re.sub(r"\{#.*?#\}", blank, text, flags=re.DOTALL)
    text = re.sub(r"\{%.*?%\}", blank, text, flags=re.DOTALL)
    return re.sub(r"\{\{.*?\}\}", "jinja_expression", text, flags=re.DOTALL)


# Python ------------------------------------------------------------------------------------


def _python(text: str) -> Iterator[Assignment]:
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # "--password=...", "KEY=...": a string on one source line is all on that line
            lines = node.lineno if node.end_lineno == node.lineno else None
            yield from _embedded(node.value, node.lineno, lines)
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield from _python_pair(_target_name(target), node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            yield from _python_pair(_target_name(node.target), node.value)
        elif isinstance(node, ast.keyword) and node.arg:
            yield from _python_pair(node.arg, node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield from _python_pair(key.value, value)
        elif isinstance(node, ast.Call):
            # os.getenv("DB_PASSWORD", "..."), environ.setdefault(...), config.get(...)
            name = node.args[0] if len(node.args) >= 2 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                yield from _python_pair(name.value, node.args[1])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            first_default = len(positional) - len(arguments.defaults)
            defaults = [
                *zip(positional[first_default:], arguments.defaults, strict=True),
                *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
            ]
            for argument, default in defaults:
                yield from _python_pair(argument.arg, default)
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
            left, right = node.left, node.comparators[0]
            yield from _python_pair(_target_name(left), right)
            yield from _python_pair(_target_name(right), left)


def _target_name(node: ast.AST) -> str:
    """The name a value is assigned to: `x`, `self.x`, `os.environ["X"]`, `config["x"]`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
    return ""


def _python_pair(key: str, value: ast.AST | None) -> Iterator[Assignment]:
    """The strings `value` assigns to `key`: a literal, or the first argument or `default=`
    of a class wrapping one (SecretStr("..."), Field(default="...")), or a literal's parts."""
    if not key or value is None:
        return
    if isinstance(value, ast.Constant) and isinstance(value.value, str | bytes):
        literal = value.value if isinstance(value.value, str) else repr(value.value)[2:-1]
        yield Assignment(key, literal, value.lineno)
    elif isinstance(value, ast.Call) and _wraps_a_value(value.func):
        wrapped = [*value.args[:1], *(k.value for k in value.keywords if k.arg == "default")]
        for argument in wrapped:
            yield from _python_pair(key, argument)
    elif isinstance(value, ast.JoinedStr):  # f"Bearer {x}abc": the literal parts
        for part in value.values:
            yield from _python_pair(key, part)
    elif isinstance(value, ast.BinOp):  # "abc" + "def", "abc%s" % x
        yield from _python_pair(key, value.left)
        yield from _python_pair(key, value.right)


def _wraps_a_value(function: ast.expr) -> bool:
    """A class (SecretStr, Field, Secret) or str/bytes: its first argument or `default=` is
    the value; a function's (re.compile, open) is not."""
    name = _target_name(function)
    return name[:1].isupper() or name in {"str", "bytes"}


# YAML and JSON -----------------------------------------------------------------------------


def _yaml(text: str) -> Iterator[Assignment]:
    text = re.sub(r"(?m)^\t+", lambda m: "  " * len(m[0]), text)  # JSON indented with tabs
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if document is not None:
            yield from _yaml_node(document, (), secret=False)


def _scalars(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _secret_manifest(document: yaml.Node) -> bool:
    """A Kubernetes Secret: every value under its data or stringData is a secret."""
    if not isinstance(document, yaml.MappingNode):
        return False
    kind = _scalars(document).get("kind")
    return isinstance(kind, yaml.ScalarNode) and kind.value == "Secret"


def _yaml_line(node: yaml.Node) -> int:
    """The line a scalar's text starts on: a block scalar's is below its `|` or `>`."""
    block = isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
    return int(node.start_mark.line) + 1 + int(block)


def _yaml_node(node: yaml.Node, path: tuple[str, ...], secret: bool) -> Iterator[Assignment]:
    if isinstance(node, yaml.ScalarNode):
        # Under a Secret's data, whatever the key is called, the key path says "secret".
        key = ".".join((*path, "secret") if secret else path)
        yield Assignment(key, str(node.value), _yaml_line(node))
        yield from _embedded(str(node.value), _yaml_line(node))  # environment: [KEY=value]
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_node(item, path, secret)
    elif isinstance(node, yaml.MappingNode):
        scalars = _scalars(node)
        # - name: DB_PASSWORD / value: "..." (a Kubernetes env entry), or key: / value:
        name, value = scalars.get("name", scalars.get("key")), scalars.get("value")
        if isinstance(name, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode):
            yield Assignment(str(name.value), str(value.value), _yaml_line(value))
        for key, child in node.value:
            word = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            inside = secret or (not path and _secret_manifest(node) and word in SECRET_DATA)
            yield from _yaml_node(child, (*path, word), inside)


SECRET_DATA = {"data", "stringData"}


# Dockerfiles -------------------------------------------------------------------------------


def _dockerfile(text: str) -> Iterator[Assignment]:
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    lines = text.splitlines()
    for instruction in parser.structure:
        first, last = int(instruction["startline"]), int(instruction["endline"])
        command, value = instruction["instruction"], str(instruction["value"])
        if command in {"ENV", "ARG", "LABEL"}:
            pairs = _docker_pairs(value)
        else:
            pairs = [(a.key, a.value) for a in _shell_words(value, 1)]
        for key, found in pairs:
            # The line of the instruction that names the key.
            at = next((n for n in range(first, last + 1) if key in lines[n]), first)
            yield Assignment(key, found, at + 1)


def _docker_pairs(value: str) -> list[tuple[str, str]]:
    """`ENV KEY value with spaces` (the legacy form) or `ENV A=1 B="x y"`."""
    words = _split(value)
    if words and "=" not in words[0]:
        key, _, rest = value.strip().partition(" ")
        return [(key, _strip(rest.strip()))]
    return [(k, v) for k, _, v in (w.partition("=") for w in words) if k]


# Markdown ----------------------------------------------------------------------------------


def _markdown(text: str) -> Iterator[Assignment]:
    """Each fenced block read as its language says, the prose around them as shell words."""
    lines = text.splitlines()
    prose: list[str] = []
    number = 0
    while number < len(lines):
        fence = re.match(r"\s*(```+|~~~+)\s*([\w+-]*)", lines[number])
        if not fence:
            prose.append(lines[number])
            number += 1
            continue
        end = next(
            (n for n in range(number + 1, len(lines)) if lines[n].strip().startswith(fence[1])),
            len(lines),
        )
        kind = FENCE_KINDS.get(fence[2].lower(), "shell")
        yield from _read(kind, "\n".join(lines[number + 1 : end]), number + 1)
        prose += [""] * (end + 1 - number)  # keep the prose's line numbers
        number = end + 1
    yield from _shell("\n".join(prose))


# Shell words: env files, shell, Makefiles, TOML, INI, prose -------------------------------

ASSIGNMENT_WORD = re.compile(r"-{0,2}(?P<key>[A-Za-z_][\w.-]*)(?P<op>:?=|=>|\+=|:)(?P<value>.*)")
OPERATORS = {"=", ":=", "=>", ":", "+="}


def _shell(text: str) -> Iterator[Assignment]:
    for number, line in enumerate(text.splitlines(), start=1):
        yield from _shell_words(line, number)


def _shell_words(line: str, number: int) -> Iterator[Assignment]:
    words = _split(line)
    for index, word in enumerate(words):
        after = words[index + 1 : index + 3]
        match = ASSIGNMENT_WORD.fullmatch(word.lstrip("{[(\"'`"))
        if match and match["value"]:  # KEY=value
            yield Assignment(match["key"], _strip(match["value"]), number)
        elif match and after and after[0] not in OPERATORS:  # key: value, KEY= value
            yield Assignment(match["key"], _strip(after[0]), number)
        elif len(after) == 2 and after[0] in OPERATORS:  # KEY = value
            yield Assignment(_strip(word).lstrip("-$"), _strip(after[1]), number)


def _embedded(string: str, first: int, only: int | None = None) -> Iterator[Assignment]:
    """Assignments written inside a string that starts on line `first` (all on line `only`,
    if given): `KEY=value` in a docker-compose list, a `--password=...` argument."""
    for number, line in enumerate(string.splitlines(), start=first):
        yield from _shell_words(line, only or number)


def _split(line: str) -> list[str]:
    """Shell words before a comment; plain words, up to one starting with #, when quotes
    are left open."""
    lexer = shlex.shlex(_uncommented(line), posix=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    try:
        return list(lexer)
    except ValueError:
        words = line.split()
    comment = next((i for i, w in enumerate(words) if w.startswith("#")), len(words))
    return words[:comment]


def _uncommented(line: str) -> str:
    """The line before its comment: a # that begins a word outside quotes, as the shell
    reads it (a quoted "#x1…" is a value; shlex would only say so after removing its quotes)."""
    quote, escaped = "", False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _strip(value: str) -> str:
    return value.strip().strip("\"'`").rstrip(",;)").strip("\"'`")
