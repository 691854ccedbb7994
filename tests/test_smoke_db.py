from sqlalchemy import text

from confiance.db import Database


def test_database_answers(db: Database) -> None:
    with db.transaction() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
