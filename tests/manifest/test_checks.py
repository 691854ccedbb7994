"""The checks, through the files a user would write.

Each file in ``data/`` breaks one rule (or, for ``several-problems.yaml``, several). The lines
where a problem is expected carry a ``# expect: code`` comment, so a test fails both when a
problem is missing, when it lands on another line and when an unexpected one appears.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from confiance.manifest import (
    ManifestInvalid,
    check_file,
    check_manifest,
    check_text,
    format_problems,
    parse_manifest,
)
from confiance.manifest.checks import EU_EEA

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"
MARKER = re.compile(r"#\s*expect:\s*(.+)$")
CASES = sorted(p for p in DATA.glob("*.yaml") if p.name != "minimal.yaml")


def expected_problems(path: Path) -> set[tuple[str, int]]:
    expected: set[tuple[str, int]] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = MARKER.search(line)
        if match:
            expected |= {(code.strip(), number) for code in match.group(1).split(",")}
    return expected


def line_of(path: Path, number: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[number - 1]


def test_the_example_has_no_problem() -> None:
    result = check_file(EXAMPLE)
    assert result.problems == ()
    assert result.ok
    assert result.manifest is not None
    assert result.manifest.controller.name == "Maison Exemple SAS"


def test_the_minimal_manifest_has_no_problem() -> None:
    assert check_file(DATA / "minimal.yaml").problems == ()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_each_problem_is_reported_on_its_line(path: Path) -> None:
    expected = expected_problems(path)
    assert expected, f"{path.name} has no '# expect:' marker"
    result = check_file(path)
    assert {(p.code, p.line) for p in result.problems} == expected
    assert all(p.message for p in result.problems)


@pytest.mark.parametrize(
    "name",
    [
        "purpose-without-description",
        "special-category-not-sensitive",
        "pseudonymised-uses-identifier",
        "field-options-warnings",
        "deprecated-data-use",
    ],
)
def test_warnings_alone_do_not_make_a_manifest_fail(name: str) -> None:
    result = check_file(DATA / f"{name}.yaml")
    assert result.warnings
    assert result.errors == ()
    assert result.ok


def test_several_problems_are_all_reported_at_once() -> None:
    result = check_file(DATA / "several-problems.yaml")
    assert not result.ok
    assert len(result.errors) >= 5
    assert len({p.code for p in result.problems}) >= 5
    assert [p.line for p in result.problems] == sorted(p.line for p in result.problems)


def test_several_schema_errors_are_all_reported_at_once() -> None:
    result = check_file(DATA / "schema-errors.yaml")
    assert result.manifest is None
    assert len(result.errors) == len(expected_problems(DATA / "schema-errors.yaml"))


def test_messages_say_what_to_fix() -> None:
    def message(name: str, code: str, about: str = "") -> str:
        problems = check_file(DATA / name).problems
        return next(p.message for p in problems if p.code == code and about in p.message)

    assert "did you mean 'user.contact.email'" in message(
        "unknown-data-category.yaml", "unknown-data-category"
    )
    assert "did you mean 'essential.service'" in message(
        "unknown-data-use.yaml", "unknown-data-use"
    )
    assert "did you mean 'email'" in message("undeclared-field.yaml", "undeclared-field")
    assert "'shoe_size'" in message("unused-field.yaml", "unused-field")
    assert "explicit_consent: true" in message(
        "sensitive-without-explicit-consent.yaml", "sensitive-without-explicit-consent"
    )
    assert "safeguard: adequacy" in message(
        "transfer-without-safeguard.yaml", "transfer-without-safeguard"
    )
    assert "retention:" in message("missing-retention.yaml", "missing-retention")
    assert "did you mean 'retention'" in message("schema-errors.yaml", "unknown-key", "retension")
    assert "personalize.content.profiling" in message(
        "deprecated-data-use.yaml", "deprecated-data-use"
    )


def test_a_description_repeating_the_key_is_not_understandable() -> None:
    problems = check_file(DATA / "unclear-description.yaml").problems
    by_language = {p.path.rsplit(".", 1)[-1]: p.message for p in problems}
    assert "repeats the purpose key" in by_language["en"]
    assert "too short" in by_language["fr"]


def test_explicit_consent_makes_sensitive_data_acceptable() -> None:
    text = (DATA / "sensitive-without-explicit-consent.yaml").read_text(encoding="utf-8")
    fixed = text.replace(
        "    legal_basis: consent\n", "    legal_basis: consent\n    explicit_consent: true\n"
    )
    codes = [(p.code, p.line) for p in check_text(fixed).problems]
    # Only the contract purpose still uses the sensitive field.
    assert [code for code, _ in codes] == ["sensitive-without-explicit-consent"]


def test_a_recipient_in_the_eea_needs_no_safeguard() -> None:
    path = DATA / "transfer-without-safeguard.yaml"
    text = path.read_text(encoding="utf-8")
    us_line = next(line for code, line in expected_problems(path) if "US" in line_of(path, line))
    # Unquoted on purpose: YAML 1.1 would read NO (Norway) as false.
    for country in ("NO", "IS", "LI", "DE"):
        assert country in EU_EEA
        moved = text.replace("country: US", f"country: {country}")
        lines = {p.line for p in check_text(moved).problems}
        assert us_line not in lines
        assert lines  # The recipient in Japan still lacks a safeguard.
    assert "GB" not in EU_EEA and "CH" not in EU_EEA


def test_a_syntax_error_stops_at_its_line() -> None:
    result = check_file(DATA / "yaml-syntax.yaml")
    assert result.manifest is None
    [problem] = result.problems
    assert problem.code == "yaml-syntax"


def test_format_problems_gives_file_line_code_message() -> None:
    result = check_file(DATA / "several-problems.yaml")
    lines = format_problems(result, "manifest.yaml")
    assert len(lines) == len(result.problems)
    assert lines[0].startswith("manifest.yaml:16: unused-field: no purpose needs the field")
    path = DATA / "purpose-without-description.yaml"
    [(_, line)] = expected_problems(path)
    assert format_problems(check_file(path))[0].startswith(
        f"{path}:{line}: purpose-without-description: (warning) the purpose 'order_fulfilment'"
    )


def test_parse_manifest_raises_with_every_problem() -> None:
    text = (DATA / "several-problems.yaml").read_text(encoding="utf-8")
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest(text)
    expected = check_text(text).problems
    assert caught.value.status == 422
    assert caught.value.problems == [p.as_dict() for p in expected]
    assert caught.value.to_problem()["problems"][0]["line"] == expected[0].line


def test_parse_manifest_accepts_warnings() -> None:
    text = (DATA / "purpose-without-description.yaml").read_text(encoding="utf-8")
    assert parse_manifest(text).purposes[0].key == "order_fulfilment"


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("version: 1\ncontroller:\n  name: Boutique Thé\n".encode("latin-1"))
    [problem] = check_file(path).problems
    assert (problem.code, problem.line) == ("not-utf8", 3)


def test_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        check_file(tmp_path / "absent.yaml")


def test_checks_run_on_a_manifest_built_in_code() -> None:
    manifest = parse_manifest((DATA / "minimal.yaml").read_text(encoding="utf-8"))
    assert check_manifest(manifest) == []
    changed = manifest.model_copy(update={"purposes": []})
    [problem] = check_manifest(changed)
    # Without a line map, problems are placed at the top of the file.
    assert (problem.code, problem.line) == ("unused-field", 1)
