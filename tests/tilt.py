"""Evaluate Tiltfiles without Tilt: starlark-pyo3 against stubs with Tilt's real signatures.

Signatures follow Tilt's API reference (tilt.build `api/api/__init__.py`, plus `flags` on
kustomize, tilt PR #5957). Each file gets its own builtins, so relative paths resolve
against the file that makes the call, as in Tilt. `config.*` raises outside the root
Tiltfile (tilt-dev/tilt#3787). `load_dynamic` returns proxies to the loaded file's
functions, which run with that file's builtins.
"""

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import starlark as sl

import hooks.kube
from hooks.errors import HookError

DIALECT = sl.Dialect.extended()  # top-level if/for and reassignment, as in Tilt
GLOBALS = sl.Globals.extended_by(
    [
        sl.LibraryExtension.StructType,
        sl.LibraryExtension.Print,
        sl.LibraryExtension.Json,
        sl.LibraryExtension.Map,
        sl.LibraryExtension.Filter,
    ]
)
PRELUDE = """
config = struct(define_string_list=_config_define_string_list, define_string=_config_define_string,
                define_bool=_config_define_bool, parse=_config_parse,
                set_enabled_resources=_config_set_enabled_resources, main_dir=MAIN_DIR,
                tilt_subcommand="up")
os = struct(getenv=_os_getenv, environ=_os_environ,
            path=struct(join=_os_path_join, exists=_os_path_exists, basename=_os_path_basename,
                        dirname=_os_path_dirname, abspath=_os_path_abspath))

def _proxy(path, name):
    def call(*args, **kwargs):
        return _call_dynamic(path, name, args, kwargs)
    return call

def load_dynamic(path):
    return {name: _proxy(path, name) for name in _load_dynamic(path)}
"""


class TiltfileError(Exception):
    """What Tilt would report as a Tiltfile load error."""


