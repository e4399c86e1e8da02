"""hooks.env.parser: the one parser for env files, its errors by file and line, and how it
fails closed: marker typos, sensitive names and messages that never quote a value."""

import base64
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hooks.env.parser import (
    KEY,
    ONE_LINE,
    EnvFileError,
    local_secret_keys,
    parse_env,
    read_env,
    sensitive_part,
)

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
            "svc/.env.example:2: 'export' before PORT: drop it, env files only set variables",
        ),
        ("# Port.\nPORT\n", "svc/.env.example:2: not KEY=value; a value must fit on one line"),
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


# The marker typos of issue 13, and their kin: each once put the value in the ConfigMap.
MARKER_TYPOS = [
    "#@secret",
    "# @Secret",
    "#  @secret",
    "# @secret: token",
    "## @secret",
    "# @ secret",
    "#\t@secret",
    "# @secrets",
    "# @sercet",
    "# @SECRET",
    "# secret",
    "# Secret.",
    "# secert",
    "# Database URL. @secret",
]


@pytest.mark.parametrize("typo", MARKER_TYPOS)
@pytest.mark.parametrize("example", [True, False], ids=["example", "local"])
def test_a_marker_typo_is_an_error_with_the_exact_spelling(typo: str, example: bool) -> None:
    text = f"# Database URL.\n{typo}\nDATABASE_URL=postgres://db/app\n"
    with pytest.raises(EnvFileError) as error:
        parse(text, example=example)
    assert "svc/.env.example:2: this comment looks like a secret marker" in str(error.value)
    assert "'# @secret'" in str(error.value)


@pytest.mark.parametrize(
    "comment",
    ["# Bearer token for calling upstream APIs.", "# Secure cookies only.", "# ops@example.com"],
)
def test_ordinary_comments_are_not_taken_for_markers(comment: str) -> None:
    parsed = parse(f"{comment}\nLOG_LEVEL=info\n")
    assert (parsed.values, parsed.secret_keys) == ({"LOG_LEVEL": "info"}, set())
    assert parsed.entries["LOG_LEVEL"].comment == comment.lstrip("# ")


def test_the_exact_marker_with_surrounding_spaces_marks_the_key() -> None:
    parsed = parse("# Database URL.\n  # @secret  \nDATABASE_URL=\n")
    assert parsed.secret_keys == {"DATABASE_URL"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# Token.\n# @secret\n\nDATABASE_URL=\n", 2),
        ("# Port.\nPORT=1\n# @secret\n", 3),
        ("# Port.\nPORT=1\n# @secret", 3),
    ],
    ids=["blank-line-below", "end-of-file", "end-of-file-no-newline"],
)
def test_a_marker_that_marks_no_key_is_an_error(text: str, line: int) -> None:
    with pytest.raises(EnvFileError) as error:
        parse(text, example=False)
    assert f"svc/.env.example:{line}: '# @secret' marks no key" in str(error.value)


def test_a_marker_after_a_value_is_an_error_not_part_of_the_value() -> None:
    with pytest.raises(EnvFileError) as error:
        parse("# Database URL.\nDATABASE_URL=change-me  # @secret\n")
    assert "DATABASE_URL has a '# @secret' after its value" in str(error.value)


SENSITIVE = [
    ("DB_PASSWORD", "PASSWORD"),
    ("UPSTREAM_API_TOKEN", "TOKEN"),
    ("GITHUB_TOKENS", "TOKENS"),
    ("CLIENT_SECRET", "SECRET"),
    ("SECRETKEY", "SECRETKEY"),
    ("STRIPE_API_KEY", "KEY"),
    ("OPENAI_APIKEY", "APIKEY"),
    ("SERVICE_CREDENTIALS", "CREDENTIALS"),
    ("GCP_CREDS", "CREDS"),
    ("SIGNING_PRIVATE_KEY", "PRIVATE"),
    ("SMTP_PASS", "PASS"),
    ("DB_PWD", "PWD"),
    ("SMTP_PASSWD", "PASSWD"),
    ("GPG_PASSPHRASE", "PASSPHRASE"),
    ("HASH_SALT", "SALT"),
    ("SENTRY_DSN", "DSN"),
]


@pytest.mark.parametrize(("key", "part"), SENSITIVE, ids=[k for k, _ in SENSITIVE])
def test_an_unmarked_sensitive_name_is_refused_in_the_example(key: str, part: str) -> None:
    with pytest.raises(EnvFileError) as error:
        parse(f"# What it is.\n{key}=\n")
    assert (
        f"svc/.env.example:2: {key} looks sensitive (its name has {part}) but is not marked; "
        "add a '# @secret' line above it"
    ) in str(error.value)
    assert parse(f"# What it is.\n# @secret\n{key}=\n").secret_keys == {key}


@pytest.mark.parametrize(
    "key", ["PORT", "LOG_LEVEL", "SHUTDOWN_TIMEOUT_SECONDS", "KEYCLOAK_URL", "PASSENGER_LIMIT"]
)
def test_ordinary_names_need_no_marker(key: str) -> None:
    assert parse(f"# What it is.\n{key}=1\n").secret_keys == set()


