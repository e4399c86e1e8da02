"""A service's own database in the dev cluster (the `database` answer): where it is, what it is
made with, and the Tilt resources that start it before the service.

For `database=postgres` the service's dev overlay holds a Postgres of its own
(k8s/components/postgres: a StatefulSet `<service>-postgres` on a PersistentVolumeClaim, its
Service and NetworkPolicy) and its base a migration Job `<service>-migrate`. The user,
password and database come from DATABASE_URL in the service's .env.development, one value for
both sides: the Postgres is made with them (the official image's POSTGRES_* variables, from
the ConfigMap and the Secret `<service>-postgres`) and the service reads the same URL with
the host and port of that Postgres' Service (its own Secret). Tilt starts the Postgres, then
the migration Job (ready once it completed), then the service. Prod has no database in the
cluster.

No message here ever holds DATABASE_URL or its password.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from hooks.core.answers import answer
from hooks.core.settings import load_settings
from hooks.errors import HookError

KINDS = {"postgres": 5432}  # each kind the `database` answer offers, and its port
URL_KEY = "DATABASE_URL"
EXAMPLE = "postgresql+asyncpg://USER:PASSWORD@localhost:5432/NAME"
DOCKERFILES = Path("platform")  # platform/<kind>/Dockerfile: the image Tilt builds


@dataclass(frozen=True)
class DevDatabase:
    """The database of one service in the dev cluster."""

    kind: str
    service: str
    namespace: str

    @property
    def name(self) -> str:
        """Its StatefulSet, Service, Secret and Tilt resource."""
        return f"{self.service}-{self.kind}"

    @property
    def migration(self) -> str:
        """The migration Job and its Tilt resource."""
        return f"{self.service}-migrate"

    @property
    def address(self) -> str:
        """host:port of its Service, from anywhere in the cluster."""
        return f"{self.name}.{self.namespace}.svc.cluster.local:{KINDS[self.kind]}"


def of(service: Path, answers: dict[str, Any]) -> DevDatabase | None:
    """The service's database, or None (the answer `none`, or no answer: before 0.3)."""
    kind = str(answers.get("database") or "none")
    if kind == "none":
        return None
    if kind not in KINDS:
        raise HookError(
            f"{service.name}: database '{kind}' is not one the platform runs; "
            f"one of: none, {', '.join(KINDS)}"
        )
    namespace = answer(service, answers, "namespace", str)
    return DevDatabase(kind, answer(service, answers, "service_name", str), namespace)


def _parts(database: DevDatabase, url: str) -> tuple[str, str, str]:
    """(user, password, database name) of DATABASE_URL, checked."""
    where = f"{database.service}: {URL_KEY} in .env.development"
    if not url.strip():
        raise HookError(
            f"{where} is missing or empty: the dev cluster's Postgres is made with its user, "
            f"password and database; add it as .env.example has it ({EXAMPLE})"
        )
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise HookError(f"{where} is not a URL (not shown); write it as {EXAMPLE}") from None
    if not parts.scheme.startswith(("postgresql", "postgres")) or not parts.netloc:
        raise HookError(f"{where} is not a Postgres URL (not shown); write it as {EXAMPLE}")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not user or not password:
        raise HookError(
            f"{where} names no {'user' if not user else 'password'}: the dev cluster's "
            f"Postgres is made with them; write it as {EXAMPLE}"
        )
    return user, password, unquote(parts.path.lstrip("/")) or user


def cluster_url(database: DevDatabase, url: str) -> str:
    """DATABASE_URL as the service reads it in the dev cluster: the user, password and
    database of .env.development's, at its own Postgres' Service."""
    _parts(database, url)
    parts = urlsplit(url.strip())
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@{database.address}"))


def server_settings(database: DevDatabase, url: str) -> tuple[dict[str, str], dict[str, str]]:
    """What the official image makes its database with (POSTGRES_*), from DATABASE_URL: the
    user and database for a ConfigMap, the password for a Secret (Tilt hides a Secret's
    values wherever they appear in its log, and a user named like the service is everywhere)."""
    user, password, name = _parts(database, url)
    return {"POSTGRES_USER": user, "POSTGRES_DB": name}, {"POSTGRES_PASSWORD": password}


def image_build(repo: Path, kind: str) -> dict[str, Any]:
    """The docker_build the root Tiltfile declares for a kind of database: the platform's
    Dockerfile over the official image of the settings (pinned when listed there)."""
    settings = load_settings(repo)
    image = settings["databases"][kind]["image"]
    digest = (settings.get("base_image_digests") or {}).get(image)
    return {
        # Its own name (the manifests': k8s/components/<kind>), since it is built FROM the
        # official image: Tilt matches images by name, tags aside.
        "ref": f"{settings['platform_name']}-{kind}",
        "context": str(repo / DOCKERFILES / kind),
        "dockerfile": str(repo / DOCKERFILES / kind / "Dockerfile"),
        "build_args": {
            "IMAGE": f"{image}@{digest}" if digest else image,
            "UID": str(settings["databases"][kind]["uid"]),
        },
    }


def resources(
    database: DevDatabase, documents: list[dict[str, Any]], labels: list[str]
) -> tuple[list[dict[str, Any]], set[str]]:
    """The Tilt resources that come before the service: its database, then its migration
    Job, each with the objects it needs first; and every object they took."""
    config = [d for d in documents if d["kind"] in ("ConfigMap", "ServiceAccount")]
    secrets = [d for d in documents if d["kind"] == "Secret"]
    server = [
        d
        for d in documents
        if d["metadata"]["name"].startswith(database.name)
        and d["kind"] in ("NetworkPolicy", "ConfigMap", "Secret")
    ]
    migration = [
        d
        for d in [*config, *secrets]
        if d not in server  # the service's own ConfigMap, Secret and ServiceAccount
    ] + [d for d in documents if d["metadata"]["name"] == f"{database.service}-database"]

    def selectors(objects: list[dict[str, Any]]) -> list[str]:
        return [f"{d['metadata']['name']}:{d['kind'].lower()}" for d in objects]

    taken = set(selectors(server)) | set(selectors(migration))
    return [
        {
            "workload": database.name,
            "objects": selectors(server),
            "labels": labels,
            "resource_deps": ["platform"],
        },
        {
            "workload": database.migration,
            "objects": selectors(migration),
            "labels": labels,
            "resource_deps": [database.name],
        },
    ], taken
