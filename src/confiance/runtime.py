"""Wiring: one :class:`Runtime` holds the database, the key ring, the audit log and the vault
of an installation. The CLI, the API and the tests build it from :class:`Settings`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from confiance.actors import Actor
from confiance.apikeys.service import AuthCache
from confiance.audit.service import AuditEvent, AuditLog
from confiance.config import Settings
from confiance.consent.receipting import receipt_issuer
from confiance.consent.service import ConsentLedger
from confiance.consent.writer import ConsentWriter
from confiance.crypto import Keyring, KeyringSource, Signer, write_keyring
from confiance.db import Database, migrate
from confiance.erasure import connectors as erasure_connectors
from confiance.erasure.log import ErasureLogFile
from confiance.erasure.service import ConnectorOutcome, Eraser
from confiance.errors import ConfianceError, ConfigurationError
from confiance.keys import service as keys_service
from confiance.mail import service as mail_service
from confiance.manifest.schemas import Manifest
from confiance.manifest.service import LoadedManifest
from confiance.pii.operators import Operator
from confiance.pii.policy import FreeTextAction, FreeTextPolicy
from confiance.portal.service import Portal
from confiance.retention.service import RetentionSweep
from confiance.rights.service import RightsDesk
from confiance.staff.service import StaffAccounts
from confiance.vault.errors import VaultError
from confiance.vault.service import Vault
from confiance.webhooks import service as webhooks_service

__all__ = ["InitReport", "Runtime", "initialize"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keys: KeyringSource
    audit: AuditLog
    vault: Vault
    consent: ConsentLedger
    auth_cache: AuthCache
    eraser: Eraser
    rights: RightsDesk
    staff: StaffAccounts
    portal: Portal
    retention: RetentionSweep
    _writer: ConsentWriter | None = field(default=None, init=False, repr=False)

    @property
    def consent_writer(self) -> ConsentWriter:
        """Group commit for consent changes over HTTP (its thread starts on first use)."""
        if self._writer is None:
            self._writer = ConsentWriter(
                self.db, self.consent, unit=self.unit, on_refused=self.record_refusal
            )
        return self._writer

    @classmethod
    def open(cls, settings: Settings, *, check_schema: bool = True) -> Runtime:
        keys = _keyring_source(settings)
        db = Database(
            settings.database_url,
            echo=settings.database.echo,
            pool_size=settings.database.pool_size,
        )
        if check_schema and migrate.current_revision(db) != migrate.head_revision():
            db.dispose()
            raise ConfigurationError(
                "The database schema is not up to date; run 'confiance init'.",
            )
        return cls.assemble(settings, db=db, keys=keys)

    @classmethod
    def assemble(cls, settings: Settings, *, db: Database, keys: KeyringSource) -> Runtime:
        """Wire the services around an existing database and key ring (tests, benchmarks)."""
        audit = AuditLog(
            signer=Signer(keys.get().audit_signing_key),
            checkpoint_every=settings.audit.checkpoint_every,
            checkpoint_file=settings.checkpoint_path,
        )
        consent = ConsentLedger(
            audit=audit, receipts=receipt_issuer(keys), outbox=webhooks_service.enqueue_many
        )
        vault = Vault(keys=keys, audit=audit, consent=consent, free_text=_free_text(settings))
        eraser = Eraser(
            keys=keys,
            audit=audit,
            log_file=ErasureLogFile(settings.erasure_log_path),
            outbox=webhooks_service.enqueue,
            connectors=run_connectors,
        )
        return cls(
            settings=settings,
            db=db,
            keys=keys,
            audit=audit,
            vault=vault,
            consent=consent,
            auth_cache=AuthCache(settings.server.api_key_cache_seconds),
            eraser=eraser,
            rights=RightsDesk(
                keys=keys,
                audit=audit,
                vault=vault,
                consent=consent,
                eraser=eraser,
                settings=settings.rights,
                mail=mail_service.enqueue,
            ),
            staff=StaffAccounts(keys=keys, audit=audit, settings=settings.staff),
            retention=RetentionSweep(keys=keys, audit=audit, consent=consent, eraser=eraser),
            portal=Portal(
                keys=keys,
                audit=audit,
                vault=vault,
                rights_settings=settings.rights,
                session_settings=settings.staff,
            ),
        )

    @contextmanager
    def unit(self, actor: Actor) -> Iterator[Session]:
        """One transaction for one request or command.

        When the vault refuses access to personal data (a purpose the actor does not hold, a
        missing consent, an unknown customer), the refused transaction rolls back, and the
        refusal is recorded in the audit log in a transaction of its own: probing leaves a trace.
        """
        try:
            with self.db.transaction() as session:
                yield session
        except VaultError as exc:
            if exc.refused_access:
                self.record_refusal(actor, exc)
            raise

    def record_refusal(self, actor: Actor, exc: VaultError) -> None:
        """Record a refused access in the audit log, in a transaction of its own."""
        customer = exc.fields.get("customer_id")
        purpose = exc.fields.get("purpose")
        try:
            with self.db.transaction() as session:
                self.audit.record(
                    session,
                    AuditEvent(
                        action="access.refused",
                        actor=actor.label,
                        customer_pid=customer if isinstance(customer, str) else None,
                        purpose=purpose if isinstance(purpose, str) else None,
                        outcome=exc.code,
                    ),
                )
        except ConfianceError:
            # The refusal stands either way; losing its trace must not turn it into a 500.
            log.warning("could not record a refused access in the audit log (%s)", exc.code)

    def manifest_loaded_hook(self, actor: Actor) -> Callable[[Session, LoadedManifest], None]:
        """Audit hook for a newly stored manifest version."""

        def hook(session: Session, loaded: LoadedManifest) -> None:
            self.audit.record(
                session,
                AuditEvent(
                    action="manifest.load",
                    actor=actor.label,
                    detail=f"version {loaded.seq} sha256 {loaded.sha256}",
                ),
            )

        return hook

    def require_erasures_applied(self) -> None:
        """Refuse to serve a database that still holds data of a customer the erasure log
        lists (a backup restored by hand, without the replay): see docs/backup.md."""
        from confiance.backup.service import require_erasures_applied

        with self.db.read() as session:
            require_erasures_applied(session, log_file=self.eraser.log_file)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.db.dispose()


def run_connectors(manifest: Manifest, identity: Mapping[str, Any]) -> list[ConnectorOutcome]:
    """Run the manifest's erasure connectors with the identity values they match on."""
    lookups = {f.name for f in manifest.fields if f.lookup} | {"customer_id"}
    matched = {k: v for k, v in identity.items() if k in lookups and v is not None}
    return [
        ConnectorOutcome(
            name=r.name, action=r.action, rows=r.rows, status=r.status, error_kind=r.error_kind
        )
        for r in erasure_connectors.run(manifest, identity=matched)
    ]


