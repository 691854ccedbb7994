"""Staff sign-in: argon2id passwords, mandatory single-use TOTP, lockout that survives a
restart, server-side sessions that end when they should. Both databases."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.runtime import Runtime
from confiance.staff.errors import (
    AccountExists,
    AccountLocked,
    SessionExpired,
    SignInFailed,
    WeakPassword,
)
from confiance.staff.roles import actor_for
from confiance.staff.service import SignedIn, StaffAccounts, new_password
from tests.support import ManualClock

ADMIN = Actor.operator("test")
EMAIL = "claire.dpo@maison-exemple.example"
PASSWORD = "velours-Tilleul-29-orage"


def create(runtime: Runtime, email: str = EMAIL, role: str = "dpo") -> None:
    with runtime.db.transaction() as s:
        runtime.staff.create(
            s, email=email, display_name="Claire", role=role, password=PASSWORD, actor=ADMIN
        )


def password_step(runtime: Runtime, password: str = PASSWORD, email: str = EMAIL) -> SignedIn:
    with runtime.db.transaction() as s:
        result = runtime.staff.sign_in(s, email=email, password=password)
    if not isinstance(result, SignedIn):
        raise result
    return result


def enrol(runtime: Runtime) -> tuple[SignedIn, pyotp.TOTP]:
    first = password_step(runtime)
    with runtime.db.transaction() as s:
        secret, qr = runtime.staff.enrolment(s, signed=first)
    assert qr.startswith("<svg") and secret not in qr
    totp = pyotp.TOTP(secret)
    return second_step(runtime, first, totp.now()), totp


def second_step(runtime: Runtime, first: SignedIn, code: str) -> SignedIn:
    with runtime.db.transaction() as s:
        result = runtime.staff.verify_totp(s, token=first.token, code=code)
    if not isinstance(result, SignedIn):
        raise result
    return result


def test_sign_in_needs_the_password_and_a_totp_code(runtime: Runtime) -> None:
    create(runtime)
    first = password_step(runtime)
    assert first.stage == "password" and not first.complete
    full, _ = enrol(runtime)
    assert full.complete and full.user.enrolled
    with runtime.db.transaction() as s:
        assert runtime.staff.current(s, token=full.token).complete
        # The token of the password step alone never opens the console.
        assert not runtime.staff.current(s, token=first.token).complete


def test_a_totp_code_works_once(runtime: Runtime, manual_clock: ManualClock) -> None:
    create(runtime)
    _, totp = enrol(runtime)
    manual_clock.advance(seconds=31)
    code = totp.at(manual_clock.now)
    second_step(runtime, password_step(runtime), code)
    with pytest.raises(SignInFailed):
        second_step(runtime, password_step(runtime), code)


def test_unknown_address_and_wrong_password_look_the_same(runtime: Runtime) -> None:
    create(runtime)
    with runtime.db.transaction() as s:
        unknown = runtime.staff.sign_in(s, email="nobody@maison-exemple.example", password=PASSWORD)
        wrong = runtime.staff.sign_in(s, email=EMAIL, password="not-the-password-at-all")
    assert isinstance(unknown, SignInFailed) and isinstance(wrong, SignInFailed)
    assert str(unknown) == str(wrong)
    with runtime.db.transaction() as s:
        details = " ".join(e.detail or "" for e in s.execute(select(AuditEntry)).scalars())
    assert "nobody@" not in details and EMAIL not in details and PASSWORD not in details


def test_brute_force_locks_the_account_across_a_restart(
    runtime: Runtime, manual_clock: ManualClock
) -> None:
    create(runtime)
    for _ in range(runtime.settings.staff.max_failures):
        with pytest.raises(SignInFailed):
            password_step(runtime, password="wrong-password-again")
    # Even the right password is refused while locked, by a new service (a restart).
    restarted = StaffAccounts(
        keys=runtime.keys, audit=runtime.audit, settings=runtime.settings.staff
    )
    with runtime.db.transaction() as s:
        result = restarted.sign_in(s, email=EMAIL, password=PASSWORD)
    assert isinstance(result, AccountLocked)
    manual_clock.advance(minutes=runtime.settings.staff.lock_minutes, seconds=1)
    assert password_step(runtime).stage == "password"


def test_wrong_totp_codes_lock_too(runtime: Runtime) -> None:
    create(runtime)
    _, totp = enrol(runtime)
    for _ in range(runtime.settings.staff.max_failures):
        first = password_step(runtime)
        with pytest.raises(SignInFailed):
            second_step(runtime, first, "000000" if totp.now() != "000000" else "111111")
    with pytest.raises(AccountLocked):
        password_step(runtime)


def test_sessions_end_when_idle_at_the_absolute_limit_and_on_sign_out(
    runtime: Runtime, manual_clock: ManualClock
) -> None:
    create(runtime)
    full, totp = enrol(runtime)
    manual_clock.advance(minutes=runtime.settings.staff.idle_minutes, seconds=1)
    with runtime.db.transaction() as s, pytest.raises(SessionExpired):
        runtime.staff.current(s, token=full.token)
    # Used every 20 minutes, a session still ends at the absolute limit.
    manual_clock.advance(seconds=31)
    active = second_step(runtime, password_step(runtime), totp.at(manual_clock.now))
    for _ in range(runtime.settings.staff.absolute_hours * 3 - 1):
        manual_clock.advance(minutes=20)
        with runtime.db.transaction() as s:
            runtime.staff.current(s, token=active.token)
    manual_clock.advance(minutes=21)
    with runtime.db.transaction() as s, pytest.raises(SessionExpired):
        runtime.staff.current(s, token=active.token)
    manual_clock.advance(seconds=31)
    again = second_step(runtime, password_step(runtime), totp.at(manual_clock.now))
    with runtime.db.transaction() as s:
        runtime.staff.sign_out(s, token=again.token)
    with runtime.db.transaction() as s, pytest.raises(SessionExpired):
        runtime.staff.current(s, token=again.token)


def test_a_password_change_or_disabling_ends_every_session(runtime: Runtime) -> None:
    create(runtime)
    full, _ = enrol(runtime)
    new = new_password()
    with runtime.db.transaction() as s:
        runtime.staff.change_password(s, user_id=full.user.id, current=PASSWORD, new=new)
    with runtime.db.transaction() as s, pytest.raises(SessionExpired):
        runtime.staff.current(s, token=full.token)
    assert password_step(runtime, password=new).stage == "password"
    with runtime.db.transaction() as s:
        runtime.staff.disable(s, user_id=full.user.id, actor=ADMIN)
    with pytest.raises(SignInFailed):
        password_step(runtime, password=new)


def test_accounts_need_a_decent_password_and_a_unique_address(runtime: Runtime) -> None:
    create(runtime)
    with runtime.db.transaction() as s, pytest.raises(AccountExists):
        runtime.staff.create(
            s, email=EMAIL.upper(), display_name="x", role="dpo", password=PASSWORD, actor=ADMIN
        )
    for weak in ("short-pass", "x.martin-plus-long!", "aaaaaaaaaaaaaaaa"):
        with runtime.db.transaction() as s, pytest.raises(WeakPassword):
            runtime.staff.create(
                s,
                email="x.martin@maison-exemple.example",
                display_name="x",
                role="support",
                password=weak,
                actor=ADMIN,
            )


def test_only_staff_managers_create_accounts(runtime: Runtime) -> None:
    dpo = actor_for("dpo", "someone")
    with runtime.db.transaction() as s, pytest.raises(Exception) as info:
        runtime.staff.create(
            s,
            email="y@maison-exemple.example",
            display_name="y",
            role="admin",
            password=PASSWORD,
            actor=dpo,
        )
    assert getattr(info.value, "code", None) == "scope-not-granted"


def test_the_password_hash_is_argon2id_with_the_configured_cost(runtime: Runtime) -> None:
    create(runtime)
    from confiance.staff.models import StaffUser

    with runtime.db.transaction() as s:
        stored = s.execute(select(StaffUser.password_hash)).scalar_one()
    settings = runtime.settings.staff
    assert stored.startswith("$argon2id$")
    assert f"m={settings.argon2_memory_kib},t={settings.argon2_time_cost}" in stored
    assert PASSWORD not in stored


def test_support_sees_masked_identifiers(runtime: Runtime, make_record: object) -> None:
    record = make_record()  # type: ignore[operator]
    with runtime.unit(ADMIN) as s:
        customer = runtime.vault.collect(
            s,
            actor=ADMIN,
            purposes=make_record.purposes,
            values=record,  # type: ignore[attr-defined]
        ).id
    support = actor_for("support", "agent")
    with runtime.unit(support) as s:
        view = runtime.vault.read(
            s, actor=support, purpose="customer_support", customer_id=customer
        )
    assert view.values["email"] != record["email"]
    assert view.values["email"].split("@")[1] == record["email"].split("@")[1]
    assert view.values["last_name"].endswith("***")
    assert record["last_name"] not in str(view.values)
    with pytest.raises(Exception) as info, runtime.unit(support) as s:
        runtime.vault.read(s, actor=support, purpose="order_fulfilment", customer_id=customer)
    assert getattr(info.value, "code", None) == "purpose-not-granted"


def test_lock_grows_for_repeat_offenders(runtime: Runtime, manual_clock: ManualClock) -> None:
    create(runtime)
    for _ in range(runtime.settings.staff.max_failures):
        with pytest.raises(SignInFailed):
            password_step(runtime, password="wrong-password-again")
    lock = runtime.settings.staff.lock_minutes
    manual_clock.advance(minutes=lock, seconds=1)
    # One more failure after the lock: locked again, twice as long.
    with pytest.raises(SignInFailed):
        password_step(runtime, password="wrong-password-again")
    manual_clock.advance(minutes=lock, seconds=1)
    with pytest.raises(AccountLocked):
        password_step(runtime)
    manual_clock.advance(minutes=lock)
    assert password_step(runtime).stage == "password"
