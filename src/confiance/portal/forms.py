"""What the privacy center's forms carry, turned into service calls' arguments.

- :class:`PendingSignIn`: between "send me a code" and "here is the code", the address is kept
  in a short-lived cookie, *sealed* (AES-256-GCM under a key derived from the key ring): it is
  personal data, so it is neither in the URL nor readable in the browser's cookie store.
- :func:`consent_changes`: the switches of the consents page, compared with the customer's
  current states, become the changes to record (only what the customer changed).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from confiance import clock
from confiance.consent.rules import SALE_SHARING, SENSITIVE, Kind, State, StateRow, kind_of
from confiance.consent.service import Change
from confiance.crypto import KeyringSource
from confiance.crypto.derived import derived_key
from confiance.crypto.errors import DecryptionFailed
from confiance.manifest.schemas import Manifest

__all__ = ["PendingSignIn", "consent_changes"]

_CTX = b"portal/pending-sign-in"


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    email: str
    expires_at: datetime

    def seal(self, keys: KeyringSource) -> str:
        raw = json.dumps({"e": self.email, "x": self.expires_at.timestamp()}).encode()
        token = derived_key(keys.get(), "portal-pending").seal(raw, ctx=_CTX)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    @classmethod
    def start(cls, email: str, *, minutes: int) -> PendingSignIn:
        return cls(email, clock.now() + timedelta(minutes=minutes))

    @classmethod
    def open(cls, keys: KeyringSource, value: str | None) -> PendingSignIn | None:
        """The pending sign-in in a cookie, or ``None`` (absent, expired or tampered with)."""
        if not value:
            return None
        try:
            token = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(derived_key(keys.get(), "portal-pending").open(token, ctx=_CTX))
            pending = cls(
                str(data["e"]), datetime.fromtimestamp(float(data["x"]), clock.now().tzinfo)
            )
        except (ValueError, KeyError, TypeError, DecryptionFailed):
            return None
        return pending if pending.expires_at > clock.now() else None


def consent_changes(
    manifest: Manifest,
    states: Mapping[str, StateRow],
    *,
    given: Collection[str],
    objected: Collection[str],
    sale_opt_out: bool,
    limit_sensitive: bool,
) -> list[Change]:
    """The changes a submitted consents form asks for.

    A consent purpose left unticked that the customer never decided on is recorded as refused:
    saving the form is their answer. One ticked is given; one unticked that was given is
    withdrawn. Objections and opt-outs are refused (ticked) or given back (unticked). Names that
    are not the manifest's decidable targets are ignored.
    """
    changes: list[Change] = []
    for spec in manifest.purposes:
        kind = kind_of(manifest, spec.key)
        row = states.get(spec.key)
        state = row.state if row else None
        if kind is Kind.CONSENT:
            if spec.key in given:
                if state != State.GIVEN:
                    changes.append(Change(spec.key, State.GIVEN))
            elif state == State.GIVEN:
                changes.append(Change(spec.key, State.WITHDRAWN))
            elif state is None:
                changes.append(Change(spec.key, State.REFUSED))
        elif kind is Kind.OBJECTION:
            changes += _toggle(spec.key, state, spec.key in objected)
    changes += _toggle(SALE_SHARING, _state(states, SALE_SHARING), sale_opt_out)
    if any(f.sensitive for f in manifest.fields):
        changes += _toggle(SENSITIVE, _state(states, SENSITIVE), limit_sensitive)
    return changes


def _state(states: Mapping[str, StateRow], target: str) -> str | None:
    row = states.get(target)
    return row.state if row else None


def _toggle(target: str, state: str | None, refused: bool) -> list[Change]:
    """An objection or opt-out: refused when ticked; given back when unticked after a refusal."""
    if refused and state != State.REFUSED:
        return [Change(target, State.REFUSED)]
    if not refused and state == State.REFUSED:
        return [Change(target, State.GIVEN)]
    return []
