"""`make engine` (`python -m tests.support.engine`): a Docker engine and base images for the
container and cluster tests, here.

Machines without a registry cannot pull `python:*-slim-*`, so a stand-in is built from
Debian packages with the same Python major.minor: a test fixture only, the services'
Dockerfiles are built unmodified. Likewise the dev databases' official image (`postgres:17-*`)
gets a stand-in from Debian's package of the same major version, which behaves as the
official one does for the platform: its `postgres` user (UID 999), PGDATA, the POSTGRES_*
variables read by an entrypoint of the same contract, STOPSIGNAL SIGINT. The daemon it
starts keeps Docker's default bridge: Tilt's builds run their RUN steps on it, and fail
without it ("network bridge not found"). The tests themselves run containers with host
networking, on 127.0.0.1 only. The Debian client (20.10) builds with BuildKit, since the
newer client wants buildx.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hooks.devloop.doctor import can_build
from hooks.errors import HookError

DEBIAN_CLIENT = Path("/usr/bin/docker")
MIRROR = "http://deb.debian.org/debian"
# Debian releases whose python3 matches an image the template offers.
STAND_IN_SUITES = {"3.13": "trixie", "3.11": "bookworm"}
STAND_IN_PACKAGES = "python3,python3-venv,ca-certificates"
# Debian releases whose postgresql-N matches the official image's major version.
POSTGRES_SUITES = {"17": "trixie", "15": "bookworm"}
POSTGRES_UID = 999  # the official image's postgres user and group
ENTRYPOINT = Path(__file__).with_name("postgres-entrypoint.sh")


def docker_client() -> str:
    """The client that builds with BuildKit and no buildx: Debian's, when installed."""
    if DEBIAN_CLIENT.exists():
        return str(DEBIAN_CLIENT)
    found = shutil.which("docker")
    if found is None:
        raise HookError("no docker client; run `make engine` (or install Docker)")
    return found


