"""Anonymisation of tables: k-anonymity, l-diversity and t-closeness over generalisation
hierarchies, by globally optimal full-domain generalisation or by local recoding, with
utility metrics and the re-identification risk before and after. See docs/anonymize.md."""

from confiance.anonymize.errors import (
    AnonymizeError,
    HierarchyInvalid,
    InvalidParameter,
    LatticeTooLarge,
    NoRelease,
    UnknownColumn,
    ValueNotInHierarchy,
)
from confiance.anonymize.hierarchy import Hierarchy, load_hierarchies
from confiance.anonymize.metrics import RiskReport, UtilityMetrics
from confiance.anonymize.service import LatticeStats, Release, anonymize

__all__ = [
    "AnonymizeError",
    "Hierarchy",
    "HierarchyInvalid",
    "InvalidParameter",
    "LatticeStats",
    "LatticeTooLarge",
    "NoRelease",
    "Release",
    "RiskReport",
    "UnknownColumn",
    "UtilityMetrics",
    "ValueNotInHierarchy",
    "anonymize",
    "load_hierarchies",
]
