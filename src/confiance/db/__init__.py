"""Storage: engine, sessions, migrations."""

from confiance.db.base import Base, UtcDateTime
from confiance.db.engine import Database

__all__ = ["Base", "Database", "UtcDateTime"]
