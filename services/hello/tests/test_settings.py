"""The service's own settings (settings.py). This file is the service's."""

import pytest

from hello.settings import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("UPSTREAM_API_TOKEN", "s3cr3t")
    settings = Settings()
    assert settings.log_level == "debug"
    assert settings.upstream_api_token is not None
    assert "s3cr3t" not in repr(settings)
