"""``confiance dp ...``: an operator sets budgets, queries within theirs, and is refused after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from confiance.actors import Actor
from confiance.dp.cli import build_app
from confiance.errors import ConfianceError
from confiance.runtime import Runtime


@pytest.fixture
def app(runtime: Runtime) -> typer.Typer:
    @contextlib.contextmanager
    def open_runtime(_data_dir: Path | None) -> Iterator[Runtime]:
        try:
            yield runtime
        except ConfianceError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(code=1) from None

    return build_app(open_runtime=open_runtime, operator=lambda: Actor.operator("ana"))


def test_budget_query_and_refusal(app: typer.Typer, runtime: Runtime, make_record: Any) -> None:
    with runtime.db.transaction() as session:
        runtime.vault.collect_many(
            session,
            actor=Actor.operator("t"),
            purposes=make_record.purposes,
            records=[make_record() for _ in range(5)],
        )
    cli = CliRunner(env={"COLUMNS": "160"})
    done = cli.invoke(app, ["budget", "set", "customers", "cli:ana", "--epsilon", "1"])
    assert done.exit_code == 0, done.output
    shown = cli.invoke(app, ["budget", "show"])
    assert "cli:ana" in shown.output and "customers" in shown.output

    hist = cli.invoke(
        app,
        [
            "query",
            "customers",
            "--kind",
            "histogram",
            "--column",
            "loyalty_tier",
            "--epsilon",
            "0.5",
        ],
    )
    assert hist.exit_code == 0, hist.output
    assert "prestige" in hist.output and "0.5 left" in hist.output

    counted = cli.invoke(
        app,
        [
            "query",
            "customers",
            "--kind",
            "count",
            "--where",
            "consent_email_marketing=false",
            "--epsilon",
            "0.5",
        ],
    )
    assert counted.exit_code == 0, counted.output
    refused = cli.invoke(app, ["query", "customers", "--kind", "count", "--epsilon", "0.1"])
    assert refused.exit_code == 1
    assert "has 0 left" in refused.output
