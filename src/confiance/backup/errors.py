"""Errors of backup and restore. None carries a value from the vault: they name files,
revisions, tables, key ids and pseudonymous customer ids only."""

from __future__ import annotations

from pathlib import Path

from confiance.errors import ConfianceError, ConfigurationError, Conflict

__all__ = [
    "BackupError",
    "BackupExists",
    "BackupInvalid",
    "BackupKeysMissing",
    "BackupTooNew",
    "ErasuresNotApplied",
    "RestoreRefused",
]


class BackupError(ConfianceError):
    code = "backup"
    status = 500
    title = "Backup or restore failed"


class BackupInvalid(BackupError):
    """The file is not a complete, unaltered Confiance backup. Nothing was changed."""

    code = "backup-invalid"
    title = "The backup file cannot be used"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The backup {path} cannot be restored: {reason}. Nothing was changed; use another "
            "copy of the backup.",
            path=str(path),
            reason=reason,
        )


class BackupTooNew(BackupError):
    code = "backup-too-new"
    title = "The backup comes from a newer Confiance"

    def __init__(self, path: Path, revision: str, head: str | None) -> None:
        super().__init__(
            f"The backup {path} was taken at schema revision {revision}, which this version of "
            f"Confiance does not know (its newest is {head}). Install the Confiance version "
            "that made the backup, or a newer one, and restore with it. Nothing was changed.",
            path=str(path),
            revision=revision,
            head=head,
        )


class BackupExists(BackupError):
    code = "backup-exists"
    title = "The backup file already exists"

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} already exists; choose another name, or pass --overwrite to replace it.",
            path=str(path),
        )


class BackupKeysMissing(ConfigurationError):
    """Data keys in the backup are wrapped under key-encryption keys the key file no longer
    holds (typically: a key rotation since the backup, and the key file of today)."""

    code = "backup-keys-missing"
    title = "The key file cannot open this backup"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"The backup's data keys are wrapped under key-encryption keys {', '.join(missing)}, "
            "which the key file does not hold (a key rotation since the backup retired them). "
            "Restore with the key file backed up together with this backup (CONFIANCE__CRYPTO"
            "__KEYRING_FILE). Nothing was changed.",
            missing_kek_ids=missing,
        )


class RestoreRefused(Conflict):
    code = "restore-would-overwrite"
    title = "The database already holds customers"

    def __init__(self, customers: int) -> None:
        super().__init__(
            f"The database to restore into holds {customers} customers, and a restore replaces "
            "everything in it. Pass --yes to replace it. Nothing was changed.",
            customers=customers,
        )


class ErasuresNotApplied(ConfigurationError):
    """Customers listed in the erasure log are back in the database: a restore without the
    erasure replay, or a copy of an old database put in place by hand."""

    code = "erasures-not-applied"
    title = "Erased customers are back in the database"

    def __init__(self, customer_pids: list[str]) -> None:
        shown = ", ".join(customer_pids[:5]) + (" …" if len(customer_pids) > 5 else "")
        super().__init__(
            f"{len(customer_pids)} customers listed in the erasure log still have erased data in "
            f"the database ({shown}). Restore with 'confiance restore', which replays the "
            "erasure log, before serving.",
            customer_pids=customer_pids,
        )
