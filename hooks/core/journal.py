"""Whole-or-absent changes to a service folder, whatever kills the process.

An update is computed elsewhere (update/workspace), then written here: first the new and
the old content of every path it changes go into a journal under the repository's git
directory; renaming the journal's folder into place records that writing began; then each
path is replaced atomically; removing the journal records the end. A run killed in between
(`kill -9`, power loss) leaves the journal, and the next `make update`, `make service` or
`make check` undoes what was written, with one line saying so. Paths the user changed after
the kill are left as they are, and named.
"""

import contextlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hooks.core.gitrepo import git_path
from hooks.core.signals import signals_blocked

JOURNALS = "microplatform-journal"  # under the repository's git directory
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Content:
    """A file's bytes and mode, or a symbolic link's target (mode 0o120000)."""

    data: bytes
    mode: int

    @classmethod
    def read(cls, path: Path) -> "Content | None":
        """What is at `path` now; None when nothing is."""
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            return cls(os.readlink(path).encode(), 0o120000)
        if not stat.S_ISREG(info.st_mode):
            return cls(b"", stat.S_IFMT(info.st_mode))  # a folder: never equal to a file
        return cls(path.read_bytes(), 0o100755 if info.st_mode & 0o100 else 0o100644)

    def write(self, path: Path) -> None:
        """Put this content at `path` in one rename, replacing what was there."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _temporary(path)
        temporary.unlink(missing_ok=True)
        if self.mode == 0o120000:
            os.symlink(self.data.decode(), temporary)
        else:
            with temporary.open("wb") as handle:
                handle.write(self.data)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.chmod(0o755 if self.mode == 0o100755 else 0o644)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(temporary, path)


def _temporary(path: Path) -> Path:
    """Where Content.write puts `path`'s new content before renaming it into place."""
    return path.with_name(f".{path.name}.journal-tmp")


@dataclass(frozen=True)
class Change:
    """One path of a service (relative to its folder): what it was, what it becomes."""

    path: str
    old: Content | None
    new: Content | None


def _journal_root(repo: Path) -> Path:
    return git_path(repo, JOURNALS)


def _save(folder: Path, name: str, content: Content | None) -> dict[str, object] | None:
    if content is None:
        return None
    (folder / name).write_bytes(content.data)
    return {"file": name, "mode": content.mode}


def _load(folder: Path, entry: dict[str, object] | None) -> Content | None:
    if entry is None:
        return None
    return Content((folder / str(entry["file"])).read_bytes(), int(str(entry["mode"])))


def apply(repo: Path, service: Path, changes: list[Change]) -> None:
    """Write `changes` into `service`: all of them, or (after a kill) none once undone."""
    root = _journal_root(repo)
    root.mkdir(exist_ok=True)
    journal = root / service.name
    preparing = root / f".{service.name}.preparing"
    shutil.rmtree(preparing, ignore_errors=True)
    preparing.mkdir()
    entries = []
    for number, change in enumerate(changes):
        entries.append(
            {
                "path": change.path,
                "old": _save(preparing, f"{number}.old", change.old),
                "new": _save(preparing, f"{number}.new", change.new),
            }
        )
    manifest = {"service": str(service.relative_to(repo)), "entries": entries}
    (preparing / MANIFEST).write_text(json.dumps(manifest))
    _sync(preparing)
    with signals_blocked():
        os.replace(preparing, journal)  # from here a kill is undone by the next run
        _write_all(service, changes)
        _sync(service)
        _discard(journal)


def _write_all(service: Path, changes: list[Change]) -> None:
    # Deletions first (deepest first, emptied folders with them), so that a path turning
    # from a folder into a file, or back, finds its place free.
    for change in sorted(changes, key=lambda c: c.path.count("/"), reverse=True):
        if change.new is None:
            target = service / change.path
            if target.is_symlink() or target.is_file():
                target.unlink()
            _prune_empty_parents(service, target.parent)
    for change in changes:
        if change.new is not None:
            change.new.write(service / change.path)


def _prune_empty_parents(service: Path, folder: Path) -> None:
    while folder != service and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _sync(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _discard(journal: Path) -> None:
    done = journal.with_name(f".{journal.name}.done")
    shutil.rmtree(done, ignore_errors=True)
    os.replace(journal, done)
    shutil.rmtree(done, ignore_errors=True)


def pending(repo: Path) -> Iterator[Path]:
    """Journals of updates that began writing and did not finish."""
    root = _journal_root(repo)
    if root.is_dir():
        yield from sorted(p for p in root.iterdir() if not p.name.startswith("."))


def undo_interrupted(repo: Path) -> list[str]:
    """Undo every update a kill cut short; one line per service. Call holding the lock."""
    root = _journal_root(repo)
    if not root.is_dir():
        return []
    said = []
    for journal in pending(repo):
        manifest = json.loads((journal / MANIFEST).read_text())
        service = repo / manifest["service"]
        kept = []
        with signals_blocked():
            for entry in manifest["entries"]:
                old, new = _load(journal, entry["old"]), _load(journal, entry["new"])
                target = service / entry["path"]
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    _temporary(target).unlink()  # written, not yet renamed, when killed
                now = Content.read(target)
                if now == old:
                    continue
                if now != new:  # changed again since: the user's, kept
                    kept.append(entry["path"])
                elif old is None:
                    target.unlink()
                    _prune_empty_parents(service, target.parent)
                else:
                    old.write(target)
            _discard(journal)
        line = (
            f"{manifest['service']}: an update was interrupted while writing it; undone, "
            "the service is as it was before that update"
        )
        if kept:
            line += f" (kept your later changes to {', '.join(kept)})"
        said.append(line)
    for leftover in root.iterdir():  # a journal being prepared or discarded when killed
        shutil.rmtree(leftover, ignore_errors=True)
    return said
