"""What a DPO would object to in a manifest that is otherwise well formed.

The schema says whether each key has the right shape; these checks read the manifest as a
whole, the way a reviewer would: data nobody needs, purposes using data nobody declared,
sensitive data without explicit consent, periods nobody set, transfers nobody secured, texts
nobody can understand. Every problem names its line and says what to change.

Errors block loading the manifest; warnings are reported and do not.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path as FilePath

from confiance.manifest import taxonomy
from confiance.manifest.errors import ManifestInvalid
from confiance.manifest.loader import LineMap, Path, Problem, format_path, parse
from confiance.manifest.schemas import (
    CUSTOMER_ID,
    LOOKUP_TYPES,
    Connector,
    ConnectorAction,
    FieldSpec,
    FieldType,
    LegalBasis,
    Localized,
    Manifest,
    is_sqlite_file_url,
)

__all__ = [
    "EU_EEA",
    "MIN_DESCRIPTION_CHARS",
    "MIN_DESCRIPTION_WORDS",
    "CheckResult",
    "Problem",
    "check_file",
    "check_manifest",
    "check_text",
    "format_problems",
    "parse_manifest",
]

# The 27 EU member states and the three other EEA states (Iceland, Liechtenstein, Norway).
# Transfers inside this area need no chapter V safeguard. Countries with an adequacy decision
# are deliberately absent: the manifest must say 'safeguard: adequacy' so that the register
# shows the ground of each transfer, and so that a revoked decision is a one-line review.
EU_EEA: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
        "IS", "LI", "NO",
    }
)  # fmt: skip

# A customer-facing description shorter than this does not explain anything ("Marketing.").
MIN_DESCRIPTION_CHARS = 20
MIN_DESCRIPTION_WORDS = 3

# Categories that identify a person directly; a pseudonymised purpose should not need them.
_DIRECT_IDENTIFIERS = (
    "user.name",
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.address.street",
    "user.government_id",
    "user.account.username",
    "user.financial",
)
_MAX_LENGTH_TYPES = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.TOKEN, FieldType.LIST})


@dataclass(frozen=True)
class CheckResult:
    """A manifest's problems, and the manifest itself when its shape was readable."""

    source: str
    manifest: Manifest | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)


def check_text(text: str, *, source: str = "<file>") -> CheckResult:
    """Every problem of a manifest, shape first; the checks below need a readable manifest."""
    parsed = parse(text)
    problems = list(parsed.problems)
    if parsed.manifest is not None:
        problems.extend(check_manifest(parsed.manifest, parsed.lines))
    return CheckResult(source=source, manifest=parsed.manifest, problems=tuple(sorted(problems)))


