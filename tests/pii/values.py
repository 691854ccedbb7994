"""Fictional identifiers with valid checksums, computed with python-stdnum's own functions,
and their invalid twins (last digit changed)."""

from __future__ import annotations

from stdnum import iban, luhn
from stdnum.fr import nir, siren, tva


def with_luhn(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def broken(value: str) -> str:
    """``value`` with its last digit changed: the checksum fails."""
    last = value.rstrip()[-1]
    return value[:-1] + str((int(last) + 1) % 10)


def card(prefix: str = "497010", length: int = 16) -> str:
    number = with_luhn(prefix + "1" * (length - len(prefix) - 1))
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def siren_number(body: str = "73282932") -> str:
    number = with_luhn(body)
    assert siren.is_valid(number)
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def siret_number(body: str = "7328293200007") -> str:
    number = with_luhn(body)
    return f"{number[:3]} {number[3:6]} {number[6:9]} {number[9:]}"


def nir_number(body: str = "1840776451089") -> str:
    number = body + nir.calc_check_digits(body)
    return " ".join(
        [number[0], number[1:3], number[3:5], number[5:7], number[7:10], number[10:13], number[13:]]
    )


def vat_number(siren_digits: str = "303265045") -> str:
    key = (12 + 3 * (int(siren_digits) % 97)) % 97
    value = f"FR{key:02d}{siren_digits}"
    assert tva.is_valid(value)
    return f"FR {key:02d} {siren_digits[:3]} {siren_digits[3:6]} {siren_digits[6:]}"


def iban_number(country: str = "FR", bban: str = "20041010050500013M02606") -> str:
    check = iban.calc_check_digits(country + "00" + bban)
    compact = f"{country}{check}{bban}"
    assert iban.is_valid(compact)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
