"""Settings come only from environment variables."""

import pytest
from pydantic import ValidationError

from hello.settings import Settings


def test_defaults_match_the_generated_port() -> None:
    assert Settings().port == 8000


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("UPSTREAM_API_TOKEN", "s3cr3t")
    settings = Settings()
    assert (settings.port, settings.log_level) == (9123, "debug")
    assert settings.upstream_api_token is not None
    assert "s3cr3t" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "80"), ("MAX_REQUEST_BODY_BYTES", "100"), ("MAX_REQUEST_BODY_BYTES", "1e12")],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