def _free_text(settings: Settings) -> FreeTextPolicy | None:
    """How free text is scanned on collection (``None``: not at all)."""
    if settings.pii.free_text == "off":
        return None
    return FreeTextPolicy(
        action=FreeTextAction(settings.pii.free_text),
        operator=Operator(settings.pii.operator),
        language=settings.pii.language,
    )


def _keyring_source(settings: Settings) -> KeyringSource:
    if settings.crypto.keyring is not None:
        return KeyringSource(inline=settings.crypto.keyring.get_secret_value())
    return KeyringSource(path=settings.keyring_path)


@dataclass(frozen=True)
class InitReport:
    data_dir: Path
    keyring_created: bool
    keyring_path: Path | None
    database: str


def initialize(settings: Settings) -> InitReport:
    """Create the data directory, the key file (mode 0600) and the schema; idempotent."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    created = False
    keyring_path: Path | None = None
    if settings.crypto.keyring is None:
        keyring_path = settings.keyring_path
        if not keyring_path.exists():
            write_keyring(keyring_path, Keyring.generate())
            created = True
    db = Database(settings.database_url, echo=settings.database.echo)
    try:
        migrate.upgrade(db)
        keys = _keyring_source(settings)
        with db.transaction() as session:
            keys_service.ensure_registered(session, keys=keys)
    finally:
        db.dispose()
    return InitReport(
        data_dir=settings.data_dir,
        keyring_created=created,
        keyring_path=keyring_path,
        database=repr(db),
    )
