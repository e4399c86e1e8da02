"""The nine measurements of `make bench`, each on throwaway repositories and images."""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import Series, percentile, timed
from hooks.update import parallel
from tests.support.containers import PodSpec, image_bytes, running
from tests.support.engine import docker, engine_answers
from tests.support.helpers import VENVS, add_service, git, service_venv, snapshot_repo
from tests.support.load import (
    MIB,
    bodies_waiting,
    concurrent_posts,
    constants,
    cpu_seconds,
    early_answer,
    json_bomb,
    oversized_post,
    peak_rss_mib,
    serving,
    slow_heads,
    stalled_by_held_budget,
    throughput,
)
from tests.support.load import run as drive
from tests.support.net import free_port, http_get, wait_for
from tests.support.tiltfile import tiltfile_result
from tests.support.validation import by_kind, kustomize, quantity

VENV = Path(sys.prefix)
COPIER = str(VENV / "bin" / "copier")
Section = tuple[str, list[Series], list[str]]


def run(command: list[str], cwd: Path, **kwargs: Any) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, **kwargs)


def copier_copy(template: Path, destination: Path, name: str, ref: str) -> None:
    """A bare `copier copy`, tasks skipped: the baseline `make service` is compared with."""
    run(
        [
            COPIER,
            "copy",
            "-q",
            "--trust",
            "--defaults",
            "--skip-tasks",
            "-r",
            ref,
            "-d",
            f"service_name={name}",
            str(template),
            str(destination),
        ],
        template,
    )


def make(repo: Path, *args: str) -> None:
    run(["make", "--no-print-directory", *VENVS, *args], repo, stdin=subprocess.DEVNULL)


def platform_repo(path: Path, services: int) -> Path:
    """This repository released as v0.1.0, with `services` services committed."""
    repo = snapshot_repo(path, tag="v0.1.0")
    (repo / ".venv").symlink_to(VENV)
    for number in range(services):
        add_service(repo, f"svc{number:02d}")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "services", "--allow-empty")
    return repo


def scaffold(work: Path, runs: int) -> tuple[Section, float]:
    """1. `make service` against a bare `copier copy --skip-tasks` of the same release."""
    repo = platform_repo(work / "scaffold", 0)
    ours, bare = Series("make service", "s"), Series("copier copy --skip-tasks", "s")
    for number in range(runs):
        ours.values.append(timed(lambda n=number: make(repo, "service", f"name=svc{n}")))
        bare.values.append(
            timed(lambda n=number: copier_copy(repo, work / f"bare{n}", f"bare{n}", "v0.1.0"))
        )
    ratio = ours.median / bare.median
    return ("1. Scaffold", [ours, bare], [f"Overhead ratio (medians): **{ratio:.2f}**"]), ratio


def rollout(work: Path, counts: tuple[int, ...], runs: int) -> tuple[Section, dict[int, Path]]:
    """2. `make update` after a template change, for growing numbers of services."""
    series, notes, repos = [], [], {}
    for count in counts:
        repo = platform_repo(work / f"rollout-{count}", count)
        readme = repo / "template" / "README.md.jinja"
        readme.write_text(readme.read_text() + "\nA new convention.\n")
        git(repo, "commit", "-qam", "template v0.2.0")
        git(repo, "tag", "v0.2.0")
        per_service = Series(f"{count} service(s): seconds per service", "s")
        for _ in range(runs):
            seconds = timed(lambda r=repo: make(r, "update"))
            per_service.values.append(seconds / count)
            git(repo, "reset", "-q", "--hard")
            git(repo, "clean", "-fdq", "services")
        series.append(per_service)
        repos[count] = repo
    growth = series[-1].median / series[0].median
    notes.append(
        f"Per-service time at {counts[-1]} services over at {counts[0]}: **{growth:.2f}**"
        f" (1.0 = linear total time); {counts[-1]} services in"
        f" **{series[-1].median * counts[-1]:.0f} s**, {parallel.JOBS} at a time."
    )
    return ("2. Rollout", series, notes), repos


