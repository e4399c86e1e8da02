"""Entry point: `python -m hello` serves the API with uvicorn.

`--reload` (the Dockerfile's dev target) restarts the server when a source file changes;
either way the connections are bounded and drained on SIGTERM (connections.py).
"""

import argparse
from pathlib import Path

import uvicorn

from hello.connections import server_options
from hello.logs import log_config
from hello.settings import get_settings

APP = "hello.main:app"


def main() -> None:
    """Serve until SIGTERM, then drain (connections.py) and exit."""
    parser = argparse.ArgumentParser(prog="hello")
    parser.add_argument("--reload", action="store_true", help="restart on source changes")
    parser.add_argument(
        "--host",
        default="0.0.0.0",  # noqa: S104 - a container must listen on all interfaces
        help="address to listen on (tests use 127.0.0.1)",
    )
    args = parser.parse_args()
    settings = get_settings()
    uvicorn.run(
        APP,
        host=args.host,
        port=settings.port,
        log_config=log_config(settings.log_level),
        reload=args.reload,
        reload_dirs=[str(Path(__file__).parent)] if args.reload else None,
        **server_options(settings.request_timeout_seconds, settings.shutdown_timeout_seconds),
    )


if __name__ == "__main__":
    main()
