"""Reading a manifest file: YAML with the line of every node, then the schema.

A person fixes a manifest in an editor, so every problem must say on which line it is. PyYAML's
``safe_load`` forgets positions; this module composes the node tree itself, records the line of
each key and list item under its path (``("purposes", 3, "retention") -> 42``), and then maps
each schema error back to the nearest line through that path.

Nothing here stops at the first problem: YAML duplicate keys and every schema error are
collected and returned together. A YAML syntax error is the exception, since nothing after it
can be read reliably.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from confiance.manifest.schemas import Manifest

__all__ = [
    "MAX_NODES",
    "LineMap",
    "ParseResult",
    "Path",
    "Problem",
    "format_path",
    "parse",
    "read_yaml",
]

Path = tuple[str | int, ...]
Severity = Literal["error", "warning"]

# A manifest of a few hundred fields has a few thousand nodes. The cap stops a document whose
# aliases expand exponentially ("billion laughs") before it costs memory.
MAX_NODES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"


class _ManifestLoader(yaml.SafeLoader):
    """The safe loader with YAML 1.2 booleans: only ``true`` and ``false``.

    YAML 1.1 also reads yes/no/on/off as booleans, so ``country: NO`` (Norway) would become
    ``false``, and an enum value ``off`` would stop being text.
    """


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ManifestLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True, order=True)
class Problem:
    """Something to fix in a manifest, where it is and what to do.

    Defined here rather than in :mod:`checks` because reading the file already finds problems,
    and the checks build on the reader. Problems sort by line, so they read top to bottom.
    """

    line: int
    path: str
    code: str
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }


def format_path(path: Path) -> str:
    """``("purposes", 3, "retention")`` as ``purposes[3].retention``, as people write it."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


