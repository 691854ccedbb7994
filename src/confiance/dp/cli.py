"""``confiance dp ...``: privacy budgets and differentially private queries.

The main CLI hands its way of opening an installation and its operator to :func:`build_app`::

    app.add_typer(dp_cli.build_app(open_runtime=_runtime, operator=_operator), name="dp")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column as TableColumn
from rich.table import Table

from confiance.actors import Actor
from confiance.cli_support import DataDir, OpenRuntime
from confiance.dp.errors import InvalidQuery
from confiance.dp.mechanisms import Query, QueryKind
from confiance.dp.service import DpService

__all__ = ["build_app", "parse_bounds", "parse_where"]


def parse_bounds(text: str | None) -> tuple[float, float] | None:
    """``"0,20"`` as ``(0.0, 20.0)``."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        lower, upper = (float(p) for p in parts)
    except ValueError:
        raise InvalidQuery("--bounds is LOWER,UPPER, e.g. --bounds 0,20") from None
    return lower, upper


def parse_where(pairs: list[str]) -> dict[str, str | bool | int]:
    """``["consent_email_marketing=true", "loyalty_tier=prestige"]`` as a filter: ``true`` and
    ``false`` are yes/no, whole numbers are numbers, anything else a category."""
    where: dict[str, str | bool | int] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidQuery("--where is COLUMN=VALUE, e.g. --where loyalty_tier=prestige")
        value = raw.strip()
        parsed: str | bool | int
        if value.lower() in ("true", "false"):
            parsed = value.lower() == "true"
        elif value.lstrip("-").isdigit():
            parsed = int(value)
        else:
            parsed = value
        where[name.strip()] = parsed
    return where


def build_app(*, open_runtime: OpenRuntime, operator: Callable[[], Actor]) -> typer.Typer:
    """The ``dp`` command group; each command runs in its own transaction."""
    app = typer.Typer(
        help="Differentially private aggregates under a privacy budget per data set and analyst.",
        no_args_is_help=True,
    )
    budget_app = typer.Typer(help="Privacy budgets of analysts.", no_args_is_help=True)
    app.add_typer(budget_app, name="budget")

    def console() -> Console:
        return Console()

    @budget_app.command("set")
    def budget_set(
        dataset: Annotated[str, typer.Argument(help="The data set, e.g. customers.")],
        analyst: Annotated[
            str,
            typer.Argument(help="The analyst's actor label, e.g. apikey:ab12cd34 or cli:alice."),
        ],
        epsilon: Annotated[float, typer.Option(help="Total epsilon the analyst may spend.")],
        delta: Annotated[float, typer.Option(help="Total delta (0 for pure DP).")] = 0.0,
        data_dir: DataDir = None,
    ) -> None:
        """Set an analyst's total budget on a data set (what was spent stays spent)."""
        with open_runtime(data_dir) as runtime, runtime.db.transaction() as session:
            view = DpService.for_runtime(runtime).set_budget(
                session,
                actor=operator(),
                dataset=dataset,
                analyst=analyst,
                epsilon=epsilon,
                delta=delta,
            )
        console().print(
            f"Budget of {view.analyst} on {view.dataset}: epsilon {view.epsilon_total:g} "
            f"({view.epsilon_spent:g} spent, {view.epsilon_remaining:g} left), "
            f"delta {view.delta_total:g}.",
            markup=False,
            highlight=False,
        )

    @budget_app.command("show")
    def budget_show(
        dataset: Annotated[str | None, typer.Option(help="Only this data set.")] = None,
        analyst: Annotated[str | None, typer.Option(help="Only this analyst.")] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Budgets: total, spent and left, per data set and analyst."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            views = DpService.for_runtime(runtime).budgets(
                session, dataset=dataset, analyst=analyst
            )
        table = Table(
            "data set",
            TableColumn("analyst", no_wrap=True),
            "epsilon",
            "spent",
            "left",
            "delta",
            "updated",
        )
        for v in views:
            table.add_row(
                v.dataset,
                v.analyst,
                f"{v.epsilon_total:g}",
                f"{v.epsilon_spent:g}",
                f"{v.epsilon_remaining:g}",
                f"{v.delta_total:g}",
                v.updated_at.isoformat(timespec="seconds"),
            )
        console().print(table)

    @app.command("datasets")
    def datasets(data_dir: DataDir = None) -> None:
        """The data sets and the columns queries may use."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            described = DpService.for_runtime(runtime).describe(session, actor=operator())
        for name, columns in described.items():
            table = Table("column", "type", "categories", "description", title=name)
            for c in columns.values():
                table.add_row(c.name, c.type, ", ".join(c.categories), c.description)
            console().print(table)

    @app.command("query")
    def query(
        dataset: Annotated[str, typer.Argument(help="The data set, e.g. customers.")],
        kind: Annotated[QueryKind, typer.Option(help="count, sum, mean or histogram.")],
        epsilon: Annotated[float, typer.Option(help="Epsilon this answer spends.")],
        column: Annotated[str | None, typer.Option(help="The column (not for count).")] = None,
        bounds: Annotated[
            str | None, typer.Option(help="Sum and mean: LOWER,UPPER, values clamped into it.")
        ] = None,
        where: Annotated[
            list[str] | None, typer.Option(help="COLUMN=VALUE filter, repeatable.")
        ] = None,
        data_dir: DataDir = None,
    ) -> None:
        """A noisy count, sum, mean or histogram, spent from your own (the operator's) budget."""
        with open_runtime(data_dir) as runtime:
            request = Query(
                kind=kind,
                epsilon=epsilon,
                column=column,
                bounds=parse_bounds(bounds),
                where=parse_where(where or []),
            )
            actor = operator()
            with runtime.unit(actor) as session:
                answer = DpService.for_runtime(runtime).query(
                    session, actor=actor, dataset=dataset, query=request
                )
        release = answer.release
        out = console()
        if release.histogram is not None:
            table = Table(release.column or "", "noisy count")
            for category, count in release.histogram.items():
                table.add_row(category, f"{count:.0f}")
            out.print(table)
        else:
            out.print(f"{release.kind}: {release.value:.4g}", markup=False, highlight=False)
        accuracy = (
            ""
            if release.accuracy_95 is None
            else f"; noise below {release.accuracy_95:.3g} with 95 % probability"
        )
        out.print(
            f"epsilon {release.epsilon:g} spent, {answer.epsilon_remaining:g} left; "
            f"Laplace scale {release.noise_scale:.3g}{accuracy}.",
            markup=False,
            highlight=False,
        )

    return app
