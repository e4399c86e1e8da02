"""hooks.env_parser: the one parser for env files, and its errors by file and line."""

from pathlib import Path

import pytest

from hooks.env_parser import EnvFileError, parse_env

EXAMPLE = """\
# TCP port the HTTP server listens on.
PORT=8000

# Bearer token for calling upstream APIs.
# @secret
UPSTREAM_API_TOKEN=change-me

# A quoted value keeps its inner spaces.
GREETING="hello world"
"""


def parse(text: str, example: bool = True) -> object:
    return parse_env(text, Path("svc/.env.example"), example=example)


def test_a_valid_example_parses_keys_comments_and_secret_markers() -> None:
    parsed = parse_env(EXAMPLE, Path(".env.example"), example=True)
    assert parsed.values == {
        "PORT": "8000",
        "UPSTREAM_API_TOKEN": "change-me",
        "GREETING": "hello world",
    }
    assert parsed.secret_keys == {"UPSTREAM_API_TOKEN"}
    assert parsed.entries["PORT"].comment == "TCP port the HTTP server listens on."
    assert parsed.entries["GREETING"].line == 9


def test_a_local_file_needs_no_comments() -> None:
    parsed = parse_env("PORT=9000\nEXTRA=1\n", Path(".env.development"))
    assert parsed.values == {"PORT": "9000", "EXTRA": "1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "# Port.\nport=1\n",
            "svc/.env.example:2: key 'port' is not UPPER_SNAKE_CASE; rename it, for example PORT",
        ),
        (
            "# Port.\nMY-KEY=1\n",
            "svc/.env.example:2: key 'MY-KEY' is not UPPER_SNAKE_CASE; rename it, "
            "for example MY_KEY",
        ),
        (
            "# Port.\nexport PORT=1\n",
            "svc/.env.example:2: key 'export PORT' is not UPPER_SNAKE_CASE",
        ),
        ("# Port.\nPORT\n", "svc/.env.example:2: 'PORT' has no '='; write it as KEY=value"),
        (
            "# A.\nA=1\n# A again.\nA=2\n",
            "svc/.env.example:4: A is already set on line 2; keep one of them",
        ),
        ("PORT=1\n", "svc/.env.example:1: PORT has no comment above it; add a '# ...' line"),
        (
            "# Token.\n# @secret\nTOKEN=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n",
            "svc/.env.example:3: TOKEN is marked @secret but its example value looks real",
        ),
    ],
    ids=[
        "lower-case",
        "dash",
        "export-prefix",
        "missing-equals",
        "duplicate",
        "no-comment",
        "real-looking-secret",
    ],
)
def test_each_malformed_kind_is_named_with_file_line_and_fix(text: str, message: str) -> None:
    with pytest.raises(EnvFileError) as error:
        parse(text)
    assert message in str(error.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(EnvFileError) as error:
        parse("bad=1\n# B.\nB\n")
    assert [line.split(":")[1] for line in str(error.value).splitlines()] == ["1", "3"]


@pytest.mark.parametrize(
    "placeholder", ["", "change-me", "CHANGEME", "<token>", "xxxx", "your-token"]
)
def test_placeholders_are_accepted_for_secrets(placeholder: str) -> None:
    parsed = parse(f"# Token.\n# @secret\nTOKEN={placeholder}\n")
    assert parsed.secret_keys == {"TOKEN"}


def test_the_template_example_follows_the_contract(rendered_services: dict[str, Path]) -> None:
    for service in rendered_services.values():
        parsed = parse_env((service / ".env.example").read_text(), service, example=True)
        assert parsed.secret_keys == {"UPSTREAM_API_TOKEN"}
