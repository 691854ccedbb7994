"""``confiance anonymize IN OUT ...`` as mounted by the main command."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from confiance.anonymize.cli import build_app
from tests.anonymize.conftest import Adult


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(build_app(), name="anonymize")

    @root.command()
    def version() -> None:
        """A second command, so that ``anonymize`` is mounted as under the real CLI."""

    return root


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_writes_the_release_and_the_report(
    app: typer.Typer, adult: Adult, tmp_path: Path, suffix: str
) -> None:
    source = adult.folder / "adult.csv"
    if suffix == ".parquet":
        source = tmp_path / "adult.parquet"
        adult.table.write_parquet(source)
    out, report = tmp_path / f"out{suffix}", tmp_path / "report.json"
    quasi = ",".join(adult.quasi)
    result = CliRunner().invoke(
        app,
        [
            "anonymize", str(source), str(out), "--quasi", quasi, "--sensitive", adult.sensitive,
            "--hierarchies", str(adult.folder), "--k", "5", "--l", "2", "--suppression", "0.01",
            "--report", str(report),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    released = (
        pl.read_parquet(out)
        if suffix == ".parquet"
        else pl.read_csv(out, separator=";", infer_schema=False)
    )
    sizes = Counter(released.select(adult.quasi).iter_rows())
    assert min(sizes.values()) >= 5
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["rows_out"] == released.height
    assert document["suppressed"] == adult.table.height - released.height
    assert document["suppressed"] <= 0.01 * adult.table.height
    assert document["parameters"]["l"] == 2
    assert document["risk_after"]["unique_rows"] == 0
    assert document["metrics"]["classes"] == len(sizes)
    assert set(document["levels"]) == set(adult.quasi)


def test_local_mode_from_the_command_line(app: typer.Typer, adult: Adult, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            "anonymize", str(adult.folder / "adult.csv"), str(out), "--quasi", "age,sex,race",
            "--hierarchies", str(adult.folder), "--k", "10", "--mode", "local",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    released = pl.read_csv(out, separator=";", infer_schema=False)
    assert released.columns == ["sex", "age", "race"]
    assert min(Counter(released.iter_rows()).values()) >= 10


def test_a_bad_input_is_a_clear_error(app: typer.Typer, adult: Adult, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            "anonymize", str(adult.folder / "adult.csv"), str(out), "--quasi", "age,postcode",
            "--hierarchies", str(adult.folder), "--k", "5",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "postcode" in result.output
    assert not out.exists()
