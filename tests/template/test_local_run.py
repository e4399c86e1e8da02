"""One service on this machine, no cluster: `make run|test|lint name=<service>` from the root,
and the service's own Makefile, with its env files read as the platform reads them."""

import importlib.metadata
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hooks.env.parser import EnvFileError, parse_env
from tests.support.helpers import (
    REPO,
    VENVS,
    edit,
    make,
    make_in_service,
    repo_with_services,
    service_venv,
)
from tests.support.net import free_port, http_get, wait_for


def load_with_env() -> ModuleType:
    path = REPO / "template" / "scripts" / "with_env.py"
    spec = importlib.util.spec_from_file_location("with_env", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WITH_ENV = load_with_env()
KEYS = st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True)
# Values as people paste them: quotes, '#', '$', '=', backslashes, unicode and odd whitespace.
VALUES = st.text(st.characters(exclude_characters="\n", codec="utf-8"), max_size=30)
SPACE = st.sampled_from(["", " ", "\t", "\r", "\x0c", "\u00a0", "\u2028"])
QUOTES = st.sampled_from(["", "'", '"'])


@st.composite
def env_files(draw: st.DrawFn) -> str:
    """Env-file text: blank lines, comments and KEY=value lines in every spacing and quoting."""
    lines = []
    for key in draw(st.lists(KEYS, unique=True, max_size=6)):
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# what it is", "   ", "# @secret"])))
        quote = draw(QUOTES)
        value = f"{quote}{draw(VALUES)}{quote}"
        lines.append(f"{draw(SPACE)}{key}{draw(SPACE)}={draw(SPACE)}{value}{draw(SPACE)}")
    return draw(st.sampled_from(["", "\ufeff"])) + "\n".join(lines)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.filter_too_much])
