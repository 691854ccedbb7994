"""Confiance: a self-hosted trust layer for customer personal data."""

__version__ = "0.1.0"

__all__ = ["__version__"]
