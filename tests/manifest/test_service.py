"""Manifest versions on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from confiance import clock
from confiance.db import Database
from confiance.manifest import (
    LoadedManifest,
    ManifestInvalid,
    ManifestVersionNotFound,
    NoManifestLoaded,
)
from confiance.manifest import service as manifests
from confiance.manifest.models import ManifestVersion

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"
DATA = Path(__file__).parent / "data"
V1 = EXAMPLE.read_text(encoding="utf-8")
# A change of meaning: marketing e-mail addresses are kept two years instead of three.
EMAIL_RETENTION = (
    "      duration: P3Y\n      counted_from: last_contact\n      after: delete\n    recipients:"
)
V2 = V1.replace(EMAIL_RETENTION, EMAIL_RETENTION.replace("P3Y", "P2Y"))


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    clock.set_clock(lambda: datetime(2025, 3, 14, 9, 30, tzinfo=UTC))
    manifests.clear_cache()
    yield
    clock.set_clock(None)
    manifests.clear_cache()


def load(
    db: Database, content: str, *, actor: str = "dpo", source: str = "m.yaml"
) -> LoadedManifest:
    with db.transaction() as session:
        return manifests.load(session, text=content, source_name=source, actor=actor)


def count_versions(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(ManifestVersion)) or 0


def test_v2_differs_from_v1_in_one_place() -> None:
    assert V1.count(EMAIL_RETENTION) == 1
    assert "P2Y" in V2


def test_first_load_creates_version_one(db: Database) -> None:
    loaded = load(db, V1, actor="camille.martin", source="examples/maison-exemple.yaml")
    assert (loaded.seq, loaded.created) == (1, True)
    assert len(loaded.sha256) == 64
    assert loaded.loaded_at == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    assert loaded.loaded_by == "camille.martin"
    assert loaded.manifest.controller.name == "Maison Exemple SAS"
    with db.transaction() as session:
        current = manifests.current(session)
        assert (current.seq, current.sha256) == (1, loaded.sha256)
        assert current.loaded_at == loaded.loaded_at
        assert current.source_name == "examples/maison-exemple.yaml"
        assert manifests.source_text(session, seq=1) == V1


def test_the_same_content_is_the_same_version(db: Database) -> None:
    first = load(db, V1)
    again = load(db, V1, actor="someone-else")
    assert (again.seq, again.created, again.sha256) == (1, False, first.sha256)
    assert again.loaded_by == "dpo"
    assert count_versions(db) == 1


def test_comments_and_layout_do_not_make_a_new_version(db: Database) -> None:
    first = load(db, V1)
    reformatted = "# Reviewed by the DPO in March.\n" + V1.replace(
        "fields: [first_name, email]", "fields:\n      - first_name\n      - email"
    ).replace("version: 1\n", "version: 1   # format\n").replace(
        "    legal_basis: consent\n", "    legal_basis: 'consent'\n"
    )
    assert reformatted != V1
    again = load(db, reformatted)
    assert (again.seq, again.created, again.sha256) == (1, False, first.sha256)
    with db.transaction() as session:
        # The text kept is the one first loaded.
        assert manifests.source_text(session, seq=1) == V1


def test_spelling_out_a_default_does_not_make_a_new_version(db: Database) -> None:
    load(db, V1)
    explicit = V1.replace("    lookup: true\n", "    lookup: true\n    sensitive: false\n")
    assert load(db, explicit).created is False


def test_a_change_of_meaning_makes_the_next_version(db: Database) -> None:
    first = load(db, V1)
    second = load(db, V2, source="v2.yaml")
    assert (second.seq, second.created) == (2, True)
    assert second.sha256 != first.sha256
    with db.transaction() as session:
        assert manifests.current(session).seq == 2
        email = manifests.current(session).manifest.purpose("email_marketing")
        assert email.retention is not None and email.retention.duration == "P2Y"
        old = manifests.get(session, seq=1).manifest.purpose("email_marketing")
        assert old.retention is not None and old.retention.duration == "P3Y"
        history = manifests.history(session)
    assert [(v.seq, v.source_name) for v in history] == [(2, "v2.yaml"), (1, "m.yaml")]
    assert [v.sha256 for v in history] == [second.sha256, first.sha256]


def test_reloading_the_current_version_after_an_update_is_no_change(db: Database) -> None:
    load(db, V1)
    load(db, V2)
    again = load(db, V2)
    assert (again.seq, again.created) == (2, False)


def test_going_back_to_a_replaced_version_is_a_new_version_in_force(db: Database) -> None:
    first = load(db, V1)
    load(db, V2)
    back = load(db, V1)
    assert (back.seq, back.created) == (3, True)
    assert back.sha256 == first.sha256
    with db.transaction() as session:
        assert manifests.current(session).seq == 3
        assert [v.seq for v in manifests.history(session)] == [3, 2, 1]
    again = load(db, V1)
    assert (again.seq, again.created) == (3, False)


def test_an_invalid_manifest_is_refused_with_all_its_problems(db: Database) -> None:
    bad = (DATA / "several-problems.yaml").read_text(encoding="utf-8")
    with pytest.raises(ManifestInvalid) as caught:
        load(db, bad)
    codes = {p["code"] for p in caught.value.problems}
    assert {"unused-field", "missing-retention", "undeclared-field"} <= codes
    assert count_versions(db) == 0


def test_the_hook_runs_in_the_transaction_only_for_new_versions(db: Database) -> None:
    calls: list[tuple[int, bool]] = []

    def on_loaded(session: object, loaded: LoadedManifest) -> None:
        calls.append((loaded.seq, loaded.created))

    for content in (V1, V1, V2):
        with db.transaction() as session:
            manifests.load(
                session, text=content, source_name="m.yaml", actor="dpo", on_loaded=on_loaded
            )
    assert calls == [(1, True), (2, True)]


def test_a_failing_hook_leaves_no_version(db: Database) -> None:
    def on_loaded(session: object, loaded: LoadedManifest) -> None:
        raise RuntimeError("the audit log is unavailable")

    with pytest.raises(RuntimeError), db.transaction() as session:
        manifests.load(session, text=V1, source_name="m.yaml", actor="dpo", on_loaded=on_loaded)
    assert count_versions(db) == 0


def test_nothing_loaded_yet(db: Database) -> None:
    with db.transaction() as session:
        with pytest.raises(NoManifestLoaded) as caught:
            manifests.current(session)
        assert "confiance manifest load FILE" in caught.value.detail
        assert caught.value.status == 409
        assert manifests.history(session) == []
        with pytest.raises(ManifestVersionNotFound):
            manifests.get(session, seq=1)
        with pytest.raises(ManifestVersionNotFound):
            manifests.source_text(session, seq=1)


def test_current_reads_the_stored_text_when_the_cache_is_cold(db: Database) -> None:
    loaded = load(db, V1)
    manifests.clear_cache()
    with db.transaction() as session:
        current = manifests.current(session)
    assert current.manifest == loaded.manifest
    assert manifests.canonical_sha256(current.manifest) == current.sha256
    # Once parsed, the same object is served again.
    with db.transaction() as session:
        assert manifests.current(session).manifest is current.manifest


def test_actor_and_source_name_limits(db: Database) -> None:
    with pytest.raises(Exception, match="actor"):
        load(db, V1, actor="")
    long_path = "/" + "dossier/" * 40 + "maison-exemple.yaml"
    loaded = load(db, V1, source=long_path)
    assert len(loaded.source_name) == 255
    assert loaded.source_name.endswith("maison-exemple.yaml")


def _wait_until_blocked(db: Database, pids: list[int]) -> None:
    """Until the other transaction waits on a lock (PostgreSQL), or a moment (SQLite)."""
    if not db.is_postgresql:
        # SQLite: the other transaction blocks on BEGIN IMMEDIATE; nothing to observe.
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pids:
            with db.engine.connect() as conn:
                waiting = conn.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pids[0]},
                ).scalar()
            if waiting == "Lock":
                return
        time.sleep(0.02)
    pytest.fail("the concurrent load never waited on the first one")


@pytest.mark.parametrize(
    ("second_text", "expected"), [(V1, (1, False)), (V2, (2, True))], ids=["same", "different"]
)
def test_concurrent_loads(db: Database, second_text: str, expected: tuple[int, bool]) -> None:
    results: list[LoadedManifest] = []
    errors: list[BaseException] = []
    pids: list[int] = []

    def second() -> None:
        try:
            with db.transaction() as session:
                if db.is_postgresql:
                    pids.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                results.append(
                    manifests.load(session, text=second_text, source_name="b.yaml", actor="b")
                )
        except BaseException as exc:  # Reported by the main thread.
            errors.append(exc)

    with db.transaction() as session:
        first = manifests.load(session, text=V1, source_name="a.yaml", actor="a")
        thread = threading.Thread(target=second)
        thread.start()
        _wait_until_blocked(db, pids)
    thread.join(timeout=60)

    assert not thread.is_alive()
    assert errors == []
    assert (first.seq, first.created) == (1, True)
    assert (results[0].seq, results[0].created) == expected
    assert count_versions(db) == expected[0]
