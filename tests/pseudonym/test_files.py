"""CSV and Parquet files: columns replaced, everything else kept, input never overwritten."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from confiance.crypto import Keyring, KeyringSource, write_keyring
from confiance.demo.generator import CustomerFactory
from confiance.demo.service import example_manifest_text
from confiance.manifest.loader import parse
from confiance.pseudonym import OnInvalid, Pseudonymiser
from confiance.pseudonym.errors import (
    InputNotFound,
    InvalidValue,
    OutputExists,
    OutputIsInput,
    TokenNotReversible,
    UnknownColumns,
    UnsupportedFormat,
)
from confiance.pseudonym.files import pseudonymise_file, reverse_file


@pytest.fixture
def pseudonymiser(tmp_path: Path) -> Pseudonymiser:
    write_keyring(tmp_path / "keys.json", Keyring.generate())
    return Pseudonymiser(
        KeyringSource(path=tmp_path / "keys.json"), manifest=parse(example_manifest_text()).manifest
    )


@pytest.fixture
def people() -> pl.DataFrame:
    factory = CustomerFactory(seed=11)
    rows = [factory.customer() for _ in range(40)]
    frame = pl.DataFrame(
        {
            "email": [r["email"] for r in rows],
            "phone": [r["phone"] for r in rows],
            "postal_code": [r["postal_code"] for r in rows],
            "loyalty_tier": [r["loyalty_tier"] for r in rows],
        }
    )
    # A national phone number with its leading zero, an upper-case address and an empty cell.
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("06 12 34 56 78"))
        .otherwise(pl.col("phone"))
        .alias("phone"),
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.col("email").str.to_uppercase())
        .when(pl.int_range(pl.len()) == 2)
        .then(None)
        .otherwise(pl.col("email"))
        .alias("email"),
    )


@pytest.mark.parametrize(
    ("src", "dst"), [("csv", "csv"), ("parquet", "parquet"), ("csv", "parquet")]
)
def test_columns_are_pseudonymised_and_others_kept(
    tmp_path: Path, pseudonymiser: Pseudonymiser, people: pl.DataFrame, src: str, dst: str
) -> None:
    source, target = tmp_path / f"in.{src}", tmp_path / f"out.{dst}"
    getattr(people, f"write_{src}")(source)
    seen: list[int] = []
    report = pseudonymise_file(
        pseudonymiser,
        source=source,
        target=target,
        columns=["email", "phone"],
        progress=seen.append,
    )
    out = pl.read_csv(target, infer_schema=False) if dst == "csv" else pl.read_parquet(target)
    assert report.rows == people.height == out.height and sum(seen) == people.height
    assert out["postal_code"].to_list() == people["postal_code"].to_list()
    assert out["loyalty_tier"].to_list() == people["loyalty_tier"].to_list()
    for column in ("email", "phone"):
        for before, after in zip(people[column], out[column], strict=True):
            if before is None:
                assert after is None
            else:
                assert after == pseudonymiser.pseudonym(before, domain=column, field=column)
                assert after != before
    # Normalised first: the upper-case address and the national number match their usual forms.
    assert out["email"][1] == pseudonymiser.pseudonym(
        people["email"][1].lower(), domain="email", field="email"
    )
    assert out["phone"][0] == pseudonymiser.pseudonym("+33612345678", domain="phone")
    assert (target.stat().st_mode & 0o777) == 0o600


def test_reversible_round_trip_through_files(
    tmp_path: Path, pseudonymiser: Pseudonymiser, people: pl.DataFrame
) -> None:
    source = tmp_path / "in.csv"
    people.write_csv(source)
    pseudonymise_file(
        pseudonymiser,
        source=source,
        target=tmp_path / "tokens.parquet",
        columns=["email", "phone"],
        reversible=True,
    )
    tokens = pl.read_parquet(tmp_path / "tokens.parquet")
    assert not set(tokens["email"].drop_nulls()) & set(people["email"].drop_nulls())
    reverse_file(
        pseudonymiser,
        source=tmp_path / "tokens.parquet",
        target=tmp_path / "back.csv",
        columns=["email", "phone"],
    )
    back = pl.read_csv(tmp_path / "back.csv", infer_schema=False)
    expected_email = [None if e is None else e.lower() for e in people["email"]]
    assert back["email"].to_list() == expected_email
    assert back["phone"][0] == "+33612345678"
    assert back["phone"][1:].to_list() == people["phone"][1:].to_list()
    # Tokens of one column do not open as another column's.
    with pytest.raises(TokenNotReversible) as caught:
        reverse_file(
            pseudonymiser,
            source=tmp_path / "tokens.parquet",
            target=tmp_path / "wrong.csv",
            columns=["email"],
            domains={"email": "phone"},
        )
    assert caught.value.fields == {"column": "email"}
    assert not (tmp_path / "wrong.csv").exists()


def test_shared_domain_makes_columns_join(tmp_path: Path, pseudonymiser: Pseudonymiser) -> None:
    source = tmp_path / "in.csv"
    pl.DataFrame(
        {"email": ["a@x.example", "b@x.example"], "billing": ["A@x.example", "c@x.example"]}
    ).write_csv(source)
    pseudonymise_file(
        pseudonymiser, source=source, target=tmp_path / "apart.csv", columns=["email", "billing"]
    )
    apart = pl.read_csv(tmp_path / "apart.csv")
    assert apart["email"][0] != apart["billing"][0]
    pseudonymise_file(
        pseudonymiser,
        source=source,
        target=tmp_path / "shared.csv",
        columns=["email", "billing"],
        domains={"billing": "email"},
    )
    shared = pl.read_csv(tmp_path / "shared.csv")
    assert shared["email"][0] == shared["billing"][0]
    assert shared["email"][1] != shared["billing"][1]


def test_refusals_leave_nothing_behind(tmp_path: Path, pseudonymiser: Pseudonymiser) -> None:
    source = tmp_path / "in.csv"
    pl.DataFrame({"email": ["a@x.example"], "phone": ["0612345678"]}).write_csv(source)
    before = source.read_bytes()
    with pytest.raises(UnknownColumns) as unknown:
        pseudonymise_file(
            pseudonymiser, source=source, target=tmp_path / "o.csv", columns=["email", "mail"]
        )
    assert unknown.value.fields["columns"] == ["mail"]
    assert unknown.value.fields["available"] == ["email", "phone"]
    with pytest.raises(OutputIsInput):
        pseudonymise_file(pseudonymiser, source=source, target=source, columns=["email"])
    with pytest.raises(OutputIsInput):
        pseudonymise_file(
            pseudonymiser,
            source=source,
            target=tmp_path / "." / "in.csv",
            columns=["email"],
            overwrite=True,
        )
    (tmp_path / "taken.csv").write_text("x\n")
    with pytest.raises(OutputExists):
        pseudonymise_file(
            pseudonymiser, source=source, target=tmp_path / "taken.csv", columns=["email"]
        )
    with pytest.raises(UnsupportedFormat):
        pseudonymise_file(
            pseudonymiser, source=source, target=tmp_path / "o.xlsx", columns=["email"]
        )
    with pytest.raises(InputNotFound):
        pseudonymise_file(
            pseudonymiser,
            source=tmp_path / "none.csv",
            target=tmp_path / "o.csv",
            columns=["email"],
        )
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "keys.json", "taken.csv"]


def test_invalid_values_stop_or_are_handled_as_asked(
    tmp_path: Path, pseudonymiser: Pseudonymiser
) -> None:
    source = tmp_path / "in.csv"
    pl.DataFrame({"email": ["a@x.example", "not-an-address"]}).write_csv(source)
    with pytest.raises(InvalidValue) as caught:
        pseudonymise_file(
            pseudonymiser, source=source, target=tmp_path / "o.csv", columns=["email"]
        )
    assert "not-an-address" not in caught.value.detail
    assert not (tmp_path / "o.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    pseudonymise_file(
        pseudonymiser,
        source=source,
        target=tmp_path / "empty.csv",
        columns=["email"],
        on_invalid=OnInvalid.EMPTY,
    )
    assert pl.read_csv(tmp_path / "empty.csv")["email"][1] is None
    pseudonymise_file(
        pseudonymiser,
        source=source,
        target=tmp_path / "raw.csv",
        columns=["email"],
        on_invalid=OnInvalid.RAW,
    )
    assert pl.read_csv(tmp_path / "raw.csv")["email"][1] == pseudonymiser.pseudonym(
        "not-an-address", domain="email"
    )
