"""What copier redoes for every service of a rollout, done once per rollout instead.

For each service copier clones the template source three to five times (here the template is
this repository, services included, so each clone grows with their number) and compiles every
template file and path again for each of its three renders. Within one rollout every service
is updated to the same template commit, so:
- a clone of a commit is made once, sparse (only what copier and the template's tasks read),
  and each of copier's clones is a hard-linked copy of it: git writes its files by renaming
  new ones into place, never into a linked one, and copier only reads the template;
- a Jinja template compiled once is reused: compiled code does not depend on the values it
  is rendered with, only on the source and the environment's syntax settings, all in the key;
- copier asks git for a destination's core.fileMode once per rendered file, to mirror an
  executable bit git would not see: asked once per repository (Unix: git sees it);
- git's automatic maintenance, which each of copier's scratch commits may start, is off.

`installed(cache)` applies both to this process for the rollout's length; copier's own
behaviour is unchanged (tests/template/test_rollout.py compares a rollout with a fresh copy).
They rely on copier's and Jinja's internals, pinned in requirements.txt.
"""

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import copier._main
import copier._template
import copier._vcs
import jinja2

from hooks.core.gitrepo import with_settings

# What copier and the template's tasks read of the template source (copier.yml names them).
SPARSE = ("/copier.yml", "/migrations.yml", "/template/", "/hooks/", "/platform/")


def _git(*args: str, cwd: str | Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def _cached_clone(cache: Path, real: Callable[..., str]) -> Callable[..., str]:
    def clone(url: str, ref: str = "HEAD", location: str | None = None) -> str:
        source = Path(url.removeprefix("file://")).absolute()  # copier runs from the workspace
        if not (source / ".git").exists() or location is None:
            return real(url, ref, location)  # not this repository: copier's own way
        commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=source)
        ready = cache / commit
        with (cache / f"{commit}.lock").open("w") as lock:  # workers share the cache
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not ready.exists():
                building = cache / f"{commit}.building"
                shutil.rmtree(building, ignore_errors=True)
                _git(
                    "clone",
                    "--quiet",
                    "--shared",
                    "--no-checkout",
                    str(source),
                    str(building),
                    cwd=cache,
                )
                _git("sparse-checkout", "set", "--no-cone", *SPARSE, cwd=building)
                _git("checkout", "--quiet", "--detach", commit, cwd=building)
                os.replace(building, ready)
        shutil.copytree(ready, location, symlinks=True, copy_function=os.link, dirs_exist_ok=True)
        return location

    return clone


def _compile_once(real: Callable[..., Any]) -> Callable[..., Any]:
    compiled: dict[tuple[Any, ...], Any] = {}

    def compile(
        self: jinja2.Environment,
        source: str,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if raw or not isinstance(source, str):
            return real(self, source, name, filename, raw, defer_init)
        key = (
            type(self),
            self.block_start_string,
            self.block_end_string,
            self.variable_start_string,
            self.variable_end_string,
            self.comment_start_string,
            self.comment_end_string,
            self.line_statement_prefix,
            self.line_comment_prefix,
            self.trim_blocks,
            self.lstrip_blocks,
            self.newline_sequence,
            self.keep_trailing_newline,
            self.optimized,
            repr(self.autoescape),
            tuple(sorted(self.extensions)),
            tuple(sorted(self.filters)),
            tuple(sorted(self.tests)),
            source,
            name,
            filename,
            defer_init,
        )
        if key not in compiled:
            compiled[key] = real(self, source, name, filename, raw, defer_init)
        return compiled[key]

    return compile


def _file_mode_asked_once(real: Callable[..., None]) -> Callable[..., None]:
    seen: dict[Path, bool] = {}

    def sync(worker: Any, dst_relpath: Path, src_mode: int) -> None:
        root = Path(worker.subproject.local_abspath)
        if root not in seen:
            found = subprocess.run(
                ["git", "config", "--type=bool", "--get", "core.fileMode"],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
            )
            seen[root] = found.stdout.strip() != "false"  # unset: true, Unix's default
        if not seen[root]:
            real(worker, dst_relpath, src_mode)

    return sync


NO_MAINTENANCE = {"maintenance.auto": "false", "gc.auto": "0"}


@contextmanager
def installed(cache: Path) -> Iterator[None]:
    """Reuse clones (kept in `cache`) and compiled templates until the block ends."""
    cache.mkdir(parents=True, exist_ok=True)
    template_module: Any = copier._template  # it imports clone by name: patched there too
    worker: Any = copier._main.Worker
    originals = (copier._vcs.clone, template_module.clone, jinja2.Environment.compile)
    sync = worker._sync_git_index_executable_bit
    settings = with_settings(dict(os.environ), NO_MAINTENANCE)
    environment = {key: os.environ.get(key) for key in settings}
    clone = _cached_clone(cache, originals[0])
    copier._vcs.clone = clone
    template_module.clone = clone
    jinja2.Environment.compile = _compile_once(originals[2])  # type: ignore[method-assign]
    worker._sync_git_index_executable_bit = _file_mode_asked_once(sync)
    os.environ.update(settings)
    try:
        yield
    finally:
        copier._vcs.clone, template_module.clone = originals[:2]
        jinja2.Environment.compile = originals[2]  # type: ignore[method-assign]
        worker._sync_git_index_executable_bit = sync
        for key, value in environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