def images(work: Path, runs: int) -> tuple[Section, dict[str, float | None]]:
    """3-6. Image size, rebuild, start and reload, with a real engine."""
    figures: dict[str, float | None] = dict.fromkeys(
        ("own_mb", "naive_own_mb", "rebuild_ratio", "ready_s", "reload_s")
    )
    if not engine_answers():
        return (
            "3-6. Images and containers",
            [],
            ["Not measured: no Docker engine answers (`make engine`)."],
        ), figures
    service = work / "image-svc"
    copier_copy(snapshot_repo(work / "image-repo"), service, "bench", "HEAD")
    base = re.search(r"^FROM (\S+) AS base", (service / "Dockerfile").read_text(), re.M)
    if base is None:
        raise ValueError("the rendered Dockerfile has no `FROM ... AS base` stage")
    build = ["build", "--network", "host", "--target", "runtime", "-t", "bench:runtime"]
    cold, rebuild = Series("cold build (--no-cache)", "s"), Series("code-only rebuild", "s")
    for number in range(runs):
        cold.values.append(timed(lambda: docker(*build, "--no-cache", str(service))))
        main = service / "src" / "bench" / "main.py"
        main.write_text(main.read_text() + f"\n# change {number}\n")
        rebuild.values.append(timed(lambda: docker(*build, str(service))))
    own = (image_bytes("bench:runtime") - image_bytes(base.group(1))) / 1e6
    naive = work / "naive.Dockerfile"
    naive.write_text(
        f"FROM {base.group(1)}\nWORKDIR /app\nCOPY . .\n"
        # Naive: one stage, the whole folder, every dependency, pip's cache kept in the layer.
        "RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements-dev.lock\n"
        'CMD ["/opt/venv/bin/python", "-m", "bench"]\n'
    )
    docker("build", "--network", "host", "-f", str(naive), "-t", "bench:naive", str(service))
    naive_own = (image_bytes("bench:naive") - image_bytes(base.group(1))) / 1e6
    size = Series("runtime image", "MB", [image_bytes("bench:runtime") / 1e6])
    layers = Series("own layers above the base", "MB", [own])
    naive_layers = Series("naive single-stage: own layers", "MB", [naive_own])
    ready, reload_ = _start_and_reload(service, runs)
    figures.update(
        own_mb=own,
        naive_own_mb=naive_own,
        rebuild_ratio=rebuild.median / cold.median,
        ready_s=ready.median,
        reload_s=reload_.median,
    )
    notes = [
        f"Own layers / naive: **{own / naive_own:.2f}**; "
        f"rebuild / cold: **{rebuild.median / cold.median:.2f}**. Cold builds reuse "
        "BuildKit's pip cache mount, as a developer's second build does."
    ]
    docker("rmi", "-f", "bench:naive", check=False)
    return (
        "3-6. Images and containers",
        [size, layers, naive_layers, cold, rebuild, ready, reload_],
        notes,
    ), figures


