"""What every ``confiance`` command group shares: the ``--data-dir`` option, the way an
installation is opened for one command, and the progress bar a person waits in front of."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from confiance.runtime import Runtime

__all__ = ["DataDir", "OpenRuntime", "progress_bar"]

#: Opens the installation for one command and closes it after (the main CLI's ``_runtime``).
OpenRuntime = Callable[[Path | None], AbstractContextManager["Runtime"]]

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: ./confiance-data or CONFIANCE__DATA_DIR)."
    ),
]


def progress_bar(console: Console) -> Progress:
    """A Rich progress bar with counts, elapsed and remaining time, on ``console``."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
