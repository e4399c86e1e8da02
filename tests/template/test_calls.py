"""Services that call each other: declared with the `calls` answer, found by the settings the
platform computes for each place, reachable along the declared calls only (the rendered
NetworkPolicies, judged as Kubernetes enforces them), started in order, and held to their
contracts."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks.core import contracts, graph
from hooks.core.answers import read_answers
from hooks.core.kube import kustomize_objects
from hooks.core.venvs import CACHE_VARIABLE
from hooks.devloop.places import cluster_settings, local_settings
from hooks.devloop.plan import tilt_plan
from tests.support.helpers import (
    commit_all,
    edit,
    git,
    make,
    make_in_service,
    release,
    repo_with_services,
)
from tests.support.netpol import Pod, may_connect
from tests.support.updates import APP_CHANGE, README_CHANGE, row

# shop (apps) calls orders (payments) and billing (apps); billing calls orders.
SYSTEM = {
    "orders": ["namespace=payments"],
    "billing": ["calls=orders"],
    "shop": ["calls=orders,billing"],
}


@pytest.fixture
def system(tmp_path: Path) -> Path:
    repo = repo_with_services(tmp_path / "repo", SYSTEM)
    commit_all(repo, "the system")
    return repo


def hooks(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hooks", *args], cwd=repo, capture_output=True, text=True
    )


def test_a_peer_must_exist_before_a_service_calls_it(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {})
    refused = make(repo, "service", "name=shop", "data=calls=orders")
    assert refused.returncode != 0
    assert "calls: orders is not a service here; generate it first (make service name=orders)" in (
        refused.stderr
    )
    assert not (repo / "services/shop").exists()
    for answer, message in [
        ("calls=shop", "a service does not call itself"),
        ("calls=Orders", "'Orders' is not a service name"),
        ("calls=orders,orders", "'orders' is listed twice"),
    ]:
        bad = make(repo, "service", "name=shop", f"data={answer}")
        assert message in bad.stderr, bad.stderr


def test_each_caller_finds_its_peers_in_the_cluster_and_here(system: Path) -> None:
    shop = system / "services/shop"
    orders = read_answers(system / "services/orders")
    cluster = cluster_settings(shop)
    assert cluster["ORDERS_URL"] == "http://orders.payments.svc.cluster.local:8000"
    assert cluster["BILLING_URL"] == "http://billing.apps.svc.cluster.local:8000"
    here = local_settings(shop)
    assert here["ORDERS_URL"] == f"http://127.0.0.1:{orders['dev_port'] + 1000}"
    assert here["PORT"] != cluster["PORT"]
    # The cluster's values are the committed ConfigMap's too (peers.env), for prod.
    [config] = [
        d for d in kustomize_objects(shop / "k8s/overlays/prod") if d["kind"] == "ConfigMap"
    ]
    assert config["data"]["ORDERS_URL"] == cluster["ORDERS_URL"]
    assert "PORT" in config["data"]


def pods_and_policies(repo: Path) -> tuple[dict[str, Pod], list[dict[str, Any]]]:
    """Each service's prod pod and every policy: the services' and their namespaces'."""
    policies, pods = [], {}
    namespaces = set()
    for service in sorted((repo / "services").glob("*/")):
        documents = kustomize_objects(service / "k8s/overlays/prod")
        policies += [d for d in documents if d["kind"] == "NetworkPolicy"]
        [deployment] = [d for d in documents if d["kind"] == "Deployment"]
        template = deployment["spec"]["template"]
        namespaces.add(deployment["metadata"]["namespace"])
        ports = template["spec"]["containers"][0]["ports"]
        pods[service.name] = Pod(
            deployment["metadata"]["namespace"],
            tuple(sorted(template["metadata"]["labels"].items())),
            tuple((p["name"], p["containerPort"]) for p in ports),
        )
    for namespace in namespaces:  # the platform's default-deny and DNS, as make dev applies
        for document in kustomize_objects(repo / "platform/namespaces"):
            if document["kind"] == "NetworkPolicy":
                policies.append(
                    {**document, "metadata": {**document["metadata"], "namespace": namespace}}
                )
    return pods, policies


def reachable(repo: Path) -> set[tuple[str, str]]:
    pods, policies = pods_and_policies(repo)
    return {
        (source, target)
        for source in pods
        for target in pods
        if source != target
        and may_connect(policies, pods[source], pods[target], dict(pods[target].ports)["http"])
    }


