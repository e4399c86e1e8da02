"""The service publishes its OpenAPI document (openapi.json): callers' contracts are checked
against it, so it must say what the app serves."""

from pathlib import Path

from hello.openapi import document

PUBLISHED = Path(__file__).parents[1] / "openapi.json"


def test_the_published_openapi_document_is_the_apps() -> None:
    if not PUBLISHED.exists():  # a new service: published now, then commit it
        PUBLISHED.write_text(document())
    assert PUBLISHED.read_text() == document(), "stale: run `make openapi`, then commit it"