def check_file(path: str | os.PathLike[str]) -> CheckResult:
    """:func:`check_text` on a file; a file that cannot be opened raises ``OSError``."""
    source = str(path)
    raw = FilePath(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = Problem(
            line=line,
            path="",
            code="not-utf8",
            message="the file is not UTF-8 text; save it as UTF-8",
        )
        return CheckResult(source=source, manifest=None, problems=(problem,))
    return check_text(text, source=source)


def parse_manifest(text: str) -> Manifest:
    """The manifest, or :class:`ManifestInvalid` carrying every problem if any is an error."""
    result = check_text(text)
    if not result.ok or result.manifest is None:
        raise ManifestInvalid(problems=result.problems)
    return result.manifest


def format_problems(result: CheckResult, source: str | None = None) -> list[str]:
    """``FILE:LINE: code: message`` lines, the format editors and CI logs link to the line."""
    name = source if source is not None else result.source
    return [
        f"{name}:{p.line}: {p.code}: {'' if p.is_error else '(warning) '}{p.message}"
        for p in result.problems
    ]


def check_manifest(manifest: Manifest, lines: LineMap | None = None) -> list[Problem]:
    """The semantic problems of a manifest; ``lines`` places them (line 1 when unknown)."""
    context = _Context(manifest, lines or LineMap())
    problems: list[Problem] = []
    for check in _CHECKS:
        problems.extend(check(context))
    return sorted(problems)


@dataclass(frozen=True)
class _Context:
    manifest: Manifest
    lines: LineMap

    def problem(self, path: Path, code: str, message: str, *, warning: bool = False) -> Problem:
        return Problem(
            line=self.lines.line(path),
            path=format_path(path),
            code=code,
            message=message,
            severity="warning" if warning else "error",
        )


def _duplicates(ctx: _Context) -> Iterator[Problem]:
    first_field: dict[str, int] = {}
    for i, spec in enumerate(ctx.manifest.fields):
        path: Path = ("fields", i, "name")
        if spec.name in first_field:
            yield ctx.problem(
                path,
                "duplicate-field",
                f"the field '{spec.name}' is already declared at line {first_field[spec.name]}; "
                "merge the two declarations or rename one",
            )
        else:
            first_field[spec.name] = ctx.lines.line(path)
    first_purpose: dict[str, int] = {}
    for i, purpose in enumerate(ctx.manifest.purposes):
        path = ("purposes", i, "key")
        if purpose.key in first_purpose:
            yield ctx.problem(
                path,
                "duplicate-purpose",
                f"the purpose '{purpose.key}' is already declared at line "
                f"{first_purpose[purpose.key]}; merge the two declarations or rename one",
            )
        else:
            first_purpose[purpose.key] = ctx.lines.line(path)


def _categories(ctx: _Context) -> Iterator[Problem]:
    for i, spec in enumerate(ctx.manifest.fields):
        path: Path = ("fields", i, "category")
        if not taxonomy.is_data_category(spec.category):
            suggestion = taxonomy.suggest_data_category(spec.category)
            hint = (
                f"did you mean '{suggestion}'?"
                if suggestion
                else "pick one from the fideslang taxonomy, such as 'user.contact.email'"
            )
            yield ctx.problem(
                path,
                "unknown-data-category",
                f"'{spec.category}' is not a fideslang data category; {hint}",
            )
            continue
        replacement = taxonomy.deprecated_replacement(spec.category)
        if replacement is not None:
            yield ctx.problem(
                path,
                "deprecated-data-category",
                f"the data category '{spec.category}' is deprecated in fideslang"
                + (f"; use '{replacement}'" if replacement else ""),
                warning=True,
            )
        if taxonomy.is_special_category(spec.category) and not spec.sensitive:
            yield ctx.problem(
                path,
                "special-category-not-sensitive",
                f"'{spec.category}' is a special category of data (GDPR art. 9); "
                f"add 'sensitive: true' to the field '{spec.name}'",
                warning=True,
            )


def _field_types(ctx: _Context) -> Iterator[Problem]:
    for i, spec in enumerate(ctx.manifest.fields):
        if spec.lookup and spec.type not in LOOKUP_TYPES:
            yield ctx.problem(
                ("fields", i, "lookup"),
                "lookup-not-allowed",
                f"the field '{spec.name}' is of type '{spec.type}', and only email and phone "
                "fields may be used to find a customer; remove 'lookup: true'",
            )
        if spec.type is FieldType.ENUM and not spec.values:
            yield ctx.problem(
                ("fields", i, "values"),
                "enum-without-values",
                f"the enum field '{spec.name}' lists no values; add 'values:' with the "
                "allowed values",
            )
        if spec.type is not FieldType.ENUM and spec.values is not None:
            yield ctx.problem(
                ("fields", i, "values"),
                "values-without-enum",
                f"'values' only applies to enum fields, and '{spec.name}' is of type "
                f"'{spec.type}'; remove it or make the field an enum",
                warning=True,
            )
        if spec.max_length is not None and spec.type not in _MAX_LENGTH_TYPES:
            yield ctx.problem(
                ("fields", i, "max_length"),
                "max-length-ignored",
                f"'max_length' applies to string, text, token and list fields, and "
                f"'{spec.name}' is of type '{spec.type}'; remove it",
                warning=True,
            )


def _data_uses(ctx: _Context) -> Iterator[Problem]:
    for i, purpose in enumerate(ctx.manifest.purposes):
        path: Path = ("purposes", i, "data_use")
        if not taxonomy.is_data_use(purpose.data_use):
            suggestion = taxonomy.suggest_data_use(purpose.data_use)
            hint = (
                f"did you mean '{suggestion}'?"
                if suggestion
                else "pick one from the fideslang taxonomy, such as 'essential.service'"
            )
            yield ctx.problem(
                path,
                "unknown-data-use",
                f"'{purpose.data_use}' is not a fideslang data use; {hint}",
            )
            continue
        replacement = taxonomy.deprecated_replacement(purpose.data_use)
        if replacement is not None:
            yield ctx.problem(
                path,
                "deprecated-data-use",
                f"the data use '{purpose.data_use}' is deprecated in fideslang"
                + (f"; use '{replacement}'" if replacement else ""),
                warning=True,
            )


def _references(ctx: _Context) -> Iterator[Problem]:
    declared = sorted(ctx.manifest.fields_by_name)
    for i, purpose in enumerate(ctx.manifest.purposes):
        for j, name in enumerate(purpose.fields):
            if name in ctx.manifest.fields_by_name:
                continue
            close = _close_match(name, declared)
            hint = f"did you mean '{close}'?" if close else "declare it under 'fields:' first"
            yield ctx.problem(
                ("purposes", i, "fields", j),
                "undeclared-field",
                f"the purpose '{purpose.key}' uses the field '{name}', which the manifest does "
                f"not declare; {hint}",
            )


def _minimisation(ctx: _Context) -> Iterator[Problem]:
    needed = {name for purpose in ctx.manifest.purposes for name in purpose.fields}
    for i, spec in enumerate(ctx.manifest.fields):
        if spec.name not in needed:
            yield ctx.problem(
                ("fields", i, "name"),
                "unused-field",
                f"no purpose needs the field '{spec.name}', so it must not be collected "
                "(data minimisation, GDPR art. 5(1)(c)); add it to the purpose that needs it "
                "or remove it",
            )


def _sensitive(ctx: _Context) -> Iterator[Problem]:
    for i, purpose in enumerate(ctx.manifest.purposes):
        explicit = purpose.legal_basis is LegalBasis.CONSENT and purpose.explicit_consent
        if purpose.explicit_consent and purpose.legal_basis is not LegalBasis.CONSENT:
            yield ctx.problem(
                ("purposes", i, "explicit_consent"),
                "explicit-consent-without-consent",
                f"the purpose '{purpose.key}' asks for explicit consent but its legal basis is "
                f"'{purpose.legal_basis}'; set 'legal_basis: consent' or remove "
                "'explicit_consent'",
            )
        if explicit:
            continue
        for j, name in enumerate(purpose.fields):
            spec = ctx.manifest.fields_by_name.get(name)
            if spec is None or not spec.sensitive:
                continue
            yield ctx.problem(
                ("purposes", i, "fields", j),
                "sensitive-without-explicit-consent",
                f"the purpose '{purpose.key}' uses the sensitive field '{name}' (GDPR art. 9), "
                "which needs the customer's explicit consent (art. 9(2)(a)); set "
                "'legal_basis: consent' and 'explicit_consent: true', or stop using the field "
                "for this purpose",
            )


def _retention(ctx: _Context) -> Iterator[Problem]:
    for i, purpose in enumerate(ctx.manifest.purposes):
        if purpose.retention is None:
            yield ctx.problem(
                ("purposes", i, "retention"),
                "missing-retention",
                f"the purpose '{purpose.key}' does not say how long its data is kept "
                "(GDPR art. 5(1)(e)); add 'retention:' with a 'duration' such as 'P3Y' and "
                "'after: delete' or 'after: anonymise'",
            )


def _descriptions(ctx: _Context) -> Iterator[Problem]:
    for i, purpose in enumerate(ctx.manifest.purposes):
        consent = purpose.legal_basis is LegalBasis.CONSENT
        if purpose.description is None:
            if consent:
                yield ctx.problem(
                    ("purposes", i, "description"),
                    "consent-without-description",
                    f"the purpose '{purpose.key}' asks for consent but has no description; "
                    "consent is only valid if the customer knows what they agree to (GDPR art. "
                    "4(11)), so add 'description:' with 'fr:' and 'en:' in plain words",
                )
            else:
                yield ctx.problem(
                    ("purposes", i, "description"),
                    "purpose-without-description",
                    f"the purpose '{purpose.key}' has no description, so the privacy centre "
                    "cannot tell customers what it is; add 'description:' with 'fr:' and 'en:'",
                    warning=True,
                )
        else:
            yield from _unclear_texts(ctx, i, purpose.key, purpose.description, consent)
        if consent and purpose.benefit is None:
            yield ctx.problem(
                ("purposes", i, "benefit"),
                "consent-without-benefit",
                f"the purpose '{purpose.key}' asks for consent without saying what the "
                "customer gets in return; add 'benefit:' with 'fr:' and 'en:'",
                warning=True,
            )


def _unclear_texts(
    ctx: _Context, index: int, key: str, description: Localized, consent: bool
) -> Iterator[Problem]:
    for language, label in (("fr", "French"), ("en", "English")):
        text = description.in_language(language)
        reason = _why_unclear(text, key)
        if reason is None:
            continue
        yield ctx.problem(
            ("purposes", index, "description", language),
            "unclear-description",
            f"the {label} description of the purpose '{key}' {reason}; write a sentence a "
            f"customer understands (at least {MIN_DESCRIPTION_CHARS} characters and "
            f"{MIN_DESCRIPTION_WORDS} words) saying what the data is used for",
            warning=not consent,
        )


_WORD = re.compile(r"\w+")


def _why_unclear(text: str, key: str) -> str | None:
    words = _WORD.findall(text.lower())
    if " ".join(words) == " ".join(_WORD.findall(key.lower().replace("_", " "))):
        return "only repeats the purpose key"
    if len(text) < MIN_DESCRIPTION_CHARS or len(words) < MIN_DESCRIPTION_WORDS:
        return "is too short to explain anything"
    return None


def _transfers(ctx: _Context) -> Iterator[Problem]:
    for i, purpose in enumerate(ctx.manifest.purposes):
        for j, recipient in enumerate(purpose.recipients):
            if recipient.country in EU_EEA or recipient.safeguard is not None:
                continue
            yield ctx.problem(
                ("purposes", i, "recipients", j, "country"),
                "transfer-without-safeguard",
                f"the recipient '{recipient.name}' is in {recipient.country}, outside the EU/EEA, "
                "and the transfer has no safeguard (GDPR chapter V); add 'safeguard: adequacy' "
                "if the country has an adequacy decision, 'scc' for standard contractual "
                "clauses, 'bcr' for binding corporate rules, or 'derogation' (art. 49, "
                "occasional transfers only)",
            )


def _pseudonymised(ctx: _Context) -> Iterator[Problem]:
    for i, purpose in enumerate(ctx.manifest.purposes):
        if not purpose.pseudonymised:
            continue
        for j, name in enumerate(purpose.fields):
            spec = ctx.manifest.fields_by_name.get(name)
            if spec is not None and _identifies(spec):
                yield ctx.problem(
                    ("purposes", i, "fields", j),
                    "pseudonymised-uses-identifier",
                    f"the purpose '{purpose.key}' sees pseudonymised data only, yet uses "
                    f"'{name}', which identifies a person directly; remove it from this purpose",
                    warning=True,
                )


def _identifies(spec: FieldSpec) -> bool:
    category = spec.category
    return spec.lookup or any(
        category == prefix or category.startswith(prefix + ".") for prefix in _DIRECT_IDENTIFIERS
    )


def _close_match(word: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, candidates, n=1)
    return matches[0] if matches else None


def _consent_validity(ctx: _Context) -> Iterator[Problem]:
    for i, purpose in enumerate(ctx.manifest.purposes):
        if purpose.consent_validity is not None and purpose.legal_basis is not LegalBasis.CONSENT:
            yield ctx.problem(
                ("purposes", i, "consent_validity"),
                "validity-without-consent",
                f"the purpose '{purpose.key}' sets 'consent_validity' but its legal basis is "
                f"'{purpose.legal_basis}', so no consent is asked; remove 'consent_validity'",
                warning=True,
            )


def _tcf(ctx: _Context) -> Iterator[Problem]:
    mapping = ctx.manifest.tcf
    if mapping is None:
        return
    for tcf_purpose, key in sorted(mapping.purposes.items()):
        path: Path = ("tcf", "purposes", tcf_purpose)
        purpose = ctx.manifest.purposes_by_key.get(key)
        if purpose is None:
            yield ctx.problem(
                path,
                "tcf-unknown-purpose",
                f"TCF purpose {tcf_purpose} maps to '{key}', which the manifest does not declare",
            )
        elif purpose.legal_basis not in (LegalBasis.CONSENT, LegalBasis.LEGITIMATE_INTEREST):
            yield ctx.problem(
                path,
                "tcf-not-decidable",
                f"TCF purpose {tcf_purpose} maps to '{key}', whose legal basis "
                f"'{purpose.legal_basis}' does not depend on the customer's choice; map it to a "
                "consent or legitimate-interest purpose",
            )


def _connectors(ctx: _Context) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, connector in enumerate(ctx.manifest.connectors):
        name_path: Path = ("connectors", i, "name")
        if connector.name in first:
            yield ctx.problem(
                name_path,
                "duplicate-connector",
                f"the connector '{connector.name}' is already declared at line "
                f"{first[connector.name]}; rename one, since results are reported by name",
            )
        else:
            first[connector.name] = ctx.lines.line(name_path)
        yield from _connector_url(ctx, i, connector)
        yield from _connector_match(ctx, i, connector)
        yield from _connector_action(ctx, i, connector)


def _connector_url(ctx: _Context, i: int, connector: Connector) -> Iterator[Problem]:
    if connector.url is None and connector.url_env is None:
        yield ctx.problem(
            ("connectors", i),
            "connector-without-url",
            f"the connector '{connector.name}' does not say where its database is; add "
            "'url_env:' with the name of the environment variable that holds its URL",
        )
    elif connector.url is not None and connector.url_env is not None:
        yield ctx.problem(
            ("connectors", i, "url"),
            "connector-url-and-url-env",
            f"the connector '{connector.name}' has both 'url' and 'url_env'; keep one",
        )
    # The URL itself is never quoted back: a URL pasted here by mistake may hold a password.
    if connector.url is not None and not is_sqlite_file_url(connector.url):
        yield ctx.problem(
            ("connectors", i, "url"),
            "connector-url-not-sqlite",
            f"the connector '{connector.name}' has a 'url' that is not a SQLite file "
            "('sqlite:///path/to/file.db'); other databases need credentials, which do not "
            "belong in the manifest: put the URL in an environment variable and name it with "
            "'url_env:'",
        )


def _connector_match(ctx: _Context, i: int, connector: Connector) -> Iterator[Problem]:
    name = connector.match.field
    if name == CUSTOMER_ID:
        return
    path: Path = ("connectors", i, "match", "field")
    spec = ctx.manifest.fields_by_name.get(name)
    if spec is None:
        lookups = sorted(f.name for f in ctx.manifest.fields if _is_lookup(f))
        close = _close_match(name, [*lookups, CUSTOMER_ID])
        hint = f"did you mean '{close}'?" if close else _MATCH_CHOICES
        yield ctx.problem(
            path,
            "connector-unknown-field",
            f"the connector '{connector.name}' matches on '{name}', which the manifest does "
            f"not declare; {hint}",
        )
    elif not _is_lookup(spec):
        yield ctx.problem(
            path,
            "connector-not-lookup-field",
            f"the connector '{connector.name}' matches on '{name}', which does not identify "
            f"a customer; {_MATCH_CHOICES}",
        )


_MATCH_CHOICES = (
    "match on an email or phone field declared with 'lookup: true', or on 'customer_id'"
)


def _is_lookup(spec: FieldSpec) -> bool:
    return spec.lookup and spec.type in LOOKUP_TYPES


def _connector_action(ctx: _Context, i: int, connector: Connector) -> Iterator[Problem]:
    if connector.action is ConnectorAction.MASK and not connector.columns:
        yield ctx.problem(
            ("connectors", i, "columns" if connector.columns is not None else "action"),
            "connector-mask-without-columns",
            f"the connector '{connector.name}' masks rows but names no column; add "
            "'columns:' with each column to mask and its new value ('null' or a fixed text)",
        )
    if connector.action is ConnectorAction.DELETE and connector.columns is not None:
        yield ctx.problem(
            ("connectors", i, "columns"),
            "connector-delete-with-columns",
            f"the connector '{connector.name}' deletes whole rows, so 'columns' has no "
            "effect; remove it, or use 'action: mask'",
        )


_CHECKS: tuple[Callable[[_Context], Iterator[Problem]], ...] = (
    _duplicates,
    _categories,
    _field_types,
    _data_uses,
    _references,
    _minimisation,
    _sensitive,
    _retention,
    _descriptions,
    _transfers,
    _pseudonymised,
    _consent_validity,
    _tcf,
    _connectors,
)
