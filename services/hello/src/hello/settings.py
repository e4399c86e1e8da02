"""The service's own settings, read only from environment variables (.env.example).

This file is the service's: `make update` never changes it. The platform's variables
(port, timeouts, log level, body limit) are PlatformSettings in chassis.py.
"""

from functools import lru_cache

from pydantic import SecretStr

from hello.chassis import PlatformSettings


class Settings(PlatformSettings):
    """Every variable the service reads: the platform's, and these."""

    # Sample secret: it reaches the pod through the Kubernetes Secret, never the ConfigMap.
    upstream_api_token: SecretStr | None = None


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process."""
    return Settings()
