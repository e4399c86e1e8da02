"""The dev loop with the real tools, on the cluster the tests use (tests/livecluster.py):
`tilt ci` to all-ready, live update and a full rebuild through the port-forward, and the
cluster's start when it is the realcluster of CI."""

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.report import Series, percentile, timed
from hooks.core.ports import taken_dev_ports
from tests.support.helpers import add_service, commit_all, edit, snapshot_repo
from tests.support.livecluster import LiveCluster, find_cluster
from tests.support.net import free_ports, http_get, http_post, wait_for
from tests.support.validation import by_kind, kustomize, quantity

Section = tuple[str, list[Series], list[str]]
TITLE = "10. Dev loop on a real cluster"
# Tilt's own figures for a Python service (docs.tilt.dev example_python): a live update
# serves an edit in 1-2 s, an optimised image rebuild in 2.5-3.1 s, a naive one in 10-11 s.
TILT_PUBLISHED = (
    "Tilt publishes 1-2 s for a live update, 2.5-3.1 s for an optimised image rebuild and "
    "10-11 s for a naive one. The rebuild here is a Dockerfile change (fall_back_on): a new "
    "image and pod, with the dependency layers cached, so Tilt's optimised case."
)


def platform(work: Path, namespace: str, names: list[str]) -> Path:
    """This repository with `names` generated into `namespace`, on free local ports."""
    repo = snapshot_repo(work)
    (repo / ".venv").symlink_to(sys.prefix)
    edit(repo / "platform/settings/settings.yaml", "default: apps", f"default: {namespace}")
    commit_all(repo, "this run's namespace")  # a template change: committed before generating
    for name, port in zip(names, free_ports(len(names)), strict=True):
        add_service(repo, name, [f"dev_port={port}"])
    commit_all(repo, "services")
    return repo


def ci(cluster: LiveCluster, repo: Path, *services: str) -> None:
    result = cluster.ci(repo, *services)
    if result.returncode:
        raise RuntimeError(f"tilt ci failed: {(result.stdout + result.stderr)[-3000:]}")


