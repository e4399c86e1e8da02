"""`make ci-tools`: pinned downloads, each checked against a sha256 before it is installed.

GitHub's release downloads cannot be reached here: a local server stands in for them,
serving the same shapes (a bare binary, a .tar.gz, a `sha256sum`-style checksum file)."""

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks.ci import tools
from hooks.errors import HookError


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def releases(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1, standing in for release downloads."""
    folder = tmp_path / "releases"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def tarball(member: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def manifest(path: Path, entries: list[dict[str, str]]) -> Path:
    path.write_text(yaml.safe_dump({"tools": entries}))
    return path


def test_tools_are_installed_once_their_digest_matches(
    releases: tuple[Path, str], tmp_path: Path
) -> None:
    folder, url = releases
    archive = tarball("ctlptl", b"#!/bin/sh\necho ctlptl\n")
    (folder / "ctlptl.linux.tar.gz").write_bytes(archive)
    (folder / "k3d-linux-amd64").write_bytes(b"#!/bin/sh\necho k3d\n")
    digest = hashlib.sha256(archive).hexdigest()
    k3d_digest = hashlib.sha256(b"#!/bin/sh\necho k3d\n").hexdigest()
    # k3d's file is `sha256sum _dist/*` output; goreleaser's names the asset alone.
    (folder / "checksums.txt").write_text(
        f"{digest}  ctlptl.linux.tar.gz\n{k3d_digest}  _dist/k3d-linux-amd64\n"
    )
    listed = manifest(
        tmp_path / "tools.yml",
        [
            {
                "name": "ctlptl",
                "version": "v1",
                "url": f"{url}/ctlptl.linux.tar.gz",
                "checksums": f"{url}/checksums.txt",
                "member": "ctlptl",
                "sha256": "",
            },
            {"name": "k3d", "version": "v2", "url": f"{url}/k3d-linux-amd64", "sha256": k3d_digest},
        ],
    )
    said = list(tools.install(tmp_path / "repo", listed))
    installed = tmp_path / "repo" / tools.BIN
    assert (installed / "ctlptl").read_bytes() == b"#!/bin/sh\necho ctlptl\n"
    assert (installed / "ctlptl").stat().st_mode & 0o111
    assert (installed / "k3d").read_bytes() == b"#!/bin/sh\necho k3d\n"
    assert f"sha256 {digest}, checked against {url}/checksums.txt (record it" in said[0]
    assert "checked against the sha256 in tools.yml" in said[1]
    assert said[-1] == f"add to PATH: {installed}"


def test_a_download_that_does_not_match_is_never_installed(
    releases: tuple[Path, str], tmp_path: Path
) -> None:
    folder, url = releases
    (folder / "tilt.tar.gz").write_bytes(tarball("tilt", b"tampered"))
    entry = {"name": "tilt", "version": "v3", "url": f"{url}/tilt.tar.gz", "member": "tilt"}
    pinned = manifest(tmp_path / "pinned.yml", [{**entry, "sha256": "0" * 64}])
    with pytest.raises(HookError, match=r"the download.s sha256 is .*: not installed"):
        list(tools.install(tmp_path / "repo", pinned))
    (folder / "checksums.txt").write_text(f"{'1' * 64}  tilt.tar.gz\n")
    published = manifest(
        tmp_path / "published.yml", [{**entry, "checksums": f"{url}/checksums.txt"}]
    )
    with pytest.raises(HookError, match="not installed"):
        list(tools.install(tmp_path / "repo", published))
    (folder / "checksums.txt").write_text(f"{'1' * 64}  other.tar.gz\n")
    with pytest.raises(HookError, match=r"lists no tilt\.tar\.gz"):
        list(tools.install(tmp_path / "repo", published))
    assert not (tmp_path / "repo" / tools.BIN / "tilt").exists()


def test_the_pinned_manifest_names_a_version_and_a_checksum_source_for_each_tool() -> None:
    entries = yaml.safe_load(tools.MANIFEST.read_text())["tools"]
    assert [entry["name"] for entry in entries] == ["k3d", "ctlptl", "tilt"]
    for entry in entries:
        assert entry["url"].startswith("https://github.com/")
        assert f"/download/{entry['version']}/" in entry["url"]
        assert entry["sha256"] or entry["checksums"].endswith(
            f"/download/{entry['version']}/checksums.txt"
        )
