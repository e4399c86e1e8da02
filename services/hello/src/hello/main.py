"""hello: the service's own routes and start-up work.

This file is the service's: `make update` never changes it. Probes, metrics, body limits
and shutdown come from chassis.py, which the template keeps up to date.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from hello import __version__
from hello.chassis import create_app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up work before the service reports ready, shutdown work after it stops."""
    # Open connection pools, warm caches and so on here.
    yield


app = create_app(title="hello", lifespan=lifespan)


class Echo(BaseModel):
    """Example request and response body."""

    message: str


@app.get("/")
def info() -> dict[str, str]:
    """Which service and version answered."""
    return {"service": "hello", "version": __version__}


@app.post("/echo")
def echo(body: Echo) -> Echo:
    """Example endpoint: returns the message it was sent."""
    return body