@dataclass(frozen=True)
class LineMap:
    """1-based line of every key and list item of a document, by path."""

    lines: Mapping[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest enclosing node that has one.

        A missing key has no line of its own; the mapping that lacks it is the place to add it.
        """
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1

    def __contains__(self, path: object) -> bool:
        return path in self.lines


@dataclass(frozen=True)
class ParseResult:
    data: Any
    manifest: Manifest | None
    lines: LineMap
    problems: list[Problem]


class _TooLarge(Exception):
    pass


class _Walker:
    """Records lines by path and finds duplicate keys, which PyYAML silently overwrites."""

    def __init__(self, loader: _ManifestLoader) -> None:
        self.loader = loader
        self.lines: dict[Path, int] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.cyclic = False
        self._stack: set[int] = set()

    def walk(self, node: Node, path: Path) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge
        if id(node) in self._stack:
            self._recursive(node, path)
            return
        self._stack.add(id(node))
        try:
            if isinstance(node, MappingNode):
                for key, key_node, value_node in self._entries(node, path, set()):
                    self.lines[(*path, key)] = key_node.start_mark.line + 1
                    self.walk(value_node, (*path, key))
            elif isinstance(node, SequenceNode):
                for index, item in enumerate(node.value):
                    self.lines[(*path, index)] = item.start_mark.line + 1
                    self.walk(item, (*path, index))
        finally:
            self._stack.discard(id(node))

    def _recursive(self, node: Node, path: Path) -> None:
        self.cyclic = True
        self.problems.append(
            Problem(
                line=node.start_mark.line + 1,
                path=format_path(path),
                code="yaml-recursive-alias",
                message="this alias refers to a node that contains it; "
                "a manifest cannot be recursive",
            )
        )

    def _entries(
        self, node: MappingNode, path: Path, merging: set[int]
    ) -> list[tuple[Any, Node, Node]]:
        """Each key once, with the value YAML keeps: explicit keys win over merged ones
        (``<<: *anchor``), and of two equal keys the last wins (reported as a problem)."""
        merging = merging | {id(node)}
        entries: dict[Any, tuple[Node, Node]] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                merged.extend(sources)
                continue
            key = self._key(key_node)
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                self.problems.append(
                    Problem(
                        line=key_node.start_mark.line + 1,
                        path=format_path((*path, key)),
                        code="yaml-duplicate-key",
                        message=f"the key '{key}' already appears at line {first} in this "
                        "mapping; YAML would keep only the last one, so remove one of them",
                    )
                )
                del entries[key]
            entries[key] = (key_node, value_node)
        for source in merged:
            if not isinstance(source, MappingNode):
                continue
            if id(source) in merging:
                self._recursive(source, path)
                continue
            for key, key_node, value_node in self._entries(source, path, merging):
                entries.setdefault(key, (key_node, value_node))
        return [(key, key_node, value_node) for key, (key_node, value_node) in entries.items()]

    def _key(self, key_node: Node) -> Any:
        if isinstance(key_node, ScalarNode):
            key = self.loader.construct_object(key_node)
            try:
                hash(key)
            except TypeError:
                return f"<key at line {key_node.start_mark.line + 1}>"
            return key
        # A list or mapping used as a key: PyYAML rejects it when constructing; this name only
        # has to be unique until then.
        return f"<key at line {key_node.start_mark.line + 1}>"


def read_yaml(text: str) -> tuple[Any, LineMap, list[Problem]]:
    """The Python value of a YAML document, the line map, and the problems found reading it.

    Only the safe subset of YAML is read (no Python object tags). On a syntax error the value is
    None and the one problem says where reading stopped.
    """
    try:
        loader = _ManifestLoader(text)
    except yaml.YAMLError as exc:
        # The reader refuses control characters before any parsing.
        return None, LineMap(), [_syntax_problem(exc, text)]
    try:
        return _read(loader)
    except _TooLarge:
        message = (
            f"the document has more than {MAX_NODES} nodes once its aliases are expanded; "
            "a manifest does not need that many"
        )
        return None, LineMap(), [Problem(1, "", "yaml-too-large", message)]
    except yaml.YAMLError as exc:
        return None, LineMap(), [_syntax_problem(exc, text)]
    finally:
        loader.dispose()


def _read(loader: _ManifestLoader) -> tuple[Any, LineMap, list[Problem]]:
    node = loader.get_single_node()
    if node is None:
        return None, LineMap(), []
    walker = _Walker(loader)
    walker.walk(node, ())
    walker.lines[()] = node.start_mark.line + 1
    if walker.cyclic:
        return None, LineMap(walker.lines), walker.problems
    data = loader.construct_document(node)
    return data, LineMap(walker.lines), walker.problems


def _syntax_problem(exc: yaml.YAMLError, text: str) -> Problem:
    line = 1
    message = "the file is not valid YAML"
    if isinstance(exc, yaml.MarkedYAMLError):
        problem_line = exc.problem_mark.line + 1 if exc.problem_mark else None
        context_line = exc.context_mark.line + 1 if exc.context_mark else None
        # "could not find expected ':'" is noticed on the line after the key that lacks it;
        # the key's line, given as context, is the one to fix.
        if exc.context == "while scanning a simple key" and context_line is not None:
            line = context_line
        else:
            line = problem_line or context_line or 1
        problem = exc.problem or "the YAML is not well formed"
        if exc.context and problem.startswith("but "):
            message = f"{exc.context}, {problem}"
        elif exc.context and context_line is not None and context_line != line:
            message = f"{problem} ({exc.context} at line {context_line})"
        elif exc.context:
            message = f"{problem} ({exc.context})"
        else:
            message = problem
        message = f"{message}; {_syntax_hint(exc)}"
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        message = "the file contains a control character that YAML does not allow; remove it"
    return Problem(line=line, path="", code="yaml-syntax", message=message)


def _syntax_hint(exc: yaml.MarkedYAMLError) -> str:
    if isinstance(exc, yaml.constructor.ConstructorError):
        return "a manifest is plain YAML: remove the '!!' tag"
    if isinstance(exc, yaml.composer.ComposerError):
        if exc.context == "expected a single document in the stream":
            return "a manifest is a single YAML document, without '---' separators"
        return "check that each alias (*name) refers to an anchor (&name) defined above it"
    return "check the indentation, and that each key is followed by ':'"


def parse(text: str) -> ParseResult:
    """Read a manifest and validate its shape, with every problem found on the way."""
    data, lines, problems = read_yaml(text)
    if any(p.code in {"yaml-syntax", "yaml-too-large", "yaml-recursive-alias"} for p in problems):
        return ParseResult(data=None, manifest=None, lines=lines, problems=problems)
    if data is None:
        problems.append(
            Problem(
                1,
                "",
                "empty-manifest",
                "the manifest is empty; start from examples/maison-exemple.yaml",
            )
        )
        return ParseResult(data=None, manifest=None, lines=lines, problems=problems)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        problems.extend(_schema_problem(error, lines) for error in exc.errors(include_url=False))
        return ParseResult(data=data, manifest=None, lines=lines, problems=problems)
    return ParseResult(data=data, manifest=manifest, lines=lines, problems=problems)


_TYPE_MESSAGES = {
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "list_type": "must be a list, one '- ' item per line",
    "model_type": "must be a mapping of 'key: value' lines",
    "model_attributes_type": "must be a mapping of 'key: value' lines",
    "dict_type": "must be a mapping of 'key: value' lines",
    "string_too_short": "must not be empty",
}


def _schema_problem(error: Mapping[str, Any], lines: LineMap) -> Problem:
    loc: Path = tuple(error["loc"])
    kind: str = error["type"]
    name = _describe(loc)
    if kind == "missing":
        code = "missing-key"
        message = f"the key '{loc[-1]}' is required here; add it"
    elif kind == "extra_forbidden":
        code = "unknown-key"
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "remove it"
        if allowed and not close:
            hint += " (allowed here: " + ", ".join(allowed) + ")"
        message = f"unknown key '{loc[-1]}': {hint}"
    else:
        code = "invalid-value"
        if kind == "value_error":
            detail = str(error["ctx"]["error"])
        elif kind == "enum":
            detail = f"must be one of {error['ctx']['expected']}"
        elif kind == "greater_than_equal":
            detail = f"must be at least {error['ctx']['ge']}"
        else:
            detail = _TYPE_MESSAGES.get(kind) or str(error["msg"]).lower()
        message = f"{name} {detail}"
        read_as = error.get("input")
        if read_as is None and kind.endswith("_type"):
            message = f"{name} has no value; write it after the ':'"
        elif kind == "string_type" and isinstance(read_as, bool | int | float):
            # YAML reads 75001 as a number and true as a boolean.
            message += "; YAML did not read this as text, so put it in quotes"
    return Problem(line=lines.line(loc), path=format_path(loc), code=code, message=message)


def _describe(loc: Path) -> str:
    if not loc:
        return "the manifest"
    if isinstance(loc[-1], int):
        parent = next((s for s in reversed(loc) if isinstance(s, str)), "list")
        return f"item {loc[-1] + 1} of '{parent}'"
    return f"'{loc[-1]}'"


def _allowed_keys(parent: Path) -> list[str]:
    """The keys the schema allows at ``parent``, so that a misspelt key can be corrected."""
    model: type[BaseModel] = Manifest
    for step in parent:
        if isinstance(step, int):
            continue
        info = _field_named(model, step)
        inner = _model_in(info.annotation) if info is not None else None
        if inner is None:
            return []
        model = inner
    # The names written in files: a field's alias where it has one (``schema`` for db_schema).
    return [info.alias or name for name, info in model.model_fields.items()]


def _field_named(model: type[BaseModel], key: object) -> Any:
    """The field that ``key``, as written in a file, names."""
    return next((i for n, i in model.model_fields.items() if (i.alias or n) == key), None)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
