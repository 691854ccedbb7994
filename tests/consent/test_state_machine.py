"""A Hypothesis state machine: random sequences of decisions, time passing, manifest changes
and GPC signals; after every step each purpose's decision matches a simple model of the rules.

The model is written from the rules as a customer would state them, not from the code."""

from __future__ import annotations

import calendar
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from confiance import clock
from confiance.actors import Actor
from confiance.config import Settings
from confiance.consent.errors import ConsentNotGiven
from confiance.consent.rules import SALE_SHARING, State
from confiance.consent.service import Change, ConsentContext
from confiance.crypto import Keyring, KeyringSource, write_keyring
from confiance.db import Database
from confiance.db.models import Base
from confiance.demo.generator import CustomerFactory
from confiance.keys import service as keys_service
from confiance.manifest import service as manifest_service
from confiance.runtime import Runtime

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml").read_text(
    encoding="utf-8"
)
CONSENT = ("email_marketing", "personalised_offers", "advertising_partner_sharing")
OBJECTABLE = ("analytics", "fraud_prevention")
NECESSARY = ("order_fulfilment", "invoicing", "customer_support", "loyalty_programme")
# Each toggle adds or removes one field of a consent purpose: adding widens, removing narrows.
TOGGLES = {
    "email_marketing": ("fields: [first_name, email]", "fields: [first_name, email, phone]"),
    "personalised_offers": (
        "fields: [orders, browsing_events, loyalty_tier]",
        "fields: [orders, loyalty_tier]",
    ),
}
ACTOR = Actor("apikey", "privacy-center", None)
CTX = ConsentContext(channel="privacy_center", method="switch")


def plus_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        data = Path(self.tmp.name)
        settings_ = Settings(data_dir=data)
        db = Database(f"sqlite:///{data / 'c.db'}")
        Base.metadata.create_all(db.engine)
        write_keyring(settings_.keyring_path, Keyring.generate())
        keys = KeyringSource(path=settings_.keyring_path)
        self.rt = Runtime.assemble(settings_, db=db, keys=keys)
        self.now = datetime(2026, 1, 15, 10, tzinfo=UTC)
        clock.set_clock(lambda: self.now)
        # The model.
        self.given: dict[str, tuple[int, datetime]] = {}  # purpose -> (version, expiry)
        self.objected: set[str] = set()
        self.sale_opt_out = False
        self.toggled: dict[str, bool] = dict.fromkeys(TOGGLES, False)
        self.version = 0
        self.widened_at: dict[str, int] = {}
        self.text = ""

    @initialize()
    def setup(self) -> None:
        with self.rt.db.transaction() as s:
            keys_service.ensure_registered(s, keys=self.rt.keys)
        self._load(EXAMPLE)
        self.widened_at = dict.fromkeys(CONSENT, 1)
        record = CustomerFactory(seed=1).customer()
        values = {k: record[k] for k in ("first_name", "last_name", "email", "phone")}
        with self.rt.db.transaction() as s:
            self.customer: uuid.UUID = self.rt.vault.collect(
                s, actor=Actor.operator("t"), purposes=["order_fulfilment"], values=values
            ).id

    def teardown(self) -> None:
        clock.set_clock(None)
        self.rt.db.dispose()
        self.tmp.cleanup()

    def _load(self, text: str) -> None:
        with self.rt.db.transaction() as s:
            loaded = manifest_service.load(s, text=text, source_name="m.yaml", actor="t")
        self.version = loaded.seq
        self.text = text

    def _record(self, target: str, state: State) -> None:
        with self.rt.db.transaction() as s:
            self.rt.consent.record(
                s,
                customer_id=self.customer,
                changes=[Change(target, state)],
                context=CTX,
                actor=ACTOR,
            )

    @rule(purpose=st.sampled_from(CONSENT))
    def give(self, purpose: str) -> None:
        self._record(purpose, State.GIVEN)
        self.given[purpose] = (self.version, plus_months(self.now, 13))

    @rule(purpose=st.sampled_from(CONSENT))
    def refuse(self, purpose: str) -> None:
        self._record(purpose, State.REFUSED)
        self.given.pop(purpose, None)

    @rule(purpose=st.sampled_from(CONSENT))
    def withdraw(self, purpose: str) -> None:
        if purpose in self.given:
            self._record(purpose, State.WITHDRAWN)
            del self.given[purpose]
        elif self._last_state(purpose) != "given":
            with pytest.raises(ConsentNotGiven):
                self._record(purpose, State.WITHDRAWN)

    def _last_state(self, purpose: str) -> str | None:
        with self.rt.db.transaction() as s:
            row = self.rt.consent.states(s, customer_id=self.customer).get(purpose)
        return None if row is None else row.state

    @rule(purpose=st.sampled_from(OBJECTABLE), objects=st.booleans())
    def object_(self, purpose: str, objects: bool) -> None:
        self._record(purpose, State.REFUSED if objects else State.GIVEN)
        (self.objected.add if objects else self.objected.discard)(purpose)

    @rule()
    def gpc(self) -> None:
        with self.rt.db.transaction() as s:
            self.rt.consent.honour_gpc(s, customer_id=self.customer, actor=ACTOR, evidence="")
        self.sale_opt_out = True

    @rule()
    def opt_back_in_to_sale(self) -> None:
        self._record(SALE_SHARING, State.GIVEN)
        self.sale_opt_out = False

    @rule(days=st.integers(min_value=0, max_value=450))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days, minutes=1)

    @rule(purpose=st.sampled_from(sorted(TOGGLES)))
    def change_manifest(self, purpose: str) -> None:
        narrow, wide = TOGGLES[purpose]
        adds_field = purpose == "email_marketing"
        # email_marketing: toggled means the phone number was added (wider);
        # personalised_offers: toggled means browsing events were removed (narrower).
        text = self.text
        old, new = (narrow, wide) if not self.toggled[purpose] else (wide, narrow)
        text = text.replace(old, new, 1)
        self.toggled[purpose] = not self.toggled[purpose]
        self._load(text)
        widening = self.toggled[purpose] if adds_field else not self.toggled[purpose]
        if widening:
            self.widened_at[purpose] = self.version

    def model_allows(self, purpose: str) -> bool:
        if purpose in NECESSARY:
            return True
        if purpose in OBJECTABLE:
            return purpose not in self.objected
        if purpose == "advertising_partner_sharing" and self.sale_opt_out:
            return False
        if purpose not in self.given:
            return False
        version, expiry = self.given[purpose]
        return self.now < expiry and version >= self.widened_at[purpose]

    @invariant()
    def decisions_match_the_model(self) -> None:
        if not self.text:
            return
        with self.rt.db.transaction() as s:
            for purpose in (*CONSENT, *OBJECTABLE, *NECESSARY):
                allowed = self.rt.consent.allows(s, customer_id=self.customer, purpose=purpose)
                assert allowed == self.model_allows(purpose), purpose


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
