"""Settings, read only from environment variables (documented in .env.example)."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every variable the service reads. Names are the upper-case field names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    port: int = Field(default=8000, ge=1024, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Below the pod's terminationGracePeriodSeconds minus its preStop pause.
    shutdown_timeout_seconds: int = Field(default=20, ge=1, le=120)
    # 413 beyond it. Raising it raises peak memory (bodies.py): resize the memory limit too.
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    # Sample secret: it reaches the pod through the Kubernetes Secret, never the ConfigMap.
    upstream_api_token: SecretStr | None = None


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process."""
    return Settings()
