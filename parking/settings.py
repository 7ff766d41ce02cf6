"""Service settings, read from the environment (prefix ``PARKING_``) and ``.env``.

Nothing reads them at import time: ``Settings()`` is built by whoever starts a
process (``create_app``, the CLI, the test fixtures) and passed down.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

_DEV_SECRET = "dev-only-secret-change-me-dev-only-secret"


class Settings(BaseSettings):
    """Everything a process of this service needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix="PARKING_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = None
    """PostgreSQL DSN. Unset: an embedded PostgreSQL is started in ``data_dir``."""

    redis_url: str | None = None
    """Redis URL. Unset: in-process stores and locks (correct for one process only)."""

    redis_prefix: str = "parking"
    """Prefix of every Redis key this deployment writes (tests use one per run)."""

    secret_key: SecretStr = SecretStr(_DEV_SECRET)
    """Key that signs access tokens. The default is for local runs only."""

    timezone: str = "Asia/Shanghai"
    """Local timezone of the district: nights and windows are local dates and times."""

    data_dir: Path = Path("./.parking")
    """Where the embedded PostgreSQL keeps its data."""

    token_ttl_minutes: int = Field(default=60, gt=0)
    """Lifetime of an access token."""

    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, gt=0)

    debug: bool = False

    cookie_secure: bool = False
    """Send the web pages' cookies over HTTPS only: set true behind a TLS proxy."""

    max_vehicles_per_resident: int = Field(default=3, ge=1, le=20)
    """How many vehicles one verified resident may register."""

    availability_horizon_nights: int = Field(default=7, ge=0, le=62)
    """Nights after tonight whose availability is published to the district platform."""

    district_url: str | None = None
    """Base URL of the district platform. Unset: sync with the platform is off."""

    district_operator_id: str = "op-local"
    """This operator's id on the district platform (header ``x-operator-id``)."""

    district_secret: SecretStr | None = None
    """Shared Standard Webhooks secret (``whsec_...``) for both directions."""

    idempotency_ttl_hours: int = Field(default=24, ge=24)
    """How long an Idempotency-Key and its first answer are kept (at least a day)."""

    hold_minutes: int | None = Field(default=None, gt=0)
    """Set: a booking starts ``held`` for this long and must be confirmed; unset: confirmed."""

    arrival_grace_minutes: int = Field(default=60, ge=0, le=24 * 60)
    """How long after its start a booking not checked in at the gate becomes a no-show."""

    allocation_cutoff: dt.time = dt.time(17, 0)
    """Local time on a night's date until which requests for that night's allocation are
    accepted and may be withdrawn; the night job runs once it has passed."""

    allocation_time_limit_s: float = Field(default=60.0, gt=0, le=3600)
    """Seconds the night job's solver may spend on one night."""

    allocation_workers: int = Field(default=2, ge=1, le=64)
    """Solver threads of the night job."""

    allocation_seed: int = 0
    """Solver seed of the night job, for reproducible runs."""

    allocation_turnover_minutes: int = Field(default=10, ge=0, le=120)
    """Gap the night job keeps between two stays on one space, its own and existing ones."""

    # ---- operations: logs, metrics, rate limits, the worker (docs/operations.md)

    log_format: str = Field(default="json", pattern="^(json|text)$")
    """``json``: one JSON object per log line; ``text``: one readable line per record."""

    metrics_token: SecretStr | None = None
    """Set: ``/metrics`` needs ``Authorization: Bearer <token>``; unset: it is open."""

    rate_limit_window_s: int = Field(default=60, gt=0, le=86_400)
    """Length of every rate-limit window."""

    rate_limit_booking: int = Field(default=30, ge=0)
    """Bookings (POST /reservations) per signed-in user per window; 0: no limit."""

    rate_limit_auth: int = Field(default=20, ge=0)
    """Sign-ins and registrations per client address per window; 0: no limit."""

    rate_limit_district: int = Field(default=600, ge=0)
    """Calls of the district platform (/integrations/district/) per client address per
    window; 0: no limit."""

    worker_sweep_interval_s: float = Field(default=30.0, gt=0)
    """How often the worker expires holds, marks no-shows and purges idempotency keys."""

    worker_relay_interval_s: float = Field(default=1.0, gt=0)
    """How often the worker sends due outbox messages to the district platform."""

    worker_allocation_interval_s: float = Field(default=30.0, gt=0)
    """How often the worker looks for nights whose allocation cutoff has passed."""

    worker_reconcile_interval_s: float = Field(default=3600.0, gt=0)
    """How often the worker compares the platform's state with ours."""

    worker_shutdown_grace_s: float = Field(default=30.0, ge=0)
    """On SIGTERM, how long running jobs may take to finish before they are cancelled."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # Fail at start, not on the first night that needs the zone.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uses_dev_secret(self) -> bool:
        return self.secret_key.get_secret_value() == _DEV_SECRET
