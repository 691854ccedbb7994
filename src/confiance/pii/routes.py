"""HTTP adapter of the PII scanner: ``POST /v1/pii/scan`` for any valid API key.

The scanned text is neither stored nor logged nor audited: the endpoint holds nothing and
answers with offsets, so the caller keeps the only copy of the values.
"""

from __future__ import annotations

from fastapi import APIRouter

from confiance.pii.engine import default_scanner
from confiance.pii.operators import anonymize
from confiance.pii.schemas import FindingRead, ScanRequest, ScanResponse, ScanResult
from confiance.web.deps import ApiCaller

__all__ = ["router"]

router = APIRouter(tags=["pii"])


@router.post("/v1/pii/scan", response_model=ScanResponse)
def scan(body: ScanRequest, caller: ApiCaller) -> ScanResponse:
    """Find personal data in the texts (run in the thread pool: the scan is CPU work)."""
    texts = body.all_texts()
    wanted = None if body.entities is None else frozenset(body.entities)
    found = default_scanner().scan_many(texts, language=body.language)
    results: list[ScanResult] = []
    for text, findings in zip(texts, found, strict=True):
        kept = [f for f in findings if wanted is None or f.entity in wanted]
        results.append(
            ScanResult(
                findings=[
                    FindingRead(
                        entity=f.entity,
                        start=f.start,
                        end=f.end,
                        score=f.score,
                        recognizer=f.recognizer,
                    )
                    for f in kept
                ],
                text=None if body.operator is None else anonymize(text, kept, body.operator),
            )
        )
    return ScanResponse(results=results)
