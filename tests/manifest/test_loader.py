"""Reading YAML with its lines, and placing schema errors on them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from confiance.manifest.loader import MAX_NODES, LineMap, Path, format_path, parse, read_yaml


def test_lines_of_keys_and_items() -> None:
    text = (
        "# comment\n"  # 1
        "version: 1\n"  # 2
        "purposes:\n"  # 3
        "  - key: a\n"  # 4
        "    fields: [x, y]\n"  # 5
        "\n"  # 6
        "  - key: b\n"  # 7
        "    fields:\n"  # 8
        "      - x\n"  # 9
        "      - y\n"  # 10
    )
    data, lines, problems = read_yaml(text)
    assert problems == []
    assert data["purposes"][1]["fields"] == ["x", "y"]
    assert lines.line(("version",)) == 2
    assert lines.line(("purposes",)) == 3
    assert lines.line(("purposes", 0)) == 4
    assert lines.line(("purposes", 0, "fields", 1)) == 5
    assert lines.line(("purposes", 1)) == 7
    assert lines.line(("purposes", 1, "fields", 1)) == 10
    # A path that does not exist falls back to its nearest ancestor.
    assert lines.line(("purposes", 1, "retention", "duration")) == 7
    assert lines.line(("nothing",)) == 2


def test_a_duplicate_key_is_reported_and_the_kept_value_is_placed() -> None:
    text = "a: 1\nb:\n  c: 2\n  c: 3\n"
    data, lines, problems = read_yaml(text)
    assert data == {"a": 1, "b": {"c": 3}}
    assert [(p.code, p.line, p.path) for p in problems] == [("yaml-duplicate-key", 4, "b.c")]
    assert "line 3" in problems[0].message
    assert lines.line(("b", "c")) == 4


def test_merged_keys_point_at_the_anchor_and_explicit_keys_win() -> None:
    text = (
        "defaults: &d\n"  # 1
        "  role: processor\n"  # 2
        "  country: FR\n"  # 3
        "recipient:\n"  # 4
        "  <<: *d\n"  # 5
        "  country: US\n"  # 6
    )
    data, lines, problems = read_yaml(text)
    assert problems == []
    assert data["recipient"] == {"role": "processor", "country": "US"}
    assert lines.line(("recipient", "role")) == 2
    assert lines.line(("recipient", "country")) == 6


def test_only_true_and_false_are_booleans() -> None:
    data, _, _ = read_yaml("country: NO\nanswer: yes\nswitch: off\nflag: true\n")
    assert data == {"country": "NO", "answer": "yes", "switch": "off", "flag": True}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb\nc: 2\n", 2),  # A key without ':'.
        ("a:\n  b: 1\n   c: 2\n", 3),  # Inconsistent indentation.
        ("a: 1\n\tb: 2\n", 2),  # A tab.
        ("a: [1, 2\nb: 3\n", 2),  # An unclosed list.
        ("a: 1\nb: 'open\n", 3),  # An unclosed quote, found at the end of the file.
        ("a: 1\n---\nb: 2\n", 2),  # Two documents.
        ("a: 1\nb: \x07\n", 2),  # A control character.
        ("a: *nowhere\n", 1),  # An alias without anchor.
        ("a: 1\nb: !!python/object/apply:os.system [true]\n", 2),  # Not safe YAML.
    ],
)
def test_a_syntax_error_gives_its_line(text: str, line: int) -> None:
    result = parse(text)
    assert result.manifest is None
    [problem] = result.problems
    assert (problem.code, problem.line) == ("yaml-syntax", line)


def test_aliases_that_expand_too_far_are_refused() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdef":
        previous = chr(ord(level) - 1)
        text += f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    assert MAX_NODES < 10**6
    result = parse(text)
    assert [p.code for p in result.problems] == ["yaml-too-large"]


def test_a_recursive_alias_is_refused() -> None:
    result = parse("version: 1\nfields: &f [1, *f]\n")
    assert [(p.code, p.line) for p in result.problems] == [("yaml-recursive-alias", 2)]


def test_an_empty_file_is_one_problem() -> None:
    result = parse("# nothing yet\n")
    assert [(p.code, p.line) for p in result.problems] == [("empty-manifest", 1)]


def test_a_list_at_the_top_is_one_problem() -> None:
    result = parse("- version: 1\n")
    assert [(p.code, p.line) for p in result.problems] == [("invalid-value", 1)]


def test_values_yaml_did_not_read_as_text_get_a_quoting_hint() -> None:
    result = parse(
        "version: 1\n"
        "controller:\n"
        "  name: 2024\n"  # 3
        "  address: true\n"  # 4
        "  dpo: {name: Camille Martin, email: dpo@boutique-test.example}\n"
        "fields: []\n"
        "purposes: []\n"
    )
    assert [(p.line, p.code) for p in result.problems] == [
        (3, "invalid-value"),
        (4, "invalid-value"),
    ]
    assert all("quotes" in p.message for p in result.problems)


def test_format_path() -> None:
    assert format_path(("purposes", 3, "recipients", 0, "country")) == (
        "purposes[3].recipients[0].country"
    )
    assert format_path(()) == ""


# Property: the line map agrees with where each key and item visibly is in the text.

_words = st.from_regex(r"[a-z]{1,6}", fullmatch=True)
_documents = st.recursive(
    _words,
    lambda children: (
        st.lists(children, min_size=1, max_size=4)
        | st.dictionaries(_words, children, min_size=1, max_size=4)
    ),
    max_leaves=25,
)


def _make_unique(value: Any, counter: list[int]) -> Any:
    """Tag every key and scalar with a number, so that each appears on exactly one line."""
    counter[0] += 1
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            counter[0] += 1
            unique_key = f"k{counter[0]}_{key}"
            result[unique_key] = _make_unique(item, counter)
        return result
    if isinstance(value, list):
        return [_make_unique(item, counter) for item in value]
    return f"v{counter[0]}_{value}"


def _first_token(value: Any) -> str:
    if isinstance(value, dict):
        return next(iter(value))
    if isinstance(value, list):
        return _first_token(value[0])
    return str(value)


def _paths(value: Any, path: Path = ()) -> dict[Path, str]:
    """Each path with the token that starts it in the text."""
    found: dict[Path, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found[(*path, key)] = key
            found |= _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found[(*path, index)] = _first_token(item)
            found |= _paths(item, (*path, index))
    return found


@settings(max_examples=100, deadline=None)
@given(
    document=st.dictionaries(_words, _documents, min_size=1, max_size=5),
    indent=st.integers(min_value=2, max_value=6),
    comment_lines=st.integers(min_value=0, max_value=3),
    explicit_start=st.booleans(),
)
def test_the_line_map_points_at_each_key_and_item(
    document: dict[str, Any], indent: int, comment_lines: int, explicit_start: bool
) -> None:
    data = _make_unique(document, [0])
    body = yaml.safe_dump(
        data,
        default_flow_style=False,
        sort_keys=False,
        indent=indent,
        explicit_start=explicit_start,
    )
    text = "# a comment\n" * comment_lines + body
    text_lines = text.splitlines()

    parsed, lines, problems = read_yaml(text)

    assert problems == []
    assert parsed == data
    expected = _paths(data)
    assert set(expected) <= set(lines.lines)
    for path, token in expected.items():
        pattern = re.compile(rf"(?<![\w]){re.escape(token)}(?![\w])")
        [where] = [n for n, line in enumerate(text_lines, start=1) if pattern.search(line)]
        assert lines.line(path) == where, (path, text)


def test_line_map_without_lines_says_line_one() -> None:
    assert LineMap().line(("anything", 0)) == 1