def test_the_declared_calls_are_the_only_paths(system: Path) -> None:
    assert reachable(system) == {("shop", "orders"), ("shop", "billing"), ("billing", "orders")}
    # The callee's side lists its callers: a new caller is reviewed there.
    policy = (system / "services/orders/k8s/base/calls-networkpolicy.yaml").read_text()
    assert "app.kubernetes.io/name: shop" in policy and "app.kubernetes.io/name: billing" in policy


def test_a_pod_of_the_same_namespace_is_not_let_in_unless_declared(system: Path) -> None:
    pods, policies = pods_and_policies(system)
    stranger = Pod("apps", (("app.kubernetes.io/name", "stranger"),), ())
    assert not may_connect(policies, stranger, pods["billing"], 8000)
    assert may_connect(policies, pods["shop"], pods["billing"], 8000)
    assert not may_connect(policies, pods["shop"], pods["billing"], 9000)  # its http port only


def test_a_new_call_reaches_both_sides_and_a_moved_peer_is_followed(system: Path) -> None:
    result = make(system, "update", "name=orders", "data=calls=billing")  # now a cycle
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("orders", "billing") in reachable(system)
    assert "services/billing: k8s/base/calls-networkpolicy.yaml follow" in result.stdout
    commit_all(system, "orders calls billing")
    moved = make(system, "update", "name=billing", "data=namespace=ledger")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "services/shop: k8s/base/peers.env" in moved.stdout  # callers follow
    shop_env = (system / "services/shop/k8s/base/peers.env").read_text()
    assert "BILLING_URL=http://billing.ledger.svc.cluster.local:8000" in shop_env
    assert reachable(system) == {
        ("shop", "orders"),
        ("shop", "billing"),
        ("billing", "orders"),
        ("orders", "billing"),
    }
    assert graph.unknown_peers(graph.nodes(system)) == []


def test_tilt_starts_a_service_after_its_peers_and_breaks_a_cycle(system: Path) -> None:
    plan = tilt_plan(system, ["shop"])
    deps = {s["name"]: s["resource_deps"] for s in plan["services"]}
    assert set(deps) == {"shop", "orders", "billing"}  # shop runs with what it calls
    assert deps == {
        "shop": ["platform", "orders", "billing"],
        "orders": ["platform"],
        "billing": ["platform", "orders"],
    }
    assert plan["notes"] == []
    answers = system / "services/orders/.copier-answers.yml"
    answers.write_text(
        answers.read_text().replace("namespace: payments", "calls: shop\nnamespace: payments")
    )
    cyclic = tilt_plan(system, [])
    assert cyclic["notes"] and all("a cycle" in note for note in cyclic["notes"])
    order = {s["name"]: set(s["resource_deps"]) - {"platform"} for s in cyclic["services"]}
    while order:  # what Tilt needs: some service can always start next
        ready = [name for name, deps in order.items() if not deps & order.keys()]
        assert ready, f"a cycle left in the start order: {order}"
        for name in ready:
            del order[name]


def test_a_service_from_before_the_question_gets_its_calls_through_data(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {}, tag=None)
    copier_yml = repo / "copier.yml"
    asked = copier_yml.read_text()
    start, end = asked.index("calls:\n"), asked.index("python_version:\n")
    copier_yml.write_text(
        asked[:start] + 'calls: {type: str, when: false, default: ""}\n' + asked[end:]
    )
    commit_all(repo, "0.1.0: calls not asked yet")
    git(repo, "tag", "v0.1.0")
    for name in ("orders", "shop"):
        assert make(repo, "service", f"name={name}").returncode == 0
    commit_all(repo, "services")
    assert "calls" not in read_answers(repo / "services/shop")
    copier_yml.write_text(asked)
    release(repo, "v0.2.0", {})

    result = make(repo, "update", "name=shop", "data=calls=orders")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "calls: not asked by v0.1.0; the newest template asks it" in result.stdout
    assert row(result.stdout, "shop")[2:] == ["v0.2.0", "updated"]
    shop = repo / "services/shop"
    assert read_answers(shop)["calls"] == "orders"
    assert (
        "ORDERS_URL=http://orders.apps.svc.cluster.local:8000"
        in (shop / "k8s/base/peers.env").read_text()
    )
    assert "orders_url" in (shop / "src/shop/chassis.py").read_text()  # the plumbing came


