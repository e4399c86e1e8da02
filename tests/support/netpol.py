"""Who may reach whom under a set of NetworkPolicies, computed as Kubernetes enforces them
(the test cluster accepts policies but does not enforce them, so the rendered ones are judged
here): a connection needs an egress allow on the source pod and an ingress allow on the
destination pod, each from the union of the policies that select that pod for that direction.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[tuple[str, int], ...]  # (name, number) of its container ports

    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    wanted = selector.get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in wanted.items()) and not selector.get(
        "matchExpressions"
    )


def _peer_allows(peer: dict[str, Any], policy_namespace: str, other: Pod) -> bool:
    """One `from`/`to` element: podSelector and namespaceSelector together are an AND."""
    namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
    if "ipBlock" in peer:
        return False
    in_namespace = (
        _matches(peer["namespaceSelector"], namespace_labels)
        if "namespaceSelector" in peer
        else other.namespace == policy_namespace
    )
    in_pods = _matches(peer["podSelector"], other.label_map()) if "podSelector" in peer else True
    return in_namespace and in_pods


def _port_allowed(rule: dict[str, Any], destination: Pod, port: int) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    named = dict(destination.ports)
    return any(
        (entry.get("port") == port or named.get(str(entry.get("port"))) == port)
        and entry.get("protocol", "TCP") == "TCP"
        for entry in ports
    )


def _allows(
    policies: list[dict[str, Any]], pod: Pod, other: Pod, direction: str, port: int, dest: Pod
) -> bool:
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and _matches(p["spec"]["podSelector"], pod.label_map())
    ]
    if not selecting:
        return True  # not isolated in this direction
    key, side = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(side)
            allowed_peer = (
                True
                if peers is None
                else any(
                    _peer_allows(peer, policy["metadata"]["namespace"], other) for peer in peers
                )
            )
            if allowed_peer and _port_allowed(rule, dest, port):
                return True
    return False


def may_connect(policies: list[dict[str, Any]], source: Pod, destination: Pod, port: int) -> bool:
    """Whether `source` may open a TCP connection to `destination` on `port`."""
    return _allows(policies, source, destination, "Egress", port, destination) and _allows(
        policies, destination, source, "Ingress", port, destination
    )
