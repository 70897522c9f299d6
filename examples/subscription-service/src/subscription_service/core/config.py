"""Application settings, read from `SUBS_*` environment variables."""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as `SUBS_<FIELD_NAME>`."""

    model_config = SettingsConfigDict(env_prefix="SUBS_", env_file=".env", extra="ignore")

    app_name: str = "subscription-service"
    environment: str = "local"
    log_level: str = "INFO"

    database_url: SecretStr
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)

    admin_api_key: SecretStr = SecretStr("adm-live-7Qe2r9KfXw4Lb8Zt")

    kafka_bootstrap_servers: str = "localhost:9092"
    kafka_client_id: str = "subscription-service"
    kafka_consumer_group: str = "subscription-service"
    topic_subscription_created: str = "subscriptions.created"
    topic_subscription_cancelled: str = "subscriptions.cancelled"
    topic_payments: str = "billing.payments"
    topic_payments_dlq: str = "billing.payments.dlq"
    consumer_max_attempts: int = Field(default=3, ge=1)
    retry_base_delay_s: float = Field(default=0.2, ge=0)
    publish_max_attempts: int = Field(default=3, ge=1)

    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return Settings()