def _start_and_reload(service: Path, runs: int) -> tuple[Series, Series]:
    """5. container start to ready; 6. dev target: source change to new code served."""
    ready, reload_ = Series("start to ready", "s"), Series("live reload", "s")
    docker("build", "--network", "host", "--target", "dev", "-t", "bench:dev", str(service))
    prod = PodSpec.render(service, "overlays/prod")
    for _ in range(runs):
        started = time.perf_counter()
        with running("bench:runtime", prod, "bench-start") as (_, port):
            wait_for(lambda p=port: http_get(p, "/readyz", timeout=1)[0] == 200, 30, "ready", 0.02)
            ready.values.append(time.perf_counter() - started)
    main = service / "src" / "bench" / "main.py"
    with running("bench:dev", PodSpec.render(service, "overlays/dev"), "bench-dev") as (name, port):
        wait_for(lambda: http_get(port, "/readyz", timeout=1)[0] == 200, 30, "ready")
        for number in range(runs):
            marker = f"reload-{number}"
            main.write_text(
                main.read_text().replace('"service": ', f'"{marker}": "1", "service": ', 1)
            )
            started = time.perf_counter()
            tar = subprocess.run(
                ["tar", "-C", str(service), "-c", "src/bench/main.py"],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(
                ["/usr/bin/docker", "exec", "-i", name, "tar", "-C", "/app", "-x"],
                input=tar,
                check=True,
                capture_output=True,
            )
            wait_for(lambda m=marker: m in http_get(port, "/", timeout=1)[1], 30, "served", 0.02)
            reload_.values.append(time.perf_counter() - started)
    return ready, reload_


def tiltfile(repo: Path, runs: int) -> tuple[Section, tuple[int, int]]:
    """7. Root Tiltfile evaluation by real Tilt with 20 services, selecting one and all."""
    names = sorted(p.name for p in (repo / "services").glob("svc*"))
    one, every = Series("select 1 of 20", "s"), Series(f"select all {len(names)}", "s")
    renders = {}
    for series, args in ((one, (names[0],)), (every, ())):
        for _ in range(runs):
            series.values.append(timed(lambda a=args: tiltfile_result(repo, args=a)))
        loaded = tiltfile_result(repo, args=args).resources
        renders[series.name] = len([name for name in loaded if name != "platform"])
    note = "Service overlays rendered: " + ", ".join(f"{k}: **{v}**" for k, v in renders.items())
    return ("7. Tiltfile load", [one, every], [note]), (renders[one.name], renders[every.name])


def footprint(repo: Path) -> tuple[Section, int]:
    """8. The dev overlay's summed requests against the default namespace quota."""
    quota = by_kind(kustomize(repo / "platform" / "namespaces"), "ResourceQuota")[0]["spec"]["hard"]
    [deployment] = by_kind(
        kustomize(next((repo / "services").glob("svc*")) / "k8s/overlays/dev"), "Deployment"
    )
    replicas = deployment["spec"]["replicas"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    fits = {}
    for bound in ("requests", "limits"):
        for resource, amount in container[bound].items():
            key = f"{bound}.{resource}"
            if key in quota:
                fits[key] = int(quantity(quota[key]) // (quantity(amount) * replicas))
    fits["pods"] = int(quantity(quota["pods"]) // replicas)
    limiting = min(fits, key=fits.__getitem__)
    notes = [
        "| quota | services that fit |",
        "|---|---|",
        *(f"| {key} | {count} |" for key, count in sorted(fits.items())),
        "",
        f"**{fits[limiting]}** services fit; the limit is `{limiting}`.",
    ]
    return ("8. Footprint (dev overlay vs namespace quota)", [], notes), fits[limiting]


CONNECTIONS = 16


def service_load(work: Path, seconds: float, runs: int) -> tuple[Section, dict[str, float]]:
    """9. The generated service as a process on 127.0.0.1: GET / on 16 keep-alive
    connections (the load generator shares the machine's cores), then hostile bodies."""
    service = work / "load-svc"
    copier_copy(snapshot_repo(work / "load-repo"), service, "bench", "HEAD")
    python, spec = service_venv(), PodSpec.render(service, "overlays/prod")
    rate = Series(f"requests/s at {CONNECTIONS} connections", "req/s")
    p50, p99 = Series("latency p50", "ms"), Series("latency p99", "ms")
    cpu = Series("server CPU per request", "ms")
    for _ in range(runs):
        with serving(service, python, spec.config, port := free_port()) as process:
            used = cpu_seconds(process.pid)
            count, latencies = drive(throughput(port, CONNECTIONS, seconds))
            cpu.values.append((cpu_seconds(process.pid) - used) / count * 1000)
            rate.values.append(count / seconds)
            p50.values.append(percentile(latencies, 0.5) * 1000)
            p99.values.append(percentile(latencies, 0.99) * 1000)
    with serving(service, python, spec.config, port := free_port()) as process:
        rest = Series("peak RSS at rest", "MiB", [peak_rss_mib(process.pid)])
        drive(oversized_post(port, 60 * MIB, chunked=False, read_early=False))
        drive(concurrent_posts(port, b"x" * (10 * MIB), 10))
        oversized = Series("peak RSS after oversized bodies (413)", "MiB")
        oversized.values.append(peak_rss_mib(process.pid))
        bomb = json_bomb(int(spec.config["MAX_REQUEST_BODY_BYTES"]))
        bombed = ", ".join(
            f"{n} x {s}" for s, n in sorted(drive(concurrent_posts(port, bomb, 32)).items())
        )
        bombs = Series("peak RSS after 32 parallel at-limit JSON bombs", "MiB")
        bombs.values.append(peak_rss_mib(process.pid))
    hostile, hostile_notes, hostile_figures = _slow_clients(service, python, spec)
    notes = [
        f"Oversized: one 60 MiB body and ten parallel 10 MiB bodies, all answered 413 unread. "
        f"Bombs: `[{{}},{{}},...]` of MAX_REQUEST_BODY_BYTES each, queued by the body budget "
        f"for at most REQUEST_TIMEOUT_SECONDS ({bombed}). Memory limit: "
        f"{spec.memory_limit_mib:.0f} MiB. One core at this CPU per request serves about "
        f"{1000 / cpu.median:.0f} req/s.",
        *hostile_notes,
    ]
    figures = {
        "p99_ms": p99.median,
        "peak_ratio": bombs.median / spec.memory_limit_mib,
        **hostile_figures,
    }
    table = [rate, p50, p99, cpu, rest, oversized, bombs, *hostile]
    return ("9. The service under load", table, notes), figures


def _slow_clients(
    service: Path, python: Path, spec: PodSpec
) -> tuple[list[Series], list[str], dict[str, float]]:
    """9, continued (issue 25): slow heads, slow bodies, a held body budget and a 413 for
    10 GB announced, each against a fresh process."""
    limits, config = constants(service), spec.config
    timeout, size = int(config["REQUEST_TIMEOUT_SECONDS"]), int(config["MAX_REQUEST_BODY_BYTES"])
    holders, waiters = limits["BODIES_IN_MEMORY"], limits["MAX_CONNECTIONS"] - 4
    with serving(service, python, config, port := free_port()) as process:
        drive(slow_heads(port, 15_000, 15_000, timeout / 4, timeout + 30), seconds=600)
        heads = Series("peak RSS under 15,000 slow heads", "MiB", [peak_rss_mib(process.pid)])
    with serving(service, python, config, port := free_port()) as process:
        shed = drive(bodies_waiting(port, holders, waiters, size, 3 * timeout + 10))
        bodies = Series(f"peak RSS under {waiters} slow bodies", "MiB")
        bodies.values.append(peak_rss_mib(process.pid))
    with serving(service, python, config, port := free_port()) as process:
        held, status, waited = drive(stalled_by_held_budget(port, holders, size, 3 * timeout))
        stall = Series("a small POST stalled by a held body budget", "s", [waited])
        used = cpu_seconds(process.pid)
        refused, sent = drive(early_answer(port, 10**10, 1024 * MIB))
        discard = Series("server CPU on a 413 for 10 GB announced", "s")
        discard.values.append(cpu_seconds(process.pid) - used)
    limit = spec.memory_limit_mib
    notes = [
        f"Slow heads: 15,000 clients each send 15 KB of a head that never ends (at most "
        f"{limits['MAX_CONNECTIONS']} are held, each for REQUEST_TIMEOUT_SECONDS, {timeout} s). "
        f"Slow bodies: {holders} clients hold the body budget, then {waiters} send a whole "
        f"{size // MIB} MiB body each, which waits for a share (answers: {dict(shed)}). Held "
        f"budget: {holders} clients announce {size} bytes and send one (answers: {dict(held)}); "
        f"a small POST then waits (answer: {status}). 413: the client could send "
        f"{sent / MIB:.0f} MiB of the 10 GB before the server closed (answer: {refused}).",
        f"Peak RSS / memory limit: slow heads **{heads.median / limit:.2f}**, slow bodies "
        f"**{bodies.median / limit:.2f}**.",
    ]
    figures = {
        "slow_heads_ratio": heads.median / limit,
        "slow_bodies_ratio": bodies.median / limit,
        "stall_s": stall.median,
        "timeout_s": float(timeout),
    }
    return [heads, bodies, stall, discard], notes, figures


def cleanup(work: Path) -> None:
    for image in ("bench:runtime", "bench:dev"):
        docker("rmi", "-f", image, check=False)
    shutil.rmtree(work, ignore_errors=True)
