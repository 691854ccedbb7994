"""``confiance receipts``: check a consent receipt a customer holds.

Mounted by the main command as ``app.add_typer(receipts_app, name="receipts")``. Verifying
needs no database: only the receipt and a public key, given on the command line or, by
default, derived from this installation's key ring.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from confiance.config import Settings
from confiance.crypto import KeyringSource
from confiance.crypto.jws import public_key_from_jwk
from confiance.errors import ConfianceError
from confiance.receipts import service
from confiance.receipts.errors import ReceiptInvalid

__all__ = [
    "installation_public_key",
    "parse_public_key",
    "read_token",
    "receipts_app",
    "verify_file",
]

receipts_app = typer.Typer(
    help="Signed consent receipts (Kantara v1.1, compact JWS).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@receipts_app.callback()
def _receipts() -> None:
    """Signed consent receipts (Kantara v1.1, compact JWS)."""


def read_token(path: Path) -> str:
    """The compact JWS in a file: the token itself, or a JSON object with a ``jws`` member.

    Other members of such a JSON object (an unsigned copy of the receipt, say) are ignored:
    only what the signature covers is ever shown as the receipt.
    """
    try:
        text = path.read_text(encoding="utf-8-sig").strip()
    except UnicodeDecodeError:
        raise ReceiptInvalid(reason="malformed") from None
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            raise ReceiptInvalid(reason="malformed") from None
        token = doc.get("jws") if isinstance(doc, dict) else None
        if not isinstance(token, str):
            raise ReceiptInvalid(reason="malformed")
        return token.strip()
    if not text:
        raise ReceiptInvalid(reason="malformed")
    return text


def parse_public_key(value: str) -> bytes:
    """An Ed25519 public key from a file or a string: a JWK, or base64 / base64url of 32 bytes.

    Raises ``ValueError`` when it is none of these.
    """
    path = Path(value)
    try:
        is_file = path.is_file()
    except OSError:
        is_file = False
    text = path.read_text(encoding="utf-8-sig").strip() if is_file else value.strip()
    if text.startswith("{"):
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("a JWK is a JSON object")
        return public_key_from_jwk(doc)
    standard = text.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return raw


def installation_public_key(data_dir: Path | None = None) -> bytes:
    """This installation's receipt public key, read from its key ring (file or environment)."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    # The same choice as the runtime makes: the inline ring wins over the key file.
    if settings.crypto.keyring is not None:
        source = KeyringSource(inline=settings.crypto.keyring.get_secret_value())
    else:
        source = KeyringSource(path=settings.keyring_path)
    return service.ReceiptKey.from_ring(source.get()).public_key


def verify_file(
    path: Path, public_key: bytes | None, *, data_dir: Path | None = None
) -> dict[str, Any]:
    """The verified receipt in ``path``; with no ``public_key``, the installation's key.

    Raises :class:`ReceiptInvalid`, or a configuration error when the installation's key is
    needed and cannot be read.
    """
    token = read_token(path)
    key = public_key if public_key is not None else installation_public_key(data_dir)
    return service.verify(token, public_key=key)


@receipts_app.command("verify")
def verify_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="The receipt: a compact JWS, or a JSON file with a 'jws' member.",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            metavar="FILE_OR_BASE64",
            help=(
                "The receipt public key: a JWK (file or inline), or the 32 key bytes in base64 "
                "or base64url. Default: this installation's receipt key."
            ),
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data directory holding the key file, when no --public-key is given.",
        ),
    ] = None,
) -> None:
    """Verify a receipt; print it (JSON, on standard output) and 'valid', or why it is not.

    Exits 0 when the receipt is valid and 1 when it is not or cannot be checked.
    """
    key: bytes | None = None
    if public_key is not None:
        try:
            key = parse_public_key(public_key)
        except (ValueError, OSError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--public-key") from None
    try:
        receipt = verify_file(file, key, data_dir=data_dir)
    except ReceiptInvalid as exc:
        typer.echo(f"invalid: {exc.detail}", err=True)
        raise typer.Exit(code=1) from None
    except ConfianceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from None
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(json.dumps(receipt, indent=2, ensure_ascii=False))
    typer.echo("valid", err=True)
