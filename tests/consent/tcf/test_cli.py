"""``confiance tcf decode`` and ``encode``, through Typer's runner on the sub-application."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from confiance.consent.tcf import PublisherTC, decode, encode, to_json
from confiance.consent.tcf.cli import tcf_app
from tests.consent.tcf.support import POLICY_VERSION_BIT, PURPOSES_LI_BIT, minimal, with_bits

runner = CliRunner()
MODEL = minimal(
    purposes_consent=frozenset({1, 2}),
    vendor_consents=frozenset({755}),
    publisher_tc=PublisherTC(pub_purposes_consent=frozenset({1})),
)
TC_STRING = encode(MODEL)


def test_decode_prints_the_json_view() -> None:
    result = runner.invoke(tcf_app, ["decode", TC_STRING])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == to_json(MODEL)
    assert result.stderr == ""


def test_decode_of_an_invalid_string_prints_the_reason_and_exits_1() -> None:
    bad = with_bits(TC_STRING, PURPOSES_LI_BIT + 2, 1, 1)  # LI for purpose 3, policy 4
    result = runner.invoke(tcf_app, ["decode", bad])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "legitimate interest is not allowed for purpose 3" in result.stderr
    assert bad not in result.stderr

    lenient = runner.invoke(tcf_app, ["decode", "--lenient", bad])
    assert lenient.exit_code == 0, lenient.output
    assert 3 in json.loads(lenient.stdout)["purposesLITransparency"]

    garbage = runner.invoke(tcf_app, ["decode", "C[x]"])
    assert garbage.exit_code == 1
    assert "'[' is not base64url" in garbage.stderr


def test_encode_reads_the_json_view_back(tmp_path: Path) -> None:
    source = tmp_path / "model.json"
    source.write_text(json.dumps(to_json(MODEL)), encoding="utf-8")
    result = runner.invoke(tcf_app, ["encode", str(source)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == TC_STRING
    assert decode(result.stdout.strip()) == MODEL

    piped = runner.invoke(tcf_app, ["encode", "-"], input=json.dumps(to_json(MODEL)))
    assert piped.stdout.strip() == TC_STRING


def test_encode_reports_bad_input_and_exits_1(tmp_path: Path) -> None:
    missing = runner.invoke(tcf_app, ["encode", str(tmp_path / "absent.json")])
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr

    not_json = tmp_path / "bad.json"
    not_json.write_text("{cmpId: 3", encoding="utf-8")
    result = runner.invoke(tcf_app, ["encode", str(not_json)])
    assert result.exit_code == 1
    assert "is not JSON" in result.stderr

    view = to_json(MODEL)
    view["purposesLITransparency"] = [5]
    breaking = tmp_path / "li.json"
    breaking.write_text(json.dumps(view), encoding="utf-8")
    result = runner.invoke(tcf_app, ["encode", str(breaking)])
    assert result.exit_code == 1
    assert "purposesLITransparency" in result.stderr
    assert "purpose 5" in result.stderr


def test_older_policy_strings_decode_from_the_shell() -> None:
    older = with_bits(with_bits(TC_STRING, POLICY_VERSION_BIT, 2, 6), PURPOSES_LI_BIT + 2, 1, 1)
    result = runner.invoke(tcf_app, ["decode", older])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tcfPolicyVersion"] == 2
