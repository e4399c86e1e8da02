"""Stand-ins for what CI talks to and these machines lack: a scanner with a canned report,
an image registry on 127.0.0.1, GitHub's pull request API."""

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hooks.ci import image
from tests.support.helpers import edit
from tests.support.net import free_ports


def stand_in_trivy(folder: Path, report: dict[str, object]) -> Path:
    """A trivy that records its arguments and answers with `report`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report))
    script = folder / "trivy"
    script.write_text(f'#!/bin/sh\necho "$@" > {folder}/args\ncat {folder}/report.json\n')
    script.chmod(0o755)
    return script


@contextmanager
def serve_registry(tmp_path: Path) -> Iterator[str]:
    """A registry on 127.0.0.1 (Docker pushes there without TLS), removed afterwards."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("no docker-registry here (Debian's docker-registry package)")
    [port] = free_ports(1)
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'blobs'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def use_registry(repo: Path, where: str) -> None:
    """Point ci.image_registry of a repository's platform settings at `where`."""
    edit(
        repo / "platform/settings/settings.yaml",
        f"image_registry: {image.registry(repo)}",
        f"image_registry: {where}",
    )


class GitHub:
    """A stand-in for GitHub's pull request API: what it was asked, what it holds."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any] | None, str]] = []
        self.pulls: list[dict[str, Any]] = []
        self.refuse = False


@contextmanager
def github_api() -> Iterator[tuple[GitHub, str]]:
    """A stand-in for GitHub's pull request API on 127.0.0.1: it, and its URL."""
    api = GitHub()

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_call(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length)) if length else None
            api.calls.append((self.command, self.path, payload, self.headers["Authorization"]))
            url = urlsplit(self.path)
            if api.refuse:
                return self.answer(403, {"message": "Resource not accessible by integration"})
            if self.command == "GET":
                query = parse_qs(url.query)
                found = [p for p in api.pulls if f"acme:{p['head']}" == query["head"][0]]
                return self.answer(200, found)
            if self.command == "POST":
                number = len(api.pulls) + 1
                pull = {**(payload or {}), "number": number, "html_url": f"https://pr/{number}"}
                api.pulls.append(pull)
                return self.answer(201, pull)
            number = int(url.path.rsplit("/", 1)[1])
            api.pulls[number - 1].update(payload or {})
            return self.answer(200, api.pulls[number - 1])

        def do_GET(self) -> None:
            self.handle_call()

        def do_POST(self) -> None:
            self.handle_call()

        def do_PATCH(self) -> None:
            self.handle_call()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