def publish(service: Path, operations: dict[str, dict[str, Any]]) -> None:
    (service / "openapi.json").write_text(json.dumps({"openapi": "3.1.0", "paths": operations}))


def test_a_peer_that_stops_offering_an_operation_fails_make_check(system: Path) -> None:
    for name in SYSTEM:
        publish(system / "services" / name, {"/": {"get": {}}, "/orders/{id}": {"get": {}}})
    assert contracts.problems(system) == []
    edit(
        system / "services/shop/contracts.yaml",
        "orders:\n  - GET /\n",
        "orders:\n  - GET /\n  - GET /orders/{id}\n",
    )
    assert contracts.problems(system) == []
    publish(system / "services/orders", {"/": {"get": {}}})
    [problem] = contracts.problems(system)
    assert "shop uses GET /orders/{id} on orders, which orders no longer offers" in problem


def test_a_removed_peer_still_called_is_reported_with_the_fix(system: Path) -> None:
    shutil.rmtree(system / "services/billing")
    problems = graph.unknown_peers(graph.nodes(system))
    assert problems == [
        "shop calls billing, which is not a service here: generate it (make service "
        'name=billing), or drop it: make update name=shop data="calls=orders"'
    ]
    plan = hooks(system, "tilt-plan")
    assert plan.returncode != 0 and "shop calls billing" in plan.stderr


def test_the_services_list_shows_who_calls_whom(system: Path) -> None:
    listed = make(system, "services").stdout
    rows = {line.split()[0]: line.split() for line in listed.splitlines()[1:]}
    assert rows["shop"][6] == "orders,billing" and rows["orders"][6] == "-"


def test_generated_files_are_current_after_make_service(system: Path) -> None:
    nodes = graph.nodes(system)
    for service in (system / "services").glob("*/"):
        assert graph.stale_files(nodes, service) == [], service.name
        yaml.safe_load_all((service / graph.POLICY).read_text())


def published_paths(service: Path) -> list[str]:
    return sorted(json.loads((service / contracts.PUBLISHED).read_text())["paths"])


def publishing_repo(tmp_path: Path) -> Path:
    """orders, its OpenAPI document published and committed, then a release whose chassis
    puts /metrics in the document."""
    repo = repo_with_services(tmp_path / "repo", {"orders": []})
    published = make_in_service(repo / "services" / "orders", "openapi")
    assert published.returncode == 0, published.stderr
    commit_all(repo, "orders publishes its document")
    assert "/metrics" not in published_paths(repo / "services" / "orders")
    release(repo, "v0.2.0", APP_CHANGE)
    return repo


def test_an_update_that_changes_the_app_publishes_its_document_again(tmp_path: Path) -> None:
    repo = publishing_repo(tmp_path)
    orders = repo / "services" / "orders"
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert row(result.stdout, "orders")[3] == "updated"
    assert "/metrics" in published_paths(orders)
    assert "openapi.json" not in result.stdout  # nothing to do by hand
    own = make_in_service(orders, "test", args="-k openapi")  # its own check says current
    assert own.returncode == 0, own.stdout + own.stderr
    written = git(repo, "status", "--porcelain", "--untracked-files=all", "services/orders")
    assert " M services/orders/openapi.json" in written.splitlines()
    assert "__pycache__" not in written and ".env" not in written


def test_an_update_that_cannot_publish_the_document_applies_and_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = publishing_repo(tmp_path)
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "no-venvs"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: the venv of its locks cannot be built
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels"))
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert row(result.stdout, "orders")[3] == "updated"
    assert "orders: openapi.json not published again (no venv for its locks" in result.stdout
    assert "make -C services/orders openapi" in result.stdout
    assert "/metrics" not in published_paths(repo / "services" / "orders")


def test_an_update_that_leaves_the_app_alone_leaves_the_document(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {"orders": []})
    orders = repo / "services" / "orders"
    (orders / contracts.PUBLISHED).write_text('{"paths": {"/kept": {"get": {}}}}\n')
    commit_all(repo, "orders publishes a document")
    release(repo, "v0.2.0", README_CHANGE)
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert published_paths(orders) == ["/kept"]
