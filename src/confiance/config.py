"""Settings, one section per concern.

Every setting can be given as an environment variable ``CONFIANCE__SECTION__KEY`` (for example
``CONFIANCE__DATABASE__URL``). Library code receives a :class:`Settings` object; nothing reads
the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "AuditSettings",
    "CryptoSettings",
    "DatabaseSettings",
    "ErasureSettings",
    "MailSettings",
    "PiiSettings",
    "RightsSettings",
    "ServerSettings",
    "Settings",
    "StaffSettings",
]


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Empty means an embedded SQLite file "
            "'confiance.db' in the data directory. PostgreSQL: postgresql+psycopg://user@host/db."
        ),
    )
    pool_size: int = Field(
        default=5, ge=1, description="Connections kept per process (PostgreSQL)."
    )
    echo: bool = Field(default=False, description="Log every SQL statement (never in production).")


class CryptoSettings(BaseModel):
    keyring_file: Path | None = Field(
        default=None,
        description=(
            "Key file holding the key-encryption keys, the blind-index key and the audit "
            "signing key (mode 0600, made by 'confiance init'). Empty means "
            "'keyring.json' in the data directory."
        ),
    )
    keyring: SecretStr | None = Field(
        default=None,
        description=(
            "The key ring itself, as the JSON content of a key file, for deployments that pass "
            "secrets through the environment. Takes precedence over keyring_file."
        ),
    )
    rotate_after_erasures_hours: float = Field(
        default=24.0,
        ge=0,
        description=(
            "PostgreSQL: while serving, rotate the key-encryption key once the oldest erasure "
            "not yet covered by a rotation is this old, so that old row versions of erased "
            "customers can no longer be opened (0: never automatically)."
        ),
    )
    rotation_grace_seconds: float = Field(
        default=2.0,
        ge=0,
        description=(
            "During 'keys rotate', how long to wait after publishing the new key-encryption key "
            "before rewrapping, so that running servers pick it up."
        ),
    )


class AuditSettings(BaseModel):
    checkpoint_every: int = Field(
        default=256,
        ge=1,
        description="Write a signed checkpoint of the audit chain every N entries.",
    )
    checkpoint_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "While serving, sign a checkpoint of the chain's head this often (when it moved), so "
            "the tail that no checkpoint covers stays short even under light traffic."
        ),
    )
    checkpoint_file: Path | None = Field(
        default=None,
        description=(
            "Append-only file, outside the database, where signed checkpoints are copied so a "
            "truncated tail is caught. Empty means 'audit-checkpoints.jsonl' in the data "
            "directory."
        ),
    )


class ServerSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the API listens on.")
    workers: int = Field(
        default=1, ge=1, description="API worker processes (more than one needs PostgreSQL)."
    )
    api_key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description=(
            "How long a worker trusts an API key it has just authenticated. A revoked key "
            "stops working in other workers after at most this long; 0 checks every request."
        ),
    )
    access_log: bool = Field(
        default=False,
        description=(
            "Log every request's method, path and status. Off by default: API paths carry "
            "customer ids, which are pseudonymous personal data; the audit log already records "
            "every access to personal data."
        ),
    )


class MailSettings(BaseModel):
    """Where mail to customers (verification codes, answers to requests) goes."""

    sender: str = Field(
        default="Confiance <no-reply@confiance.example>",
        description="The From header of every message.",
    )
    host: str | None = Field(
        default=None,
        description=(
            "SMTP server. Empty (and no directory): mail stays in the outbox and "
            "'confiance mail status' says so."
        ),
    )
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="'starttls' (port 587), 'tls' (implicit TLS, 465) or 'none' (local relay).",
    )
    username: str | None = Field(default=None, description="SMTP user, if the server asks.")
    password: SecretStr | None = Field(default=None, description="SMTP password.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="SMTP connection timeout.")
    directory: Path | None = Field(
        default=None,
        description=(
            "Write each message as an .eml file in this directory instead of sending it (the "
            "demo uses 'mail' in the data directory, so its mails can be read locally)."
        ),
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, description="While serving, look for mail to send this often."
    )


class RightsSettings(BaseModel):
    """Rights requests: verification codes and deadlines."""

    code_ttl_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="How long a one-time code is valid."
    )
    code_attempts: int = Field(
        default=5, ge=1, le=20, description="Wrong codes allowed before a code is burnt."
    )
    codes_per_hour: int = Field(
        default=5,
        ge=1,
        description="Codes sent to one address per rolling hour, at most (more are not sent).",
    )
    unverified_days: int = Field(
        default=30,
        ge=1,
        description=(
            "A request whose address is not verified within this many days is closed and its "
            "address wiped (daily while serving, or 'confiance rights sweep')."
        ),
    )
    due_soon_days: int = Field(
        default=7, ge=0, description="A request due within this many days is listed as due soon."
    )


class StaffSettings(BaseModel):
    """Staff sign-in: password hashing, lockout and sessions."""

    argon2_time_cost: int = Field(
        default=3, ge=1, description="argon2id passes (RFC 9106: 3 with 64 MiB)."
    )
    argon2_memory_kib: int = Field(
        default=65536, ge=8192, description="argon2id memory in KiB (64 MiB)."
    )
    argon2_parallelism: int = Field(
        default=2, ge=1, description="argon2id lanes; no more than the machine's cores."
    )
    max_failures: int = Field(
        default=5, ge=1, description="Wrong passwords or codes before the account is locked."
    )
    lock_minutes: int = Field(
        default=15, ge=1, description="First lock's length; each further lock doubles it."
    )
    idle_minutes: int = Field(default=30, ge=1, description="A session unused this long ends.")
    absolute_hours: int = Field(
        default=12, ge=1, description="A session ends this long after sign-in."
    )
    issuer: str = Field(
        default="Confiance", description="The name authenticator apps show for the TOTP entry."
    )


class PiiSettings(BaseModel):
    """Personal data found in free text a customer wrote (a support ticket) on collection."""

    free_text: Literal["flag", "redact", "off"] = Field(
        default="flag",
        description=(
            "'flag': keep the text, note in the audit log which kinds of personal data it holds; "
            "'redact': replace what is found before storing; 'off': do not scan."
        ),
    )
    operator: Literal["replace", "mask", "redact"] = Field(
        default="replace",
        description="How 'redact' rewrites a finding: '<EMAIL>', '*****' or nothing.",
    )
    language: Literal["auto", "fr", "en"] = Field(
        default="auto", description="Language of the texts ('auto' guesses per text)."
    )


class ErasureSettings(BaseModel):
    log_file: Path | None = Field(
        default=None,
        description=(
            "Append-only file, outside the database, listing erased customers by pseudonymous "
            "id; replayed on restore. Empty means 'erasure-log.jsonl' in the data directory."
        ),
    )


class Settings(BaseSettings):
    """All settings of a Confiance installation."""

    model_config = SettingsConfigDict(
        env_prefix="CONFIANCE__",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Field(
        default=Path("confiance-data"),
        description="Directory for the embedded database, the key file and audit checkpoints.",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    crypto: CryptoSettings = Field(default_factory=CryptoSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    rights: RightsSettings = Field(default_factory=RightsSettings)
    erasure: ErasureSettings = Field(default_factory=ErasureSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    pii: PiiSettings = Field(default_factory=PiiSettings)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'confiance.db').resolve()}"

    @property
    def keyring_path(self) -> Path:
        return self.crypto.keyring_file or self.data_dir / "keyring.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.audit.checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    @property
    def erasure_log_path(self) -> Path:
        return self.erasure.log_file or self.data_dir / "erasure-log.jsonl"
