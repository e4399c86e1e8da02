"""`make ci-tools`: the pinned k3d, ctlptl and tilt of the e2e job, sha256-checked.

Instead of `curl | bash`: each tool of tools.yml is downloaded at its pinned version, its
sha256 compared with the recorded one (or, until one is recorded, with the release's own
checksum file), and only then written to .cache/ci-tools/bin.
"""

import hashlib
import io
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from hooks.errors import HookError

MANIFEST = Path(__file__).with_name("tools.yml")
BIN = Path(".cache") / "ci-tools" / "bin"
TIMEOUT_SECONDS = 120


def download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            data: bytes = answer.read()
    except OSError as error:
        raise HookError(f"could not download {url}: {error}") from None
    return data


def published_digest(checksums: str, asset: str) -> str:
    """The sha256 a `sha256sum`-style checksum file gives for `asset` (a path's last part)."""
    for line in checksums.splitlines():
        digest, _, name = line.strip().partition(" ")
        if name.strip().lstrip("*").rsplit("/", 1)[-1] == asset:
            return digest.lower()
    raise HookError(f"the release's checksum file lists no {asset}")


def extract(archive: bytes, member: str) -> bytes:
    """One file of a .tar.gz, by its name (in any folder of the archive)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for info in tar.getmembers():
            if info.isfile() and info.name.rsplit("/", 1)[-1] == member:
                found = tar.extractfile(info)
                if found is not None:
                    return found.read()
    raise HookError(f"the archive holds no file {member}")


def install_tool(tool: dict[str, Any], into: Path) -> str:
    """Download, check and install one tool; the line that says what was installed."""
    name, version, url = str(tool["name"]), str(tool["version"]), str(tool["url"])
    data = download(url)
    actual = hashlib.sha256(data).hexdigest()
    if tool.get("sha256"):
        expected, source = str(tool["sha256"]).lower(), f"the sha256 in {MANIFEST.name}"
    else:
        asset = url.rsplit("/", 1)[-1]
        expected = published_digest(download(str(tool["checksums"])).decode(), asset)
        source = f"{tool['checksums']} (record it as sha256 in hooks/ci/{MANIFEST.name})"
    if actual != expected:
        raise HookError(
            f"{name} {version}: the download's sha256 is {actual}, but {source} says "
            f"{expected}: not installed. A release changed under its tag, or the download "
            "was corrupted: do not use it"
        )
    binary = extract(data, str(tool["member"])) if tool.get("member") else data
    into.mkdir(parents=True, exist_ok=True)
    temporary = into / f".{name}.tmp"
    temporary.write_bytes(binary)
    temporary.chmod(0o755)
    temporary.replace(into / name)
    return f"{name} {version}: {into / name} (sha256 {actual}, checked against {source})"


def install(repo: Path, manifest: Path = MANIFEST) -> Iterator[str]:
    """Every tool of the manifest into .cache/ci-tools/bin; the folder to put on PATH."""
    tools: list[dict[str, Any]] = yaml.safe_load(manifest.read_text())["tools"]
    for tool in tools:
        yield install_tool(tool, repo / BIN)
    yield f"add to PATH: {repo / BIN}"