@given(text=env_files())
def test_the_service_loader_reads_what_the_platform_parser_reads(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Tilt deploys what hooks/env/parser.py reads; `make run` (python-dotenv) must serve the
    # same values: the platform's grammar is a part of dotenv's.
    path = tmp_path_factory.mktemp("env") / ".env.development"
    path.write_bytes(text.encode())
    try:
        expected = parse_env(text, path).values
    except EnvFileError:
        assume(False)  # the platform refuses it (a marker with no key below, ...)
    assert WITH_ENV.read(path) == expected


def test_tests_read_env_files_with_the_dotenv_the_services_lock() -> None:
    lock = (REPO / "template" / "locks" / "base" / "requirements-dev.lock").read_text()
    assert f"python-dotenv=={importlib.metadata.version('python-dotenv')} " in lock


@pytest.mark.parametrize(
    "text",
    [
        "PORT=8000\n-----BEGIN KEY-----\n",
        "PORT=8000\nnot a key=1\n",
        "=value\n",
        'TOKEN="s3cr3t\n',
    ],
)
def test_the_service_loader_refuses_a_broken_line_without_showing_it(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / ".env.test"
    path.write_text(text)
    with pytest.raises(SystemExit) as stop:
        WITH_ENV.read(path)
    message = str(stop.value.code)
    assert message.startswith(f"{path}:") and "not KEY=value" in message
    assert "BEGIN" not in message and "not a key" not in message


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone with `make service name=orders`, its venv the cached one (no PyPI)."""
    repo = repo_with_services(tmp_path_factory.mktemp("clone"), {"orders": []})
    venv = service_venv().parent.parent
    (venv / ".installed").touch()  # newer than the lock: the service's make uses it as is
    (repo / "services" / "orders" / ".venv").symlink_to(venv)
    return repo


def start_run(repo: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["make", "--no-print-directory", *VENVS, "run", f"name={name}"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make, the reloader and the server: one group to stop
    )


def stop_run(server: subprocess.Popen[str]) -> str:
    os.killpg(server.pid, signal.SIGINT)  # Ctrl-C, as the developer stops it
    try:
        return server.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:  # a process of the group ignored it: stop them all
        os.killpg(server.pid, signal.SIGKILL)
        return server.communicate()[0]


def wait_served(server: subprocess.Popen[str], port: int) -> None:
    def answers() -> bool:
        assert server.poll() is None, server.communicate()[0]  # make run died: say why
        return http_get(port, "/livez") == (200, '{"status":"ok"}')

    wait_for(answers, 30, "make run answering")


def test_two_services_run_side_by_side_and_one_calls_the_other(tmp_path: Path) -> None:
    # make run serves each at its dev port + run_port_offset (1000), whatever PORT its
    # .env.development says (the container's port, for the cluster): free ports here. billing
    # finds orders at orders' own make run port, which the platform sets as ORDERS_URL.
    ports = {"orders": free_port(), "billing": free_port()}
    calls = {"orders": [], "billing": ["calls=orders"]}
    repo = repo_with_services(
        tmp_path / "repo",
        {name: [f"dev_port={port - 1000}", *calls[name]] for name, port in ports.items()},
    )
    venv = service_venv().parent.parent
    (venv / ".installed").touch()
    for name in ports:
        (repo / "services" / name / ".venv").symlink_to(venv)
    servers = {name: start_run(repo, name) for name in ports}
    outputs = {}
    try:
        for name, port in ports.items():
            wait_served(servers[name], port)
            assert f'"service":"{name}"' in http_get(port, "/")[1]
            assert http_get(port, "/readyz")[0] == 200
            assert "http_requests" in http_get(port, "/metrics")[1]
        status, body = http_get(ports["billing"], "/peers/orders")
        assert status == 200 and '"reply":{"service":"orders"' in body
    finally:
        outputs = {name: stop_run(server) for name, server in servers.items()}
    for name, port in ports.items():
        assert f"serving {name} on http://127.0.0.1:{port}" in outputs[name]


def test_make_test_runs_its_tests_with_env_test(repo: Path) -> None:
    service = repo / "services" / "orders"
    (service / "tests" / "test_env_file.py").write_text(
        "import os\n\n\ndef test_env_test_is_loaded() -> None:\n"
        '    assert os.environ["LOG_LEVEL"] == "warning"\n'
    )
    edit(service / ".env.test", "LOG_LEVEL=info", "LOG_LEVEL=warning")
    try:
        result = make(repo, "test", "name=orders", "args=-p no:cacheprovider")
        assert result.returncode == 0, result.stdout + result.stderr
        assert " passed" in result.stdout and "failed" not in result.stdout
    finally:
        (service / "tests" / "test_env_file.py").unlink()
        edit(service / ".env.test", "LOG_LEVEL=warning", "LOG_LEVEL=info")


def test_make_lint_names_an_unused_import_in_the_service(repo: Path) -> None:
    main = repo / "services" / "orders" / "src" / "orders" / "main.py"
    original = main.read_text()
    main.write_text("import os\n" + original)
    try:
        from_root = make(repo, "lint", "name=orders")
        checked = make_in_service(main.parents[2], "lint")  # what make lint and make check run
    finally:
        main.write_text(original)
    for result in (from_root, checked):
        assert result.returncode != 0
        assert "F401" in result.stdout and "src/orders/main.py" in result.stdout
    assert make(repo, "lint", "name=orders").returncode == 0


def test_missing_env_files_are_made_from_the_example_first(repo: Path) -> None:
    env_test = repo / "services" / "orders" / ".env.test"
    saved = env_test.read_text()
    env_test.unlink()
    try:
        result = make(repo, "test", "name=orders", "args=-q -k livez")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "created" in result.stdout and ".env.test from .env.example" in result.stdout
        assert oct(env_test.stat().st_mode & 0o777) == "0o600"
    finally:
        env_test.write_text(saved)


def test_a_broken_env_file_stops_with_its_line_before_anything_runs(repo: Path) -> None:
    env_file = repo / "services" / "orders" / ".env.development"
    saved = env_file.read_text()
    env_file.write_text(saved + "-----BEGIN PRIVATE KEY-----\n")
    try:
        result = make(repo, "run", "name=orders")
    finally:
        env_file.write_text(saved)
    assert result.returncode != 0
    assert ".env.development:" in result.stderr and "not KEY=value" in result.stderr
    assert "BEGIN" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("name=", "which service? make run name=<service>; services: orders"),
        (
            "name=nope",
            "there is no service 'nope' under services/ (a folder with a .copier-answers.yml); "
            "services: orders. Create one with: make service name=<name>",
        ),
    ],
)
def test_run_without_a_known_service_says_which_exist(
    repo: Path, target: str, message: str
) -> None:
    result = make(repo, "run", target)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == f"error: {message}"


def test_make_test_without_a_name_is_still_the_whole_suite(repo: Path) -> None:
    result = make(repo, "test", "args=--collect-only -q tests/template/test_env_parser.py")
    assert result.returncode == 0, result.stderr
    assert "tests/template/test_env_parser.py::" in result.stdout


def test_the_services_own_make_ignores_the_roots_variables(repo: Path) -> None:
    # make() gives the root VENV= the platform's tools: the service keeps its own .venv.
    result = make(repo, "lint", "name=orders")
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(Path(sys.prefix)) not in result.stdout
