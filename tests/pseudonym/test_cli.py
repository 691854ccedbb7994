"""``confiance pseudonymise`` as an operator uses it: progress, audit, reversal only when
confirmed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.errors import ConfianceError
from confiance.pseudonym.cli import build_command
from confiance.runtime import Runtime


@pytest.fixture
def app(runtime: Runtime) -> typer.Typer:
    @contextlib.contextmanager
    def open_runtime(_data_dir: Path | None) -> Iterator[Runtime]:
        # As the main CLI does: a Confiance error ends the command with its message.
        try:
            yield runtime
        except ConfianceError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(code=1) from None

    cli = typer.Typer()
    cli.command("pseudonymise")(
        build_command(open_runtime=open_runtime, operator=lambda: Actor.operator("ops"))
    )
    cli.command("other")(lambda: None)  # two commands: "pseudonymise" is a sub-command
    return cli


def _entries(runtime: Runtime, action: str) -> list[tuple[str, str, str | None]]:
    """(actor, fields, detail) of the audit entries of ``action``."""
    with runtime.db.read() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.fields, AuditEntry.detail).where(
                AuditEntry.action == action
            )
        ).all()
    return [(r.actor, r.fields, r.detail) for r in rows]


def test_pseudonymise_reverse_and_audit(app: typer.Typer, runtime: Runtime, tmp_path: Path) -> None:
    source = tmp_path / "customers.csv"
    pl.DataFrame(
        {"email": ["Zoe@Exemple.example", "yann@boite.example"], "phone": ["0612345678", None]}
    ).write_csv(source)
    cli = CliRunner()
    done = cli.invoke(
        app,
        ["pseudonymise", str(source), str(tmp_path / "p.parquet"), "--columns", "email,phone"],
    )
    assert done.exit_code == 0, done.output
    assert "2 rows written" in done.output
    out = pl.read_parquet(tmp_path / "p.parquet")
    assert "zoe" not in out.write_csv().lower()
    [(actor, fields, detail)] = _entries(runtime, "pseudonym.create")
    assert (actor, fields) == ("cli:ops", "email,phone")
    assert "zoe" not in (detail or "").lower()

    tokens = cli.invoke(
        app,
        [
            "pseudonymise",
            str(source),
            str(tmp_path / "t.csv"),
            "--columns",
            "email",
            "--reversible",
        ],
    )
    assert tokens.exit_code == 0, tokens.output

    refused = cli.invoke(
        app,
        [
            "pseudonymise",
            str(tmp_path / "t.csv"),
            str(tmp_path / "b.csv"),
            "--columns",
            "email",
            "--reverse",
        ],
    )
    assert refused.exit_code == 1
    assert "--confirm-reveal" in refused.output
    assert not (tmp_path / "b.csv").exists()
    assert _entries(runtime, "pseudonym.reverse") == []

    revealed = cli.invoke(
        app,
        [
            "pseudonymise",
            str(tmp_path / "t.csv"),
            str(tmp_path / "b.csv"),
            "--columns",
            "email",
            "--reverse",
            "--confirm-reveal",
        ],
    )
    assert revealed.exit_code == 0, revealed.output
    assert pl.read_csv(tmp_path / "b.csv")["email"].to_list() == [
        "zoe@exemple.example",
        "yann@boite.example",
    ]
    [(actor, fields, _)] = _entries(runtime, "pseudonym.reverse")
    assert (actor, fields) == ("cli:ops", "email")


def test_unknown_column_is_named(app: typer.Typer, tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    pl.DataFrame({"email": ["a@x.example"]}).write_csv(source)
    result = CliRunner().invoke(
        app, ["pseudonymise", str(source), str(tmp_path / "o.csv"), "--columns", "mail"]
    )
    assert result.exit_code == 1
    assert "'mail'" in result.output and "email" in result.output
    assert not (tmp_path / "o.csv").exists()