def test_a_local_file_may_only_add_secrecy() -> None:
    example = parse(EXAMPLE)
    local = parse_env(
        "PORT=1\n# @secret\nGREETING=hi\nUPSTREAM_API_TOKEN=t\nNEW_KEY=1\n",
        Path(".env.development"),
    )
    assert local_secret_keys(example, local) == {"GREETING", "UPSTREAM_API_TOKEN", "NEW_KEY"}


def test_a_file_that_is_not_utf8_or_missing_is_named(tmp_path: Path) -> None:
    path = tmp_path / ".env.development"
    path.write_bytes(b"PORT=1\nTOKEN=\xff\xfe\n")
    with pytest.raises(EnvFileError, match=r"\.env\.development:2: not UTF-8 text"):
        read_env(path)
    with pytest.raises(EnvFileError, match=r"\.env\.test is missing"):
        read_env(tmp_path / ".env.test")


# A value pasted where it does not belong, in every shape a careless user gets: the messages
# must name file, line and key, and never carry the value, its case variants or its base64.
MISPLACED = [
    "{s}\n",  # a raw token line
    "PORT=1\n{s}\n{s}\n",  # pasted lines, each after the other
    "# Token.\n# @secret\nTOKEN={s}\n",  # a real value in the example
    "# Token.\nAPI_TOKEN={s}\n",  # an unmarked sensitive key
    "# Token.\n#@secret\nDATABASE_URL={s}\n",  # a marker typo
    "# Token.\nDATABASE_URL={s} # @secret\n",  # an inline marker
    "{s}=\n",  # a token before '='
    "{s}=={s}\n",
    "export {s}=1\n",
    "PORT=1\nPORT={s}\n",  # a duplicate
    # a PEM key pasted as a multi-line value
    "# Key.\n# @secret\n"
    'TLS_KEY="-----BEGIN PRIVATE KEY-----\n{s}\n{s}==\n-----END PRIVATE KEY-----"\n',
    "key: {s}\n",  # YAML pasted in
    "# The database.\nDATABASE_URL=postgres://app:{s}@db/app\n",  # a URL's password, unmarked
    "# @secret\n\n{s}\n",
]

CANARY = st.one_of(
    st.from_regex(r"[A-Za-z0-9+/=_.!@$%^&*-]{12,40}", fullmatch=True),
    st.from_regex(r"[A-Z][A-Z0-9_]{11,40}", fullmatch=True),  # looks like a key
).filter(lambda s: any(c.isdigit() for c in s) and s.strip("="))


@settings(max_examples=500)
@given(canary=CANARY, shape=st.sampled_from(MISPLACED), example=st.booleans())
def test_no_message_carries_a_value(canary: str, shape: str, example: bool) -> None:
    # Where the canary stands for a key and is spelled like one, it is a key: named, rightly.
    assume(not (shape.startswith(("{s}=", "export {s}=")) and KEY.fullmatch(canary)))
    try:
        parse(shape.format(s=canary), example=example)
    except EnvFileError as error:
        message = str(error)
    else:
        return
    core = canary.strip("=")
    for form in (core, core.upper(), core.lower(), base64.b64encode(canary.encode()).decode()):
        assert form not in message


PEM_BODY = "\n".join(base64.b64encode(bytes([n]) * 48).decode() for n in range(5))


def test_a_quoted_value_over_several_lines_is_one_problem_naming_its_key() -> None:
    text = f'PORT=1\nTLS_KEY="-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----"\n'
    with pytest.raises(EnvFileError) as error:
        parse(text, example=False)
    assert (
        str(error.value)
        == f"svc/.env.example:2: TLS_KEY's quoted value runs over lines 2-8; {ONE_LINE}"
    )


def test_pasted_lines_are_reported_after_the_key_they_follow() -> None:
    # An upper-case line with '=' padding amid them looks like KEY=value; it is not quoted.
    text = f"PORT=1\nTLS_KEY=-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\nAB12CD34==\nQUJD\n"
    with pytest.raises(EnvFileError) as error:
        parse(text, example=False)
    assert str(error.value).splitlines() == [
        f"svc/.env.example:3: lines 3-7: not KEY=value (after TLS_KEY on line 2); {ONE_LINE}",
        f"svc/.env.example:9: not KEY=value (after TLS_KEY on line 2); {ONE_LINE}",
    ]


def test_a_quote_inside_a_value_is_kept() -> None:
    parsed = parse('GREETING=say "hi" twice\nNOTE=it\'s\n', example=False)
    assert parsed.values == {"GREETING": 'say "hi" twice', "NOTE": "it's"}


# Each is read otherwise by python-dotenv (make run, make test): refused, so that both read
# every file the platform accepts alike (tests/test_local_run.py checks it at random).
READ_OTHERWISE = [
    ('LABEL="a" b', "starts with a quote but does not end with it"),
    ("LABEL='a", "starts with a quote but does not end with it"),
    ('PATTERN="a\\d"', "holds its own quote or a backslash"),
    ("NOTE='it's'", "holds its own quote or a backslash"),
    ("COLOR=blue #the default", "which python-dotenv, docker and shells read as the start"),
    ("COLOR= #ffffff", "read as the start of a comment"),
    ("COLOR=blue\rGREEN=x", "a carriage return inside the line"),
]


