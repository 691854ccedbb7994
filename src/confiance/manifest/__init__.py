"""The privacy manifest: what customer data is held, why, for how long, shared with whom.

The manifest is a YAML file ("privacy as code") checked like code: :func:`check_file` reports
every problem with its line. Stored versions and the version in force are handled by
``confiance.manifest.service``, imported as a module by other domains::

    from confiance.manifest import service as manifests

    spec = manifests.current(session).manifest.field("email")
    value = spec.normalize(raw_value)
"""

from confiance.manifest.checks import (
    CheckResult,
    check_file,
    check_manifest,
    check_text,
    format_problems,
    parse_manifest,
)
from confiance.manifest.errors import (
    InvalidFieldValue,
    ManifestError,
    ManifestInvalid,
    ManifestVersionNotFound,
    NoManifestLoaded,
    NotALookupField,
    UnknownField,
    UnknownPurpose,
)
from confiance.manifest.loader import Problem
from confiance.manifest.schemas import (
    Controller,
    Dpo,
    Duration,
    FieldSpec,
    FieldType,
    LegalBasis,
    Localized,
    Manifest,
    PurposeSpec,
    Recipient,
    RecipientRole,
    Retention,
    RetentionAction,
    RetentionStart,
    Safeguard,
)
from confiance.manifest.service import LoadedManifest, ManifestVersionInfo

__all__ = [
    "CheckResult",
    "Controller",
    "Dpo",
    "Duration",
    "FieldSpec",
    "FieldType",
    "InvalidFieldValue",
    "LegalBasis",
    "LoadedManifest",
    "Localized",
    "Manifest",
    "ManifestError",
    "ManifestInvalid",
    "ManifestVersionInfo",
    "ManifestVersionNotFound",
    "NoManifestLoaded",
    "NotALookupField",
    "Problem",
    "PurposeSpec",
    "Recipient",
    "RecipientRole",
    "Retention",
    "RetentionAction",
    "RetentionStart",
    "Safeguard",
    "UnknownField",
    "UnknownPurpose",
    "check_file",
    "check_manifest",
    "check_text",
    "format_problems",
    "parse_manifest",
]
