"""The key ring: key-encryption keys (KEKs), the blind-index key and the audit signing key.

The ring lives outside the database: in a key file written with mode 0600 by
``confiance init``, or in the ``CONFIANCE__CRYPTO__KEYRING`` environment variable. KEKs form an
ordered ring: the *primary* one wraps new data keys, the others only unwrap until rotation has
rewrapped everything under the primary and they are retired (removed from the ring).

A :class:`KeyringSource` watches the file, so a server picks up a KEK added by
``confiance keys rotate`` in another process without restarting.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from confiance import clock
from confiance.crypto.aead import KEY_ID_SIZE, SymmetricKey, context, key_id_of
from confiance.crypto.errors import DecryptionFailed, KeyringError
from confiance.crypto.secret import Secret

__all__ = ["KEYRING_FORMAT", "Kek", "Keyring", "KeyringSource"]

KEYRING_FORMAT = "confiance-keyring/1"


@dataclass(frozen=True)
class Kek:
    key: SymmetricKey
    created_at: datetime

    @property
    def id(self) -> str:
        return self.key.id.hex()


@dataclass(frozen=True)
class Keyring:
    keks: tuple[Kek, ...]
    primary_id: str
    blind_index_key: Secret
    audit_signing_key: Secret
    _by_id: dict[bytes, SymmetricKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {k.key.id: k.key for k in self.keks})
        if bytes.fromhex(self.primary_id) not in self._by_id:
            raise KeyringError("The key ring's primary KEK is not in the ring.")

    # -- construction -------------------------------------------------------------------
    @classmethod
    def generate(cls) -> Keyring:
        kek = Kek(SymmetricKey.generate(label="KEK"), clock.now())
        return cls(
            keks=(kek,),
            primary_id=kek.id,
            blind_index_key=Secret(os.urandom(32), label="blind-index key"),
            audit_signing_key=Secret(os.urandom(32), label="audit signing key"),
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            doc = json.loads(text)
            if doc.get("format") != KEYRING_FORMAT:
                raise KeyringError(f"Not a Confiance key ring (expected format {KEYRING_FORMAT}).")
            keks = tuple(
                Kek(
                    SymmetricKey(
                        bytes.fromhex(item["id"]),
                        Secret(base64.b64decode(item["key"]), label="KEK"),
                    ),
                    datetime.fromisoformat(item["created_at"]),
                )
                for item in doc["keks"]
            )
            return cls(
                keks=keks,
                primary_id=doc["primary"],
                blind_index_key=Secret(
                    base64.b64decode(doc["blind_index_key"]), label="blind-index key"
                ),
                audit_signing_key=Secret(
                    base64.b64decode(doc["audit_signing_key"]), label="audit signing key"
                ),
            )
        except KeyringError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyringError(
                "The key ring is malformed; restore it from your backup of the key file.",
                reason=type(exc).__name__,
            ) from None

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "format": KEYRING_FORMAT,
            "primary": self.primary_id,
            "keks": [
                {
                    "id": k.id,
                    "key": base64.b64encode(k.key.material.reveal()).decode(),
                    "created_at": k.created_at.isoformat(),
                }
                for k in self.keks
            ],
            "blind_index_key": base64.b64encode(self.blind_index_key.reveal()).decode(),
            "audit_signing_key": base64.b64encode(self.audit_signing_key.reveal()).decode(),
        }
        return json.dumps(doc, indent=2) + "\n"

    # -- rotation -----------------------------------------------------------------------
    def with_new_primary(self) -> Keyring:
        """A ring with a fresh KEK as primary; the old ones stay to unwrap."""
        kek = Kek(SymmetricKey.generate(label="KEK"), clock.now())
        return replace(self, keks=(kek, *self.keks), primary_id=kek.id)

    def without(self, kek_ids: set[str]) -> Keyring:
        if self.primary_id in kek_ids:
            raise KeyringError("The primary KEK cannot be retired.")
        return replace(self, keks=tuple(k for k in self.keks if k.id not in kek_ids))

    @property
    def kek_ids(self) -> list[str]:
        return [k.id for k in self.keks]

    @property
    def primary(self) -> SymmetricKey:
        return self._by_id[bytes.fromhex(self.primary_id)]

    # -- data keys ----------------------------------------------------------------------
    def wrap(self, data_key: SymmetricKey, *, owner: str) -> tuple[str, bytes]:
        """Wrap a data key under the primary KEK, bound to its owner (a customer id)."""
        kek = self.primary
        token = kek.seal(data_key.id + data_key.material.reveal(), ctx=context("data-key", owner))
        return kek.id.hex(), token

    def unwrap(self, wrapped: bytes, *, owner: str) -> SymmetricKey:
        kek = self._by_id.get(key_id_of(wrapped))
        if kek is None:
            raise DecryptionFailed()
        raw = kek.open(wrapped, ctx=context("data-key", owner))
        return SymmetricKey(raw[:KEY_ID_SIZE], Secret(raw[KEY_ID_SIZE:], label="data key"))

    def knows(self, wrapped: bytes) -> bool:
        try:
            return key_id_of(wrapped) in self._by_id
        except DecryptionFailed:
            return False

    def __repr__(self) -> str:
        return f"<Keyring primary={self.primary_id} keks={len(self.keks)} ****>"


class KeyringSource:
    """Where the ring comes from; reloads a key file when it changes on disk."""

    def __init__(self, *, path: Path | None = None, inline: str | None = None) -> None:
        if (path is None) == (inline is None):
            raise ValueError("give either a key file path or the inline key ring")
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        if inline is not None:
            self._ring = Keyring.from_json(inline)
        else:
            self._ring = self._load()

    @classmethod
    def from_ring(cls, ring: Keyring) -> KeyringSource:
        return cls(inline=ring.to_json())

    @property
    def writable(self) -> bool:
        return self.path is not None

    def _load(self) -> Keyring:
        assert self.path is not None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise KeyringError(
                f"No key file at {self.path}. Run 'confiance init' to create one, or set "
                "CONFIANCE__CRYPTO__KEYRING_FILE.",
                path=str(self.path),
            ) from None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(
                f"The key file {self.path} is readable by other users; run "
                f"'chmod 600 {self.path}'.",
                path=str(self.path),
            )
        ring = Keyring.from_json(self.path.read_text())
        self._stamp = (st.st_mtime_ns, st.st_size)
        return ring

    def get(self) -> Keyring:
        """The current ring, re-read if the key file changed since the last call."""
        if self.path is None:
            return self._ring
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return self._ring
        if (st.st_mtime_ns, st.st_size) != self._stamp:
            with self._lock:
                self._ring = self._load()
        return self._ring

    def save(self, ring: Keyring) -> None:
        """Atomically replace the key file (mode 0600) and use the new ring."""
        if self.path is None:
            raise KeyringError(
                "The key ring comes from the environment and cannot be rewritten; rotate with "
                "a key file (CONFIANCE__CRYPTO__KEYRING_FILE).",
            )
        write_keyring(self.path, ring)
        with self._lock:
            self._ring = self._load()


def write_keyring(path: Path, ring: Keyring) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, ring.to_json().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.chmod(0o600)
    tmp.replace(path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