@pytest.mark.parametrize(("line", "message"), READ_OTHERWISE)
def test_a_line_python_dotenv_reads_otherwise_is_refused(line: str, message: str) -> None:
    with pytest.raises(EnvFileError, match=re.escape(message)):
        parse(line + "\n", example=False)


def test_a_hash_without_a_space_before_it_is_part_of_the_value() -> None:
    assert parse("COLOR=#ffffff\n", example=False).values == {"COLOR": "#ffffff"}


# Issue 25: a URL with a password in a key not marked secret went to the ConfigMap.
URLS_WITH_PASSWORDS = [
    "postgresql://user:password@localhost/db",  # a placeholder: the real value will not be
    "postgres://app:s3cr3t-Pw9@db:5432/app",
    "redis://:hunter22x@cache:6379/0",
    "mongodb+srv://svc:pa55w0rdZ@cluster0.example.net/app?retryWrites=true",
    "amqp://guest:guest@rabbit//",
]


@pytest.mark.parametrize("url", URLS_WITH_PASSWORDS)
@pytest.mark.parametrize("quote", ["", '"'], ids=["bare", "quoted"])
def test_a_url_with_a_password_in_an_unmarked_key_is_refused_in_the_example(
    url: str, quote: str
) -> None:
    with pytest.raises(EnvFileError) as error:
        parse(f"# The database.\nDATABASE_URL={quote}{url}{quote}\n")
    message = str(error.value)
    assert (
        "svc/.env.example:2: DATABASE_URL's value is a URL with a password (user:password@) "
        "but DATABASE_URL is not marked; add a '# @secret' line above it, so it goes to a "
        "Secret, never a ConfigMap"
    ) in message
    if url != URLS_WITH_PASSWORDS[0]:  # the placeholder, which the message suggests itself
        assert url.split("@")[0] not in message


@pytest.mark.parametrize(
    "password", ["password", "change-me", "<password>", "${DB_PASSWORD}", "xxx", "pass", ""]
)
def test_a_marked_url_may_carry_a_placeholder_password(password: str) -> None:
    url = f"postgresql://user:{password}@localhost/db" if password else "postgresql://user:@h/db"
    text = f"# The database.\n# @secret\nDATABASE_URL={url}\n"
    if password:
        assert parse(text).secret_keys == {"DATABASE_URL"}
    else:  # no password: a URL, not a placeholder
        with pytest.raises(EnvFileError, match="DATABASE_URL is marked @secret but its example"):
            parse(text)


def test_a_marked_url_with_a_real_password_is_refused_in_the_example() -> None:
    with pytest.raises(EnvFileError) as error:
        parse("# The database.\n# @secret\nDATABASE_URL=postgres://app:s3cr3t-Pw9@db/app\n")
    assert (
        "svc/.env.example:3: DATABASE_URL is marked @secret but its example value looks real"
    ) in str(error.value)
    assert "s3cr3t-Pw9" not in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://localhost/db",
        "postgres://app@db/app",
        "https://api.example.com:8443/v1?token_type=bearer",
        "http://host:8080/path?email=a@b.example",
        "mailto:ops@example.com",
    ],
)
def test_a_url_without_a_password_needs_no_marker(url: str) -> None:
    assert parse(f"# Where it is.\nUPSTREAM_URL={url}\n").secret_keys == set()


def test_a_local_url_with_a_password_is_secret_whatever_the_example_says() -> None:
    example = parse("# The database.\nDATABASE_URL=postgresql://localhost/db\n# Port.\nPORT=1\n")
    local = parse_env(
        "DATABASE_URL=postgres://app:s3cr3t-Pw9@db/app\nPORT=1\n", Path(".env.development")
    )
    assert local_secret_keys(example, local) == {"DATABASE_URL"}


PASSWORD = st.from_regex(r"[A-Za-z0-9!$&'()*+,;=._~%-]{8,30}", fullmatch=True).filter(
    lambda p: any(c.isdigit() for c in p) and any(c.isalpha() for c in p)
)


@settings(max_examples=300)
@given(
    scheme=st.from_regex(r"[a-z][a-z0-9+.-]{0,9}", fullmatch=True),
    user=st.from_regex(r"[A-Za-z0-9._-]{0,12}", fullmatch=True),
    password=PASSWORD,
    key=st.from_regex(r"[A-Z]{1,9}_URL", fullmatch=True),
)
def test_any_url_password_in_an_unmarked_example_key_is_refused_unshown(
    scheme: str, user: str, password: str, key: str
) -> None:
    assume(not sensitive_part(key))
    with pytest.raises(EnvFileError) as error:
        parse(f"# Where it is.\n{key}={scheme}://{user}:{password}@host/path\n")
    assert f"{key}'s value is a URL with a password" in str(error.value)
    assert password not in str(error.value)
