"""The differential-privacy tables join ``Base.metadata`` before any database is created."""

from confiance.dp import models as dp_models

__all__ = ["dp_models"]
