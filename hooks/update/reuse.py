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
- what copier asks git about a template clone (its version, description, hash, file modes)
  is asked once per commit, and whether a folder is a repository's root, or where its
  objects are, once per folder;
- copier asks git for a destination's core.fileMode once per rendered file, to mirror an
  executable bit git would not see: asked once per repository (Unix: git sees it);
- the template's own tasks (`python <template>/hooks/__main__.py ...`: the migrations) run
  in this process when the template's hooks/ is byte for byte the one running: a Python
  start and its imports saved twice per service;
- git's automatic maintenance, which each of copier's scratch commits may start, is off.

`installed(cache)` applies them to this process for the rollout's length; copier's own
behaviour is unchanged (tests/template/test_rollout.py compares a rollout with a fresh copy).
They rely on copier's and Jinja's internals, pinned in requirements.txt.
"""

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import copier._main
import copier._template
import copier._tools
import copier._vcs
import jinja2

from hooks.core.gitrepo import with_settings

# What copier and the template's tasks read of the template source (copier.yml names them).
SPARSE = ("/copier.yml", "/migrations.yml", "/template/", "/hooks/", "/platform/")


def _git(*args: str, cwd: str | Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def _cached_clone(
    cache: Path, real: Callable[..., str], clones: dict[Path, str]
) -> Callable[..., str]:
    commits: dict[str, str] = {}  # every workspace is a clone of one repository

    def clone(url: str, ref: str = "HEAD", location: str | None = None) -> str:
        source = Path(url.removeprefix("file://")).absolute()  # copier runs from the workspace
        if not (source / ".git").exists() or location is None:
            return real(url, ref, location)  # not this repository: copier's own way
        commit = commits.get(ref) or _git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=source)
        if "HEAD" not in ref:  # a workspace's HEAD is its own
            commits[ref] = commit
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
        clones[Path(location).resolve()] = commit
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
            defer_init,
        )
        if key not in compiled:
            compiled[key] = real(self, source, name, filename, raw, defer_init)
        return _renamed(compiled[key], filename or "<template>")  # each clone has its path

    return compile


def _renamed(code: types.CodeType, filename: str) -> types.CodeType:
    """`code` as if compiled from `filename`: tracebacks and Template.filename name the file
    being rendered."""
    if code.co_filename == filename:
        return code
    constants = tuple(
        _renamed(constant, filename) if isinstance(constant, types.CodeType) else constant
        for constant in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=constants)


def _roots_remembered(real: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """copier asks whether a folder is a repository's root a dozen times per service; a
    root stays one while it lives (and every scratch folder has a path of its own)."""
    roots: set[Path] = set()

    def is_git_repo_root(path: Any) -> bool:
        folder = Path(path).absolute()
        if folder in roots:
            return True
        found = real(path)
        if found:
            roots.add(folder)
        return found

    return is_git_repo_root


def _objects_remembered(real: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """Where a repository keeps its objects: asked again for every alternate copier sets."""
    found: dict[Path, Path] = {}

    def get_git_objects_dir(path: Path) -> Path:
        key = Path(path).absolute()
        if key not in found:
            found[key] = real(path)
        return found[key]

    return get_git_objects_dir


# What copier asks git about a template clone: the same for every clone of a commit.
PER_COMMIT = ("commit", "commit_hash", "version", "git_index_modes")


def _asked_once_per_commit(
    real: Callable[[Any], Any], clones: dict[Path, str], answers: dict[tuple[str, str], Any]
) -> Callable[[Any], Any]:
    def ask(template: Any) -> Any:
        commit = clones.get(Path(template.local_abspath))
        if commit is None:  # not one of ours
            return real(template)
        key = (real.__name__, commit)
        if key not in answers:
            answers[key] = real(template)
        return answers[key]

    return ask


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


def _tasks_in_process(real: Any) -> Any:
    """copier's `subprocess`, but `python <template>/hooks/__main__.py ARGS` runs here when
    the template's hooks/ is the running one, byte for byte."""
    same: dict[Path, bool] = {}

    def run(command: Any, shell: bool = False, **options: Any) -> Any:
        script = Path(command[1]) if not shell and len(command) > 2 else None
        if (
            script is None
            or command[0] != sys.executable
            or script.name != "__main__.py"
            or not _same_hooks(script.parent, same)
        ):
            return real.run(command, shell=shell, **options)
        return subprocess.CompletedProcess(command, _run_hooks(list(command[2:])))

    return types.SimpleNamespace(run=run)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@functools.cache
def _running_hooks() -> dict[str, bytes]:
    return _tree(Path(__file__).resolve().parents[1])


def _same_hooks(folder: Path, same: dict[Path, bool]) -> bool:
    if folder not in same:
        same[folder] = folder.is_dir() and _tree(folder) == _running_hooks()
    return same[folder]


def _run_hooks(argv: list[str]) -> int:
    """`python -m hooks ARGV` without a new Python: its lines to stdout, its error to
    stderr, its exit status returned; an interruption goes on up, as it would reach both."""
    from hooks.cli import build_parser
    from hooks.errors import HookError

    args = build_parser().parse_args(argv)
    try:
        for line in args.run(args):
            print(line, flush=True)
    except HookError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


NO_MAINTENANCE = {"maintenance.auto": "false", "gc.auto": "0"}


@contextmanager
def installed(cache: Path) -> Iterator[None]:
    """Reuse clones (kept in `cache`), compiled templates and git's answers until the block
    ends; the template's tasks run in this process where they can."""
    cache.mkdir(parents=True, exist_ok=True)
    clones: dict[Path, str] = {}
    template_module: Any = copier._template  # it imports clone by name: patched there too
    main_module: Any = copier._main
    tools: Any = copier._tools
    template: Any = copier._template.Template
    worker: Any = copier._main.Worker
    clone = _cached_clone(cache, copier._vcs.clone, clones)
    answers: dict[tuple[str, str], Any] = {}
    patches: list[tuple[Any, str, Any]] = [
        (copier._vcs, "clone", clone),
        (template_module, "clone", clone),
        (jinja2.Environment, "compile", _compile_once(jinja2.Environment.compile)),
        (
            worker,
            "_sync_git_index_executable_bit",
            _file_mode_asked_once(worker._sync_git_index_executable_bit),
        ),
        (main_module, "subprocess", _tasks_in_process(main_module.subprocess)),
        (copier._vcs, "is_git_repo_root", _roots_remembered(copier._vcs.is_git_repo_root)),
        (tools, "get_git_objects_dir", _objects_remembered(tools.get_git_objects_dir)),
    ]
    for name in PER_COMMIT:
        asked = functools.cached_property(
            _asked_once_per_commit(template.__dict__[name].func, clones, answers)
        )
        asked.__set_name__(template, name)
        patches.append((template, name, asked))
    originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    settings = with_settings(dict(os.environ), NO_MAINTENANCE)
    environment = {key: os.environ.get(key) for key in settings}
    for owner, name, value in patches:
        setattr(owner, name, value)
    os.environ.update(settings)
    try:
        yield
    finally:
        for owner, name, value in originals:
            setattr(owner, name, value)
        for key, value in environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