def docker(*args: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run the docker client with BuildKit on."""
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    result = subprocess.run(
        [docker_client(), *args], capture_output=True, text=True, check=False, env=env, **kwargs
    )  # type: ignore[call-overload]
    if check and result.returncode:
        raise HookError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()[-2000:]}")
    return result  # type: ignore[no-any-return]


def engine_answers() -> bool:
    """Whether a Docker daemon answers the client."""
    try:
        return docker("version", "--format", "{{.Server.Version}}", check=False).returncode == 0
    except HookError:
        return False


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise HookError(
            f"install {' '.join(packages)} (Debian/Ubuntu: sudo apt-get install "
            f"{' '.join(packages)}), or Docker Desktop, then rerun"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def ensure_engine(log: Path, wait_seconds: int = 60) -> str:
    """Install Debian's docker.io and start its daemon when no engine answers."""
    if engine_answers():
        if not can_build(docker_client()).ok:
            raise HookError(
                "the Docker daemon that answers has no `bridge` network (started with "
                "--bridge=none?), so Tilt's image builds fail at their first RUN step. Stop it, "
                "then rerun make engine, which starts one with the default bridge"
            )
        return "a Docker engine answers"
    if shutil.which("dockerd") is None:
        _apt_install("docker.io")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        subprocess.Popen(
            ["dockerd"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if engine_answers():
            return f"started dockerd (log: {log})"
        time.sleep(1)
    raise HookError(f"dockerd did not answer within {wait_seconds} s; see {log}")


def image_exists(image: str) -> bool:
    return docker("image", "inspect", image, check=False).returncode == 0


def _debootstrap() -> str:
    """debootstrap lives in sbin, which a user's (or the tests') PATH may lack."""
    search = f"{os.environ.get('PATH', '')}:/usr/local/sbin:/usr/sbin:/sbin"
    found = shutil.which("debootstrap", path=search)
    if found is None:
        _apt_install("debootstrap")
        found = shutil.which("debootstrap", path=search)
    if found is None:
        raise HookError("debootstrap is not installed; run `make engine` as root")
    return found


def build_stand_in(image: str, suite: str) -> None:
    """Debian `suite` with python3, the machine's CA bundle, and `python` on PATH."""
    with tempfile.TemporaryDirectory(prefix="stand-in-") as scratch:
        root = Path(scratch) / "rootfs"
        _rootfs(suite, STAND_IN_PACKAGES, root)
        bundle = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        shutil.copyfile(bundle, root / "etc/ssl/certs/ca-certificates.crt")
        (root / "usr/local/bin/python").symlink_to("/usr/bin/python3")  # as the real image
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        changes = [
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            'CMD ["python3"]',
        ]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        flags = [part for change in changes for part in ("--change", change)]
        docker("import", *flags, "-", image, stdin=tar.stdout)
        tar.wait()


def _rootfs(suite: str, packages: str, root: Path) -> None:
    subprocess.run(
        [_debootstrap(), "--variant=minbase", f"--include={packages}", suite, str(root), MIRROR],
        check=True,
        capture_output=True,
    )


def _move_user(root: Path, name: str, uid: int) -> None:
    """Give `name` of the tree at `root` this UID and GID, and it every file it owned."""
    old: dict[str, int] = {}
    for table, field in (("passwd", 2), ("group", 2)):
        path = root / "etc" / table
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            parts = line.split(":")
            if parts[0] == name:
                old[table] = int(parts[field])
                parts[field] = str(uid)
                if table == "passwd":
                    parts[3] = str(uid)
                lines[number] = ":".join(parts)
        path.write_text("\n".join(lines) + "\n")
    for directory, folders, files in os.walk(root):
        for entry in [directory, *(os.path.join(directory, f) for f in folders + files)]:
            info = os.lstat(entry)
            if info.st_uid == old["passwd"] or info.st_gid == old["group"]:
                os.lchown(
                    entry,
                    uid if info.st_uid == old["passwd"] else -1,
                    uid if info.st_gid == old["group"] else -1,
                )


def build_postgres_stand_in(image: str, major: str, suite: str) -> None:
    """Debian `suite`'s postgresql-`major`, arranged as the official image is: no cluster of
    Debian's own, its user at UID 999, the server binaries on PATH, a sample configuration
    that listens on every address, PGDATA and the socket folder writable by that user, an
    entrypoint that initialises an empty PGDATA from POSTGRES_* (postgres-entrypoint.sh)."""
    with tempfile.TemporaryDirectory(prefix="stand-in-") as scratch:
        root = Path(scratch) / "rootfs"
        _rootfs(suite, f"postgresql-{major},libnss-wrapper,ca-certificates", root)
        for cluster in (root / "etc/postgresql", root / "var/lib/postgresql" / major):
            shutil.rmtree(cluster, ignore_errors=True)  # the package's own `main` cluster
        conf = root / "etc/postgresql-common/createcluster.conf"
        never = re.sub(
            r"#?\s*create_main_cluster\s*=.*", "create_main_cluster = false", conf.read_text()
        )
        conf.write_text(never)
        sample = root / f"usr/share/postgresql/{major}/postgresql.conf.sample"
        everywhere = "listen_addresses = '*'"
        listening = r"^#?listen_addresses\s*=\s*\S+"
        sample.write_text(re.sub(listening, everywhere, sample.read_text(), flags=re.M))
        _move_user(root, "postgres", POSTGRES_UID)
        for folder, mode in (("var/run/postgresql", 0o3777), ("var/lib/postgresql/data", 0o1777)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            os.chown(root / folder, POSTGRES_UID, POSTGRES_UID)
            (root / folder).chmod(mode)
        (root / "docker-entrypoint-initdb.d").mkdir(exist_ok=True)
        entrypoint = root / "usr/local/bin/docker-entrypoint.sh"
        shutil.copyfile(ENTRYPOINT, entrypoint)
        entrypoint.chmod(0o755)
        bundle = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        shutil.copyfile(bundle, root / "etc/ssl/certs/ca-certificates.crt")
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        path += f":/usr/lib/postgresql/{major}/bin"
        changes = [
            f"ENV PATH={path}",
            f"ENV PG_MAJOR={major}",
            "ENV PGDATA=/var/lib/postgresql/data",
            "ENV LANG=C.UTF-8",
            "EXPOSE 5432",
            'ENTRYPOINT ["docker-entrypoint.sh"]',
            'CMD ["postgres"]',
        ]
        unfinished = f"{image}-unfinished"
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        flags = [part for change in changes for part in ("--change", change)]
        docker("import", *flags, "-", unfinished, stdin=tar.stdout)
        tar.wait()
    # `docker import` takes no STOPSIGNAL: the official image's fast shutdown, in a layer.
    docker("build", "--quiet", "-t", image, "-", input=f"FROM {unfinished}\nSTOPSIGNAL SIGINT\n")
    docker("rmi", unfinished)


def ensure_database_image(image: str) -> tuple[bool, str]:
    """(usable, how): the official database image if present or pullable, else a stand-in."""
    if image_exists(image):
        return True, "present"
    if docker("pull", image, check=False, timeout=120).returncode == 0:
        return True, "pulled"
    found = re.fullmatch(r"postgres:(\d+)[.-]?.*", image)
    suite = POSTGRES_SUITES.get(found[1]) if found else None
    if found is None or suite is None:
        return False, f"not exercised: {image} cannot be pulled here and has no Debian stand-in"
    build_postgres_stand_in(image, found[1], suite)
    return True, f"stand-in from Debian {suite}'s postgresql-{found[1]}"


def ensure_base_image(image: str, python_version: str) -> tuple[bool, str]:
    """(usable, how): the real image if present or pullable, else a Debian stand-in."""
    if image_exists(image):
        return True, "present"
    if docker("pull", image, check=False, timeout=120).returncode == 0:
        return True, "pulled"
    suite = STAND_IN_SUITES.get(python_version)
    if suite is None:
        return False, (
            f"not exercised: {image} cannot be pulled here and no Debian release "
            f"ships Python {python_version} to stand in for it"
        )
    build_stand_in(image, suite)
    return True, f"stand-in from Debian {suite}"


def main() -> int:
    """Start an engine if none answers, then make every base image the template offers."""
    from hooks.core.settings import load_settings

    try:
        print(ensure_engine(Path(".cache") / "dockerd.log"))
        settings = load_settings(Path.cwd())
        for version, image in settings["python_images"].items():
            print(f"{image}: {ensure_base_image(image, version)[1]}")
        for database in settings["databases"].values():
            print(f"{database['image']}: {ensure_database_image(database['image'])[1]}")
    except HookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