def edits(cluster: LiveCluster, repo: Path, namespace: str, runs: int) -> tuple[Series, Series]:
    """Edit to served through the port-forward: a source edit, and one with the Dockerfile.

    A rebuild counts as served only once no pod from before it is left: a live update of
    the source edit alone would otherwise serve the marker first."""
    [tilt_port] = free_ports(1, taken=taken_dev_ports(repo))  # Tilt forwards those
    session = subprocess.Popen(
        [cluster.tilt, "up", "--context", cluster.context, "--port", str(tilt_port), "--", "svc0"],
        cwd=repo,
        env=cluster.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    service = repo / "services" / "svc0"
    port = int(re.search(r"dev_port: (\d+)", (service / ".copier-answers.yml").read_text())[1])
    main = service / "src" / "svc0" / "main.py"
    live, rebuild = (
        Series("edit to served: live update", "s"),
        Series("edit to served: rebuild", "s"),
    )
    try:
        wait_for(lambda: http_get(port, "/readyz")[0] == 200, 300, "svc0 ready")
        for number in range(runs):
            for series, dockerfile in ((live, False), (rebuild, True)):
                marker = f"{series.name[-7:]}-{number}-{uuid.uuid4().hex[:6]}"
                before = pods(cluster, namespace) if dockerfile else set()
                text = re.sub(r'"service": [^,]*,', f'"service": "{marker}",', main.read_text())
                started = time.perf_counter()
                main.write_text(text)
                if dockerfile:  # fall_back_on: the whole image is built and deployed again
                    with (service / "Dockerfile").open("a") as file:
                        file.write(f"# {marker}\n")
                wait_for(
                    lambda m=marker, b=before: (
                        m in http_get(port, "/")[1] and not (b and b & pods(cluster, namespace))
                    ),
                    300,
                    f"{marker} served",
                )
                series.values.append(time.perf_counter() - started)
    finally:
        os.killpg(session.pid, 15)
        session.wait(timeout=60)
    return live, rebuild


def pods(cluster: LiveCluster, namespace: str) -> set[str]:
    """The uids of svc0's live pods."""
    return {pod["metadata"]["uid"] for pod in cluster.pods(namespace, "svc0")}


def cluster_start() -> Series | None:
    """`realcluster down` then `up`, when REALCLUSTER names it and BENCH_RESTART_CLUSTER=1."""
    tool = os.environ.get("REALCLUSTER")
    if not tool or os.environ.get("BENCH_RESTART_CLUSTER") != "1":
        return None
    context = os.environ.get("PLATFORM_KUBE_CONTEXT", "realcluster")
    subprocess.run([tool, "down"], check=True, capture_output=True)
    series = Series("realcluster up (warm: images and etcd kept)", "s")
    series.values.append(
        timed(
            lambda: subprocess.run(
                [tool, "up", "--context", context], check=True, capture_output=True
            )
        )
    )
    return series


def dev_loop(work: Path, runs: int) -> tuple[Section, dict[str, float | None]]:
    """10. tilt ci for 1 and 5 services, cold and warm; live update and rebuild latency."""
    found = find_cluster()
    if isinstance(found, str):
        return (TITLE, [], [f"Not measured: {found}."]), {"live_s": None}
    cluster, namespace = found, f"mp-bench-{uuid.uuid4().hex[:6]}"
    names = [f"svc{n}" for n in range(5)]
    repo = platform(work / "devloop", namespace, names)
    series = []
    try:
        for count in (1, 5):
            cold, warm = (
                Series(f"tilt ci, {count} service(s), cold", "s"),
                Series(f"tilt ci, {count} service(s), warm", "s"),
            )
            cold.values.append(timed(lambda c=count: ci(cluster, repo, *names[:c])))
            for _ in range(runs):
                warm.values.append(timed(lambda c=count: ci(cluster, repo, *names[:c])))
            series += [cold, warm]
        live, rebuild = edits(cluster, repo, namespace, runs)
        series += [live, rebuild]
        started = cluster_start()
        series += [started] if started else []
    finally:
        cluster.down(repo)
        shutil.rmtree(repo, ignore_errors=True)
    notes = [
        "Cold: services never deployed (their images built and pushed for the first time, "
        "with Docker's layer cache warm); warm: the same again, nothing changed.",
        TILT_PUBLISHED,
        f"Live update against rebuild (medians): **{rebuild.median / live.median:.1f}x**.",
    ]
    if not started:
        notes.append("Cluster start: set REALCLUSTER and BENCH_RESTART_CLUSTER=1 to measure it.")
    return (TITLE, series, notes), {"live_s": live.median}


SYSTEM_TITLE = "13. A system on a real cluster: a new service, and calls between services"


def system(work: Path, runs: int) -> tuple[Section, dict[str, float | None]]:
    """`make service` to Ready through a running `tilt up`, a call through the client against
    the same request made directly, and a peer's return to the caller's first good answer."""
    found = find_cluster()
    if isinstance(found, str):
        return (SYSTEM_TITLE, [], [f"Not measured: {found}."]), {"new_service_s": None}
    cluster, namespace = found, f"mp-bench-{uuid.uuid4().hex[:6]}"
    repo = platform(work / "system", namespace, ["callee"])
    [port] = free_ports(1)
    add_service(repo, "caller", ["calls=callee", f"dev_port={port}"])
    commit_all(repo, "caller")
    ports = {
        name: int(
            re.search(
                r"dev_port: (\d+)", (repo / f"services/{name}/.copier-answers.yml").read_text()
            )[1]
        )
        for name in ("callee", "caller")
    }
    [tilt_port] = free_ports(1, taken=ports.values())
    session = subprocess.Popen(  # every service: a new one must appear by itself
        [cluster.tilt, "up", "--context", cluster.context, "--port", str(tilt_port)],
        cwd=repo,
        env=cluster.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    appear = Series("make service to Ready through a running tilt up", "s")
    through, direct = Series("GET through the client", "s"), Series("GET made directly", "s")
    recovery = Series("peer back to the caller's first good answer", "s")
    try:
        for name in ports:
            wait_for(lambda p=ports[name]: http_get(p, "/readyz")[0] == 200, 300, f"{name} ready")
        for number in range(runs):
            [fresh] = free_ports(1, taken=[tilt_port, *taken_dev_ports(repo)])
            started = time.perf_counter()
            add_service(repo, f"fresh{number}", [f"dev_port={fresh}"])
            wait_for(lambda f=fresh: http_get(f, "/readyz")[0] == 200, 300, "new service ready")
            appear.values.append(time.perf_counter() - started)
        for _ in range(100 * runs):
            for port, path, series in (
                (ports["caller"], "/peers/callee", through),
                (ports["callee"], "/", direct),
            ):
                series.values.append(timed(lambda p=port, u=path: http_get(p, u)))
        scale = ("scale", "deployment/callee", "-n", namespace)
        for _ in range(runs):
            cluster.kubectl(*scale, "--replicas=0")
            wait_for(
                lambda: (
                    not cluster.get("pods", "-n", namespace, "-l", "app.kubernetes.io/name=callee")[
                        "items"
                    ]
                ),
                120,
                "callee gone",
            )
            cluster.kubectl(*scale, "--replicas=1")
            started = time.perf_counter()
            wait_for(
                lambda: http_get(ports["caller"], "/peers/callee")[0] == 200, 180, "callee back"
            )
            recovery.values.append(time.perf_counter() - started)
    finally:
        os.killpg(session.pid, 15)
        session.wait(timeout=60)
        cluster.down(repo)
        shutil.rmtree(repo, ignore_errors=True)
    added = [a - b for a, b in zip(sorted(through.values), sorted(direct.values), strict=True)]
    notes = [
        "A new service: from `make service` (run while `tilt up` runs over every service, with "
        "no step by hand) to its /readyz answering 200 through its port-forward; warm: the "
        "dependency layers are in Docker's cache.",
        f"One call through the client (caller's GET /peers/callee, which calls callee's GET /) "
        f"against callee's GET / made directly, both through a port-forward: p50 "
        f"{percentile(through.values, 0.5) * 1000:.1f} ms against "
        f"{percentile(direct.values, 0.5) * 1000:.1f} ms, p99 "
        f"{percentile(through.values, 0.99) * 1000:.1f} ms against "
        f"{percentile(direct.values, 0.99) * 1000:.1f} ms; the call adds about "
        f"{percentile(added, 0.5) * 1000:.1f} ms at p50.",
        "Recovery: the callee scaled to zero, then back to one; timed from the scale-up to the "
        "caller's first 200 (the callee's start-up and readiness included).",
    ]
    return (SYSTEM_TITLE, [appear, through, direct, recovery], notes), {
        "new_service_s": appear.median,
        "peer_added_p50_ms": percentile(added, 0.5) * 1000,
    }


DATABASE_TITLE = "14. A service with its own Postgres on a real cluster"


def database_footprint(service: Path, quota: dict[str, str]) -> list[str]:
    """The dev requests of a service with its database against the namespace quota."""
    documents = kustomize(service / "k8s/overlays/dev")
    requests: dict[str, float] = {}
    pods = 0
    for kind in ("Deployment", "StatefulSet"):  # the migration Job ends before it matters
        for workload in by_kind(documents, kind):
            pods += workload["spec"].get("replicas", 1)
            for container in workload["spec"]["template"]["spec"]["containers"]:
                for resource, amount in container["resources"]["requests"].items():
                    requests[resource] = requests.get(resource, 0) + quantity(amount)
    fits = {
        f"requests.{resource}": int(quantity(quota[f"requests.{resource}"]) // amount)
        for resource, amount in requests.items()
        if f"requests.{resource}" in quota
    }
    fits["pods"] = int(quantity(quota["pods"]) // pods)
    limiting = min(fits, key=fits.__getitem__)
    return [
        f"Footprint in the dev namespace: the service and its Postgres request "
        f"{requests['cpu'] * 1000:.0f}m CPU and {requests['memory'] / 2**20:.0f} MiB "
        f"(the Postgres 50m and 128 MiB of that, its 1 GiB volume apart): **{fits[limiting]}** "
        f"such services fit the namespace quota (the limit is `{limiting}`), against the "
        "plain services of section 8.",
    ]


def database(work: Path, runs: int) -> tuple[Section, dict[str, float | None]]:
    """`tilt ci` to the service Ready with its database, cold (namespace new: the database
    made, migrated) and warm (nothing changed), and POST /items through a port-forward."""
    found = find_cluster()
    if isinstance(found, str):
        return (DATABASE_TITLE, [], [f"Not measured: {found}."]), {"database_warm_s": None}
    cluster, namespace = found, f"mp-bench-{uuid.uuid4().hex[:6]}"
    repo = snapshot_repo(work / "database")
    (repo / ".venv").symlink_to(sys.prefix)
    edit(repo / "platform/settings/settings.yaml", "default: apps", f"default: {namespace}")
    commit_all(repo, "this run's namespace")
    [port] = free_ports(1)
    add_service(repo, "ledger", ["database=postgres", f"dev_port={port}"])
    commit_all(repo, "ledger")
    cold = Series("tilt ci to Ready with its database, cold", "s")
    warm = Series("tilt ci to Ready with its database, warm", "s")
    posted = Series("POST /items through a port-forward", "ms")
    try:
        cold.values.append(timed(lambda: ci(cluster, repo, "ledger")))
        for _ in range(runs):
            warm.values.append(timed(lambda: ci(cluster, repo, "ledger")))
        with cluster.forwarded(namespace, "svc/ledger", 8000) as local:
            for number in range(100 * runs):
                started = time.perf_counter()
                status, body = http_post(local, "/items", {"name": f"item {number}"})
                posted.values.append((time.perf_counter() - started) * 1000)
                if status != 201:
                    raise RuntimeError(f"POST /items answered {status}: {body}")
        quota = by_kind(kustomize(repo / "platform" / "namespaces"), "ResourceQuota")[0]
        footprint = database_footprint(repo / "services" / "ledger", quota["spec"]["hard"])
    finally:
        cluster.down(repo)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        shutil.rmtree(repo, ignore_errors=True)
    notes = [
        "From `tilt ci` started to every resource ready: the Postgres (Ready once it takes "
        "connections), the migration Job (complete), then the service (/readyz: its database "
        "answers at the schema it needs). Cold: a namespace of its own, so the database is made "
        "(initdb) and migrated for the first time, with Docker's layer cache warm; warm: the "
        "same again, nothing changed.",
        f"POST /items (one insert, committed): p50 {percentile(posted.values, 0.5):.1f} ms, p99 "
        f"{percentile(posted.values, 0.99):.1f} ms, {len(posted.values)} requests one after "
        "another through `kubectl port-forward`.",
        *footprint,
    ]
    return (DATABASE_TITLE, [cold, warm, posted], notes), {
        "database_warm_s": warm.median,
        "post_items_p99_ms": percentile(posted.values, 0.99),
    }