@dataclass
class Call:
    """One recorded Tilt API call and the directory of the file that made it."""

    name: str
    file_dir: Path
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class TiltRun:
    """Evaluates a root Tiltfile and records every API call, in order."""

    root: Path
    args: list[str] = field(default_factory=list)
    context: str = "k3d-microplatform"
    env: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    config_defs: dict[str, tuple[str, bool]] = field(default_factory=dict)
    enabled: list[str] | None = None
    _modules: dict[Path, Any] = field(default_factory=dict)

    def run(self, tiltfile: str = "Tiltfile") -> "TiltRun":
        """Evaluate the root Tiltfile; Starlark errors become TiltfileError."""
        try:
            self._exec(self.root / tiltfile, is_root=True)
        except sl.StarlarkError as error:
            raise TiltfileError(str(error)) from error
        return self

    def named(self, name: str) -> list[Call]:
        """The recorded calls of one API function."""
        return [call for call in self.calls if call.name == name]

    # -- evaluation -------------------------------------------------------------------
    def _exec(self, path: Path, is_root: bool = False) -> Any:
        path = path.resolve()
        if path not in self._modules:
            module = sl.Module()
            for name, function in {**self._builtins(path.parent), **self._config(is_root)}.items():
                module.add_callable(name, function)
            prelude = PRELUDE.replace("MAIN_DIR", json.dumps(str(self.root)))
            sl.eval(module, sl.parse("<prelude>", prelude, DIALECT), GLOBALS)
            source = path.read_text()
            ast = sl.parse(str(path), source, DIALECT)
            sl.eval(module, ast, GLOBALS, self._loader(path.parent))
            self._modules[path] = (module.freeze(), re.findall(r"^def (\w+)\(", source, re.M))
        return self._modules[path]

    def _loader(self, base: Path) -> sl.FileLoader:
        def load(module_id: str) -> Any:
            if module_id.startswith("ext://"):
                raise TiltfileError(f"{module_id}: extensions are downloaded; vendor it")
            return self._exec(base / module_id)[0]

        return sl.FileLoader(load)

    # -- Tilt API stubs, bound to the directory of the calling file ---------------------
    def _builtins(self, file_dir: Path) -> dict[str, Any]:
        record = self._recorder(file_dir)

        def resolve(path: str) -> Path:
            return (file_dir / path).resolve()

        def docker_build(
            ref: str,
            context: str,
            build_args: dict[str, str] = {},
            dockerfile: str = "Dockerfile",
            dockerfile_contents: str = "",
            live_update: list[Any] = [],
            match_in_env_vars: bool = False,
            ignore: Any = [],
            only: Any = [],
            entrypoint: Any = [],
            target: str = "",
            ssh: Any = "",
            network: str = "",
            secret: Any = "",
            extra_tag: Any = "",
            container_args: list[str] | None = None,
            cache_from: Any = [],
            pull: bool = False,
            platform: str = "",
        ) -> None:
            record(
                "docker_build",
                ref=ref,
                context=str(resolve(context)),
                dockerfile=str(resolve(dockerfile)),
                live_update=live_update,
                only=only,
                ignore=ignore,
                target=target,
                entrypoint=entrypoint,
                build_args=build_args,
            )

        def kustomize(
            pathToDir: str, kustomize_bin: str | None = None, flags: list[str] = []
        ) -> str:
            directory = resolve(pathToDir)
            record("kustomize", path=str(directory), flags=flags)
            try:
                return hooks.kube.kustomize(directory, *flags)
            except HookError as error:  # Tilt reports it as a Tiltfile load error
                raise TiltfileError(str(error)) from error

        def k8s_yaml(yaml: Any, allow_duplicates: bool = False) -> None:
            record("k8s_yaml", yaml=yaml if "\n" in str(yaml) else str(resolve(yaml)))

        def k8s_resource(
            workload: str = "",
            new_name: str = "",
            port_forwards: Any = [],
            extra_pod_selectors: Any = [],
            trigger_mode: int = 0,
            resource_deps: list[str] = [],
            objects: list[str] = [],
            auto_init: bool = True,
            pod_readiness: str = "",
            links: Any = [],
            labels: Any = [],
            discovery_strategy: str = "",
        ) -> None:
            record(
                "k8s_resource",
                workload=workload,
                new_name=new_name,
                port_forwards=port_forwards,
                resource_deps=resource_deps,
                objects=objects,
                links=links,
                labels=labels,
            )

        def local_resource(
            name: str,
            cmd: Any = "",
            deps: Any = None,
            trigger_mode: int = 0,
            resource_deps: list[str] = [],
            ignore: Any = [],
            auto_init: bool = True,
            serve_cmd: Any = "",
            cmd_bat: Any = "",
            serve_cmd_bat: Any = "",
            allow_parallel: bool = False,
            links: Any = [],
            tags: list[str] = [],
            env: dict[str, str] = {},
            serve_env: dict[str, str] = {},
            readiness_probe: Any = None,
            dir: str = "",
            serve_dir: str = "",
            labels: Any = [],
        ) -> None:
            record(
                "local_resource",
                name=name,
                cmd=cmd,
                deps=deps,
                resource_deps=resource_deps,
                labels=labels,
            )

        def port_forward(
            local_port: int,
            container_port: int | None = None,
            name: str | None = None,
            link_path: str | None = None,
            host: str | None = None,
        ) -> dict[str, Any]:
            return {"local_port": local_port, "container_port": container_port, "name": name}

        def link(url: str, name: str | None = None) -> dict[str, Any]:
            return {"url": url, "name": name}

        def sync(local_path: str, remote_path: str) -> dict[str, Any]:
            return {"step": "sync", "local": str(resolve(local_path)), "remote": remote_path}

        def run(cmd: Any, trigger: Any = []) -> dict[str, Any]:
            triggers = [trigger] if isinstance(trigger, str) else trigger
            return {"step": "run", "cmd": cmd, "trigger": [str(resolve(t)) for t in triggers]}

        def fall_back_on(files: Any) -> dict[str, Any]:
            files = [files] if isinstance(files, str) else files
            return {"step": "fall_back_on", "files": [str(resolve(f)) for f in files]}

        def read_file(file_path: str, default: str | None = None) -> str:
            path = resolve(file_path)
            record("read_file", path=str(path))
            if not path.exists() and default is not None:
                return default
            return path.read_text()

        def read_yaml(path: str, default: Any = None) -> Any:
            import yaml

            target = resolve(path)
            record("read_yaml", path=str(target))
            if not target.exists() and default is not None:
                return default
            return yaml.safe_load(target.read_text())

        def listdir(directory: str, recursive: bool = False) -> list[str]:
            base = resolve(directory)
            record("listdir", directory=str(base), recursive=recursive)
            return sorted(str(p) for p in base.iterdir() if p.is_file()) if base.is_dir() else []

        def local(
            command: Any,
            quiet: bool = False,
            command_bat: Any = "",
            echo_off: bool = False,
            env: dict[str, str] = {},
            dir: str = "",
            stdin: Any = None,
        ) -> str:
            record("local", command=command, quiet=quiet, echo_off=echo_off)
            argv = ["sh", "-c", command] if isinstance(command, str) else command  # as Tilt
            result = subprocess.run(
                argv, cwd=resolve(dir or "."), capture_output=True, text=True, check=False
            )
            if result.returncode:
                raise TiltfileError(f"local {command} failed: {result.stderr}")
            return result.stdout

        def decode_yaml_stream(yaml: str) -> list[Any]:
            import yaml as pyyaml

            return [doc for doc in pyyaml.safe_load_all(yaml) if doc is not None]

        def encode_yaml_stream(objs: list[Any]) -> str:
            import yaml as pyyaml

            return pyyaml.safe_dump_all(objs, sort_keys=False)

        def update_settings(
            max_parallel_updates: int = 3,
            k8s_upsert_timeout_secs: int = 30,
            suppress_unused_image_warnings: Any = None,
        ) -> None:
            record("update_settings", max_parallel_updates=max_parallel_updates)

        def fail(msg: str) -> None:
            raise TiltfileError(msg)

        stubs = {
            "docker_build": docker_build,
            "kustomize": kustomize,
            "k8s_yaml": k8s_yaml,
            "k8s_resource": k8s_resource,
            "local_resource": local_resource,
            "port_forward": port_forward,
            "link": link,
            "sync": sync,
            "run": run,
            "fall_back_on": fall_back_on,
            "read_file": read_file,
            "read_yaml": read_yaml,
            "listdir": listdir,
            "fail": fail,
            "local": local,
            "decode_yaml_stream": decode_yaml_stream,
            "encode_yaml_stream": encode_yaml_stream,
            "k8s_context": lambda: self.context,
            "allow_k8s_contexts": lambda contexts: record("allow_k8s_contexts", contexts=contexts),
            "version_settings": lambda check_updates=True, constraint="": record(
                "version_settings", constraint=constraint
            ),
            "watch_file": lambda file_path: record("watch_file", path=str(resolve(file_path))),
            "update_settings": update_settings,
            "warn": lambda msg: record("warn", msg=msg),
            "_load_dynamic": lambda path: self._exec(resolve(path))[1],
            "_call_dynamic": lambda path, name, args, kwargs: self._exec(resolve(path))[0].call(
                name, *args, **kwargs
            ),
            "_os_getenv": lambda key, default=None: self.env.get(key, default),
            "_os_environ": lambda: dict(self.env),
            "_os_path_join": os.path.join,
            "_os_path_exists": lambda p: resolve(p).exists(),
            "_os_path_basename": os.path.basename,
            "_os_path_dirname": os.path.dirname,
            "_os_path_abspath": lambda p: str(resolve(p)),
        }
        return stubs

    def _config(self, is_root: bool) -> dict[str, Any]:
        def only_root(function: Any) -> Any:
            def guarded(*args: Any, **kwargs: Any) -> Any:
                if not is_root:
                    raise TiltfileError("config.* may only be called from the root Tiltfile")
                return function(*args, **kwargs)

            return guarded

        def define(kind: str) -> Any:
            def define_setting(name: str, args: bool = False, usage: str = "") -> None:
                self.config_defs[name] = (kind, args)

            return only_root(define_setting)

        def parse() -> dict[str, Any]:
            return {
                name: list(self.args)
                for name, (_, positional) in self.config_defs.items()
                if positional and self.args
            }

        def set_enabled_resources(resources: list[str]) -> None:
            self.enabled = list(resources)

        return {
            "_config_define_string_list": define("string_list"),
            "_config_define_string": define("string"),
            "_config_define_bool": define("bool"),
            "_config_parse": only_root(parse),
            "_config_set_enabled_resources": only_root(set_enabled_resources),
        }

    def _recorder(self, file_dir: Path) -> Any:
        def record(name: str, **kwargs: Any) -> None:
            self.calls.append(Call(name, file_dir, (), kwargs))

        return record
