"""Entry point: `python -m hello` serves the API with uvicorn.

`--reload` (the Dockerfile's dev target) restarts the server when a source file changes;
it runs uvicorn's plain server, without the drain of shutdown.py, which only prod needs.
"""

import argparse
from pathlib import Path
from typing import Any

import uvicorn

from hello.logs import log_config
from hello.settings import get_settings
from hello.shutdown import DrainingServer

APP = "hello.main:app"


def main() -> None:
    """Serve until SIGTERM, then drain (shutdown.py) and exit."""
    parser = argparse.ArgumentParser(prog="hello")
    parser.add_argument("--reload", action="store_true", help="restart on source changes")
    parser.add_argument(
        "--host",
        default="0.0.0.0",  # noqa: S104 - a container must listen on all interfaces
        help="address to listen on (tests use 127.0.0.1)",
    )
    args = parser.parse_args()
    settings = get_settings()
    options: dict[str, Any] = {
        "host": args.host,
        "port": settings.port,
        "log_config": log_config(settings.log_level),
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
    }
    if args.reload:
        uvicorn.run(APP, reload=True, reload_dirs=[str(Path(__file__).parent)], **options)
    else:
        DrainingServer(uvicorn.Config(APP, **options)).run()


if __name__ == "__main__":
    main()
