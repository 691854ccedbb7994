"""``confiance tcf``: decode and encode TC strings from the shell.

A Typer sub-application, mounted by the main command with
``app.add_typer(tcf_app, name="tcf")``. It touches no database: both commands are pure
conversions, so they need no data directory and run anywhere the package is installed.

Output is plain JSON on standard output (pipe it to ``jq``, or back into ``encode -``);
errors go to standard error with exit code 1 and never echo the TC string itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from confiance.consent.tcf import codec
from confiance.consent.tcf.errors import TcfError
from confiance.consent.tcf.jsonview import from_json, to_json

__all__ = ["tcf_app"]

tcf_app = typer.Typer(
    help="Decode and encode IAB TCF v2 TC strings (TCF 2.2 rules).", no_args_is_help=True
)

_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    # soft_wrap: a reason stays on one line, whole for grep and logs.
    _err.print(f"[bold red]error[/]: {escape(message)}", soft_wrap=True)
    return typer.Exit(code=1)


@tcf_app.command("decode")
def decode_command(
    tc_string: Annotated[str, typer.Argument(help="The TC string, as a CMP stores it.")],
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Show a string that reads but breaks a TCF rule (never act on such a string).",
        ),
    ] = False,
) -> None:
    """Print the decoded string as JSON, with the IAB field names."""
    try:
        model = codec.decode(tc_string, strict=not lenient)
    except TcfError as exc:
        raise _fail(exc.detail) from None
    typer.echo(json.dumps(to_json(model), indent=2))


@tcf_app.command("encode")
def encode_command(
    file: Annotated[
        str, typer.Argument(help="A JSON file in the shape 'decode' prints, or - for stdin.")
    ],
) -> None:
    """Print the TC string of a JSON description."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"{file} is not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        tc_string = codec.encode(from_json(data))
    except TcfError as exc:
        raise _fail(exc.detail) from None
    typer.echo(tc_string)
