"""Boundary schemas of the PII scan API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from confiance.pii.findings import EntityType
from confiance.pii.operators import Operator

__all__ = ["FindingRead", "ScanRequest", "ScanResponse", "ScanResult"]

MAX_TEXTS = 1000
MAX_CHARS = 100_000


class ScanRequest(BaseModel):
    """One text or a batch of texts; a batch is much faster than as many requests."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(max_length=MAX_CHARS)] | None = None
    texts: (
        Annotated[list[Annotated[str, Field(max_length=MAX_CHARS)]], Field(max_length=MAX_TEXTS)]
        | None
    ) = None
    language: Literal["fr", "en", "auto"] = "auto"
    entities: list[EntityType] | None = Field(
        default=None, description="Only these entity types (all by default)."
    )
    operator: Operator | None = Field(
        default=None, description="Also return each text with its findings rewritten."
    )

    @model_validator(mode="after")
    def _one_of(self) -> ScanRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either text or texts")
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class FindingRead(BaseModel):
    entity: EntityType
    start: int
    end: int
    score: float
    recognizer: str


class ScanResult(BaseModel):
    findings: list[FindingRead]
    text: str | None = Field(default=None, description="The rewritten text, with an operator.")


class ScanResponse(BaseModel):
    results: list[ScanResult]
